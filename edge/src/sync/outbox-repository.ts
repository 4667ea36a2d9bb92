/**
 * SQL for the `outbox` table: meal events and records (common/records.ts: voids, elders' registry
 * changes, audit rows) waiting for the server's receipt, in `seq` order. A feature enqueues in the
 * same SQLite transaction as the change itself, so the change and its forwarding stand or fall
 * together.
 * A row is removed only when a receipt names its event (see forwarder.ts). A `held` row (a
 * check-in recorded while the clock was untrusted) is not sent until it is released.
 */
import type { BatchEvent, MealEvent } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';

export interface OutboxRow {
  seq: number;
  eventId: string;
  event: BatchEvent;
  createdAt: string;
  attempts: number;
  lastAttemptAt?: string;
}

export interface OutboxRepository {
  /**
   * Called inside the transaction of the change it forwards (a check-in, a void...). Throws on any
   * SQLite error. `held` (meal events only): not sent until released.
   */
  enqueue(event: BatchEvent, createdAt: string, opts?: { held?: boolean }): void;
  /** Rows waiting for a receipt, held ones included. */
  pendingCount(): number;
  /** `createdAt` of the oldest row (held ones included), null when the outbox is empty. */
  oldestCreatedAt?(): string | null;
  /** Oldest rows first, at most `limit`, only those with `seq > afterSeq`, never held ones. */
  takeOldest(limit: number, afterSeq?: number): OutboxRow[];
  /** Deletes the named rows (unknown ids are ignored); returns how many went. */
  deleteByEventIds(eventIds: readonly string[]): number;
  /** Counts one more send of each named row. */
  bumpAttempts(eventIds: readonly string[], at: string): void;
}

/** Held rows (clock sanity); the soak's in-memory outbox has none. */
export interface HeldOutbox {
  heldCount(): number;
  /** The event of a held row, as enqueued. */
  heldEvent(eventId: string): MealEvent | undefined;
  /** Replaces a held row's event (same eventId) and lets it be sent; false when no such held row. */
  release(event: MealEvent): boolean;
}

/**
 * EventIds the server named as conflicts in a receipt (edge migration 004): it already held
 * that eventId with other content. Recorded before the receipt deletes the outbox rows, so a
 * crash in between only means the server names them again.
 */
export interface ReceiptConflictLog {
  /** Records each named event with its outbox payload, once; returns how many were new. */
  recordConflicts(eventIds: readonly string[], at: string): number;
  /** Conflicts recorded on this box, ever. */
  conflictCount(): number;
}

interface Row {
  seq: number;
  event_id: string;
  payload: string;
  created_at: string;
  attempts: number;
  last_attempt_at: string | null;
}

export function createOutboxRepository(db: Db): OutboxRepository & HeldOutbox & ReceiptConflictLog {
  const insert = db.prepare<[string, string, string, number]>('INSERT INTO outbox (event_id, payload, created_at, held) VALUES (?, ?, ?, ?)');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox');
  const oldest = db.prepare<[], string>('SELECT created_at FROM outbox ORDER BY seq LIMIT 1').pluck();
  const countHeld = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox WHERE held = 1');
  const take = db.prepare<[number, number], Row>(
    'SELECT seq, event_id, payload, created_at, attempts, last_attempt_at FROM outbox WHERE seq > ? AND held = 0 ORDER BY seq LIMIT ?',
  );
  const heldOne = db.prepare<[string], { payload: string }>('SELECT payload FROM outbox WHERE event_id = ? AND held = 1');
  const release = db.prepare<[string, string]>('UPDATE outbox SET payload = ?, held = 0 WHERE event_id = ? AND held = 1');
  const del = db.prepare<[string]>('DELETE FROM outbox WHERE event_id = ?');
  const bump = db.prepare<[string, string]>('UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE event_id = ?');
  const recordConflict = db.prepare<[string, string, string]>(
    'INSERT INTO receipt_conflicts (event_id, payload, received_at) VALUES (?, (SELECT payload FROM outbox WHERE event_id = ?), ?) ON CONFLICT (event_id) DO NOTHING',
  );
  const countConflicts = db.prepare<[], number>('SELECT count(*) FROM receipt_conflicts').pluck();
  const recordConflicts = db.transaction((ids: readonly string[], at: string) => ids.reduce((n, id) => n + recordConflict.run(id, id, at).changes, 0));
  const deleteMany = db.transaction((ids: readonly string[]) => ids.reduce((n, id) => n + del.run(id).changes, 0));
  const bumpMany = db.transaction((ids: readonly string[], at: string) => {
    for (const id of ids) bump.run(at, id);
  });

  return {
    enqueue(event, createdAt, opts) {
      insert.run(event.eventId, JSON.stringify(event), createdAt, opts?.held ? 1 : 0);
    },
    pendingCount() {
      return count.get()?.n ?? 0;
    },
    oldestCreatedAt() {
      return oldest.get() ?? null;
    },
    heldCount() {
      return countHeld.get()?.n ?? 0;
    },
    heldEvent(eventId) {
      const r = heldOne.get(eventId);
      return r && (JSON.parse(r.payload) as MealEvent);
    },
    release(event) {
      return release.run(JSON.stringify(event), event.eventId).changes === 1;
    },
    takeOldest(limit, afterSeq = 0) {
      return take.all(afterSeq, limit).map((r) => {
        const row: OutboxRow = {
          seq: r.seq,
          eventId: r.event_id,
          // Written by enqueue() from a checked event or record; nothing else writes this table.
          event: JSON.parse(r.payload) as BatchEvent,
          createdAt: r.created_at,
          attempts: r.attempts,
        };
        if (r.last_attempt_at !== null) row.lastAttemptAt = r.last_attempt_at;
        return row;
      });
    },
    deleteByEventIds(eventIds) {
      return eventIds.length ? deleteMany(eventIds) : 0;
    },
    recordConflicts(eventIds, at) {
      return eventIds.length ? recordConflicts(eventIds, at) : 0;
    },
    conflictCount() {
      return countConflicts.get() ?? 0;
    },
    bumpAttempts(eventIds, at) {
      if (eventIds.length) bumpMany(eventIds, at);
    },
  };
}
