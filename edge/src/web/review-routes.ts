/**
 * The review queue over HTTP (issue 13, item 3): what the door was unsure of, for staff. JSON for
 * clients and a page (below) on the same review service; every route needs a staff session
 * (staff-auth.ts: 401 without, 403 with a role too low or without the CSRF token):
 *
 *   GET  /api/v1/review                  staff → {items: [{id, kind, at, cameraId, nearest: [{elderId, name, distance}], hasCrop, ...}]}
 *   GET  /api/v1/review/:id/crop         staff → image/jpeg (no-store); 404 decided, expired or none
 *   POST /api/v1/review/:id/assign       staff {elderId} → 200 {item, checkIn}; 404; 409 {error, reason}
 *   POST /api/v1/review/:id/dismiss      staff → 200 {item}; 404; 409
 *   GET  /staff/review                   the page: each face with its crop, time, camera, nearest elders
 *   POST /staff/review/assign            form {id, elderId} → 303 /staff/review?assigned=<eventId>
 *   POST /staff/review/dismiss           form {id} → 303 /staff/review?dismissed=1
 *
 * The crop is served only here, to a logged-in staff member, never cached; it is not in any
 * JSON body, log line or event.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ID_PATTERN, MEALS, UUID_PATTERN } from '../../../common/contract.ts';
import { localTime } from '../../../common/meal-windows.ts';
import type { ReviewDecision, ReviewItem, ReviewService } from '../review/review-service.ts';
import { REVIEW_KINDS, REVIEW_STATUSES } from '../review/review-repository.ts';
import { registerFormBody } from '../../../common/web/form-body.ts';
import type { MessageKey } from './i18n/index.ts';
import { StaffCheckInSchema } from './meal-routes.ts';
import { html } from '../../../common/web/html.ts';
import { csrfField, pageContext, renderPage, sendPage, type PageContext } from './pages/layout.ts';
import { requireRole } from './staff-auth.ts';
import type { EdgeWebPlugin } from './status-server.ts';

const ErrorSchema = Type.Object({ error: Type.String() });
const Iso = Type.String({ maxLength: 40 });
const ReviewItemSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union(REVIEW_KINDS.map((k) => Type.Literal(k))),
  at: Iso,
  cameraId: Type.String(),
  nearest: Type.Array(Type.Object({ elderId: Type.String(), name: Type.String(), distance: Type.Number() })),
  status: Type.Union(REVIEW_STATUSES.map((s) => Type.Literal(s))),
  hasCrop: Type.Boolean(),
  confirmationId: Type.Optional(Type.String()),
  decidedAt: Type.Optional(Iso),
  decidedBy: Type.Optional(Type.String()),
  elderId: Type.Optional(Type.String()),
  eventId: Type.Optional(Type.String()),
});
const IdParams = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) });
const AssignBody = Type.Object({ elderId: Type.String({ pattern: ID_PATTERN, minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const Refusal = Type.Object({ error: Type.String(), reason: Type.String() });

export interface ReviewRoutesOptions {
  reviews: ReviewService;
  elders: { getElder(elderId: string): { name: string } | undefined };
  /** The centre's IANA zone: times on the page are shown in it. */
  timeZone: string;
  /** Shown on the page: how long undecided pictures are kept. */
  retentionHours?: number;
}

/** [HTTP status, reply] for a decision that did not go through. */
function refusal(r: Exclude<ReviewDecision, { status: 'assigned' | 'dismissed' }>): [404 | 409 | 500, { error: string; reason?: string }] {
  switch (r.status) {
    case 'not-found':
      return [404, { error: `no review item ${r.id} on this box (decided items and expired ones have no picture left)` }];
    case 'already-decided':
      return [409, { error: `review item ${r.item.id} was ${r.item.status} already${r.item.decidedBy ? ` (by ${r.item.decidedBy})` : ''}`, reason: r.status }];
    case 'refused':
      return [r.result.status === 'unknown-elder' ? 404 : r.result.status === 'not-recorded' ? 500 : 409, { error: refusalText(r.result), reason: r.result.status }];
    case 'not-recorded':
      return [500, { error: 'NOT recorded: the edge database refused the write (see the edge log)' }];
  }
}

function refusalText(r: Extract<ReviewDecision, { status: 'refused' }>['result']): string {
  switch (r.status) {
    case 'already-checked-in':
      return `${r.checkIn.elderName} already has ${r.checkIn.meal} on ${r.checkIn.serviceDate} (${r.checkIn.method} at ${r.checkIn.at}): one meal per elder per window`;
    case 'outside-meal-window':
      return 'no meal window is open now: a meal is recorded during its window';
    case 'unknown-elder':
      return `no elder ${r.elderId} on this box`;
    case 'elder-inactive':
      return `${r.elderName} (${r.elderId}) is ${r.elderStatus}: no meal is recorded for them`;
    case 'not-found':
      return `the anti-spoof hold ${r.id} is gone`;
    case 'already-decided':
      return `the anti-spoof hold was ${r.confirmation.status} already`;
    case 'not-recorded':
      return 'NOT recorded: the edge database refused the write (see the edge log)';
  }
}

export function reviewApiRoutes(app: FastifyInstance, opts: ReviewRoutesOptions): void {
  const { reviews } = opts;
  const auth = { preValidation: requireRole('staff') };

  app.get('/api/v1/review', { ...auth, schema: { response: { 200: Type.Object({ items: Type.Array(ReviewItemSchema) }), 401: ErrorSchema, 403: ErrorSchema } } }, async () => ({ items: reviews.list() }));

  app.get<{ Params: Static<typeof IdParams> }>('/api/v1/review/:id/crop', { ...auth, schema: { params: IdParams } }, async (request, reply) => sendCrop(reply, reviews, request.params.id));

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AssignBody> }>(
    '/api/v1/review/:id/assign',
    { ...auth, schema: { params: IdParams, body: AssignBody, response: { 200: Type.Object({ item: ReviewItemSchema, checkIn: StaffCheckInSchema }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: Refusal, 500: ErrorSchema } } },
    async (request, reply) => {
      const r = reviews.assign(request.staff!, request.params.id, request.body.elderId);
      if (r.status === 'assigned') return { item: r.item, checkIn: r.checkIn };
      if (r.status === 'dismissed') return reply.code(500).send({ error: 'unexpected decision' });
      const [code, body] = refusal(r);
      return reply.code(code).send(body);
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/v1/review/:id/dismiss',
    { ...auth, schema: { params: IdParams, response: { 200: Type.Object({ item: ReviewItemSchema }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: Refusal, 500: ErrorSchema } } },
    async (request, reply) => {
      const r = reviews.dismiss(request.staff!, request.params.id);
      if (r.status === 'dismissed') return { item: r.item };
      if (r.status === 'assigned') return reply.code(500).send({ error: 'unexpected decision' });
      const [code, body] = refusal(r);
      return reply.code(code).send(body);
    },
  );
}

function sendCrop(reply: FastifyReply, reviews: ReviewService, id: string): FastifyReply {
  const jpeg = reviews.crop(id);
  if (!jpeg) return reply.code(404).send({ error: `no picture for review item ${id} (decided, expired or none)` });
  return reply.header('cache-control', 'no-store, private').type('image/jpeg').send(jpeg);
}

type Notice = { kind: 'ok' | 'error' | 'info'; text: string };

export function reviewPages(app: FastifyInstance, opts: ReviewRoutesOptions): void {
  const { reviews, elders, timeZone } = opts;
  registerFormBody(app);
  const hhmm = (iso: string) => {
    const m = localTime(new Date(iso), timeZone).minutes;
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };

  const itemCard = (page: PageContext, item: ReviewItem) => {
    const t = page.t;
    const img = item.hasCrop ? html`<img class="crop" src="/staff/review/${item.id}/crop" alt="${t(`review.kind.${item.kind}` as MessageKey)}" width="160">` : html`<p class="crop">${t('review.noCrop')}</p>`;
    return html`<section class="card review-item" data-review-id="${item.id}" data-kind="${item.kind}">
<h2>${t(`review.kind.${item.kind}` as MessageKey)}</h2>
${img}
<p>${t('review.at', { time: `${item.at.slice(0, 10)} ${hhmm(item.at)}`, camera: item.cameraId })}</p>
<p><strong>${t('review.nearest')}</strong></p>
<ul class="plain">${item.nearest.map((n) => html`<li data-elder-id="${n.elderId}"><form method="post" action="/staff/review/assign">${csrfField(page)}<input type="hidden" name="id" value="${item.id}"><input type="hidden" name="elderId" value="${n.elderId}"><button type="submit" class="assign">${t('review.assign', { name: n.name })}</button> <small>${n.elderId} · ${t('review.distance', { d: n.distance.toFixed(2) })}</small></form></li>`)}</ul>
<form method="post" action="/staff/review/assign" class="assign-other">${csrfField(page)}<input type="hidden" name="id" value="${item.id}">
<label for="other-${item.id}">${t('review.other')}</label> <input id="other-${item.id}" name="elderId" required maxlength="64" autocomplete="off"> <button type="submit" class="secondary">${t('review.assignOther')}</button></form>
<form method="post" action="/staff/review/dismiss" class="dismiss">${csrfField(page)}<input type="hidden" name="id" value="${item.id}"><button type="submit" class="danger">${t('review.dismiss')}</button></form>
</section>`;
  };

  const reviewPage = (page: PageContext, notice?: Notice) => {
    const items = reviews.list();
    const body = html`<h1>${page.t('review.title')}</h1>
<p><small>${page.t('review.retention', { hours: opts.retentionHours ?? 24 })}</small></p>
${items.length === 0 ? html`<p id="review-empty">${page.t('review.empty')}</p>` : html`<div id="review-items">${items.map((i) => itemCard(page, i))}</div>`}`;
    return renderPage({ ...page, title: page.t('review.title'), body, notice });
  };

  const auth = { preValidation: requireRole('staff') };

  app.get<{ Querystring: { assigned?: string; dismissed?: string } }>('/staff/review', auth, async (request, reply) => {
    const page = pageContext(request);
    const q = request.query;
    let notice: Notice | undefined;
    if (q.dismissed) notice = { kind: 'ok', text: page.t('review.dismissed') };
    if (q.assigned) {
      const [elderId, meal] = q.assigned.split('|');
      if (elderId && meal && (MEALS as readonly string[]).includes(meal)) notice = { kind: 'ok', text: page.t('review.assigned', { name: elders.getElder(elderId)?.name ?? elderId, meal: page.t(`meal.${meal}` as MessageKey), by: request.staff!.staffId }) };
    }
    return sendPage(reply, reviewPage(page, notice));
  });

  app.get<{ Params: { id: string } }>('/staff/review/:id/crop', { ...auth, schema: { params: IdParams } }, async (request, reply) => sendCrop(reply, reviews, request.params.id));

  const decided = (page: PageContext, reply: FastifyReply, r: ReviewDecision) => {
    if (r.status === 'assigned') return reply.redirect(`/staff/review?assigned=${encodeURIComponent(`${r.checkIn.elderId}|${r.checkIn.meal}`)}`, 303);
    if (r.status === 'dismissed') return reply.redirect('/staff/review?dismissed=1', 303);
    const [code] = refusal(r);
    const text = r.status === 'not-found' ? page.t('review.notFound') : r.status === 'already-decided' ? page.t('review.already') : r.status === 'refused' ? page.t('review.refused', { reason: refusalText(r.result) }) : page.t('review.failed');
    return sendPage(reply, reviewPage(page, { kind: 'error', text }), code);
  };

  app.post<{ Body: Record<string, string> }>('/staff/review/assign', auth, async (request, reply) => {
    const page = pageContext(request);
    const elderId = (request.body.elderId ?? '').trim();
    return decided(page, reply, reviews.assign(request.staff!, request.body.id ?? '', elderId));
  });

  app.post<{ Body: Record<string, string> }>('/staff/review/dismiss', auth, async (request, reply) => {
    const page = pageContext(request);
    return decided(page, reply, reviews.dismiss(request.staff!, request.body.id ?? ''));
  });
}

/** The review feature's plugin for StatusServerOptions.plugins (after the staff feature's). */
export function reviewWebPlugin(opts: ReviewRoutesOptions): EdgeWebPlugin {
  return async (app) => {
    reviewApiRoutes(app, opts);
    // The page in a scope of its own: it alone accepts form bodies.
    await app.register(async (pages) => reviewPages(pages, opts));
  };
}
