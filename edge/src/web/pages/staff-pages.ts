/**
 * The staff pages of item 1 and 7: login, home (the menu of staff functions), change PIN,
 * staff accounts (managers), logout, the language switch, and the shared assets. Forms post
 * URL-encoded bodies (they work without JavaScript) and answer with a page or a 303 redirect.
 *
 *   GET  /staff/login  POST /staff/login        GET  /staff/        (home)
 *   GET  /staff/pin    POST /staff/pin          POST /staff/logout
 *   GET  /staff/accounts                        POST /staff/accounts (add)
 *   POST /staff/accounts/:staffId/remove        POST /staff/accounts/:staffId/pin (reset)
 *   GET  /staff/lang/:lang                      GET  /staff/assets/staff.css|staff.js
 *
 * Other features add their pages beside these with `renderPage` (layout.ts) and link them from
 * the home menu (HOME_LINKS below).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { PIN_RULE, StaffError, type StaffAccount, type StaffService } from '../../staff/staff-service.ts';
import { registerFormBody } from '../../../../common/web/form-body.ts';
import { isLang, LANG_COOKIE, type MessageKey } from '../i18n/index.ts';
import { parseCookies } from '../../../../common/web/cookies.ts';
import { LOGIN_PATH, requireRole, SESSION_COOKIE, type StaffRole } from '../staff-auth.ts';
import { clearedSessionCookie, sessionCookie } from '../session-cookie.ts';
import { STAFF_CSS, STAFF_JS } from './assets.ts';
import { html } from '../../../../common/web/html.ts';
import { csrfField, pageContext, renderPage, sendPage, type PageContext } from './layout.ts';

/**
 * The home menu. `href: undefined` shows the entry greyed out as "coming soon": the features
 * of items 2-5 set their page's path here when they land.
 */
export const HOME_LINKS: Array<{ key: MessageKey; about: MessageKey; href?: string; role: StaffRole; id: string }> = [
  { id: 'elders', key: 'home.elders', about: 'home.elders.about', href: '/staff/elders', role: 'staff' },
  { id: 'today', key: 'home.today', about: 'home.today.about', href: '/staff/today', role: 'staff' },
  { id: 'manual', key: 'home.manual', about: 'home.manual.about', href: '/staff/meals', role: 'staff' },
  { id: 'review', key: 'home.review', about: 'home.review.about', href: '/staff/review', role: 'staff' },
  { id: 'health', key: 'home.health', about: 'home.health.about', href: '/staff/health', role: 'staff' },
  { id: 'accounts', key: 'home.staff', about: 'home.staff.about', href: '/staff/accounts', role: 'manager' },
];

const StaffIdParam = Type.Object({ staffId: Type.String({ pattern: ID_PATTERN }) });
const Form = Type.Record(Type.String(), Type.String());
type FormBody = Record<string, string>;

/** A `next` that stays on this site's staff pages (no open redirect). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/staff\/[\w\-/?=&%.]*$/.test(next) && !next.startsWith('//') ? next : '/staff/';
}

/** A time as staff read it: in the centre's time zone, day and minute. */
export function formatTime(iso: string, lang: string, timeZone: string): string {
  return new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { timeZone, hour: '2-digit', minute: '2-digit', month: 'numeric', day: 'numeric' });
}

export interface StaffPagesOptions {
  staff: StaffService;
  secureCookie?: boolean;
  /** The centre's IANA time zone (lock-out times are shown in it). */
  timeZone?: string;
}

export function staffPages(app: FastifyInstance, opts: StaffPagesOptions): void {
  const { staff } = opts;
  const secure = opts.secureCookie ?? false;
  const tz = opts.timeZone ?? 'Asia/Shanghai';
  registerFormBody(app);

  app.get('/staff/assets/staff.css', async (_req, reply) => reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'max-age=300').send(STAFF_CSS));
  app.get('/staff/assets/staff.js', async (_req, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(STAFF_JS));

  app.get<{ Params: { lang: string } }>('/staff/lang/:lang', async (request, reply) => {
    const lang = request.params.lang;
    if (!isLang(lang)) return reply.code(400).send({ error: `unknown language ${lang} (zh-CN or en)` });
    const back = safeNext(request.headers.referer ? new URL(request.headers.referer, 'http://x').pathname : undefined);
    return reply.header('set-cookie', `${LANG_COOKIE}=${lang}; Path=/; SameSite=Lax; Max-Age=31536000`).redirect(back, 303);
  });

  const loginPage = (page: PageContext, next: string, notice?: { kind: 'ok' | 'error' | 'info'; text: string }, staffId = '') =>
    renderPage({
      ...page,
      title: page.t('login.title'),
      notice,
      body: html`<section class="card narrow">
<h1>${page.t('login.title')}</h1>
<form method="post" action="${LOGIN_PATH}" id="login-form">
  <input type="hidden" name="next" value="${next}">
  <label for="staffId">${page.t('login.staffId')}</label>
  <input id="staffId" name="staffId" autocomplete="username" autocapitalize="characters" required maxlength="64" value="${staffId}">
  <label for="pin">${page.t('login.pin')}</label>
  <input id="pin" name="pin" type="password" autocomplete="current-password" inputmode="numeric" required maxlength="${PIN_RULE.max}">
  <div class="actions"><button type="submit">${page.t('login.submit')}</button></div>
</form>
</section>`,
    });

  app.get<{ Querystring: { next?: string; bye?: string } }>(LOGIN_PATH, async (request, reply) => {
    const page = pageContext(request);
    if (page.staff) return reply.redirect(safeNext(request.query.next), 303);
    const notice = request.query.bye !== undefined ? { kind: 'ok' as const, text: page.t('login.loggedOut') } : request.query.next ? { kind: 'info' as const, text: page.t('login.expired') } : undefined;
    return sendPage(reply, loginPage(page, safeNext(request.query.next), notice));
  });

  app.post<{ Body: FormBody }>(LOGIN_PATH, { schema: { body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const staffId = (request.body.staffId ?? '').trim();
    const next = safeNext(request.body.next);
    const r = await staff.login(staffId, request.body.pin ?? '');
    switch (r.status) {
      case 'ok':
        reply.header('set-cookie', sessionCookie(r.token, secure));
        return reply.redirect(r.mustChangePin ? '/staff/pin' : next, 303);
      case 'refused':
        return sendPage(reply, loginPage(page, next, { kind: 'error', text: page.t('login.refused') }, staffId), 401);
      case 'locked':
        return sendPage(reply, loginPage(page, next, { kind: 'error', text: page.t('login.locked', { until: formatTime(r.until, page.lang, tz) }) }, staffId), 423);
    }
  });

  app.post('/staff/logout', { preValidation: requireRole('staff') }, async (request, reply) => {
    const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    if (token) staff.logout(token);
    return reply.header('set-cookie', clearedSessionCookie(secure)).redirect(`${LOGIN_PATH}?bye`, 303);
  });

  app.get('/staff/', { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    const me = page.staff!;
    if (staff.get(me.staffId)?.mustChangePin) return reply.redirect('/staff/pin', 303);
    const links = HOME_LINKS.filter((l) => l.role === 'staff' || me.role === 'manager');
    const body = html`<h1>${page.t('home.welcome', { name: me.name })}</h1>
<ul class="menu">
${links.map((l) =>
  l.href
    ? html`<li><a href="${l.href}" id="menu-${l.id}"><strong>${page.t(l.key)}</strong>${page.t(l.about)}</a></li>`
    : html`<li><span class="off" id="menu-${l.id}" aria-disabled="true"><strong>${page.t(l.key)}</strong>${page.t(l.about)} · ${page.t('home.soon')}</span></li>`,
)}
  <li><a href="/staff/pin" id="menu-pin"><strong>${page.t('home.pin')}</strong></a></li>
</ul>`;
    return sendPage(reply, renderPage({ ...page, title: page.t('home.title'), body }));
  });

  const pinPage = (page: PageContext, mustChange: boolean, notice?: { kind: 'ok' | 'error' | 'info'; text: string }) =>
    renderPage({
      ...page,
      title: page.t('pin.title'),
      notice: notice ?? (mustChange ? { kind: 'info', text: page.t('pin.mustChange') } : undefined),
      body: html`<section class="card narrow">
<h1>${page.t('pin.title')}</h1>
<form method="post" action="/staff/pin" id="pin-form">
  ${csrfField(page)}
  <label for="current">${page.t('pin.current')}</label>
  <input id="current" name="current" type="password" autocomplete="current-password" required>
  <label for="next">${page.t('pin.next', { min: PIN_RULE.min })}</label>
  <input id="next" name="next" type="password" autocomplete="new-password" required minlength="${PIN_RULE.min}" maxlength="${PIN_RULE.max}">
  <label for="repeat">${page.t('pin.repeat')}</label>
  <input id="repeat" name="repeat" type="password" autocomplete="new-password" required minlength="${PIN_RULE.min}" maxlength="${PIN_RULE.max}">
  <div class="actions"><button type="submit">${page.t('pin.submit')}</button><a class="button secondary" href="/staff/">${page.t('nav.home')}</a></div>
</form>
</section>`,
    });

  app.get('/staff/pin', { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    return sendPage(reply, pinPage(page, staff.get(page.staff!.staffId)?.mustChangePin ?? false));
  });

  app.post<{ Body: FormBody }>('/staff/pin', { preValidation: requireRole('staff'), schema: { body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const me = page.staff!.staffId;
    const mustChange = staff.get(me)?.mustChangePin ?? false;
    const { current = '', next = '', repeat = '' } = request.body;
    const fail = (key: MessageKey) => sendPage(reply, pinPage(page, mustChange, { kind: 'error', text: page.t(key, { min: PIN_RULE.min }) }), 400);
    if (next !== repeat) return fail('pin.mismatch');
    if (next.length < PIN_RULE.min) return fail('pin.tooShort');
    if (next === current) return fail('pin.same');
    try {
      await staff.changePin(me, current, next);
    } catch (err) {
      if (err instanceof StaffError && err.code === 'wrong-pin') return fail('pin.wrong');
      if (err instanceof StaffError) return sendPage(reply, pinPage(page, mustChange, { kind: 'error', text: page.t('staff.invalid', { problem: err.message }) }), 400);
      throw err;
    }
    return sendPage(reply, pinPage(page, false, { kind: 'ok', text: page.t('pin.saved') }));
  });

  const accountsPage = (page: PageContext, notice?: { kind: 'ok' | 'error' | 'info'; text: string }, secret?: { account: Pick<StaffAccount, 'staffId' | 'name'>; pin: string }) => {
    const t = page.t;
    const me = page.staff!.staffId;
    const now = Date.now();
    const rows = staff.list().map(
      (a) => html`<tr data-staff-id="${a.staffId}">
  <td>${a.staffId}</td><td>${a.name}${a.staffId === me ? html` ${t('staff.you')}` : ''}</td><td>${t(`role.${a.role}`)}</td>
  <td class="opt">${a.lockedUntil && Date.parse(a.lockedUntil) > now ? t('staff.locked', { until: formatTime(a.lockedUntil, page.lang, tz) }) : t('staff.active')}</td>
  <td>
    <form method="post" action="/staff/accounts/${a.staffId}/pin">${csrfField(page)}<button type="submit" class="secondary">${t('staff.resetPin')}</button></form>
    ${a.staffId === me ? '' : html`<form method="post" action="/staff/accounts/${a.staffId}/remove" data-confirm="${t('staff.remove.confirm', { name: a.name, id: a.staffId })}">${csrfField(page)}<button type="submit" class="danger">${t('staff.remove')}</button></form>`}
  </td>
</tr>`,
    );
    const body = html`<h1>${t('staff.title')}</h1>
${secret ? html`<section class="card" id="one-time-pin"><p>${t('staff.oneTimePin', { name: secret.account.name, id: secret.account.staffId })}</p><p class="secret">${secret.pin}</p><p>${t('staff.oneTimePin.note')}</p></section>` : ''}
<section class="card">
<h2>${t('staff.list')}</h2>
<table id="staff-table">
<thead><tr><th>${t('staff.id')}</th><th>${t('staff.name')}</th><th>${t('staff.role')}</th><th class="opt">${t('staff.status')}</th><th>${t('staff.actions')}</th></tr></thead>
<tbody>${rows}</tbody>
</table>
</section>
<section class="card">
<h2>${t('staff.add')}</h2>
<form method="post" action="/staff/accounts" id="add-staff">
  ${csrfField(page)}
  <div class="grid2">
    <div><label for="name">${t('staff.name')}</label><input id="name" name="name" required maxlength="100"></div>
    <div><label for="role">${t('staff.role')}</label><select id="role" name="role"><option value="staff">${t('role.staff')}</option><option value="manager">${t('role.manager')}</option></select></div>
    <div><label for="staffId">${t('staff.add.idHint')}</label><input id="staffId" name="staffId" maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}"></div>
  </div>
  <div class="actions"><button type="submit">${t('staff.add.submit')}</button></div>
</form>
</section>`;
    return renderPage({ ...page, title: t('staff.title'), body, notice });
  };

  const fromError = (page: PageContext, err: unknown, id: string): { kind: 'error'; text: string } => {
    if (!(err instanceof StaffError)) throw err;
    switch (err.code) {
      case 'last-manager':
        return { kind: 'error', text: page.t('staff.lastManager', { id }) };
      case 'taken':
        return { kind: 'error', text: page.t('staff.taken', { id }) };
      case 'not-found':
        return { kind: 'error', text: page.t('staff.notFound', { id }) };
      case 'invalid':
      case 'wrong-pin':
        return { kind: 'error', text: page.t('staff.invalid', { problem: err.message }) };
    }
  };
  const statusOf = (err: unknown) => (err instanceof StaffError ? ({ invalid: 400, 'wrong-pin': 400, 'not-found': 404, taken: 409, 'last-manager': 409 } as const)[err.code] : 500);

  app.get('/staff/accounts', { preValidation: requireRole('manager') }, async (request, reply) => sendPage(reply, accountsPage(pageContext(request))));

  app.post<{ Body: FormBody }>('/staff/accounts', { preValidation: requireRole('manager'), schema: { body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const role = request.body.role === 'manager' ? 'manager' : request.body.role === 'staff' ? 'staff' : undefined;
    const staffId = request.body.staffId?.trim() || undefined;
    try {
      if (!role) throw new StaffError('invalid', 'role must be staff or manager');
      const r = await staff.add({ name: request.body.name ?? '', role, ...(staffId ? { staffId } : {}) }, page.staff!.staffId);
      return sendPage(reply, accountsPage(page, { kind: 'ok', text: page.t('staff.added', { name: r.staff.name, id: r.staff.staffId }) }, { account: r.staff, pin: r.pin! }), 201);
    } catch (err) {
      return sendPage(reply, accountsPage(page, fromError(page, err, staffId ?? '')), statusOf(err));
    }
  });

  app.post<{ Params: Static<typeof StaffIdParam>; Body: FormBody }>('/staff/accounts/:staffId/remove', { preValidation: requireRole('manager'), schema: { params: StaffIdParam, body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    try {
      const a = staff.remove(request.params.staffId, page.staff!.staffId);
      return sendPage(reply, accountsPage(page, { kind: 'ok', text: page.t('staff.removed', { name: a.name, id: a.staffId }) }));
    } catch (err) {
      return sendPage(reply, accountsPage(page, fromError(page, err, request.params.staffId)), statusOf(err));
    }
  });

  app.post<{ Params: Static<typeof StaffIdParam>; Body: FormBody }>('/staff/accounts/:staffId/pin', { preValidation: requireRole('manager'), schema: { params: StaffIdParam, body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    try {
      const { pin } = await staff.resetPin(request.params.staffId, page.staff!.staffId);
      const a = staff.get(request.params.staffId)!;
      return sendPage(reply, accountsPage(page, undefined, { account: a, pin }));
    } catch (err) {
      return sendPage(reply, accountsPage(page, fromError(page, err, request.params.staffId)), statusOf(err));
    }
  });

  // /staff → /staff/ (the home page's one address).
  app.get('/staff', async (_request: FastifyRequest, reply: FastifyReply) => reply.redirect('/staff/', 308));
}
