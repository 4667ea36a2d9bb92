/**
 * The server's Prometheus metrics at `GET /metrics` (common/metrics.ts), behind the same bearer
 * token as `/api` (Prometheus' `authorization` setting): messages by outcome and events by
 * result since start (the ingest rate is `rate(mealcheck_server_events_total[1m])`), the
 * broker link, the tables' own counts (meals, reviews, conflicts, voids) and the dead letters,
 * plus the process's own. Counts only: no elder, no name.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { createRegistry, cumulativeCounter, Gauge, scrape, type Registry } from '../../../../common/metrics.ts';
import type { DeadLetterRepository } from '../meals/dead-letter-repository.ts';
import type { IngestStats } from '../meals/mqtt-ingest.ts';
import { GuardedErrors } from '../../schemas.ts';
import type { StatusRepository } from './status-repository.ts';

export interface ServerMetricsSources {
  ingest: () => IngestStats;
  status: StatusRepository;
  deadLetters: DeadLetterRepository;
}

export function createServerMetrics(src: ServerMetricsSources): Registry {
  const registry = createRegistry('mealcheck_server_');
  cumulativeCounter(registry, { name: 'mealcheck_server_messages_total', help: 'MQTT messages handled since start, by outcome (an event batch is one message)', labelNames: ['outcome'] as const }, () =>
    Object.entries(src.ingest().messages).map(([outcome, value]) => ({ labels: { outcome }, value })),
  );
  cumulativeCounter(registry, { name: 'mealcheck_server_events_total', help: 'Events of committed batches since start, by result (stored, known re-sends, duplicate check-ins, kept for review, conflicts, rejected)', labelNames: ['result'] as const }, () =>
    Object.entries(src.ingest().events).map(([result, value]) => ({ labels: { result }, value })),
  );
  new Gauge({
    name: 'mealcheck_server_mqtt_connected',
    help: '1 while the ingest client is connected to the broker',
    registers: [registry],
    collect() {
      this.set(src.ingest().connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mealcheck_server_stored',
    help: 'Rows held now, by table: counted meals, duplicate attempts, events kept for review, conflicts, voided meals',
    labelNames: ['table'] as const,
    registers: [registry],
    collect() {
      const f = src.status.ingest();
      this.reset();
      this.set({ table: 'meals' }, f.meals);
      this.set({ table: 'duplicate_attempts' }, f.duplicateAttempts);
      this.set({ table: 'event_reviews' }, f.reviews.total);
      this.set({ table: 'event_conflicts' }, f.conflicts);
      this.set({ table: 'voided_meals' }, f.voided);
    },
  });
  new Gauge({
    name: 'mealcheck_server_dead_letters',
    help: 'Dead letters: rows and bytes kept, messages dropped since the last clear, and the alarm (1 when on)',
    labelNames: ['figure'] as const,
    registers: [registry],
    collect() {
      const d = src.deadLetters.status();
      this.set({ figure: 'rows' }, d.rows);
      this.set({ figure: 'bytes' }, d.bytes);
      this.set({ figure: 'dropped' }, d.dropped);
      this.set({ figure: 'alarm' }, d.alarm ? 1 : 0);
    },
  });
  return registry;
}

/** `GET /metrics`: for the bureau admin (the admin token, as Prometheus' `authorization` setting, or an admin's API token). */
export const metricsRoutes: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/metrics',
    {
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: { description: "The server's figures in Prometheus text format (ingest and dead letters)", response: { 200: Type.String(), ...GuardedErrors } },
    },
    async (_request, reply) => {
      const { contentType, body } = await scrape(registry);
      return reply.type(contentType).send(body);
    },
  );
};
