/**
 * The staff pages of items 4 and 5: today's meals (with a void button on each check-in) and a
 * meal by hand (search an elder, pick them, say how: face not recognised, delivered, collected
 * by a named person). Forms post URL-encoded bodies and work without JavaScript; a recorded or
 * voided meal answers with a 303 to today's page, a refusal with the page again and why.
 *
 *   GET  /staff/today            today's view; ?recorded=<eventId> / ?voided=<eventId> add a notice
 *   POST /staff/today/void       {eventId, reason} → 303 /staff/today?voided=...
 *   GET  /staff/meals            ?q=<search> lists elders; ?elder=<id> shows the record form
 *   POST /staff/meals            {elderId, method, proxyName?} → 303 /staff/today?recorded=...
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CheckInMethod } from '../../../../common/contract.ts';
import { localTime } from '../../../../common/meal-windows.ts';
import { ELDER_SEARCH_LIMIT, type ElderMatch } from '../../elders/elder-repository.ts';
import { isStaffMethod, requestProblem, STAFF_METHODS, type CheckInResult, type StaffMethod } from '../../meals/check-in.ts';
import type { StaffMealRequest, StaffVoidResult } from '../../meals/staff-meal-service.ts';
import type { TodayView, WindowTotals } from '../../meals/today-service.ts';
import { registerFormBody } from '../../../../common/web/form-body.ts';
import type { MessageKey, Translate } from '../i18n/index.ts';
import type { MealRoutesOptions } from '../meal-routes.ts';
import { requireRole } from '../staff-auth.ts';
import { html } from '../../../../common/web/html.ts';
import { csrfField, pageContext, renderPage, sendPage, type PageContext } from './layout.ts';

type FormBody = Record<string, string>;
type Notice = { kind: 'ok' | 'error' | 'info'; text: string };

const mealName = (t: Translate, meal: string) => t(`meal.${meal}` as MessageKey);
const methodName = (t: Translate, method: CheckInMethod) => t(`method.${method}` as MessageKey);
const statusName = (t: Translate, status: string) => (['suspended', 'deceased', 'moved'].includes(status) ? t(`elder.status.${status}` as MessageKey) : status);

export function mealPages(app: FastifyInstance, opts: MealRoutesOptions): void {
  const { meals, today, elders, timeZone } = opts;
  registerFormBody(app);
  const hhmm = (iso: string) => {
    const m = localTime(new Date(iso), timeZone).minutes;
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };

  // --- today -------------------------------------------------------------------------------

  const windowRow = (t: Translate, w: WindowTotals | (TodayView['totals'] & { label: string })) => {
    const label = 'label' in w ? w.label : html`${mealName(t, w.meal)}`;
    const time = 'label' in w ? '' : `${w.start}–${w.end}`;
    return html`<tr${'state' in w && w.state === 'open' ? html` class="open"` : ''}><th scope="row">${label}</th><td>${time}</td>${(['face', 'manual', 'delivery', 'proxy'] as const).map((m) => html`<td class="num">${w.byMethod[m]}</td>`)}<td class="num total">${w.total}</td><td class="num">${w.voided}</td></tr>`;
  };

  const checkInRow = (page: PageContext, c: TodayView['checkIns'][number]) => {
    const t = page.t;
    const how = c.method === 'proxy' && c.proxyName ? html`${methodName(t, c.method)}：${c.proxyName}` : html`${methodName(t, c.method)}`;
    const by = c.staffId ? (c.staffName ? `${c.staffName}（${c.staffId}）` : c.staffId) : '';
    const action = c.voided
      ? html`<span class="voided-note">${t('today.voidedBy', { by: c.voided.staffId, time: hhmm(c.voided.at), reason: c.voided.reason })}</span>`
      : html`<form method="post" action="/staff/today/void" class="void-form" data-confirm="${t('today.void.confirm', { name: c.elderName, meal: mealName(t, c.meal) })}">
  ${csrfField(page)}<input type="hidden" name="eventId" value="${c.eventId}">
  <label class="sr" for="reason-${c.eventId}">${t('today.void.reason')}</label>
  <input id="reason-${c.eventId}" name="reason" required maxlength="200" placeholder="${t('today.void.reason')}">
  <button type="submit" class="danger">${t('today.void')}</button>
</form>`;
    return html`<tr class="${c.voided ? 'voided' : ''}" data-event-id="${c.eventId}" data-method="${c.method}">
<td>${hhmm(c.at)}</td><td>${c.elderName}<br><small>${c.elderId}</small></td><td>${mealName(t, c.meal)}${c.provisional ? html`<br><small>${t('today.provisional')}</small>` : ''}</td>
<td>${how}</td><td class="opt">${c.cameraId ?? ''}</td><td class="opt">${by}</td><td>${action}</td></tr>`;
  };

  const todayPage = (page: PageContext, v: TodayView, notice?: Notice) => {
    const t = page.t;
    const cur = v.current;
    const expected = v.expected;
    const body = html`<h1>${t('today.title')} · ${v.serviceDate}</h1>
<p class="current" id="current">${cur ? t('today.current', { meal: mealName(t, cur.meal), start: cur.start, end: cur.end }) : t('today.between')}</p>
<div class="actions"><a class="button" href="/staff/meals" id="record-by-hand">${t('home.manual')}</a></div>
<section class="card">
<h2>${t('today.windows')}</h2>
<table id="windows">
<thead><tr><th>${t('today.meal')}</th><th>${t('today.time')}</th>${(['face', 'manual', 'delivery', 'proxy'] as const).map((m) => html`<th>${methodName(t, m)}</th>`)}<th>${t('today.total')}</th><th>${t('today.voided')}</th></tr></thead>
<tbody>${v.windows.map((w) => windowRow(t, w))}${windowRow(t, { ...v.totals, label: t('today.allDay') })}</tbody>
</table>
</section>
${expected
  ? html`<section class="card" id="expected">
<h2>${t('today.expected', { meal: mealName(t, expected.meal) })}</h2>
<p><small>${t('today.expected.rule', { min: expected.minDays, days: expected.lookbackDays, meal: mealName(t, expected.meal) })}</small></p>
${expected.elders.length === 0
  ? html`<p>${t('today.expected.none')}</p>`
  : html`<ul class="plain">${expected.elders.map((e) => html`<li data-elder-id="${e.elderId}"><strong>${e.elderName}</strong>（${e.elderId}）<small>${t('today.expected.days', { n: e.days, days: expected.lookbackDays, last: e.lastDate })}</small> <a class="button secondary" href="/staff/meals?elder=${encodeURIComponent(e.elderId)}">${t('today.recordFor')}</a></li>`)}</ul>`}
</section>`
  : ''}
<section class="card">
<h2>${t('today.list')}</h2>
${v.checkIns.length === 0
  ? html`<p>${t('today.empty')}</p>`
  : html`<table id="check-ins">
<thead><tr><th>${t('today.time')}</th><th>${t('today.elder')}</th><th>${t('today.meal')}</th><th>${t('today.method')}</th><th class="opt">${t('today.camera')}</th><th class="opt">${t('today.by')}</th><th></th></tr></thead>
<tbody>${v.checkIns.map((c) => checkInRow(page, c))}</tbody>
</table>`}
</section>`;
    return renderPage({ ...page, title: t('today.title'), body, notice });
  };

  const findToday = (v: TodayView, eventId: string | undefined) => (eventId ? v.checkIns.find((c) => c.eventId === eventId) : undefined);

  app.get<{ Querystring: { recorded?: string; voided?: string } }>('/staff/today', { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    const v = today.today();
    const recorded = findToday(v, request.query.recorded);
    const voided = findToday(v, request.query.voided);
    const notice: Notice | undefined = recorded
      ? { kind: 'ok', text: page.t('meals.recorded', { name: recorded.elderName, meal: mealName(page.t, recorded.meal), method: methodName(page.t, recorded.method) }) }
      : voided
        ? { kind: 'ok', text: page.t('today.voidedNotice', { name: voided.elderName, meal: mealName(page.t, voided.meal) }) }
        : undefined;
    return sendPage(reply, todayPage(page, v, notice));
  });

  app.post<{ Body: FormBody }>('/staff/today/void', { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    const eventId = request.body.eventId ?? '';
    const r: StaffVoidResult = meals.void(request.staff!, { eventId, reason: request.body.reason ?? '' });
    if (r.status === 'voided') return reply.redirect(`/staff/today?voided=${encodeURIComponent(r.checkIn.eventId)}`, 303);
    const [code, key]: [number, MessageKey] =
      r.status === 'not-found' ? [404, 'today.void.notFound'] : r.status === 'already-voided' ? [409, 'today.void.already'] : r.status === 'forbidden' ? [403, 'today.void.forbidden'] : r.status === 'invalid' ? [400, 'today.void.invalid'] : [500, 'today.void.failed'];
    return sendPage(reply, todayPage(page, today.today(), { kind: 'error', text: page.t(key) }), code);
  });

  // --- a meal by hand ----------------------------------------------------------------------

  const searchForm = (page: PageContext, q: string) => html`<form method="get" action="/staff/meals" id="search-form" class="card narrow">
<label for="q">${page.t('meals.search')}</label>
<input id="q" name="q" value="${q}" placeholder="${page.t('meals.search.hint')}" maxlength="64" autofocus>
<div class="actions"><button type="submit">${page.t('meals.search.submit')}</button></div>
</form>`;

  const windowLine = (page: PageContext, v: TodayView) =>
    v.current ? html`<p class="current" id="current">${page.t('meals.window', { meal: mealName(page.t, v.current.meal), start: v.current.start, end: v.current.end })}</p>` : html`<p class="notice info" id="current">${page.t('meals.noWindow')}</p>`;

  const matchItem = (page: PageContext, m: ElderMatch) => {
    const inactive = m.status !== undefined && m.status !== 'active';
    return html`<li data-elder-id="${m.elderId}"><strong>${m.name}</strong>（${m.elderId}）${m.idTail ? html` <small>${page.t('meals.idTail', { tail: m.idTail })}</small>` : ''}
${inactive ? html` <small class="warn">${page.t('meals.inactive', { status: statusName(page.t, m.status!) })}</small>` : html` <a class="button" href="/staff/meals?elder=${encodeURIComponent(m.elderId)}">${page.t('meals.pick', { name: m.name, id: m.elderId })}</a>`}</li>`;
  };

  const recordForm = (page: PageContext, v: TodayView, elder: ElderMatch, proxyName = '') => {
    const meal = v.current ? mealName(page.t, v.current.meal) : '';
    return html`<form method="post" action="/staff/meals" id="record-form" class="card narrow">
${csrfField(page)}<input type="hidden" name="elderId" value="${elder.elderId}">
<h2>${page.t('meals.pick', { name: elder.name, id: elder.elderId })}</h2>
<label for="proxyName">${page.t('meals.proxyName')}</label>
<input id="proxyName" name="proxyName" value="${proxyName}" maxlength="50" autocomplete="off">
<p><strong>${page.t('meals.method')}</strong></p>
<div class="actions methods">${STAFF_METHODS.map((m) => html`<button type="submit" name="method" value="${m}" id="method-${m}"${v.current ? '' : ' disabled'}>${methodName(page.t, m)}${meal ? html` · ${page.t('meals.submit', { meal })}` : ''}</button>`)}</div>
</form>`;
  };

  const mealsPage = (page: PageContext, parts: { q?: string; elder?: ElderMatch; proxyName?: string; notice?: Notice }) => {
    const v = today.today();
    const q = parts.q ?? '';
    const found = !parts.elder && q !== '' ? elders.searchElders(q) : [];
    const body = html`<h1>${page.t('meals.title')}</h1>
${windowLine(page, v)}
${parts.elder ? recordForm(page, v, parts.elder, parts.proxyName) : searchForm(page, q)}
${!parts.elder && q !== ''
  ? found.length === 0
    ? html`<p id="no-match">${page.t('meals.search.none', { q })}</p>`
    : html`<ul class="plain" id="matches">${found.map((m) => matchItem(page, m))}</ul>${found.length >= ELDER_SEARCH_LIMIT ? html`<p><small>${page.t('meals.search.many', { n: ELDER_SEARCH_LIMIT })}</small></p>` : ''}`
  : ''}
<div class="actions"><a class="button secondary" href="/staff/today">${page.t('today.title')}</a>${parts.elder ? html`<a class="button secondary" href="/staff/meals">${page.t('meals.search')}</a>` : ''}</div>`;
    return renderPage({ ...page, title: page.t('meals.title'), body, notice: parts.notice });
  };

  /** The elder as a search shows them, by exact id. */
  const elderById = (elderId: string): ElderMatch | undefined => elders.searchElders(elderId).find((m) => m.elderId === elderId);

  app.get<{ Querystring: { q?: string; elder?: string } }>('/staff/meals', { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    const id = request.query.elder;
    if (id !== undefined) {
      const elder = elderById(id);
      if (!elder) return sendPage(reply, mealsPage(page, { notice: { kind: 'error', text: page.t('meals.unknown', { id }) } }), 404);
      if (elder.status !== undefined && elder.status !== 'active') {
        return sendPage(reply, mealsPage(page, { q: id, notice: { kind: 'error', text: page.t('meals.elderInactive', { name: elder.name, status: statusName(page.t, elder.status) }) } }), 409);
      }
      return sendPage(reply, mealsPage(page, { elder }));
    }
    return sendPage(reply, mealsPage(page, { q: (request.query.q ?? '').slice(0, 64) }));
  });

  app.post<{ Body: FormBody }>('/staff/meals', { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    const elderId = request.body.elderId ?? '';
    const method = request.body.method ?? '';
    const proxyName = (request.body.proxyName ?? '').trim();
    const elder = elderById(elderId);
    if (!elder) return sendPage(reply, mealsPage(page, { notice: { kind: 'error', text: page.t('meals.unknown', { id: elderId }) } }), 404);
    const again = (code: number, text: string) => sendPage(reply, mealsPage(page, { elder, proxyName, notice: { kind: 'error', text } }), code);
    if (!isStaffMethod(method as CheckInMethod)) return again(400, page.t('meals.invalid', { problem: `method ${method}` }));
    const req: StaffMealRequest = { elderId, method: method as StaffMethod };
    // A collector's name typed before choosing another method is not a reason to refuse.
    if (method === 'proxy') req.proxyName = proxyName;
    if (method === 'proxy' && proxyName === '') return again(400, page.t('meals.proxyNeeded'));
    const problem = requestProblem({ ...req, staffId: request.staff!.staffId });
    if (problem) return again(400, page.t('meals.invalid', { problem }));
    const r: CheckInResult = meals.record(request.staff!, req);
    return sendOutcome(reply, page, r, again);
  });

  function sendOutcome(reply: FastifyReply, page: PageContext, r: CheckInResult, again: (code: number, text: string) => FastifyReply): FastifyReply {
    const t = page.t;
    switch (r.status) {
      case 'recorded':
        return reply.redirect(`/staff/today?recorded=${encodeURIComponent(r.checkIn.eventId)}`, 303);
      case 'already-checked-in':
        return again(409, t('meals.already', { name: r.checkIn.elderName, time: hhmm(r.checkIn.at), method: methodName(t, r.checkIn.method) }));
      case 'outside-meal-window':
        return again(409, t('meals.noWindow'));
      case 'elder-inactive':
        return again(409, t('meals.elderInactive', { name: r.elderName, status: statusName(t, r.elderStatus) }));
      case 'unknown-elder':
        return again(404, t('meals.unknown', { id: r.elderId }));
      case 'pending-confirmation':
      case 'not-recorded':
        return again(500, t('meals.failed'));
    }
  }
}
