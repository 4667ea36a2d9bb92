/**
 * The edge's Prometheus metrics at `GET /metrics` (common/metrics.ts): check-ins, decisions by
 * outcome per camera, the engine's time per analysed frame, the outbox, the MQTT link, plus the
 * process's own. Counts only, no personal data, so like `/health` it answers any peer the box
 * listens to (a centre's Prometheus on the LAN).
 */
import type { FastifyInstance } from 'fastify';
import { createRegistry, cumulativeCounter, Gauge, Histogram, scrape, type Registry } from '../../../common/metrics.ts';
import type { PipelineCounters } from '../recognition/pipeline.ts';
import type { ForwarderStats } from '../sync/forwarder.ts';
import type { EdgeWebPlugin } from './status-server.ts';

export interface EdgeMetricsSources {
  /** Each camera's pipeline counters (cumulative since start). */
  pipelines: () => ReadonlyArray<{ camera: string; counters: Readonly<PipelineCounters> }>;
  forwarder: () => ForwarderStats;
  /** Meals recorded on this box, ever (every method). */
  checkInsTotal: () => number;
  /** ISO time of the oldest outbox row, or null. */
  outboxOldestAt: () => string | null;
  now: () => Date;
}

export interface EdgeMetrics {
  registry: Registry;
  /** One analysed frame's engine time (detection, landmarks, descriptor, anti-spoof). */
  engineTime(camera: string, ms: number): void;
}

const OUTCOMES = ['recognised', 'recorded', 'held', 'unknown'] as const;

export function createEdgeMetrics(src: EdgeMetricsSources): EdgeMetrics {
  const registry = createRegistry('mealcheck_edge_');
  cumulativeCounter(registry, { name: 'mealcheck_edge_check_ins_total', help: 'Meals recorded on this box (face, manual, delivery, proxy), from its database' }, () => [{ labels: {}, value: src.checkInsTotal() }]);
  cumulativeCounter(registry, { name: 'mealcheck_edge_decisions_total', help: 'Door decisions per camera by outcome (recognised, of which recorded or held for staff; unknown)', labelNames: ['camera', 'outcome'] as const }, () =>
    src.pipelines().flatMap((p) => OUTCOMES.map((outcome) => ({ labels: { camera: p.camera, outcome }, value: p.counters[outcome] }))),
  );
  cumulativeCounter(registry, { name: 'mealcheck_edge_frames_total', help: 'Camera frames taken per camera: analysed, or still (skipped by the motion gate)', labelNames: ['camera', 'kind'] as const }, () =>
    src.pipelines().flatMap((p) => [
      { labels: { camera: p.camera, kind: 'analysed' }, value: p.counters.frames - p.counters.still },
      { labels: { camera: p.camera, kind: 'still' }, value: p.counters.still },
    ]),
  );
  cumulativeCounter(registry, { name: 'mealcheck_edge_recognition_errors_total', help: 'Recognition failures per camera (source, engine, bad frames)', labelNames: ['camera'] as const }, () =>
    src.pipelines().map((p) => ({ labels: { camera: p.camera }, value: p.counters.errors })),
  );
  const engine = new Histogram({
    name: 'mealcheck_edge_engine_seconds',
    help: 'Face engine time per analysed frame',
    labelNames: ['camera'] as const,
    buckets: [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2],
    registers: [registry],
  });
  new Gauge({
    name: 'mealcheck_edge_outbox_pending',
    help: 'Events in the outbox waiting for the server\'s receipt',
    registers: [registry],
    collect() {
      this.set(Math.max(0, src.forwarder().pending));
    },
  });
  new Gauge({
    name: 'mealcheck_edge_outbox_oldest_age_seconds',
    help: 'Age of the oldest event waiting in the outbox (0 when empty)',
    registers: [registry],
    collect() {
      const oldest = src.outboxOldestAt();
      this.set(oldest ? Math.max(0, (src.now().getTime() - Date.parse(oldest)) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'mealcheck_edge_mqtt_connected',
    help: '1 while the box is connected to the broker',
    registers: [registry],
    collect() {
      this.set(src.forwarder().connected ? 1 : 0);
    },
  });
  return { registry, engineTime: (camera, ms) => engine.observe({ camera }, ms / 1000) };
}

/** `GET /metrics` in Prometheus' text format. */
export function metricsWebPlugin(metrics: EdgeMetrics): EdgeWebPlugin {
  return (app: FastifyInstance) => {
    app.get('/metrics', async (_request, reply) => {
      const { contentType, body } = await scrape(metrics.registry);
      return reply.type(contentType).send(body);
    });
  };
}
