/**
 * The staff pages' shell: every staff page is `renderPage(...)` around its own body.
 *
 *   import { html } from '../../../../common/web/html.ts';
 *   import { pageContext, renderPage, csrfField } from './layout.ts';
 *
 *   app.get('/staff/today', { preHandler: requireRole('staff') }, async (request, reply) => {
 *     const page = pageContext(request);          // { lang, t, staff, csrfToken }
 *     const body = html`<h1>${page.t('home.today')}</h1>
 *       <form method="post" action="/staff/today/void">${csrfField(page)} ... </form>`;
 *     return sendPage(reply, renderPage({ ...page, title: page.t('home.today'), body }));
 *   });
 *
 * - `title`: the page's heading in the tab; `body`: Html from the `html` tag (pages/html.ts),
 *   which escapes every value, so text from the database is safe to interpolate.
 * - `staff` (the logged-in member, or undefined on the login page) puts their name, role and
 *   the logout button in the header; `lang` picks the catalogue (i18n/), `zh-CN` by default.
 * - `notice`: an optional message at the top (`{ kind: 'ok' | 'error' | 'info', text }`).
 * - Every form that changes something must include `csrfField(page)`; fetch() calls send the
 *   `<meta name="csrf-token">` value in the `x-csrf-token` header (staff-auth.ts).
 * - Styles: /staff/assets/staff.css (pages/assets.ts): 20 px text, 56 px controls, classes
 *   `card`, `narrow`, `menu`, `notice`, `actions`, `grid2`, `button secondary danger`.
 * - The pages are sent with a Content-Security-Policy allowing only this box's own scripts and
 *   styles (`sendPage`), so no inline script or style runs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { langOf, translator, type Lang, type Translate } from '../i18n/index.ts';
import { CSRF_FIELD, sessionOf, type StaffIdentity } from '../staff-auth.ts';
import { html, type Html } from '../../../../common/web/html.ts';

export interface PageContext {
  lang: Lang;
  t: Translate;
  staff?: StaffIdentity;
  csrfToken?: string;
}

export interface PageOptions extends PageContext {
  title: string;
  body: Html;
  notice?: { kind: 'ok' | 'error' | 'info'; text: string } | undefined;
}

/** Language, translator, staff and CSRF token of a request (staff and token only with a session). */
export function pageContext(request: FastifyRequest): PageContext {
  const lang = langOf(request);
  const s = sessionOf(request);
  const ctx: PageContext = { lang, t: translator(lang) };
  if (s) {
    ctx.staff = s.staff;
    ctx.csrfToken = s.csrfToken;
  }
  return ctx;
}

/** The hidden CSRF field every state-changing form carries. */
export function csrfField(page: PageContext): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${page.csrfToken ?? ''}">`;
}

export function renderPage(p: PageOptions): string {
  const { t, staff } = p;
  const other: Lang = p.lang === 'zh-CN' ? 'en' : 'zh-CN';
  const otherName = translator(other)('lang.name');
  const page = html`<!doctype html>
<html lang="${p.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${p.csrfToken ? html`<meta name="csrf-token" content="${p.csrfToken}">` : ''}
<title>${p.title} · ${t('app.title')}</title>
<link rel="stylesheet" href="/staff/assets/staff.css">
<script src="/staff/assets/staff.js" defer></script>
</head>
<body>
<header class="bar">
  <a class="app" href="/staff/">${t('app.title')}</a>
  <nav>
    <span class="lang"><a href="/staff/lang/${other}" lang="${other}" title="${t('lang.switch')}">${otherName}</a></span>
    ${staff
      ? html`<span class="who" data-staff-id="${staff.staffId}">${t('nav.signedInAs', { name: staff.name, role: t(`role.${staff.role}`) })}</span>
    <form method="post" action="/staff/logout">${csrfField(p)}<button type="submit" id="logout">${t('nav.logout')}</button></form>`
      : ''}
  </nav>
</header>
<main>
${p.notice ? html`<p class="notice ${p.notice.kind}" role="${p.notice.kind === 'error' ? 'alert' : 'status'}">${p.notice.text}</p>` : ''}
${p.body}
</main>
</body>
</html>`;
  return page.value;
}

/** Sends a rendered page: HTML, no caching (it shows personal data), only the box's own assets. */
export function sendPage(reply: FastifyReply, page: string, code = 200): FastifyReply {
  return reply
    .code(code)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .send(page);
}
