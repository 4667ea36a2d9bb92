/**
 * GET /stats/meals: meal counts per centre, day and meal window over a period.
 * GET /stats/reviews (also at its first name, /stats/clock-review): the events kept for review
 * instead of being counted, with the reason.
 * GET /stats/conflicts: eventIds that arrived again with other content, with both versions.
 * GET /stats/voids: voids of meals kept for review (not applied: meal unknown so far, another
 * centre's, a closed month...), or every void with `all=true`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ANY_ROLE, BUREAU_READERS, visibleCentres } from '../../plugins/auth.ts';
import { ErrorSchema, GuardedErrors } from '../../schemas.ts';
import { REVIEW_REASONS } from '../meals/event-checks.ts';
import { VOID_STATES } from '../meals/void-repository.ts';
import { checkStatsQuery, GROUP_BY_KEYS } from './stats-query.ts';
import type { StatsRepository } from './stats-repository.ts';

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });

export const MealStatsQuerySchema = Type.Object(
  {
    from: Day,
    to: Day,
    groupBy: Type.Optional(
      Type.String({ maxLength: 64, description: `comma-separated subset of ${GROUP_BY_KEYS.join(', ')}; default all three` }),
    ),
  },
  { additionalProperties: false },
);
export type MealStatsQuery = Static<typeof MealStatsQuerySchema>;
const queryKeys = new Set(Object.keys(MealStatsQuerySchema.properties));

export const MealStatsSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.Array(Type.Union(GROUP_BY_KEYS.map((k) => Type.Literal(k)))),
  rows: Type.Array(
    Type.Object({
      centreId: Type.Optional(Type.String()),
      day: Type.Optional(Type.String()),
      meal: Type.Optional(Type.String()),
      meals: Type.Integer(),
      /** Meals of this group voided by staff: not in `meals`. */
      voided: Type.Integer(),
    }),
  ),
  total: Type.Integer(),
  /** Meals of the period voided by staff: not in `total` (see GET /stats/voids for voids kept for review). */
  voided: Type.Integer(),
  /** Meals in `total` whose edge time looked wrong on arrival (unset, or ahead of the server). */
  clockFlagged: Type.Integer(),
  /** Events kept for review (any reason, any date), not in `total`: see GET /stats/reviews. */
  clockReview: Type.Integer(),
});
export type MealStats = Static<typeof MealStatsSchema>;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ClockReviewQuerySchema = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false });
export const ClockReviewListSchema = Type.Object({
  events: Type.Array(
    Type.Object({
      eventId: Type.String(),
      reason: Type.Union(REVIEW_REASONS.map((r) => Type.Literal(r))),
      detail: Nullable(Type.String()),
      centreId: Type.String(),
      deviceId: Type.String(),
      elderId: Type.String(),
      serviceDate: Type.String(),
      meal: Type.String(),
      at: Type.String(),
      method: Type.String(),
      receivedAt: Type.String(),
      clockState: Nullable(Type.String()),
      edgeAt: Nullable(Type.String()),
      bootId: Nullable(Type.String()),
      seq: Nullable(Type.Integer()),
      monoMs: Nullable(Type.Integer()),
      /** A face meal staff assigned from the box's review queue: their staff id. */
      reviewedBy: Nullable(Type.String()),
    }),
  ),
  total: Type.Integer(),
});

const StoredEventSchema = Type.Object({
  eventId: Type.String(),
  centreId: Type.String(),
  deviceId: Type.String(),
  elderId: Type.String(),
  serviceDate: Type.String(),
  meal: Type.String(),
  at: Type.String(),
  method: Type.String(),
  score: Nullable(Type.Number()),
  cameraId: Nullable(Type.String()),
  bootId: Nullable(Type.String()),
  seq: Nullable(Type.Integer()),
  clock: Nullable(Type.String()),
  edgeAt: Nullable(Type.String()),
  monoMs: Nullable(Type.Integer()),
  /** A face meal staff assigned from the box's review queue: their staff id. */
  reviewedBy: Nullable(Type.String()),
  receivedAt: Type.String(),
});

export const ConflictListSchema = Type.Object({
  conflicts: Type.Array(
    Type.Object({
      eventId: Type.String(),
      /** Where the first version is kept: meals (it counts), duplicate_attempts or event_reviews. */
      originalTable: Type.String(),
      original: Nullable(StoredEventSchema),
      /** The later version, as it arrived. */
      version: Type.Record(Type.String(), Type.Unknown()),
      receivedAt: Type.String(),
    }),
  ),
  total: Type.Integer(),
});

export const VoidListQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    /** Every void, applied ones included; default: only those kept for review. */
    all: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export const VoidListSchema = Type.Object({
  voids: Type.Array(
    Type.Object({
      eventId: Type.String(),
      centreId: Type.String(),
      deviceId: Type.String(),
      /** The eventId of the meal voided. */
      voids: Type.String(),
      reason: Type.String(),
      staffId: Type.String(),
      at: Type.String(),
      receivedAt: Type.String(),
      /** `applied`, or why it is kept for review: `waiting` (meal not arrived), `other-centre`, `month-closed`, `already-voided`, `not-counted`. */
      state: Type.Union(VOID_STATES.map((s) => Type.Literal(s))),
      settledAt: Nullable(Type.String()),
      meal: Nullable(Type.Object({ elderId: Type.String(), centreId: Type.String(), serviceDate: Type.String(), meal: Type.String(), method: Type.String() })),
    }),
  ),
  total: Type.Integer(),
});

export interface StatsRoutesOptions {
  stats: StatsRepository;
}

export const statsRoutes: FastifyPluginAsync<StatsRoutesOptions> = async (app, { stats }) => {
  app.get<{ Querystring: MealStatsQuery }>(
    '/stats/meals',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: {
        description: 'Meal counts per centre, day and meal over a period (the caller\'s centres only)',
        querystring: MealStatsQuerySchema,
        response: { 200: MealStatsSchema, 400: ErrorSchema, ...GuardedErrors },
      },
      // Fastify strips unknown query parameters; a misspelt `groupby=meal` would then silently
      // answer with the default grouping, so name it instead.
      preValidation: async (request, reply) => {
        const unknown = Object.keys(request.query as object).filter((k) => !queryKeys.has(k));
        if (unknown.length > 0) {
          return reply.code(400).send({
            statusCode: 400,
            error: 'Bad Request',
            message: `unknown query parameter ${unknown.map((k) => `"${k.slice(0, 20)}"`).join(', ')} (allowed: ${[...queryKeys].join(', ')})`,
          });
        }
      },
    },
    async (request, reply) => {
      const checked = checkStatsQuery(request.query);
      if (!checked.ok) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: checked.error });
      const { from, to, groupBy } = checked.query;
      const { rows, total, voided, clockFlagged, clockReview } = stats.mealCounts(checked.query, visibleCentres(request));
      const body: MealStats = { from, to, groupBy, rows, total, voided, clockFlagged, clockReview };
      return body;
    },
  );

  // Its first name, from when only clock problems were kept for review; kept for existing callers.
  for (const url of ['/stats/reviews', '/stats/clock-review']) {
    app.get<{ Querystring: Static<typeof ClockReviewQuerySchema> }>(
      url,
      {
        config: { access: { roles: ANY_ROLE, scope: 'centre' } },
        schema: { description: 'Events kept for review instead of counted, with the reason (the caller\'s centres only)', querystring: ClockReviewQuerySchema, response: { 200: ClockReviewListSchema, 400: ErrorSchema, ...GuardedErrors } },
      },
      async (request) => {
        const visible = visibleCentres(request);
        const events = stats.clockReviews(request.query.limit ?? 100, visible);
        return { events, total: stats.clockReviewCount(visible) };
      },
    );
  }

  app.get<{ Querystring: Static<typeof ClockReviewQuerySchema> }>(
    '/stats/conflicts',
    {
      // Forensics (a bug or a forgery), and a conflicting version may name any centre: bureau-wide readers only.
      config: { access: { roles: BUREAU_READERS, scope: 'all' } },
      schema: { description: 'eventIds that arrived again with other content, with both versions', querystring: ClockReviewQuerySchema, response: { 200: ConflictListSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => ({ conflicts: stats.conflicts(request.query.limit ?? 100), total: stats.conflictCount() }),
  );

  app.get<{ Querystring: Static<typeof VoidListQuerySchema> }>(
    '/stats/voids',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: 'Voids kept for review, or every void with all=true (the caller\'s centres only)', querystring: VoidListQuerySchema, response: { 200: VoidListSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => {
      const all = request.query.all ?? false;
      const visible = visibleCentres(request);
      return { voids: stats.voids(request.query.limit ?? 100, all, visible), total: stats.voidCount(all, visible) };
    },
  );
};
