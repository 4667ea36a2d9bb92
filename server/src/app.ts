/**
 * Builds the HTTP app (fastify/demo shape): one scope per feature, every `/api` route behind
 * the bearer token, one error handler that never shows a 5xx message to the caller.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { Type } from '@sinclair/typebox';
import { systemClock, type Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { Db } from '../../common/sqlite.ts';
import { createDeadLetterRepository, type DeadLetterRepository } from './modules/meals/dead-letter-repository.ts';
import { deadLetterRoutes } from './modules/meals/dead-letter-routes.ts';
import { createCentreRepository } from './modules/centres/centre-repository.ts';
import { centreRoutes } from './modules/centres/centre-routes.ts';
import { createElderRegistryRepository } from './modules/elders/elder-registry.ts';
import { elderRoutes } from './modules/elders/elder-routes.ts';
import { createClosedMonthRepository } from './modules/months/closed-month-repository.ts';
import { monthRoutes } from './modules/months/month-routes.ts';
import { createReconciliationRepository } from './modules/reconciliation/reconciliation-repository.ts';
import { reconciliationRoutes } from './modules/reconciliation/reconciliation-routes.ts';
import { createStatsRepository } from './modules/stats/stats-repository.ts';
import { statsRoutes } from './modules/stats/stats-routes.ts';
import { createStatusRepository } from './modules/status/status-repository.ts';
import { statusRoutes } from './modules/status/status-routes.ts';
import { metricsRoutes } from './modules/status/server-metrics.ts';
import type { Registry } from '../../common/metrics.ts';
import { requireBearerToken } from './plugins/auth.ts';
import { createBureau, type Bureau } from './modules/bureau/bureau.ts';
import { bureauRoutes } from './modules/bureau/bureau-routes.ts';
import { ErrorSchema, type ErrorReply } from './schemas.ts';

export interface AppOptions {
  db: Db;
  logger: Logger;
  /** Bearer token every `/api` request must carry. */
  adminToken: string;
  /** The ingest's own instance (it counts its bounds in memory); default: one on `db`. */
  deadLetters?: DeadLetterRepository;
  /** Time stamps of admin changes (centres, closed months); default the system clock. */
  clock?: Clock;
  /** The Prometheus registry `GET /metrics` answers (server-metrics.ts); none: no route. */
  metrics?: Registry;
  /** Decisions, erasures, config documents (modules/bureau/); default: one on `db` that publishes nothing. */
  bureau?: Bureau;
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
      const now = () => (opts.clock ?? systemClock).now();
      await api.register(statsRoutes, { stats: createStatsRepository(opts.db) });
      const deadLetters = opts.deadLetters ?? createDeadLetterRepository(opts.db);
      await api.register(deadLetterRoutes, { deadLetters });
      await api.register(statusRoutes, { status: createStatusRepository(opts.db), deadLetters, now });
      const bureau = opts.bureau ?? createBureau(opts.db, { clock: opts.clock ?? systemClock, logger: opts.logger });
      await api.register(centreRoutes, { centres: createCentreRepository(opts.db), now, changed: (centreId) => bureau.configs.changed(centreId) });
      await api.register(monthRoutes, { months: createClosedMonthRepository(opts.db), now });
      await api.register(elderRoutes, { registry: createElderRegistryRepository(opts.db) });
      await api.register(bureauRoutes, { service: bureau.service, decisions: bureau.decisions, erasures: bureau.erasures, configs: bureau.configs, now });
      await api.register(reconciliationRoutes, { reconciliation: createReconciliationRepository(opts.db) });
    },
    { prefix: API_PREFIX },
  );
  const registry = opts.metrics;
  if (registry) {
    await app.register(async (scope) => {
      requireBearerToken(scope, opts.adminToken);
      await scope.register(metricsRoutes, { registry });
    });
  }

  return app;
}
