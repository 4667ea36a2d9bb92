/**
 * GET /status: the server's own figures for operators and monitoring. One object per part of
 * the server (`ingest` today), so a new part adds a member without changing the others.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ErrorSchema } from '../../schemas.ts';
import { REVIEW_REASONS } from '../meals/event-checks.ts';
import type { StatusRepository } from './status-repository.ts';

export const IngestStatusSchema = Type.Object({
  meals: Type.Integer(),
  duplicateAttempts: Type.Integer(),
  reviews: Type.Object({
    total: Type.Integer(),
    byReason: Type.Object(Object.fromEntries(REVIEW_REASONS.map((r) => [r, Type.Integer()]))),
  }),
  conflicts: Type.Integer(),
});

export const ServerStatusSchema = Type.Object({
  /** The server's clock when it answered. */
  at: Type.String(),
  ingest: IngestStatusSchema,
});
export type ServerStatus = Static<typeof ServerStatusSchema>;

export interface StatusRoutesOptions {
  status: StatusRepository;
  now: () => Date;
}

export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, { status, now }) => {
  app.get('/status', { schema: { response: { 200: ServerStatusSchema, 401: ErrorSchema, 500: ErrorSchema } } }, async () => {
    const body: ServerStatus = { at: now().toISOString(), ingest: status.ingest() };
    return body;
  });
};
