/**
 * The bureau pages' shell: every page is `renderPage(...)` around its own body, the way the
 * edge's staff pages are built (edge/src/web/pages/layout.ts).
 *
 * - The server renders the frame and every fixed text (i18n/); the page's script
 *   (/bureau/assets/<page>.js, pages/assets/) fills it from the API, which it calls like any
 *   client, with the session cookie and the CSRF token of `<meta name="csrf-token">`.
 * - The navigation shows only the pages the signed-in role may open (NAV, the same roles as
 *   the pages' access declarations in bureau-pages.ts).
 * - `data`: what the script needs (today's date, the role, the `ui.*` messages) in a
 *   `<script type="application/json" id="page-data">` block, which is data, not code: the
 *   Content-Security-Policy of sendPage allows no inline script, no inline style, no CDN.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies } from '../../../../common/web/cookies.ts';
import { html, rawHtml, type Html } from '../../../../common/web/html.ts';
import { csrfTokenOf, SESSION_COOKIE, type Principal, type Role } from '../../plugins/auth.ts';
import { LANGS, translator, type Lang, type MessageKey, type Translate } from '../i18n/index.ts';
import { en } from '../i18n/en.ts';
import { zhCN } from '../i18n/zh-CN.ts';

export const LANG_COOKIE = 'mealcheck_lang';

export type PageId = 'dashboard' | 'settlement' | 'registry' | 'erasures' | 'users' | 'audit';

/** The pages in the navigation, and who may open each (bureau-pages.ts declares the same). */
export const PAGE_ROLES: Record<PageId, readonly Role[]> = {
  dashboard: ['admin', 'analyst', 'manager', 'auditor'],
  settlement: ['admin', 'analyst', 'manager', 'auditor'],
  registry: ['admin', 'analyst', 'manager', 'auditor'],
  erasures: ['admin', 'analyst', 'manager', 'auditor'],
  users: ['admin'],
  audit: ['admin', 'auditor'],
};

const NAV: Array<{ id: PageId; key: MessageKey; href: (month: string, lang: Lang) => string }> = [
  { id: 'dashboard', key: 'bureau.nav.dashboard', href: () => '/bureau/' },
  // The settlement pages take their language from `lang=` only (their exports share the parameter).
  { id: 'settlement', key: 'bureau.nav.settlement', href: (month, lang) => `/bureau/settlement/summary?month=${month}${lang === 'en' ? '&lang=en' : ''}` },
  { id: 'registry', key: 'bureau.nav.registry', href: () => '/bureau/registry' },
  { id: 'erasures', key: 'bureau.nav.erasures', href: () => '/bureau/erasures' },
  { id: 'users', key: 'bureau.nav.users', href: () => '/bureau/users' },
  { id: 'audit', key: 'bureau.nav.audit', href: () => '/bureau/audit' },
];

const isLang = (s: unknown): s is Lang => typeof s === 'string' && (LANGS as readonly string[]).includes(s);

/** `?lang=` first (links to the settlement page carry it), then the language switch's cookie, then zh-CN. */
export function langOf(request: FastifyRequest): Lang {
  const q = (request.query as Record<string, unknown> | undefined)?.lang;
  if (isLang(q)) return q;
  const c = parseCookies(request.headers.cookie).get(LANG_COOKIE);
  return isLang(c) ? c : 'zh-CN';
}

/** The `ui.*` messages, for the page's script. */
function uiMessages(lang: Lang): Record<string, string> {
  const cat = lang === 'en' ? en : zhCN;
  return Object.fromEntries(Object.entries(cat).filter(([k]) => k.startsWith('ui.') || k.startsWith('bureau.role.')));
}

export interface PageContext {
  lang: Lang;
  t: Translate;
  principal?: Principal;
  csrfToken?: string;
}

export function pageContext(request: FastifyRequest): PageContext {
  const lang = langOf(request);
  const ctx: PageContext = { lang, t: translator(lang) };
  if (request.principal) {
    ctx.principal = request.principal;
    const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    if (request.principal.via === 'session' && token !== undefined) ctx.csrfToken = csrfTokenOf(token);
  }
  return ctx;
}

export interface PageOptions extends PageContext {
  /** Which navigation entry is this page (none: the sign-in page). */
  id?: PageId;
  title: string;
  body: Html;
  /** The page's own script, /bureau/assets/<script>.js; echarts first when `charts`. */
  script?: string;
  charts?: boolean;
  /** Handed to the script as JSON (with `lang`, `role` and the `ui.*` messages). */
  data?: Record<string, unknown>;
  /** The month the settlement link opens. */
  month: string;
}

/** JSON safe inside a `<script type="application/json">` block (no `</script>`, no `<!--`). */
function jsonBlock(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function renderPage(p: PageOptions): string {
  const { t, principal } = p;
  const other: Lang = p.lang === 'zh-CN' ? 'en' : 'zh-CN';
  const nav = principal ? NAV.filter((n) => PAGE_ROLES[n.id].includes(principal.role)) : [];
  const data = { lang: p.lang, role: principal?.role ?? null, userId: principal?.userId ?? null, centreIds: principal?.centreIds ?? null, ui: uiMessages(p.lang), ...p.data };
  return `<!doctype html>\n${html`<html lang="${p.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${p.csrfToken ? html`<meta name="csrf-token" content="${p.csrfToken}">` : ''}
<title>${p.title} · ${t('bureau.app')}</title>
<link rel="stylesheet" href="/bureau/assets/bureau.css">
<script type="application/json" id="page-data">${rawHtml(jsonBlock(data))}</script>
${p.charts ? html`<script src="/bureau/assets/echarts.min.js" defer></script>` : ''}
<script src="/bureau/assets/common.js" defer></script>
${p.script ? html`<script src="/bureau/assets/${p.script}.js" defer></script>` : ''}
</head>
<body${p.id ? html` data-page="${p.id}"` : ''}>
<header class="bar">
  <a class="app" href="/bureau/">${t('bureau.app')}</a>
  ${nav.length ? html`<nav aria-label="${t('bureau.nav.label')}" id="nav">${nav.map((n) => html`<a href="${n.href(p.month, p.lang)}" id="nav-${n.id}"${n.id === p.id ? rawHtml(' aria-current="page"') : ''}>${t(n.key)}</a>`)}</nav>` : ''}
  <div class="tools">
    <a class="lang" href="/bureau/lang/${other}" lang="${other}" title="${t('bureau.lang.switch')}">${translator(other)('bureau.lang.name')}</a>
    ${principal
      ? html`<span class="who" data-role="${principal.role}">${t('bureau.signedInAs', { name: principal.displayName, role: t(`bureau.role.${principal.role}`) })}</span>
    <button type="button" id="logout">${t('bureau.logout')}</button>`
      : ''}
  </div>
</header>
<main>
<p id="notice" class="notice" role="status" hidden></p>
<noscript><p class="notice error">${t('bureau.noscript')}</p></noscript>
${p.body}
</main>
</body>
</html>`}`;
}

/** Sends a page: HTML, never cached (it shows personal data), only the server's own scripts and styles. */
export function sendPage(reply: FastifyReply, page: string, code = 200): FastifyReply {
  return reply
    .code(code)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .send(page);
}
