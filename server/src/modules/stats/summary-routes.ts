/**
 * GET /stats/summary: meals, distinct elders, subsidised meals and amounts (the settlement's
 * own), voids and duplicates per centre, district, day, ISO week, month, meal, method or
 * category, against the period before.
 * GET /stats/health: per centre, its boxes online or not and today's meals against the usual
 * count, `silent` where a meal usually served has none.
 * GET /stats/welfare: regular elders not seen for some days, for their centre to call.
 * Every answer holds only the caller's centres (plugins/auth.ts visibleCentres).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { MEALS } from '../../../../common/contract.ts';
import { ANY_ROLE, visibleCentres } from '../../plugins/auth.ts';
import { errorReply, ErrorSchema, GuardedErrors } from '../../schemas.ts';
import type { DistrictRepository } from '../centres/district-repository.ts';
import type { SettlementService } from '../settlement/settlement-service.ts';
import type { SubsidyRuleRepository } from '../settlement/subsidy-rule-repository.ts';
import { centreHealth, welfareList, type HealthDeps, type HealthSettings, type WelfareSettings } from './centre-health.ts';
import { checkSummaryQuery, summarise, SUMMARY_GROUPS } from './stats-summary.ts';

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const SummaryQuerySchema = Type.Object(
  {
    from: Day,
    to: Day,
    groupBy: Type.Optional(Type.Union(SUMMARY_GROUPS.map((g) => Type.Literal(g)), { description: 'default centre' })),
    centreId: Type.Optional(Id),
    districtId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
const summaryKeys = new Set(Object.keys(SummaryQuerySchema.properties));

const FiguresSchema = Type.Object({
  meals: Type.Integer({ description: 'counted meals' }),
  distinctElders: Type.Integer(),
  subsidisedMeals: Type.Integer(),
  amountFen: Type.Integer({ description: 'subsidy in fen, as the monthly settlement computes it' }),
  voids: Type.Integer({ description: 'meals voided by staff' }),
  duplicates: Type.Integer({ description: 'second check-ins for a meal already counted' }),
});
const figureProps = FiguresSchema.properties;
const RowSchema = Type.Object({
  key: Nullable(Type.String()),
  label: Nullable(Type.String()),
  ...figureProps,
  previous: FiguresSchema,
  change: FiguresSchema,
});
export const SummarySchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.Union(SUMMARY_GROUPS.map((g) => Type.Literal(g))),
  previousFrom: Type.String(),
  previousTo: Type.String(),
  rows: Type.Array(RowSchema),
  totals: Type.Object({ ...figureProps, previous: FiguresSchema, change: FiguresSchema }),
});

const BoxSchema = Type.Object({
  deviceId: Type.String(),
  status: Type.Union([Type.Literal('unknown'), Type.Literal('online'), Type.Literal('offline')]),
  statusAt: Nullable(Type.String()),
  /** Null: registered, never heard from. */
  lastSeen: Nullable(Type.String()),
  online: Type.Boolean(),
});
const MealHealthSchema = Type.Object({
  meal: Type.Union(MEALS.map((m) => Type.Literal(m))),
  window: Type.String(),
  state: Type.Union([Type.Literal('upcoming'), Type.Literal('open'), Type.Literal('closed')]),
  today: Type.Integer(),
  sameWeekdays: Type.Array(Type.Integer()),
  usual: Type.Number(),
  silent: Type.Boolean(),
});
export const HealthSchema = Type.Object({
  at: Type.String(),
  offlineAfterMinutes: Type.Integer(),
  silentGraceMinutes: Type.Integer(),
  centres: Type.Array(
    Type.Object({
      centreId: Type.String(),
      name: Nullable(Type.String()),
      districtId: Nullable(Type.String()),
      timeZone: Type.String(),
      localDate: Type.String(),
      localTime: Type.String(),
      boxes: Type.Array(BoxSchema),
      boxesOnline: Type.Integer(),
      boxesOffline: Type.Integer(),
      meals: Type.Array(MealHealthSchema),
      offline: Type.Boolean(),
      silent: Type.Boolean(),
    }),
  ),
  totals: Type.Object({ centres: Type.Integer(), offline: Type.Integer(), silent: Type.Integer(), boxes: Type.Integer(), boxesOffline: Type.Integer() }),
});

export const WelfareSchema = Type.Object({
  at: Type.String(),
  minMeals: Type.Integer(),
  absentDays: Type.Integer(),
  windowDays: Type.Integer(),
  elders: Type.Array(
    Type.Object({
      centreId: Type.String(),
      centreName: Nullable(Type.String()),
      elderId: Type.String(),
      name: Nullable(Type.String()),
      phone: Nullable(Type.String()),
      lastMealDate: Type.String(),
      daysAbsent: Type.Integer(),
      mealsInWindow: Type.Integer(),
    }),
  ),
  total: Type.Integer(),
});
const NoQuery = Type.Object({}, { additionalProperties: false });

export interface SummaryRoutesOptions extends HealthDeps {
  settlement: Pick<SettlementService, 'facts'>;
  districts: Pick<DistrictRepository, 'list'>;
  rules: Pick<SubsidyRuleRepository, 'categories'>;
  now: () => Date;
  health: HealthSettings;
  welfare: WelfareSettings;
}

export const summaryRoutes: FastifyPluginAsync<SummaryRoutesOptions> = async (app, opts) => {
  const { settlement, centres, districts, rules, now } = opts;

  app.get<{ Querystring: Static<typeof SummaryQuerySchema> }>(
    '/stats/summary',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: {
        description: `Meals, distinct elders, subsidised meals and amounts, voids and duplicates grouped by ${SUMMARY_GROUPS.join(', ')}, with the period before (the caller's centres only)`,
        querystring: SummaryQuerySchema,
        response: { 200: SummarySchema, 400: ErrorSchema, ...GuardedErrors },
      },
      // As /stats/meals: a misspelt parameter is named, not silently dropped.
      preValidation: async (request, reply) => {
        const unknown = Object.keys(request.query as object).filter((k) => !summaryKeys.has(k));
        if (unknown.length > 0) return reply.code(400).send(errorReply(400, `unknown query parameter ${unknown.map((k) => `"${k.slice(0, 20)}"`).join(', ')} (allowed: ${[...summaryKeys].join(', ')})`));
      },
    },
    async (request, reply) => {
      const checked = checkSummaryQuery(request.query);
      if (!checked.ok) return reply.code(400).send(errorReply(400, checked.error));
      const q = checked.query;
      const visible = visibleCentres(request);
      const allCentres = centres.list();
      const districtOf = new Map(allCentres.map((c) => [c.centreId, c.districtId]));
      let allowed: 'all' | string[] = visible;
      if (q.districtId !== undefined) {
        const d = districts.list().find((x) => x.districtId === q.districtId);
        if (!d) return reply.code(400).send(errorReply(400, `districtId: no district "${q.districtId}"`));
        const mine = visible === 'all' ? d.centreIds : d.centreIds.filter((c) => visible.includes(c));
        if (visible !== 'all' && d.centreIds.length > 0 && mine.length === 0) return reply.code(403).send(errorReply(403, `district ${q.districtId} has none of your centres`));
        allowed = mine;
      }
      // The auth hook has already refused a centreId the caller cannot see.
      if (q.centreId !== undefined) allowed = allowed === 'all' || allowed.includes(q.centreId) ? [q.centreId] : [];
      const names = new Map(allCentres.map((c) => [c.centreId, c.name]));
      const districtNames = new Map(districts.list().map((d) => [d.districtId, d.name]));
      const categoryNames = new Map(rules.categories().map((c) => [c.code, c.name]));
      const only = allowed;
      return summarise(
        q,
        {
          centreName: (id) => names.get(id) ?? null,
          districtOf: (id) => districtOf.get(id) ?? null,
          districtName: (id) => districtNames.get(id) ?? null,
          categoryName: (code) => categoryNames.get(code) ?? null,
        },
        (from, to, visit) => {
          if (only !== 'all' && only.length === 0) return;
          settlement.facts(from, to, only, visit);
        },
      );
    },
  );

  app.get(
    '/stats/health',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: "Per centre: its boxes online or offline, today's meals against the usual count for the weekday, silent meals (the caller's centres only)", querystring: NoQuery, response: { 200: HealthSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => centreHealth(opts, now(), visibleCentres(request), opts.health),
  );

  app.get(
    '/stats/welfare',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: "Regular elders not seen for some days, for their centre to call (the caller's centres only)", querystring: NoQuery, response: { 200: WelfareSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => welfareList(opts, now(), visibleCentres(request), opts.welfare),
  );
};
