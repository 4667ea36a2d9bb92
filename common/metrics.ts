/**
 * Prometheus metrics (prom-client), for the edge's and the server's `GET /metrics`. Each
 * program makes its own Registry (no global default registry: tests start many in one process)
 * and defines its metrics where the numbers live. Most figures are read at scrape time from
 * counters the program keeps anyway (`collect`), so nothing is added to a hot path; a histogram
 * is fed by an event (e.g. the pipeline's `frame` with its engine time).
 *
 * No label ever holds personal data: camera, outcome, method and reason only, never an elder.
 */
import { collectDefaultMetrics, Counter, Registry, type CounterConfiguration } from 'prom-client';

export { Gauge, Histogram, Registry } from 'prom-client';

/** A registry with the process's own metrics (CPU, memory, event loop lag, GC) under `prefix`. */
export function createRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

/**
 * A counter whose values come from a cumulative figure the program already keeps (read at
 * scrape time): `read()` returns one value per label set. The value is set, not added, so it is
 * exactly the program's own count.
 */
export function cumulativeCounter<L extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, 'registers' | 'collect'>,
  read: () => Array<{ labels: Partial<Record<L, string>>; value: number }>,
): Counter<L> {
  return new Counter<L>({
    ...config,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of read()) if (value > 0) this.inc(labels as never, value);
    },
  });
}

/** The text a scrape answers, with its content type. */
export async function scrape(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
