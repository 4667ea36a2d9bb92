/**
 * Meals by hand, voids and today over HTTP, JSON (issue 12, items 4-5); the pages
 * (pages/meal-pages.ts) use the same services. Every route needs a staff session
 * (staff-auth.ts: 401 without, 403 with a role too low or without the CSRF token):
 *
 *   GET  /api/v1/meals/elders?q=王        staff → {elders: [{elderId, name, idTail?, status?}]}
 *   POST /api/v1/meals                    staff {elderId, method: manual|delivery|proxy, proxyName?}
 *                                         → 201 {checkIn}; 400; 404 unknown elder; 409 {error, reason, checkIn?}
 *                                           (already-checked-in, outside-meal-window, elder-inactive)
 *   POST /api/v1/meals/:eventId/void      staff {reason} → 200 {checkIn}; 400; 403 an earlier day's, not a
 *                                           manager; 404; 409 already voided
 *   GET  /api/v1/meals/today              staff → today's view (meals/today-service.ts)
 *
 * The staff member is always the session's: a request cannot name someone else.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CHECK_IN_METHODS, MEALS, PROXY_NAME_MAX, UUID_PATTERN } from '../../../common/contract.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import { requestProblem, STAFF_METHODS, type CheckInResult } from '../meals/check-in.ts';
import type { StaffMealService, StaffVoidResult } from '../meals/staff-meal-service.ts';
import type { TodayService } from '../meals/today-service.ts';
import { VOID_REASON_MAX } from '../meals/void-service.ts';
import { mealPages } from './pages/meal-pages.ts';
import { requireRole } from './staff-auth.ts';
import type { EdgeWebPlugin } from './status-server.ts';

const ErrorSchema = Type.Object({ error: Type.String() });
const Iso = Type.String({ maxLength: 40 });
const Method = Type.Union(CHECK_IN_METHODS.map((m) => Type.Literal(m)));
const Meal = Type.Union(MEALS.map((m) => Type.Literal(m)));
const ByMethod = Type.Object(Object.fromEntries(CHECK_IN_METHODS.map((m) => [m, Type.Integer()])));

/** A check-in as the staff API shows it (never the anti-spoof hint: staff do not act on it here). */
export const StaffCheckInSchema = Type.Object({
  eventId: Type.String(),
  elderId: Type.String(),
  elderName: Type.String(),
  serviceDate: Type.String(),
  meal: Meal,
  at: Iso,
  method: Method,
  score: Type.Optional(Type.Number()),
  cameraId: Type.Optional(Type.String()),
  staffId: Type.Optional(Type.String()),
  staffName: Type.Optional(Type.String()),
  proxyName: Type.Optional(Type.String()),
  /** Recorded while the box's clock was not set: meal and date are its guess until corrected. */
  provisional: Type.Optional(Type.Boolean()),
  voided: Type.Optional(Type.Object({ voidEventId: Type.String(), reason: Type.String(), staffId: Type.String(), at: Iso })),
});

const WindowSchema = Type.Object({
  meal: Meal,
  start: Type.String(),
  end: Type.String(),
  state: Type.Union([Type.Literal('past'), Type.Literal('open'), Type.Literal('later')]),
  total: Type.Integer(),
  byMethod: ByMethod,
  voided: Type.Integer(),
});

export const TodaySchema = Type.Object({
  serviceDate: Type.String(),
  now: Iso,
  current: Type.Union([WindowSchema, Type.Null()]),
  windows: Type.Array(WindowSchema),
  totals: Type.Object({ total: Type.Integer(), byMethod: ByMethod, voided: Type.Integer() }),
  checkIns: Type.Array(StaffCheckInSchema),
  expected: Type.Union([
    Type.Object({
      meal: Meal,
      minDays: Type.Integer(),
      lookbackDays: Type.Integer(),
      elders: Type.Array(Type.Object({ elderId: Type.String(), elderName: Type.String(), days: Type.Integer(), lastDate: Type.String() })),
    }),
    Type.Null(),
  ]),
});

const SearchQuery = Type.Object({ q: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const ElderMatchSchema = Type.Object({ elderId: Type.String(), name: Type.String(), idTail: Type.Optional(Type.String()), status: Type.Optional(Type.String()) });
const RecordBody = Type.Object(
  {
    elderId: Type.String({ minLength: 1, maxLength: 64 }),
    method: Type.Union(STAFF_METHODS.map((m) => Type.Literal(m))),
    proxyName: Type.Optional(Type.String({ minLength: 1, maxLength: PROXY_NAME_MAX })),
  },
  { additionalProperties: false },
);
const VoidParams = Type.Object({ eventId: Type.String({ pattern: UUID_PATTERN }) });
const VoidBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: VOID_REASON_MAX }) }, { additionalProperties: false });
const Refusal = Type.Object({ error: Type.String(), reason: Type.String(), checkIn: Type.Optional(StaffCheckInSchema) });

export interface MealRoutesOptions {
  meals: StaffMealService;
  today: TodayService;
  elders: Pick<ElderRepository, 'searchElders'>;
  /** The centre's IANA zone: times on the pages are shown in it. */
  timeZone: string;
}

/** A check-in outcome as an HTTP reply (201 recorded; 4xx with a sentence staff can act on). */
function sendRecord(reply: FastifyReply, r: CheckInResult): FastifyReply {
  switch (r.status) {
    case 'recorded':
      return reply.code(201).send({ checkIn: r.checkIn });
    case 'already-checked-in':
      return reply.code(409).send({ error: `${r.checkIn.elderName} already has ${r.checkIn.meal} on ${r.checkIn.serviceDate} (${r.checkIn.method} at ${r.checkIn.at}): one meal per elder per window`, reason: r.status, checkIn: r.checkIn });
    case 'outside-meal-window':
      return reply.code(409).send({ error: 'no meal window is open now: a meal is recorded during its window', reason: r.status });
    case 'elder-inactive':
      return reply.code(409).send({ error: `${r.elderName} (${r.elderId}) is ${r.elderStatus}: no meal is recorded for them`, reason: r.status });
    case 'unknown-elder':
      return reply.code(404).send({ error: `no elder ${r.elderId} on this box` });
    case 'pending-confirmation':
      // A meal by hand carries no anti-spoof hint, so it is never held; should it be, say so.
      return reply.code(409).send({ error: 'held for confirmation', reason: r.status });
    case 'not-recorded':
      // The reason may carry SQL or paths: it is in the edge's log, not in the reply.
      return reply.code(500).send({ error: 'NOT recorded: the edge database refused the write (see the edge log)' });
  }
}

function sendVoid(reply: FastifyReply, r: StaffVoidResult): FastifyReply {
  switch (r.status) {
    case 'voided':
      return reply.code(200).send({ checkIn: r.checkIn });
    case 'not-found':
      return reply.code(404).send({ error: `no check-in ${r.eventId} on this box (one recorded while the clock was not set can be voided once the box has the time)` });
    case 'already-voided':
      return reply.code(409).send({ error: `check-in ${r.checkIn.eventId} was voided already (by ${r.checkIn.voided?.staffId ?? '?'} at ${r.checkIn.voided?.at ?? '?'})`, reason: r.status, checkIn: r.checkIn });
    case 'forbidden':
      return reply.code(403).send({ error: r.reason });
    case 'invalid':
      return reply.code(400).send({ error: r.reason });
    case 'not-recorded':
      return reply.code(500).send({ error: 'NOT voided: the edge database refused the write (see the edge log)' });
  }
}

export function mealApiRoutes(app: FastifyInstance, opts: MealRoutesOptions): void {
  const { meals, today, elders } = opts;

  app.get<{ Querystring: Static<typeof SearchQuery> }>(
    '/api/v1/meals/elders',
    { preValidation: requireRole('staff'), schema: { querystring: SearchQuery, response: { 200: Type.Object({ elders: Type.Array(ElderMatchSchema) }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema } } },
    async (request) => ({ elders: elders.searchElders(request.query.q) }),
  );

  app.post<{ Body: Static<typeof RecordBody> }>(
    '/api/v1/meals',
    {
      preValidation: requireRole('staff'),
      schema: { body: RecordBody, response: { 201: Type.Object({ checkIn: StaffCheckInSchema }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: Refusal, 500: ErrorSchema } },
    },
    async (request, reply) => {
      const staff = request.staff!;
      const req = { elderId: request.body.elderId, method: request.body.method, ...(request.body.proxyName !== undefined ? { proxyName: request.body.proxyName.trim() } : {}) };
      const problem = requestProblem({ ...req, staffId: staff.staffId });
      if (problem) return reply.code(400).send({ error: problem });
      return sendRecord(reply, meals.record(staff, req));
    },
  );

  app.post<{ Params: Static<typeof VoidParams>; Body: Static<typeof VoidBody> }>(
    '/api/v1/meals/:eventId/void',
    {
      preValidation: requireRole('staff'),
      schema: { params: VoidParams, body: VoidBody, response: { 200: Type.Object({ checkIn: StaffCheckInSchema }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: Refusal, 500: ErrorSchema } },
    },
    async (request, reply) => sendVoid(reply, meals.void(request.staff!, { eventId: request.params.eventId, reason: request.body.reason })),
  );

  app.get('/api/v1/meals/today', { preValidation: requireRole('staff'), schema: { response: { 200: TodaySchema, 401: ErrorSchema, 403: ErrorSchema } } }, async () => today.today());
}

/** The meals feature's plugin for StatusServerOptions.plugins (after the staff feature's). */
export function mealWebPlugin(opts: MealRoutesOptions): EdgeWebPlugin {
  return async (app) => {
    mealApiRoutes(app, opts);
    // The pages in a scope of their own: it alone accepts form bodies.
    await app.register(async (pages) => mealPages(pages, opts));
  };
}
