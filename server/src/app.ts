/**
 * Builds the HTTP app (fastify/demo shape): one scope per feature, every `/api` route declaring
 * who may call it (plugins/auth.ts checks it), one error handler that never shows a 5xx message
 * to the caller.
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
import type { SettlementAudit } from './modules/settlement/settlement-audit.ts';
import { settlementRoutes } from './modules/settlement/settlement-routes.ts';
import { createSettlementService } from './modules/settlement/settlement-service.ts';
import { createSubsidyRuleRepository } from './modules/settlement/subsidy-rule-repository.ts';
import { settlementPages } from './web/settlement-page.ts';
import { bureauPages } from './web/bureau-pages.ts';
import { createReconciliationRepository } from './modules/reconciliation/reconciliation-repository.ts';
import { reconciliationRoutes } from './modules/reconciliation/reconciliation-routes.ts';
import { createStatsRepository } from './modules/stats/stats-repository.ts';
import { statsRoutes } from './modules/stats/stats-routes.ts';
import { createActivityRepository } from './modules/stats/activity-repository.ts';
import type { HealthSettings, WelfareSettings } from './modules/stats/centre-health.ts';
import { summaryRoutes } from './modules/stats/summary-routes.ts';
import { serverSettingsSpec } from './config.ts';
import { createStatusRepository } from './modules/status/status-repository.ts';
import { statusRoutes } from './modules/status/status-routes.ts';
import { metricsRoutes } from './modules/status/server-metrics.ts';
import type { Registry } from '../../common/metrics.ts';
import { installAuth } from './plugins/auth.ts';
import { createServerAuditRepository } from './modules/audit/server-audit.ts';
import { serverAuditRoutes } from './modules/audit/server-audit-routes.ts';
import { createDistrictRepository } from './modules/centres/district-repository.ts';
import { createDeviceCredentialRepository } from './modules/devices/credential-repository.ts';
import { deviceRoutes } from './modules/devices/device-routes.ts';
import { createDeviceRepository } from './modules/meals/device-repository.ts';
import { createApiTokenRepository } from './modules/users/api-token-repository.ts';
import { loginRoutes } from './modules/users/login-routes.ts';
import { createPrincipalResolver } from './modules/users/principal-resolver.ts';
import { createLoginLimiter, createSessionRepository } from './modules/users/session-repository.ts';
import { createUserRepository } from './modules/users/user-repository.ts';
import { userRoutes } from './modules/users/user-routes.ts';
import { createBureau, type Bureau } from './modules/bureau/bureau.ts';
import { bureauRoutes } from './modules/bureau/bureau-routes.ts';
import { featureTag, installOpenApi, openApiRoutes } from './plugins/openapi.ts';
import { ErrorSchema, type ErrorReply } from './schemas.ts';

export interface AppOptions {
  db: Db;
  logger: Logger;
  /** The built-in admin's bearer token (CLI, demo, scripts, Prometheus). */
  adminToken: string;
  /** Page sessions: idle and absolute limits (default 12 h and 7 days), Secure cookies behind a TLS proxy. */
  sessions?: { idleHours?: number; maxDays?: number; secureCookies?: boolean };
  /** The ingest's own instance (it counts its bounds in memory); default: one on `db`. */
  deadLetters?: DeadLetterRepository;
  /** Time stamps of admin changes (centres, closed months); default the system clock. */
  clock?: Clock;
  /** The Prometheus registry `GET /metrics` answers (server-metrics.ts); none: no route. */
  metrics?: Registry;
  /** Where settlement changes are audited; default the server's audit log (server_audit). */
  settlementAudit?: SettlementAudit;
  /** Decisions, erasures, config documents (modules/bureau/); default: one on `db` that publishes nothing. */
  bureau?: Bureau;
  /** Centre health and the welfare list (GET /stats/health, /stats/welfare); default: the settings' defaults. */
  stats?: { health?: Partial<HealthSettings>; welfare?: Partial<WelfareSettings> };
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

  const now = () => (opts.clock ?? systemClock).now();
  const idleMs = (opts.sessions?.idleHours ?? 12) * 3_600_000;
  const maxMs = (opts.sessions?.maxDays ?? 7) * 86_400_000;
  const users = createUserRepository(opts.db);
  const sessions = createSessionRepository(opts.db, { idleMs, maxMs });
  const tokens = createApiTokenRepository(opts.db);
  const audit = createServerAuditRepository(opts.db);
  // Before every route: the onRoute check must see them all, and root hooks cover every plugin.
  installAuth(app, { adminToken: opts.adminToken, resolver: createPrincipalResolver({ users, sessions, tokens, now }) });
  // Also before every route: the generator collects them as they are added (GET /openapi.json).
  await installOpenApi(app);

  app.get(
    '/health',
    { schema: { tags: ['status'], description: 'Liveness: the database answers (no credentials needed)', response: { 200: Type.Object({ status: Type.Literal('ok') }), 500: ErrorSchema } } },
    async () => {
      opts.db.prepare('SELECT 1').get();
      return { status: 'ok' as const };
    },
  );

  const months = createClosedMonthRepository(opts.db);
  // Settlement changes go to the server's one hash-chained audit log (server_audit).
  const settlementAudit = opts.settlementAudit ?? audit;
  const rules = createSubsidyRuleRepository(opts.db, settlementAudit);
  const settlement = createSettlementService({ db: opts.db, rules, months, audit: settlementAudit });

  await app.register(
    async (api) => {
      // Unknown /api paths answer 401 before 404 (the auth hook), so they reveal nothing to a stranger.
      api.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`)));
      await api.register(featureTag('login', loginRoutes), { users, sessions, limiter: createLoginLimiter(opts.db), audit, now, secureCookies: opts.sessions?.secureCookies ?? false, sessionMaxMs: maxMs });
      await api.register(featureTag('users', userRoutes), { users, sessions, tokens, audit, now });
      await api.register(featureTag('audit', serverAuditRoutes), { audit });
      await api.register(featureTag('stats', statsRoutes), { stats: createStatsRepository(opts.db) });
      const deadLetters = opts.deadLetters ?? createDeadLetterRepository(opts.db);
      await api.register(featureTag('status', deadLetterRoutes), { deadLetters });
      await api.register(featureTag('status', statusRoutes), { status: createStatusRepository(opts.db), deadLetters, now });
      const bureau = opts.bureau ?? createBureau(opts.db, { clock: opts.clock ?? systemClock, logger: opts.logger });
      await api.register(featureTag('centres', centreRoutes), { centres: createCentreRepository(opts.db), districts: createDistrictRepository(opts.db), audit, now, changed: (centreId) => bureau.configs.changed(centreId) });
      await api.register(featureTag('devices', deviceRoutes), { devices: createDeviceRepository(opts.db), credentials: createDeviceCredentialRepository(opts.db), audit, now });
      // Closing a month also stores each centre's settlement as it stood (settlement-service.ts).
      await api.register(featureTag('months', monthRoutes), { months, audit, now, close: settlement.closeMonth });
      // Rules are city-wide: a change re-issues every centre's config document for its boxes.
      await api.register(featureTag('settlement', settlementRoutes), { rules, settlement, now, changed: () => bureau.configs.changedAll() });
      await api.register(featureTag('elders', elderRoutes), { registry: createElderRegistryRepository(opts.db) });
      await api.register(featureTag('bureau', bureauRoutes), { service: bureau.service, decisions: bureau.decisions, erasures: bureau.erasures, configs: bureau.configs, now });
      await api.register(featureTag('stats', summaryRoutes), {
        settlement,
        rules,
        centres: createCentreRepository(opts.db),
        districts: createDistrictRepository(opts.db),
        devices: createDeviceRepository(opts.db),
        credentials: createDeviceCredentialRepository(opts.db),
        activity: createActivityRepository(opts.db),
        now,
        health: {
          offlineAfterMinutes: opts.stats?.health?.offlineAfterMinutes ?? serverSettingsSpec.boxOfflineMinutes.default,
          silentGraceMinutes: opts.stats?.health?.silentGraceMinutes ?? serverSettingsSpec.silentGraceMinutes.default,
        },
        welfare: {
          minMeals: opts.stats?.welfare?.minMeals ?? serverSettingsSpec.welfareMinMeals.default,
          absentDays: opts.stats?.welfare?.absentDays ?? serverSettingsSpec.welfareAbsentDays.default,
        },
      });
      await api.register(featureTag('reconciliation', reconciliationRoutes), { reconciliation: createReconciliationRepository(opts.db) });
    },
    { prefix: API_PREFIX },
  );
  // The printable settlement pages: signed in (page session or bearer token) like the API.
  await app.register(featureTag('settlement', settlementPages), { settlement, now });
  // The bureau's pages (dashboard, registry, erasures, users, audit) and the sign-in page.
  await app.register(featureTag('pages', bureauPages), { now });
  const registry = opts.metrics;
  if (registry) {
    await app.register(featureTag('status', metricsRoutes), { registry });
  }
  await app.register(openApiRoutes);

  return app;
}
