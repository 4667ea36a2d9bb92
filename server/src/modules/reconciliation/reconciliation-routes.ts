/**
 * GET /reconciliation?month=YYYY-MM[&centreId=][&onlyDifferences=true]: for each box and day of
 * the month, the meals the box reported it counted beside those the server counted from it, per
 * meal and method, and whether they agree (reconciliation-repository.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { CHECK_IN_METHODS, ID_PATTERN, MEALS } from '../../../../common/contract.ts';
import { visibleCentres } from '../../plugins/auth.ts';
import { ErrorSchema } from '../../schemas.ts';
import { monthRange, type ReconciliationRepository } from './reconciliation-repository.ts';

const Nullable = <T extends ReturnType<typeof Type.Integer> | ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ReconciledDaySchema = Type.Object({
  centreId: Type.String(),
  deviceId: Type.String(),
  serviceDate: Type.String(),
  state: Type.Union([Type.Literal('match'), Type.Literal('differs'), Type.Literal('unreported')], { description: 'unreported: the box has not reported the day (not over yet, or the box has been off since)' }),
  counts: Type.Array(
    Type.Object({
      meal: Type.Union(MEALS.map((m) => Type.Literal(m))),
      method: Type.Union(CHECK_IN_METHODS.map((m) => Type.Literal(m))),
      box: Nullable(Type.Integer()),
      server: Type.Integer(),
    }),
  ),
  boxMeals: Nullable(Type.Integer()),
  serverMeals: Type.Integer(),
  boxVoided: Nullable(Type.Integer()),
  serverVoided: Type.Integer(),
  inReview: Type.Integer({ description: 'events of this box and day the server keeps for review: counted by the box, not by the server' }),
  revision: Nullable(Type.Integer()),
  reportedAt: Nullable(Type.String()),
});

const Query = Type.Object(
  {
    month: Type.String({ pattern: '^\\d{4}-\\d{2}$', description: 'YYYY-MM (the centres\' local service dates)' }),
    centreId: Type.Optional(Type.String({ pattern: ID_PATTERN })),
    onlyDifferences: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

export const ReconciliationSchema = Type.Object({
  month: Type.String(),
  summary: Type.Object({ days: Type.Integer(), match: Type.Integer(), differs: Type.Integer(), unreported: Type.Integer() }),
  days: Type.Array(ReconciledDaySchema),
});

export interface ReconciliationRoutesOptions {
  reconciliation: ReconciliationRepository;
}

export const reconciliationRoutes: FastifyPluginAsync<ReconciliationRoutesOptions> = async (app, { reconciliation }) => {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/reconciliation',
    {
      config: { access: { roles: ['admin', 'analyst', 'manager', 'auditor'], scope: 'centre' } },
      schema: {
        description: "The boxes' daily counts beside the server's, per box and service date of a month",
        querystring: Query,
        response: { 200: ReconciliationSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 500: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { month, centreId, onlyDifferences } = request.query;
      if (!monthRange(month)) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `"${month}" is not a month YYYY-MM` });
      // The auth hook already refused a centreId the caller may not see; a list is cut to theirs.
      const visible = visibleCentres(request);
      const days = reconciliation.reconcile({ month, ...(centreId !== undefined ? { centreId } : {}), ...(visible !== 'all' ? { centreIds: visible } : {}), onlyDifferences: onlyDifferences ?? false });
      const summary = { days: days.length, match: 0, differs: 0, unreported: 0 };
      for (const d of days) summary[d.state]++;
      return { month, summary, days };
    },
  );
};
