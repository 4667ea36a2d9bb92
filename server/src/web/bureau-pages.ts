/**
 * The bureau's pages, served by the server (issue 14, item 7), zh-CN first:
 *
 *   GET /bureau/login                   sign-in (POST /api/v1/login from its script), `?next=` a /bureau/ page
 *   GET /bureau/lang/:lang              the language switch (cookie), back to the page it came from
 *   GET /bureau/                        dashboard: city totals, charts by day and centre, centres and their health
 *   GET /bureau/registry[?centreId=]    a centre's elders; the admin records decisions (category, suspended, deceased, moved)
 *   GET /bureau/erasures[?centreId=]    a centre's erasures per box; the admin or the centre's manager requests one
 *   GET /bureau/users                   admin: users (add, disable, enable) and API tokens (make, shown once; revoke)
 *   GET /bureau/audit                   admin and auditor: the server's audit log and its hash chain
 *   GET /bureau/assets/<file>           the stylesheet, the pages' scripts, echarts (from node_modules, no CDN)
 *
 * Each page is a shell the server renders (pages/layout.ts: navigation for the role, fixed
 * texts); its script fills it from the API the way any client would. Page routes declare their
 * roles like the API's (`page: true`): without a live session a GET is sent to the sign-in page,
 * another role gets a 403 page. No inline script or style: the pages' CSP forbids both.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { DEFAULT_TIME_ZONE, serviceDateOf } from '../../../common/meal-windows.ts';
import { ELDER_STATUSES } from '../../../common/records.ts';
import { html, rawHtml, type Html } from '../../../common/web/html.ts';
import { ROLES, type RouteAccess } from '../plugins/auth.ts';
import { ErrorSchema } from '../schemas.ts';

/** What a page answers besides its HTML (a browser without a session is redirected, 303, before). */
const PageErrors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 500: ErrorSchema } as const;
import { LANGS, type MessageKey, type Translate } from './i18n/index.ts';
import { LANG_COOKIE, PAGE_ROLES, pageContext, renderPage, sendPage, type PageId } from './pages/layout.ts';

/** The access declaration of a page: its roles (layout.ts PAGE_ROLES), sign-in redirect on 401. */
export const pageAccess = (id: PageId): { access: RouteAccess } => ({ access: { roles: PAGE_ROLES[id], scope: 'centre', page: true } });

const ASSET_TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
const ASSET_FILES = ['bureau.css', 'common.js', 'login.js', 'dashboard.js', 'registry.js', 'erasures.js', 'users.js', 'audit.js'] as const;

/** The assets, read once at start: the files beside this module, and echarts' browser build. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const out = new Map<string, { type: string; body: Buffer }>();
  for (const f of ASSET_FILES) out.set(f, { type: ASSET_TYPES[f.split('.').pop()!]!, body: readFileSync(new URL(`./pages/assets/${f}`, import.meta.url)) });
  const echarts = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
  out.set('echarts.min.js', { type: ASSET_TYPES.js!, body: readFileSync(echarts) });
  return out;
}

const NextQuery = Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })), out: Type.Optional(Type.String({ maxLength: 8 })), lang: Type.Optional(Type.String({ maxLength: 8 })) });
const LangQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 8 })) });
const CentreQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 8 })), centreId: Type.Optional(Type.String({ maxLength: 64 })) });

export interface BureauPagesOptions {
  now: () => Date;
}

export const bureauPages: FastifyPluginAsync<BureauPagesOptions> = async (app, { now }) => {
  const assets = loadAssets();
  /** Today and this month as the bureau's city sees them (the default time zone). */
  const today = () => serviceDateOf(now(), DEFAULT_TIME_ZONE);

  app.get<{ Params: { file: string } }>('/bureau/assets/:file', { schema: { hide: true } }, async (request, reply: FastifyReply) => {
    const a = assets.get(request.params.file);
    if (!a) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no asset ${request.params.file.slice(0, 64)}` });
    return reply.type(a.type).header('cache-control', 'max-age=300').header('x-content-type-options', 'nosniff').send(a.body);
  });

  app.get<{ Params: { lang: string } }>('/bureau/lang/:lang', { schema: { hide: true } }, async (request, reply) => {
    const lang = (LANGS as readonly string[]).includes(request.params.lang) ? request.params.lang : 'zh-CN';
    // Back to the page it came from, when that is one of ours.
    let back = '/bureau/';
    const referer = request.headers.referer;
    if (referer) {
      try {
        const u = new URL(referer);
        if (u.host === request.headers.host && u.pathname.startsWith('/bureau/')) back = u.pathname + u.search.replace(/([?&])lang=[^&]*&?/, '$1').replace(/[?&]$/, '');
      } catch {
        // A malformed Referer: home.
      }
    }
    return reply.code(303).header('set-cookie', `${LANG_COOKIE}=${lang}; Path=/bureau; SameSite=Lax; Max-Age=31536000`).header('location', back).send();
  });

  app.get<{ Querystring: Static<typeof NextQuery> }>('/bureau/login', { schema: { hide: true, querystring: NextQuery } }, async (request, reply) => {
    const page = pageContext(request);
    const { t } = page;
    const body = html`<div class="narrow card">
<h1>${t('bureau.login.title')}</h1>
${request.query.out ? html`<p class="notice ok" id="signed-out">${t('bureau.login.signedOut')}</p>` : ''}
<form id="login-form" autocomplete="on">
<label for="userId">${t('bureau.login.userId')}</label><input id="userId" name="userId" autocomplete="username" required maxlength="64" autofocus>
<label for="password">${t('bureau.login.password')}</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="200">
<div class="actions"><button type="submit">${t('bureau.login.submit')}</button></div>
</form></div>`;
    return sendPage(reply, renderPage({ ...page, title: t('bureau.login.title'), body, script: 'login', month: today().slice(0, 7) }));
  });

  app.get('/bureau', { schema: { hide: true } }, async (_request, reply) => reply.code(308).header('location', '/bureau/').send());

  app.get<{ Querystring: Static<typeof LangQuery> }>('/bureau/', { config: pageAccess('dashboard'), schema: { description: "The bureau's dashboard page (HTML): city totals, charts by day and centre, the centres' health", querystring: LangQuery, response: { 200: Type.String(), ...PageErrors } } }, async (request, reply) => {
    const page = pageContext(request);
    const { t } = page;
    const day = today();
    const month = day.slice(0, 7);
    const figures = (prefix: string) => html`<dl class="figures">
<div><dt>${t('bureau.dashboard.meals')}</dt><dd id="${prefix}-meals">…</dd></div>
<div><dt>${t('bureau.dashboard.elders')}</dt><dd id="${prefix}-elders">…</dd></div>
<div><dt>${t('bureau.dashboard.amount')}</dt><dd id="${prefix}-amount">…</dd></div></dl>`;
    const cols = ['bureau.col.centre', 'bureau.col.district', 'bureau.col.today', 'bureau.col.month', 'bureau.col.monthElders', 'bureau.col.monthAmount', 'bureau.col.devices', 'bureau.col.lastSeen', 'bureau.col.health'] as const;
    const num = new Set<string>(['bureau.col.today', 'bureau.col.month', 'bureau.col.monthElders', 'bureau.col.monthAmount', 'bureau.col.devices']);
    const body = html`<h1>${t('bureau.dashboard.title')}</h1>
<section class="totals">
<div class="card" id="today"><h2>${t('bureau.dashboard.today', { date: day })}</h2>${figures('today')}</div>
<div class="card" id="month"><h2>${t('bureau.dashboard.month', { month })}</h2>${figures('month')}</div>
</section>
<section class="charts">
<div class="card"><h2 id="chart-day-title">${t('bureau.dashboard.byDay')}</h2><div class="chart" id="chart-day" role="img" aria-labelledby="chart-day-title"></div></div>
<div class="card"><h2 id="chart-centre-title">${t('bureau.dashboard.byCentre')}</h2><div class="chart" id="chart-centre" role="img" aria-labelledby="chart-centre-title"></div></div>
</section>
<section class="card" id="welfare" hidden><h2>${t('bureau.dashboard.welfare')}</h2><p class="hint">${t('bureau.dashboard.welfareHint')}</p>
<div class="table-wrap"><table><thead><tr><th>${t('bureau.col.elderId')}</th><th>${t('bureau.col.name')}</th><th>${t('bureau.col.centre')}</th><th>${t('bureau.col.lastMeal')}</th><th class="num">${t('bureau.col.meals')}</th></tr></thead><tbody></tbody></table></div></section>
<section class="card"><h2>${t('bureau.dashboard.centres')}</h2>
<div class="table-wrap"><table id="centre-table"><thead><tr>${cols.map((c) => html`<th${num.has(c) ? html` class="num"` : ''}>${t(c)}</th>`)}</tr></thead><tbody><tr><td colspan="9">${t('ui.loading')}</td></tr></tbody></table></div></section>`;
    return sendPage(reply, renderPage({ ...page, id: 'dashboard', title: t('bureau.nav.dashboard'), body, script: 'dashboard', charts: true, month, data: { today: day, month, monthStart: `${month}-01` } }));
  });

  const filterCentre = (t: Translate) => html`<div><label for="centre">${t('bureau.field.centre')}</label><select id="centre" name="centreId"></select></div>`;
  const th = (t: Translate, keys: readonly MessageKey[]) => html`<thead><tr>${keys.map((k) => html`<th>${t(k)}</th>`)}</tr></thead>`;

  app.get<{ Querystring: Static<typeof CentreQuery> }>('/bureau/registry', { config: pageAccess('registry'), schema: { description: "The registry page (HTML): a centre's elders, their status and category, the bureau's decisions", querystring: CentreQuery, response: { 200: Type.String(), ...PageErrors } } }, async (request, reply) => {
    const page = pageContext(request);
    const { t } = page;
    const day = today();
    const admin = page.principal?.role === 'admin';
    const decision = admin
      ? html`<section class="card" id="decision" hidden><h2>${t('bureau.registry.decide')}: <span id="d-elder"></span></h2>
<p class="hint">${t('bureau.registry.hint')}</p>
<form id="decision-form"><div class="form-grid">
<div><label for="d-status">${t('bureau.field.status')}</label><select id="d-status" name="status" required>${ELDER_STATUSES.map((s) => html`<option value="${s}">${t(`ui.status.${s}`)}</option>`)}</select></div>
<div><label for="d-category">${t('bureau.field.category')}</label><select id="d-category" name="category"><option value="">${t('bureau.field.keepCategory')}</option></select></div>
<div><label for="d-date">${t('bureau.field.effectiveOn')}</label><input id="d-date" name="effectiveOn" type="date" required></div>
<div><label for="d-reason">${t('bureau.field.reason')}</label><input id="d-reason" name="reason" required maxlength="200"></div>
</div><div class="actions"><button type="submit">${t('bureau.registry.save')}</button><button type="button" class="secondary" id="d-cancel">${t('bureau.registry.cancel')}</button></div></form></section>`
      : '';
    const body = html`<h1>${t('bureau.registry.title')}</h1>
<div class="filters card">${filterCentre(t)}
<div><label for="status">${t('bureau.field.status')}</label><select id="status"><option value="">${t('bureau.field.allStatuses')}</option>${ELDER_STATUSES.map((s) => html`<option value="${s}">${t(`ui.status.${s}`)}</option>`)}</select></div></div>
${decision}
<section class="card"><p id="elder-count" class="hint"></p><div class="table-wrap"><table id="elders">${th(t, ['bureau.col.elderId', 'bureau.col.name', 'bureau.col.idNumber', 'bureau.col.category', 'bureau.col.status', 'bureau.col.source', 'bureau.col.decision', 'bureau.col.actions'])}<tbody><tr><td colspan="8">${t('ui.loading')}</td></tr></tbody></table></div></section>`;
    return sendPage(reply, renderPage({ ...page, id: 'registry', title: t('bureau.registry.title'), body, script: 'registry', month: day.slice(0, 7), data: { today: day } }));
  });

  app.get<{ Querystring: Static<typeof CentreQuery> }>('/bureau/erasures', { config: pageAccess('erasures'), schema: { description: "The erasures page (HTML): a centre's erasures of face data and each box's acknowledgement", querystring: CentreQuery, response: { 200: Type.String(), ...PageErrors } } }, async (request, reply) => {
    const page = pageContext(request);
    const { t } = page;
    const day = today();
    const role = page.principal?.role;
    const request_ = role === 'admin' || role === 'manager'
      ? html`<section class="card"><h2>${t('bureau.erasures.request')}</h2><p class="hint">${t('bureau.erasures.hint')}</p>
<form id="erasure-form"><div class="form-grid">
<div><label for="e-elder">${t('bureau.field.elder')}</label><select id="e-elder" name="elderId" required></select></div>
<div><label for="e-reason">${t('bureau.field.reason')}</label><input id="e-reason" name="reason" required maxlength="200"></div>
</div><div class="actions"><button type="submit" class="danger">${t('bureau.erasures.submit')}</button></div></form></section>`
      : '';
    const body = html`<h1>${t('bureau.erasures.title')}</h1>
<div class="filters card">${filterCentre(t)}
<div><label for="state">${t('bureau.field.state')}</label><select id="state"><option value="">${t('bureau.field.allStates')}</option><option value="pending">${t('ui.state.pending')}</option><option value="completed">${t('ui.state.completed')}</option></select></div>
<div><button type="button" class="secondary" id="refresh">${t('bureau.refresh')}</button></div></div>
${request_}
<section class="card"><h2>${t('bureau.erasures.list')}</h2><div class="table-wrap"><table id="erasures">${th(t, ['bureau.field.elder', 'bureau.col.reason', 'bureau.col.requested', 'bureau.col.state', 'bureau.col.boxes'])}<tbody><tr><td colspan="5">${t('ui.loading')}</td></tr></tbody></table></div></section>`;
    return sendPage(reply, renderPage({ ...page, id: 'erasures', title: t('bureau.erasures.title'), body, script: 'erasures', month: day.slice(0, 7), data: { today: day } }));
  });

  app.get<{ Querystring: Static<typeof LangQuery> }>('/bureau/users', { config: pageAccess('users'), schema: { description: 'The users page (HTML): users and API tokens', querystring: LangQuery, response: { 200: Type.String(), ...PageErrors } } }, async (request, reply) => {
    const page = pageContext(request);
    const { t } = page;
    const field = (id: string, name: string, key: MessageKey, attrs: Html) => html`<div><label for="${id}">${t(key)}</label><input id="${id}" name="${name}"${attrs}></div>`;
    const body = html`<h1>${t('bureau.users.title')}</h1>
<section class="card"><div class="table-wrap"><table id="users">${th(t, ['bureau.col.userId', 'bureau.col.name', 'bureau.col.role', 'bureau.col.districts', 'bureau.col.centre', 'bureau.col.status', 'bureau.col.actions'])}<tbody><tr><td colspan="7">${t('ui.loading')}</td></tr></tbody></table></div></section>
<section class="card"><h2>${t('bureau.users.add')}</h2>
<form id="user-form" autocomplete="off"><div class="form-grid">
${field('u-id', 'userId', 'bureau.field.userId', rawHtml(' required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9._\\-]*"'))}
${field('u-name', 'displayName', 'bureau.field.displayName', rawHtml(' required maxlength="100"'))}
<div><label for="u-role">${t('bureau.field.role')}</label><select id="u-role" name="role">${ROLES.map((r) => html`<option value="${r}">${t(`bureau.role.${r}`)}</option>`)}</select></div>
${field('u-password', 'password', 'bureau.field.password', rawHtml(' type="password" required minlength="10" maxlength="200" autocomplete="new-password"'))}
${field('u-districts', 'districtIds', 'bureau.field.districtIds', rawHtml(' maxlength="500"'))}
${field('u-centre', 'centreId', 'bureau.field.centreId', rawHtml(' maxlength="64"'))}
</div><div class="actions"><button type="submit">${t('bureau.users.submitAdd')}</button></div></form></section>
<section class="card"><h2>${t('bureau.users.tokens')}</h2>
<div id="new-token" hidden><p class="notice ok">${t('ui.tokenMade')}</p><p class="secret"></p></div>
<div class="table-wrap"><table id="tokens">${th(t, ['bureau.col.tokenId', 'bureau.col.userId', 'bureau.col.tokenName', 'bureau.col.created', 'bureau.col.lastUsed', 'bureau.col.revoked', 'bureau.col.actions'])}<tbody></tbody></table></div>
<h2>${t('bureau.users.addToken')}</h2>
<form id="token-form"><div class="form-grid">
<div><label for="t-user">${t('bureau.field.tokenUser')}</label><select id="t-user" name="userId" required></select></div>
${field('t-name', 'name', 'bureau.field.tokenName', rawHtml(' required maxlength="100"'))}
</div><div class="actions"><button type="submit">${t('bureau.users.submitToken')}</button></div></form></section>`;
    return sendPage(reply, renderPage({ ...page, id: 'users', title: t('bureau.users.title'), body, script: 'users', month: today().slice(0, 7) }));
  });

  app.get<{ Querystring: Static<typeof LangQuery> }>('/bureau/audit', { config: pageAccess('audit'), schema: { description: 'The audit log page (HTML)', querystring: LangQuery, response: { 200: Type.String(), ...PageErrors } } }, async (request, reply) => {
    const page = pageContext(request);
    const { t } = page;
    const body = html`<h1>${t('bureau.audit.title')}</h1>
<p id="chain" class="notice" role="status"></p>
<form id="audit-filter" class="filters card">
<div><label for="a-action">${t('bureau.field.action')}</label><input id="a-action" name="action" maxlength="64"></div>
<div><label for="a-user">${t('bureau.field.user')}</label><input id="a-user" name="userId" maxlength="100"></div>
<div><button type="submit">${t('bureau.audit.filter')}</button></div></form>
<section class="card"><div class="table-wrap"><table id="audit">${th(t, ['bureau.col.at', 'bureau.col.user', 'bureau.col.action', 'bureau.col.subject', 'bureau.col.details'])}<tbody><tr><td colspan="5">${t('ui.loading')}</td></tr></tbody></table></div>
<div class="actions"><button type="button" class="secondary" id="prev">${t('bureau.audit.prev')}</button><button type="button" class="secondary" id="next">${t('bureau.audit.next')}</button><span id="range" class="hint"></span></div></section>`;
    return sendPage(reply, renderPage({ ...page, id: 'audit', title: t('bureau.audit.title'), body, script: 'audit', month: today().slice(0, 7) }));
  });
};
