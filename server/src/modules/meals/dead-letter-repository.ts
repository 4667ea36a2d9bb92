/**
 * Messages the server could not accept, kept for an operator to look at. Only an excerpt of
 * the payload is stored, and a message re-sent unchanged bumps a counter instead of adding rows.
 *
 * Bounded, because anything a box (or whoever holds its login) sends can land here: rows and
 * bytes are capped per device and in total, and each device may add rows only at a limited rate.
 * What is not kept is counted per device (dead_letter_drops) and raises the alarm. Valid events
 * never pass through here, so junk that arrived first cannot crowd out a meal.
 */
import { createHash } from 'node:crypto';
import { topics } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';

/** Bytes of a rejected payload kept for diagnosis. */
export const DEAD_LETTER_EXCERPT_BYTES = 2048;

export interface DeadLetterLimits {
  /** Rows kept per device. */
  deviceRows: number;
  /** Bytes kept per device (excerpt, reason and topic of its rows). */
  deviceBytes: number;
  totalRows: number;
  totalBytes: number;
  /** New rows a device may add per second, sustained... */
  ratePerSecond: number;
  /** ...and at once after a quiet spell. */
  burst: number;
}

/**
 * A device's 500 rows are far more than a faulty box needs to show what it does wrong; 10,000
 * rows in all are 20 boxes misbehaving at once. At about 2.3 KB a row these are ~1 MB a device
 * and 20 MB in all, whatever is sent.
 */
export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = {
  deviceRows: 500,
  deviceBytes: 1024 * 1024,
  totalRows: 10_000,
  totalBytes: 20 * 1024 * 1024,
  ratePerSecond: 5,
  burst: 50,
};

export type DropReason = 'device-rows' | 'device-bytes' | 'total-rows' | 'total-bytes' | 'rate';

/** Drop counts are written at most this often. */
const DROP_FLUSH_MS = 1000;

/** What happened to one rejected message. */
export type DeadLetterOutcome = { kind: 'stored' } | { kind: 'repeated' } | { kind: 'dropped'; reason: DropReason };

export interface DeadLetter {
  id: number;
  topic: string;
  /** "<centre>/<device>" of the topic it came on; "" when unknown. */
  device: string;
  reason: string;
  payloadExcerpt: string;
  payloadBytes: number;
  attempts: number;
  receivedAt: string;
  lastReceivedAt: string;
}

export interface DeadLetterDrops {
  device: string;
  dropped: number;
  droppedBytes: number;
  firstAt: string;
  lastAt: string;
  lastReason: DropReason;
}

export interface DeadLetterStatus {
  rows: number;
  bytes: number;
  /** Messages not kept (a bound or the rate was reached), since the last clear. */
  dropped: number;
  /** True when something was dropped, or the table is at 80% of a total bound: someone must look. */
  alarm: boolean;
  limits: DeadLetterLimits;
  /** Devices with rows or drops, most rows first. */
  devices: Array<{ device: string; rows: number; bytes: number; dropped: number; lastReason?: DropReason }>;
}

export interface DeadLetterRepository {
  record(topic: string, reason: string, payload: Buffer | string, receivedAt: Date): DeadLetterOutcome;
  list(limit?: number): DeadLetter[];
  count(): number;
  status(): DeadLetterStatus;
  drops(): DeadLetterDrops[];
  /** Writes drop counts still held in memory (they are written at most once a second otherwise). */
  flush(): void;
  /** Deletes every dead letter and drop count (an operator has looked); returns the rows deleted. */
  clear(): number;
}

/** The device a topic belongs to, as dead letters are counted by. */
export function deadLetterDevice(topic: string): string {
  const t = topics.parse(topic);
  return t ? `${t.centreId}/${t.deviceId}` : '';
}

interface Usage {
  rows: number;
  bytes: number;
}

export function createDeadLetterRepository(db: Db, limits: DeadLetterLimits = DEFAULT_DEAD_LETTER_LIMITS): DeadLetterRepository {
  const findByFingerprint = db.prepare<[string], { id: number }>('SELECT id FROM dead_letters WHERE fingerprint = ?');
  const bump = db.prepare('UPDATE dead_letters SET attempts = attempts + 1, last_received_at = ? WHERE id = ?');
  const insert = db.prepare(
    `INSERT INTO dead_letters (fingerprint, topic, device_key, reason, payload_excerpt, payload_bytes, stored_bytes, received_at, last_received_at)
     VALUES (@fingerprint, @topic, @device, @reason, @excerpt, @bytes, @storedBytes, @at, @at)`,
  );
  const recordDrop = db.prepare(
    `INSERT INTO dead_letter_drops (device_key, dropped, dropped_bytes, first_at, last_at, last_reason) VALUES (@device, @dropped, @bytes, @firstAt, @lastAt, @reason)
     ON CONFLICT (device_key) DO UPDATE SET dropped = dropped + excluded.dropped, dropped_bytes = dropped_bytes + excluded.dropped_bytes,
       last_at = excluded.last_at, last_reason = excluded.last_reason`,
  );
  const list = db.prepare<[number], DeadLetter>(
    `SELECT id, topic, device_key AS device, reason, payload_excerpt AS payloadExcerpt, payload_bytes AS payloadBytes, attempts,
            received_at AS receivedAt, last_received_at AS lastReceivedAt
     FROM dead_letters ORDER BY id DESC LIMIT ?`,
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_letters');
  const usageByDevice = db.prepare<[], { device: string; rows: number; bytes: number }>(
    'SELECT device_key AS device, count(*) AS rows, total(stored_bytes) AS bytes FROM dead_letters GROUP BY device_key',
  );
  const listDrops = db.prepare<[], DeadLetterDrops>(
    `SELECT device_key AS device, dropped, dropped_bytes AS droppedBytes, first_at AS firstAt, last_at AS lastAt, last_reason AS lastReason
     FROM dead_letter_drops ORDER BY dropped DESC, device_key`,
  );
  const clearRows = db.prepare('DELETE FROM dead_letters');
  const clearDrops = db.prepare('DELETE FROM dead_letter_drops');

  // Usage is counted in memory, read once here: only this server writes dead letters, and the
  // check runs for every rejected message (a flood is exactly when it must be cheap).
  const usage = new Map<string, Usage>();
  const total: Usage = { rows: 0, bytes: 0 };
  const load = () => {
    usage.clear();
    total.rows = 0;
    total.bytes = 0;
    for (const u of usageByDevice.all()) {
      usage.set(u.device, { rows: u.rows, bytes: u.bytes });
      total.rows += u.rows;
      total.bytes += u.bytes;
    }
  };
  load();
  /** Token bucket per device, on the receive times it is given (no timers). */
  const buckets = new Map<string, { tokens: number; at: number }>();
  const takeToken = (device: string, atMs: number): boolean => {
    const b = buckets.get(device) ?? { tokens: limits.burst, at: atMs };
    b.tokens = Math.min(limits.burst, b.tokens + (Math.max(0, atMs - b.at) / 1000) * limits.ratePerSecond);
    b.at = atMs;
    buckets.set(device, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };

  // Drop counts are written at most once a second, not once per dropped message: a flood of junk
  // would otherwise cost a commit (an fsync) per message, slowing the valid ingest beside it. A
  // crash loses at most a second of counts of junk, never a meal.
  const pendingDrops = new Map<string, { dropped: number; bytes: number; firstAt: string; lastAt: string; reason: DropReason }>();
  let lastFlushMs = 0;
  /** `nowMs`: the receive time that triggered it (the clock record() is given). */
  const flush = (nowMs?: number) => {
    if (nowMs !== undefined) lastFlushMs = nowMs;
    if (pendingDrops.size === 0) return;
    db.transaction(() => {
      for (const [device, p] of pendingDrops) recordDrop.run({ device, ...p });
    })();
    pendingDrops.clear();
  };

  const overBound = (device: Usage, storedBytes: number): DropReason | undefined => {
    if (device.rows + 1 > limits.deviceRows) return 'device-rows';
    if (device.bytes + storedBytes > limits.deviceBytes) return 'device-bytes';
    if (total.rows + 1 > limits.totalRows) return 'total-rows';
    if (total.bytes + storedBytes > limits.totalBytes) return 'total-bytes';
    return undefined;
  };

  return {
    record(topic, reason, payload, receivedAt) {
      const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
      const at = receivedAt.toISOString();
      const fingerprint = createHash('sha256').update(topic).update('\0').update(reason).update('\0').update(buf).digest('hex');
      const existing = findByFingerprint.get(fingerprint);
      if (existing) {
        // A re-send of what is already kept costs no space.
        bump.run(at, existing.id);
        return { kind: 'repeated' };
      }
      const device = deadLetterDevice(topic);
      const row = {
        fingerprint,
        topic: topic.slice(0, 512),
        device,
        reason: reason.slice(0, 1024),
        // A cut multi-byte character becomes U+FFFD: harmless in an excerpt.
        excerpt: buf.subarray(0, DEAD_LETTER_EXCERPT_BYTES).toString('utf8'),
        bytes: buf.length,
        at,
      };
      const storedBytes = Buffer.byteLength(row.excerpt) + Buffer.byteLength(row.reason) + Buffer.byteLength(row.topic);
      const mine = usage.get(device) ?? { rows: 0, bytes: 0 };
      const drop = overBound(mine, storedBytes) ?? (takeToken(device, receivedAt.getTime()) ? undefined : 'rate');
      if (drop) {
        const p = pendingDrops.get(device);
        if (p) {
          p.dropped++;
          p.bytes += buf.length;
          p.lastAt = at;
          p.reason = drop;
        } else pendingDrops.set(device, { dropped: 1, bytes: buf.length, firstAt: at, lastAt: at, reason: drop });
        if (receivedAt.getTime() - lastFlushMs >= DROP_FLUSH_MS) flush(receivedAt.getTime());
        return { kind: 'dropped', reason: drop };
      }
      insert.run({ ...row, storedBytes });
      mine.rows++;
      mine.bytes += storedBytes;
      usage.set(device, mine);
      total.rows++;
      total.bytes += storedBytes;
      return { kind: 'stored' };
    },
    list: (limit = 100) => list.all(limit),
    count: () => count.get()!.n,
    drops: () => {
      flush();
      return listDrops.all();
    },
    flush: () => flush(),
    status() {
      flush();
      const drops = listDrops.all();
      const dropsBy = new Map(drops.map((d) => [d.device, d]));
      const devices = [...new Set([...usage.keys(), ...dropsBy.keys()])]
        .map((device) => {
          const u = usage.get(device) ?? { rows: 0, bytes: 0 };
          const d = dropsBy.get(device);
          return { device, rows: u.rows, bytes: u.bytes, dropped: d?.dropped ?? 0, ...(d ? { lastReason: d.lastReason } : {}) };
        })
        .sort((a, b) => b.rows - a.rows || b.dropped - a.dropped || a.device.localeCompare(b.device));
      const dropped = drops.reduce((n, d) => n + d.dropped, 0);
      const nearlyFull = total.rows >= 0.8 * limits.totalRows || total.bytes >= 0.8 * limits.totalBytes;
      return { rows: total.rows, bytes: total.bytes, dropped, alarm: dropped > 0 || nearlyFull, limits, devices };
    },
    clear() {
      pendingDrops.clear();
      const n = db.transaction(() => {
        clearDrops.run();
        return clearRows.run().changes;
      })();
      load();
      buckets.clear();
      return n;
    },
  };
}
