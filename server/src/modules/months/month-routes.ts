/**
 * GET /months: the closed months. POST /months/:month/close: closes one (bureau-wide); events
 * dated in it are then kept for review instead of changing a reported figure. Closing is for good.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ErrorSchema } from '../../schemas.ts';
import { isMonth, type ClosedMonthRepository } from './closed-month-repository.ts';

export const ClosedMonthSchema = Type.Object({ month: Type.String(), closedAt: Type.String(), closedBy: Type.String() });
const MonthParams = Type.Object({ month: Type.String({ maxLength: 20 }) });
const CloseBody = Type.Union([Type.Object({ by: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }), Type.Null()]);

export interface MonthRoutesOptions {
  months: ClosedMonthRepository;
  now: () => Date;
  /** How a month is closed; default `months.close`. The app's also stores each centre's settlement (settlement/). */
  close?: ClosedMonthRepository['close'];
}

export const monthRoutes: FastifyPluginAsync<MonthRoutesOptions> = async (app, { months, now, close = months.close }) => {
  app.get('/months', { schema: { response: { 200: Type.Object({ closed: Type.Array(ClosedMonthSchema) }), 401: ErrorSchema, 500: ErrorSchema } } }, async () => ({ closed: months.list() }));

  app.post<{ Params: Static<typeof MonthParams>; Body: Static<typeof CloseBody> | undefined }>(
    '/months/:month/close',
    {
      schema: {
        params: MonthParams,
        body: CloseBody,
        response: { 200: Type.Object({ month: ClosedMonthSchema, alreadyClosed: Type.Boolean() }), 400: ErrorSchema, 401: ErrorSchema, 500: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { month } = request.params;
      if (!isMonth(month)) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `"${month}" is not a month YYYY-MM` });
      const r = close(month, request.body?.by ?? 'api', now());
      return { month: r.month, alreadyClosed: !r.created };
    },
  );
};
