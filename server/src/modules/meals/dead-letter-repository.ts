/**
 * Messages the server could not accept, kept for an operator to look at. Only an excerpt of
 * the payload is stored, and a message re-sent unchanged bumps a counter instead of adding rows.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../../../../common/sqlite.ts';

/** Bytes of a rejected payload kept for diagnosis. */
export const DEAD_LETTER_EXCERPT_BYTES = 2048;

export interface DeadLetter {
  id: number;
  topic: string;
  reason: string;
  payloadExcerpt: string;
  payloadBytes: number;
  attempts: number;
  receivedAt: string;
  lastReceivedAt: string;
}

export interface DeadLetterRepository {
  record(topic: string, reason: string, payload: Buffer | string, receivedAt: Date): void;
  list(limit?: number): DeadLetter[];
  count(): number;
}

export function createDeadLetterRepository(db: Db): DeadLetterRepository {
  const upsert = db.prepare(
    `INSERT INTO dead_letters (fingerprint, topic, reason, payload_excerpt, payload_bytes, received_at, last_received_at)
     VALUES (@fingerprint, @topic, @reason, @excerpt, @bytes, @at, @at)
     ON CONFLICT (fingerprint) DO UPDATE SET attempts = attempts + 1, last_received_at = excluded.last_received_at`,
  );
  const list = db.prepare<[number], DeadLetter>(
    `SELECT id, topic, reason, payload_excerpt AS payloadExcerpt, payload_bytes AS payloadBytes, attempts,
            received_at AS receivedAt, last_received_at AS lastReceivedAt
     FROM dead_letters ORDER BY id DESC LIMIT ?`,
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_letters');

  return {
    record(topic, reason, payload, receivedAt) {
      const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
      const fingerprint = createHash('sha256').update(topic).update('\0').update(reason).update('\0').update(buf).digest('hex');
      upsert.run({
        fingerprint,
        topic: topic.slice(0, 512),
        reason: reason.slice(0, 1024),
        // A cut multi-byte character becomes U+FFFD: harmless in an excerpt.
        excerpt: buf.subarray(0, DEAD_LETTER_EXCERPT_BYTES).toString('utf8'),
        bytes: buf.length,
        at: receivedAt.toISOString(),
      });
    },
    list: (limit = 100) => list.all(limit),
    count: () => count.get()!.n,
  };
}
