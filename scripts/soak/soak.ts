/**
 * `npm run soak -- --centres 200 --minutes N [--rate R|max] [--json]`: a load tool, not a test.
 * Starts a server (embedded broker, a registered login per simulated box) in a temporary
 * folder and runs one simulated edge per centre: a real MQTT client driven by the real
 * Forwarder (batching, in-flight window, receipts, re-sends) over an in-memory outbox.
 * `--rate R` is check-ins per second per centre (default 1); `--rate max` keeps every outbox
 * full. After the run it waits for every outbox to drain, then compares with the server's
 * database. The last line of output is one JSON object:
 *   { sent, stored, duplicates, reviews, lost, eventsPerSecond, receiptP50Ms, receiptP99Ms, ... }
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { systemClock } from '../../common/clock.ts';
import { aboveZero, parseOptions, runTool, type CommandSpec } from '../../common/config.ts';
import type { MealEvent } from '../../common/contract.ts';
import { createLogger } from '../../common/logger.ts';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import type { OutboxRepository, OutboxRow } from '../../edge/src/sync/outbox-repository.ts';
import { serverSettings } from '../../server/src/config.ts';
import { createCentreRepository } from '../../server/src/modules/centres/centre-repository.ts';
import { startServer } from '../../server/src/server.ts';

/** The outbox contract in memory: the soak measures delivery, not the edge's disk. */
class MemoryOutbox implements OutboxRepository {
  private seq = 0;
  readonly rows = new Map<string, OutboxRow>();
  enqueue(event: MealEvent, createdAt: string): void {
    this.rows.set(event.eventId, { seq: ++this.seq, eventId: event.eventId, event, createdAt, attempts: 0 });
  }
  pendingCount(): number {
    return this.rows.size;
  }
  takeOldest(limit: number, afterSeq = 0): OutboxRow[] {
    const out: OutboxRow[] = [];
    // Map iteration is insertion (= seq) order.
    for (const r of this.rows.values()) {
      if (r.seq <= afterSeq) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }
  deleteByEventIds(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) if (this.rows.delete(id)) n++;
    return n;
  }
  bumpAttempts(ids: readonly string[]): void {
    for (const id of ids) {
      const r = this.rows.get(id);
      if (r) r.attempts++;
    }
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const SOAK = {
  usage: 'npm run soak -- [--centres N] [--minutes X] [--rate R|max] [--json]',
  about: 'Starts a server in a temporary folder and one simulated edge box per centre (the real Forwarder over\nan in-memory outbox), runs, waits for every outbox to drain, and compares with the server\'s database.\nThe last line of output is one JSON object (sent, stored, duplicates, lost, eventsPerSecond, ...).',
  options: {
    centres: { flag: 'centres', type: 'int', default: 200, min: 1, doc: 'simulated centres, one edge box and MQTT login each' },
    minutes: { flag: 'minutes', type: 'number', default: 1, check: aboveZero, doc: 'how long check-ins are made' },
    rate: {
      flag: 'rate',
      type: 'string',
      default: '1',
      arg: 'R|max',
      check: (v: string) => (v === 'max' || Number(v) > 0 ? undefined : `expected a positive number or "max", got "${v}"`),
      doc: 'check-ins per second per centre; max keeps every outbox full',
    },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'progress on stderr, stdout only the JSON line' },
  },
} as const satisfies CommandSpec;

export async function soak(argv: string[]): Promise<number> {
  const p = parseOptions(argv, SOAK);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { centres, minutes, json } = p.options;
  const max = p.options.rate === 'max';
  const rate = max ? 0 : Number(p.options.rate);
  const say = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);

  const logger = createLogger('soak', process.env.MEALCHECK_LOG_LEVEL ?? 'error');
  const dir = mkdtempSync(join(tmpdir(), 'mealcheck-soak-'));
  const server = await startServer(serverSettings({ dataDir: join(dir, 'server'), httpPort: 0, mqttPort: 0, logLevel: 'error' }), { logger });
  const centreRepo = createCentreRepository(server.db);
  const boxes: Array<{ centreId: string; outbox: MemoryOutbox; forwarder: Forwarder; sentAt: Map<string, number> }> = [];
  const latencies: number[] = [];
  const sent = new Set<string>();
  let receipted = 0;
  try {
    say(`soak: ${centres} centres, ${minutes} min, rate ${max ? 'max' : `${rate}/s per centre`}; registering devices...`);
    for (let i = 0; i < centres; i++) {
      const centreId = `soak-c${String(i + 1).padStart(4, '0')}`;
      const password = await server.registerDevice(centreId, 'd1');
      // Its events are dated in UTC and all lunch: the server checks them against the centre.
      centreRepo.set(centreId, { timeZone: 'UTC', mealWindows: 'lunch=00:00-24:00' }, new Date());
      const outbox = new MemoryOutbox();
      const forwarder = new Forwarder(
        { url: server.mqttUrl, centreId, deviceId: 'd1', username: `${centreId}/d1`, password, protocolVersion: 4, allowProtocolFallback: false, reconnectMinMs: 200, reconnectMaxMs: 2000 },
        { outbox, clock: systemClock, logger },
      );
      const sentAt = new Map<string, number>();
      forwarder.on('receipt', (ids) => {
        const now = performance.now();
        for (const id of ids) {
          const t = sentAt.get(id);
          if (t !== undefined) {
            latencies.push(now - t);
            sentAt.delete(id);
            receipted++;
          }
        }
      });
      boxes.push({ centreId, outbox, forwarder, sentAt });
    }
    await Promise.all(boxes.map((b) => b.forwarder.start()));
    // Measure delivery, not the login storm: start once every box is in (or after a minute).
    const until = Date.now() + 60_000;
    while (boxes.some((b) => !b.forwarder.stats().connected) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const connectedAtStart = boxes.filter((b) => b.forwarder.stats().connected).length;
    say(`soak: ${connectedAtStart}/${centres} boxes connected; running`);

    let n = 0;
    const record = (b: (typeof boxes)[number]) => {
      const eventId = uuidv7();
      const now = new Date();
      const e: MealEvent = {
        eventId,
        elderId: `e${++n}`,
        centreId: b.centreId,
        deviceId: 'd1',
        serviceDate: now.toISOString().slice(0, 10),
        meal: 'lunch',
        at: now.toISOString(),
        method: 'face',
        score: 0.3,
      };
      b.outbox.enqueue(e, e.at);
      b.sentAt.set(eventId, performance.now());
      sent.add(eventId);
      b.forwarder.notify();
    };
    const t0 = performance.now();
    const endAt = t0 + minutes * 60_000;
    const timers: NodeJS.Timeout[] = [];
    if (max) {
      // Keep each outbox topped up to a few batches: as much as the server will take.
      timers.push(
        setInterval(() => {
          for (const b of boxes) while (b.outbox.pendingCount() < 1000) record(b);
        }, 20),
      );
    } else {
      boxes.forEach((b, i) => {
        // Spread the centres over the first second so they do not all fire together.
        setTimeout(() => timers.push(setInterval(() => record(b), 1000 / rate)), (i * 1000) / centres);
      });
    }
    let lastReport = performance.now();
    while (performance.now() < endAt) {
      await new Promise((r) => setTimeout(r, 250));
      if (performance.now() - lastReport >= 10_000) {
        lastReport = performance.now();
        say(`soak: ${Math.round((performance.now() - t0) / 1000)} s, sent ${sent.size}, receipted ${receipted}`);
      }
    }
    for (const t of timers) clearInterval(t);
    const genSeconds = (performance.now() - t0) / 1000;
    const drainUntil = Date.now() + 120_000;
    while (boxes.some((b) => b.outbox.pendingCount() > 0) && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 100));
    const totalSeconds = (performance.now() - t0) / 1000;

    const ids = new Set(server.db.prepare('SELECT event_id FROM meals').pluck().all() as string[]);
    const duplicates = server.db.prepare('SELECT count(*) FROM duplicate_attempts').pluck().get() as number;
    // Kept for review by the server's date checks: not counted, so also in `lost`.
    const reviews = server.db.prepare('SELECT count(*) FROM event_reviews').pluck().get() as number;
    let lost = 0;
    for (const id of sent) if (!ids.has(id)) lost++;
    latencies.sort((a, b) => a - b);
    const result = {
      centres,
      connectedAtStart,
      minutes,
      rate: max ? 'max' : rate,
      sent: sent.size,
      stored: ids.size,
      duplicates,
      reviews,
      lost,
      eventsPerSecond: Math.round(ids.size / totalSeconds),
      receiptP50Ms: Math.round(percentile(latencies, 50)),
      receiptP99Ms: Math.round(percentile(latencies, 99)),
      generationSeconds: Math.round(genSeconds),
      drainSeconds: Math.round(totalSeconds - genSeconds),
    };
    if (!json) say(`soak: sent ${result.sent}, stored ${result.stored}, duplicates ${duplicates}, lost ${lost}, ${result.eventsPerSecond} events/s, receipt p50 ${result.receiptP50Ms} ms, p99 ${result.receiptP99Ms} ms`);
    console.log(JSON.stringify(result));
    return lost === 0 && duplicates === 0 ? 0 : 1;
  } finally {
    await Promise.all(boxes.map((b) => b.forwarder.stop()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runTool('soak', () => soak(process.argv.slice(2)));
