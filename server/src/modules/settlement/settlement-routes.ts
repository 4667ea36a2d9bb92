/**
 * Categories, subsidy rules, adjustments and the monthly settlement (JSON, CSV, XLSX), under
 * /api/v1. Reads for every role (settlements filtered to the caller's centres), changes for the
 * bureau admin only; every change audited. Money is integer fen in and out.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CHECK_IN_METHODS, ID_PATTERN } from '../../../../common/contract.ts';
import { ErrorSchema, type ErrorReply } from '../../schemas.ts';
import { translator } from '../../web/i18n/index.ts';
import { isMonth } from '../months/closed-month-repository.ts';
import { dayNumber } from '../stats/stats-query.ts';
import { actorOf, ADMIN_WRITE, canSeeCentre, READ_ALL, READ_CENTRES, visibleCentres } from './access.ts';
import { ELDER_FLAGS, RULE_MEALS, UNSUBSIDISED_REASONS } from './settlement-calc.ts';
import { settlementTable, summaryTable, toCsv, toXlsx } from './settlement-export.ts';
import { MonthClosedError, type SettlementService } from './settlement-service.ts';
import { CATEGORY_CODE_PATTERN, RuleError, type SubsidyRuleRepository } from './subsidy-rule-repository.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 500: ErrorSchema } as const;
const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
const MONTH_PATTERN = '^\\d{4}-\\d{2}$';
const literals = <T extends readonly string[]>(xs: T) => Type.Union(xs.map((x) => Type.Literal(x as T[number])));

export const CategorySchema = Type.Object({ code: Type.String(), name: Type.String(), updatedAt: Type.String() });
const CategoryBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 32, description: 'as the boxes record the category, e.g. 低保' }) }, { additionalProperties: false });

export const RuleSchema = Type.Object({
  id: Type.Integer(),
  category: Type.String(),
  meal: literals(RULE_MEALS),
  amountFen: Type.Integer(),
  maxPerDay: Nullable(Type.Integer()),
  maxMealsPerMonth: Nullable(Type.Integer()),
  maxFenPerMonth: Nullable(Type.Integer()),
  effectiveFrom: Type.String(),
  effectiveTo: Nullable(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
const RuleBody = Type.Object(
  {
    category: Type.String({ pattern: CATEGORY_CODE_PATTERN }),
    meal: literals(RULE_MEALS),
    amountFen: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    maxPerDay: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 3 }))),
    maxMealsPerMonth: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 93 }))),
    maxFenPerMonth: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100_000_000 }))),
    effectiveFrom: Type.String({ pattern: DATE_PATTERN }),
    effectiveTo: Type.Optional(Nullable(Type.String({ pattern: DATE_PATTERN }))),
  },
  { additionalProperties: false },
);
const RuleEndBody = Type.Object({ effectiveTo: Nullable(Type.String({ pattern: DATE_PATTERN })) }, { additionalProperties: false });
const RuleParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const EffectiveRulesSchema = Type.Object({
  centreId: Type.String(),
  from: Type.String(),
  categories: Type.Array(Type.Object({ code: Type.String(), name: Type.String() })),
  rules: Type.Array(Type.Omit(RuleSchema, ['createdAt', 'createdBy'])),
});

const AdjustmentSchema = Type.Object({
  id: Type.Integer(),
  centreId: Type.String(),
  month: Type.String(),
  elderId: Nullable(Type.String()),
  amountFen: Type.Integer(),
  reason: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
const AdjustmentBody = Type.Object(
  {
    centreId: Type.String({ pattern: ID_PATTERN }),
    month: Type.String({ pattern: MONTH_PATTERN }),
    elderId: Type.Optional(Nullable(Type.String({ pattern: ID_PATTERN }))),
    amountFen: Type.Integer({ minimum: -100_000_000, maximum: 100_000_000, not: { const: 0 } }),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

const Methods = Type.Object(Object.fromEntries(CHECK_IN_METHODS.map((m) => [m, Type.Integer()])) as Record<(typeof CHECK_IN_METHODS)[number], ReturnType<typeof Type.Integer>>);
const MealRef = { eventId: Type.String(), serviceDate: Type.String(), meal: Type.String() };
const TotalsSchema = Type.Object({
  elders: Type.Integer(),
  meals: Type.Integer(),
  byMethod: Methods,
  subsidised: Type.Integer(),
  unsubsidised: Type.Integer(),
  amountFen: Type.Integer(),
  voided: Type.Integer(),
  duplicates: Type.Integer(),
  inReview: Type.Integer(),
  adjustmentFen: Type.Integer(),
  totalFen: Type.Integer(),
});
export const SettlementSchema = Type.Object({
  centreId: Type.String(),
  month: Type.String(),
  status: literals(['open', 'closed'] as const),
  closedAt: Nullable(Type.String()),
  elders: Type.Array(
    Type.Object({
      elderId: Type.String(),
      name: Nullable(Type.String()),
      category: Nullable(Type.String()),
      categoryName: Nullable(Type.String()),
      meals: Type.Integer(),
      byMethod: Methods,
      subsidised: Type.Integer(),
      amountFen: Type.Integer(),
      unsubsidised: Type.Array(Type.Object({ ...MealRef, reason: literals(UNSUBSIDISED_REASONS) })),
      voided: Type.Array(Type.Object({ ...MealRef, method: Type.String() })),
      duplicates: Type.Integer(),
      inReview: Type.Integer(),
      adjustmentFen: Type.Integer(),
      totalFen: Type.Integer(),
      flags: Type.Array(literals(ELDER_FLAGS)),
    }),
  ),
  categories: Type.Array(
    Type.Object({
      category: Nullable(Type.String()),
      name: Nullable(Type.String()),
      elders: Type.Integer(),
      meals: Type.Integer(),
      subsidised: Type.Integer(),
      amountFen: Type.Integer(),
      adjustmentFen: Type.Integer(),
      totalFen: Type.Integer(),
    }),
  ),
  adjustments: Type.Array(AdjustmentSchema),
  totals: TotalsSchema,
  rowsHash: Type.String(),
  snapshot: Nullable(Type.Object({ closedAt: Type.String(), totals: TotalsSchema, rowsHash: Type.String(), matches: Type.Boolean() })),
});
const CentreTotals = {
  elders: Type.Integer(),
  meals: Type.Integer(),
  subsidised: Type.Integer(),
  unsubsidised: Type.Integer(),
  amountFen: Type.Integer(),
  adjustmentFen: Type.Integer(),
  totalFen: Type.Integer(),
  voided: Type.Integer(),
  inReview: Type.Integer(),
};
export const SummarySchema = Type.Object({
  month: Type.String(),
  status: literals(['open', 'closed'] as const),
  closedAt: Nullable(Type.String()),
  centres: Type.Array(Type.Object({ centreId: Type.String(), ...CentreTotals, matchesSnapshot: Nullable(Type.Boolean()) })),
  totals: Type.Object({ centres: Type.Integer(), ...CentreTotals }),
});

const Format = Type.Optional(literals(['json', 'csv', 'xlsx'] as const));
const Lang = Type.Optional(literals(['zh-CN', 'en'] as const));
const SettlementQuery = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }), month: Type.String({ pattern: MONTH_PATTERN }), format: Format, lang: Lang }, { additionalProperties: false });
const SummaryQuery = Type.Object({ month: Type.String({ pattern: MONTH_PATTERN }), format: Format, lang: Lang }, { additionalProperties: false });
const FileReply = Type.String({ description: 'text/csv (UTF-8 with BOM) or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, by `format`' });

export interface SettlementRoutesOptions {
  rules: SubsidyRuleRepository;
  settlement: SettlementService;
  now: () => Date;
  /** A category or rule changed: the centres' config documents carry them down (bureau/centre-config.ts). */
  changed?: () => void;
}

function err(reply: FastifyReply, statusCode: 400 | 403 | 404 | 409, message: string) {
  const error = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict' }[statusCode];
  return reply.code(statusCode).send({ statusCode, error, message } satisfies ErrorReply);
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export const settlementRoutes: FastifyPluginAsync<SettlementRoutesOptions> = async (app, { rules, settlement, now, changed }) => {
  const ruleError = (reply: FastifyReply, e: unknown) => {
    if (e instanceof RuleError) return err(reply, e.notFound ? 404 : 400, e.message);
    throw e;
  };

  app.get('/categories', { config: READ_ALL, schema: { description: "The bureau's elder categories", response: { 200: Type.Object({ categories: Type.Array(CategorySchema) }), ...Errors } } }, async () => ({ categories: rules.categories() }));

  app.put<{ Params: { code: string }; Body: Static<typeof CategoryBody> }>(
    '/categories/:code',
    {
      config: ADMIN_WRITE,
      schema: { description: 'Creates or renames a category; `name` is what the boxes record (e.g. 低保)', params: Type.Object({ code: Type.String({ pattern: CATEGORY_CODE_PATTERN }) }), body: CategoryBody, response: { 200: Type.Object({ category: CategorySchema, created: Type.Boolean() }), ...Errors } },
    },
    async (request, reply) => {
      try {
        const { created, ...category } = rules.setCategory({ code: request.params.code, name: request.body.name }, actorOf(request), now());
        changed?.();
        return { category, created };
      } catch (e) {
        return ruleError(reply, e);
      }
    },
  );

  app.get<{ Querystring: { category?: string } }>(
    '/subsidy-rules',
    { config: READ_ALL, schema: { description: 'The subsidy rules, oldest first per category', querystring: Type.Object({ category: Type.Optional(Type.String({ pattern: CATEGORY_CODE_PATTERN })) }, { additionalProperties: false }), response: { 200: Type.Object({ rules: Type.Array(RuleSchema) }), ...Errors } } },
    async (request) => ({ rules: rules.rules(request.query.category) }),
  );

  app.post<{ Body: Static<typeof RuleBody> }>(
    '/subsidy-rules',
    { config: ADMIN_WRITE, schema: { description: 'Adds a rule; one overlapping another of its category for the same meal (`any` overlaps all) is a 400', body: RuleBody, response: { 201: RuleSchema, ...Errors } } },
    async (request, reply) => {
      try {
        const added = rules.addRule(request.body, actorOf(request), now());
        changed?.();
        return reply.code(201).send(added);
      } catch (e) {
        return ruleError(reply, e);
      }
    },
  );

  app.patch<{ Params: Static<typeof RuleParams>; Body: Static<typeof RuleEndBody> }>(
    '/subsidy-rules/:id',
    { config: ADMIN_WRITE, schema: { description: "Sets a rule's last day (null: open again), e.g. the day before a new amount starts", params: RuleParams, body: RuleEndBody, response: { 200: RuleSchema, ...Errors } } },
    async (request, reply) => {
      try {
        const ended = rules.endRule(request.params.id, request.body.effectiveTo, actorOf(request), now());
        changed?.();
        return ended;
      } catch (e) {
        return ruleError(reply, e);
      }
    },
  );

  app.delete<{ Params: Static<typeof RuleParams> }>(
    '/subsidy-rules/:id',
    { config: ADMIN_WRITE, schema: { description: 'Removes a rule entered by mistake (a closed month keeps its snapshot: the change shows there)', params: RuleParams, response: { 200: Type.Object({ removed: Type.Integer() }), ...Errors } } },
    async (request, reply) => {
      try {
        rules.removeRule(request.params.id, actorOf(request), now());
        changed?.();
        return { removed: request.params.id };
      } catch (e) {
        return ruleError(reply, e);
      }
    },
  );

  app.get<{ Params: { centreId: string }; Querystring: { date?: string } }>(
    '/centres/:centreId/subsidy-rules',
    {
      config: READ_CENTRES,
      schema: {
        description: "The rules a centre applies from `date` (default today, UTC) on; its config document carries these from the centre's today on",
        params: Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }) }),
        querystring: Type.Object({ date: Type.Optional(Type.String({ pattern: DATE_PATTERN })) }, { additionalProperties: false }),
        response: { 200: EffectiveRulesSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const { centreId } = request.params;
      if (!canSeeCentre(request, centreId)) return err(reply, 403, `centre ${centreId} is not yours`);
      const date = request.query.date ?? now().toISOString().slice(0, 10);
      if (dayNumber(date) === null) return err(reply, 400, `date must be a calendar date YYYY-MM-DD, got "${date}"`);
      return rules.effectiveRules(centreId, date);
    },
  );

  app.post<{ Body: Static<typeof AdjustmentBody> }>(
    '/settlement/adjustments',
    { config: ADMIN_WRITE, schema: { description: "Adds an adjustment (fen, + or -) to a centre's month, or one elder's; 409 for a closed month", body: AdjustmentBody, response: { 201: AdjustmentSchema, 409: ErrorSchema, ...Errors } } },
    async (request, reply) => {
      const b = request.body;
      if (!isMonth(b.month)) return err(reply, 400, `"${b.month}" is not a month YYYY-MM`);
      try {
        return reply.code(201).send(settlement.addAdjustment({ centreId: b.centreId, month: b.month, elderId: b.elderId ?? null, amountFen: b.amountFen, reason: b.reason.trim() }, actorOf(request), now()));
      } catch (e) {
        if (e instanceof MonthClosedError) return err(reply, 409, e.message);
        throw e;
      }
    },
  );

  app.get<{ Querystring: Static<typeof SettlementQuery> }>(
    '/settlement',
    {
      config: READ_CENTRES,
      schema: {
        description: "A centre's settlement for a month (its local serviceDate): per elder, per category, totals; `format=csv|xlsx` for a file",
        querystring: SettlementQuery,
        response: { 200: Type.Union([SettlementSchema, FileReply]), ...Errors },
      },
    },
    async (request, reply) => {
      const { centreId, month, format = 'json', lang = 'zh-CN' } = request.query;
      if (!isMonth(month)) return err(reply, 400, `"${month}" is not a month YYYY-MM`);
      if (!canSeeCentre(request, centreId)) return err(reply, 403, `centre ${centreId} is not yours`);
      const report = settlement.report(centreId, month);
      if (format === 'json') return report;
      const t = translator(lang);
      const table = settlementTable(report, t);
      const name = `settlement-${centreId}-${month}`;
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(toCsv(table));
      return reply.type(XLSX_TYPE).header('content-disposition', `attachment; filename="${name}.xlsx"`).send(await toXlsx(table, t('settlement.sheet')));
    },
  );

  app.get<{ Querystring: Static<typeof SummaryQuery> }>(
    '/settlement/summary',
    {
      config: READ_CENTRES,
      schema: { description: "The month's totals per centre (the bureau's payment run), the caller's centres only; `format=csv|xlsx` for a file", querystring: SummaryQuery, response: { 200: Type.Union([SummarySchema, FileReply]), ...Errors } },
    },
    async (request, reply) => {
      const { month, format = 'json', lang = 'zh-CN' } = request.query;
      if (!isMonth(month)) return err(reply, 400, `"${month}" is not a month YYYY-MM`);
      const summary = settlement.summary(month, visibleCentres(request));
      if (format === 'json') return summary;
      const t = translator(lang);
      const table = summaryTable(summary, t);
      const name = `settlement-summary-${month}`;
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(toCsv(table));
      return reply.type(XLSX_TYPE).header('content-disposition', `attachment; filename="${name}.xlsx"`).send(await toXlsx(table, t('settlement.summarySheet')));
    },
  );
};
