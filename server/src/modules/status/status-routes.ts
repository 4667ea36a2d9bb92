/**
 * GET /status: the server's own figures for operators and monitoring. One object per part of
 * the server (`ingest`, `deadLetters`), so a new part adds a member without changing the others.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { BUREAU_READERS } from '../../plugins/auth.ts';
import { GuardedErrors } from '../../schemas.ts';
import { REVIEW_REASONS } from '../meals/event-checks.ts';
import type { DeadLetterRepository } from '../meals/dead-letter-repository.ts';
import type { StatusRepository } from './status-repository.ts';

export const IngestStatusSchema = Type.Object({
  meals: Type.Integer(),
  duplicateAttempts: Type.Integer(),
  reviews: Type.Object({
    total: Type.Integer(),
    byReason: Type.Object(Object.fromEntries(REVIEW_REASONS.map((r) => [r, Type.Integer()]))),
  }),
  conflicts: Type.Integer(),
  /** Meals voided by staff: not counted (GET /stats/meals shows them per centre, day and meal). */
  voided: Type.Integer(),
  /** Voids kept for review, not applied (GET /stats/voids). */
  voidsForReview: Type.Integer(),
});

/** Rejected messages: see GET /dead-letters for the rows, the devices and the bounds. */
export const DeadLetterSummarySchema = Type.Object({
  rows: Type.Integer(),
  bytes: Type.Integer(),
  /** Not kept (a bound or a device's rate reached), since the last clear. */
  dropped: Type.Integer(),
  alarm: Type.Boolean(),
});

export const ServerStatusSchema = Type.Object({
  /** The server's clock when it answered. */
  at: Type.String(),
  ingest: IngestStatusSchema,
  deadLetters: DeadLetterSummarySchema,
});
export type ServerStatus = Static<typeof ServerStatusSchema>;

export interface StatusRoutesOptions {
  status: StatusRepository;
  deadLetters: DeadLetterRepository;
  now: () => Date;
}

export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, { status, deadLetters, now }) => {
  // City-wide figures of the server itself, not per centre: for the bureau-wide readers.
  app.get('/status', { config: { access: { roles: BUREAU_READERS, scope: 'all' } }, schema: { description: "The server's own figures: ingest and dead letters", response: { 200: ServerStatusSchema, ...GuardedErrors } } }, async () => {
    const { rows, bytes, dropped, alarm } = deadLetters.status();
    const body: ServerStatus = { at: now().toISOString(), ingest: status.ingest(), deadLetters: { rows, bytes, dropped, alarm } };
    return body;
  });
};
