/**
 * Builds the HTTP app (fastify/demo shape): one scope per feature, every `/api` route behind
 * the bearer token, one error handler that never shows a 5xx message to the caller.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { Logger } from '../../common/logger.ts';
import type { Db } from '../../common/sqlite.ts';
import { createDeadLetterRepository, type DeadLetterRepository } from './modules/meals/dead-letter-repository.ts';
import { deadLetterRoutes } from './modules/meals/dead-letter-routes.ts';
import { createStatsRepository } from './modules/stats/stats-repository.ts';
import { statsRoutes } from './modules/stats/stats-routes.ts';
import { requireBearerToken } from './plugins/auth.ts';
import { ErrorSchema, type ErrorReply } from './schemas.ts';

export interface AppOptions {
  db: Db;
  logger: Logger;
  /** Bearer token every `/api` request must carry. */
  adminToken: string;
  /** The ingest's own instance (it counts its bounds in memory); default: one on `db`. */
  deadLetters?: DeadLetterRepository;
}

export const API_PREFIX = '/api/v1';

function errorBody(statusCode: number, message: string): ErrorReply {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = opts.logger;
  const app = Fastify({
    loggerInstance,
    // Statistics queries are small; anything bigger is a mistake or an attack.
    bodyLimit: 64 * 1024,
  });

  app.setErrorHandler<FastifyError>((err, request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send(errorBody(status, 'Internal Server Error'));
    }
    return reply.code(status).send(errorBody(status, err.message));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`)));

  app.get(
    '/health',
    { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }), 500: ErrorSchema } } },
    async () => {
      opts.db.prepare('SELECT 1').get();
      return { status: 'ok' as const };
    },
  );

  await app.register(
    async (api) => {
      requireBearerToken(api, opts.adminToken);
      // Unknown /api paths answer 401 before 404, so they reveal nothing to a stranger.
      api.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`)));
      await api.register(statsRoutes, { stats: createStatsRepository(opts.db) });
      await api.register(deadLetterRoutes, { deadLetters: opts.deadLetters ?? createDeadLetterRepository(opts.db) });
    },
    { prefix: API_PREFIX },
  );

  return app;
}
