/**
 * GET /months: the closed months. POST /months/:month/close: closes one (bureau-wide); events
 * dated in it are then kept for review instead of changing a reported figure. Closing is for good.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ANY_ROLE, principalOf } from '../../plugins/auth.ts';
import { ErrorSchema, errorReply, GuardedErrors } from '../../schemas.ts';
import type { ServerAudit } from '../audit/server-audit.ts';
import { isMonth, type ClosedMonthRepository } from './closed-month-repository.ts';

export const ClosedMonthSchema = Type.Object({ month: Type.String(), closedAt: Type.String(), closedBy: Type.String() });
const MonthParams = Type.Object({ month: Type.String({ maxLength: 20 }) });
const CloseBody = Type.Union([Type.Object({ by: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }), Type.Null()]);

export interface MonthRoutesOptions {
  months: ClosedMonthRepository;
  audit: ServerAudit;
  now: () => Date;
  /** How a month is closed; default `months.close`. The app's also stores each centre's settlement (settlement/). */
  close?: ClosedMonthRepository['close'];
}

export const monthRoutes: FastifyPluginAsync<MonthRoutesOptions> = async (app, { months, audit, now, close = months.close }) => {
  // Bureau-wide and holding no centre's data: anyone signed in may read which months are closed.
  app.get(
    '/months',
    { config: { access: { roles: ANY_ROLE, scope: 'all' } }, schema: { description: 'The closed months', response: { 200: Type.Object({ closed: Type.Array(ClosedMonthSchema) }), ...GuardedErrors } } },
    async () => ({ closed: months.list() }),
  );

  app.post<{ Params: Static<typeof MonthParams>; Body: Static<typeof CloseBody> | undefined }>(
    '/months/:month/close',
    {
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: {
        description: 'Closes a month for good (bureau-wide); `by` defaults to the caller',
        params: MonthParams,
        body: CloseBody,
        response: { 200: Type.Object({ month: ClosedMonthSchema, alreadyClosed: Type.Boolean() }), 400: ErrorSchema, ...GuardedErrors },
      },
    },
    async (request, reply) => {
      const { month } = request.params;
      if (!isMonth(month)) return reply.code(400).send(errorReply(400, `"${month}" is not a month YYYY-MM`));
      const at = now();
      const userId = principalOf(request).userId;
      const r = close(month, request.body?.by ?? userId, at);
      // The audit names who really called, whatever `by` says.
      if (r.created) audit.record({ userId, action: 'month-close', subject: month, details: { by: r.month.closedBy } }, at);
      return { month: r.month, alreadyClosed: !r.created };
    },
  );
};
