/**
 * GET /dead-letters: what the server could not accept, its bounds and what was dropped (the alarm).
 * DELETE /dead-letters: an operator has looked; clears the rows and drop counts (and the alarm).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ErrorSchema, GuardedErrors } from '../../schemas.ts';
import type { DeadLetterRepository } from './dead-letter-repository.ts';

const DropReasonSchema = Type.Union(['device-rows', 'device-bytes', 'total-rows', 'total-bytes', 'rate'].map((r) => Type.Literal(r)));

export const DeadLetterStatusSchema = Type.Object({
  rows: Type.Integer(),
  bytes: Type.Integer(),
  dropped: Type.Integer(),
  alarm: Type.Boolean(),
  limits: Type.Object({
    deviceRows: Type.Integer(),
    deviceBytes: Type.Integer(),
    totalRows: Type.Integer(),
    totalBytes: Type.Integer(),
    ratePerSecond: Type.Number(),
    burst: Type.Integer(),
  }),
  devices: Type.Array(
    Type.Object({ device: Type.String(), rows: Type.Integer(), bytes: Type.Integer(), dropped: Type.Integer(), lastReason: Type.Optional(DropReasonSchema) }),
  ),
});

const DeadLetterListQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false });

const DeadLetterListSchema = Type.Object({
  status: DeadLetterStatusSchema,
  deadLetters: Type.Array(
    Type.Object({
      id: Type.Integer(),
      topic: Type.String(),
      device: Type.String(),
      reason: Type.String(),
      payloadExcerpt: Type.String(),
      payloadBytes: Type.Integer(),
      attempts: Type.Integer(),
      receivedAt: Type.String(),
      lastReceivedAt: Type.String(),
    }),
  ),
  drops: Type.Array(
    Type.Object({ device: Type.String(), dropped: Type.Integer(), droppedBytes: Type.Integer(), firstAt: Type.String(), lastAt: Type.String(), lastReason: DropReasonSchema }),
  ),
});

export const deadLetterRoutes: FastifyPluginAsync<{ deadLetters: DeadLetterRepository }> = async (app, { deadLetters }) => {
  app.get<{ Querystring: Static<typeof DeadLetterListQuery> }>(
    '/dead-letters',
    {
      // Raw payloads of any device: the bureau admin only.
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: { description: 'Rejected messages, their bounds and what was dropped', querystring: DeadLetterListQuery, response: { 200: DeadLetterListSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => ({ status: deadLetters.status(), deadLetters: deadLetters.list(request.query.limit ?? 100), drops: deadLetters.drops() }),
  );
  app.delete(
    '/dead-letters',
    { config: { access: { roles: ['admin'], scope: 'all' } }, schema: { description: 'Clears the dead letters and their drop counts (the alarm)', response: { 200: Type.Object({ cleared: Type.Integer() }), ...GuardedErrors } } },
    async (request) => {
      const cleared = deadLetters.clear();
      request.log.warn({ cleared }, 'dead letters cleared by an operator');
      return { cleared };
    },
  );
};
