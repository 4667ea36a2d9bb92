/**
 * What every way of recording a meal shares (check-ins at a trusted time, confirmed holds, check-ins
 * held while the clock is untrusted, meals by hand, voids):
 *
 * - how a record becomes the event the server gets: this centre and box, this run's `bootId` and
 *   the next `seq`, and never the anti-spoof hint (contract v1 has no field for it; it stays here);
 * - the outbox it is queued in, inside the caller's transaction with the record itself;
 * - who hears of a recorded check-in (e.g. the forwarder, to send it at once);
 * - the ONE place where a failed SQLite write (disk full, I/O error, read-only database) becomes
 *   `not-recorded`, logged with its SQLite code, instead of an exception or a false success.
 */
import { randomUUID } from 'node:crypto';
import type { BatchEvent, MealEvent } from '../../../common/contract.ts';
import type { Logger } from '../../../common/logger.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import type { CheckIn, CheckInResult } from './check-in.ts';
import type { CheckInRecord } from './check-in-repository.ts';

/** A write that did not happen: the elder (or staff) must be told so. */
export type NotRecorded = Extract<CheckInResult, { status: 'not-recorded' }>;

/** The clock fields of an event (see MealEvent.clock). */
export type EventClockFields = Pick<MealEvent, 'clock' | 'monoMs' | 'edgeAt'>;

export interface CheckInWriterDeps {
  outbox: Pick<OutboxRepository, 'enqueue'>;
  centreId: string;
  deviceId: string;
  /** Identifies this run of the edge program in events (clock sanity); default: a new random UUID. */
  bootId?: string;
  logger?: Logger;
}

export interface CheckInWriter {
  /** This run's id, in every event. */
  readonly bootId: string;
  /** This box, in every event and record. */
  readonly centreId: string;
  readonly deviceId: string;
  /**
   * The event the server gets for `rec`. Each call takes the next `seq`: a commit that fails
   * after it leaves a gap, which is harmless.
   */
  event(rec: CheckInRecord, clock?: EventClockFields): MealEvent;
  /**
   * Queues a meal event or a record (a void) for the server (`held`, meal events only: not sent
   * until released). Inside the caller's transaction; throws on any SQLite error.
   */
  enqueue(event: BatchEvent, createdAt: string, opts?: { held?: boolean }): void;
  /**
   * Runs `work`. Whatever it throws (a failed SQLite read or write: the transaction inside it
   * rolled back) is logged as `message` with `context` and returned as `not-recorded`.
   */
  attempt<R>(message: string, context: Record<string, unknown>, work: () => R): R | NotRecorded;
  /** Tells the listeners of a committed check-in; a listener that throws is logged, never the caller's problem. */
  recorded(checkIn: CheckIn): void;
  /** Called after each committed check-in. Returns an unsubscribe. */
  onRecorded(listener: (checkIn: CheckIn) => void): () => void;
}

/** The SQLite error code of `err` (`SQLITE_FULL`, `SQLITE_CONSTRAINT_UNIQUE`...), if it has one. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function createCheckInWriter(deps: CheckInWriterDeps): CheckInWriter {
  const { outbox, centreId, deviceId, logger } = deps;
  const listeners = new Set<(c: CheckIn) => void>();
  // (bootId, seq) orders this run's events whatever the wall clock says: a box with no RTC
  // may start at 1970, or jump when NTP arrives.
  const bootId = deps.bootId ?? randomUUID();
  let seq = 0;

  return {
    bootId,
    centreId,
    deviceId,
    event(rec, clock) {
      // A check-in being recorded is not voided; a void goes up as a record of its own (void-service.ts).
      const { antispoof: _antispoof, voided: _voided, ...wire } = rec;
      return { ...wire, centreId, deviceId, bootId, seq: ++seq, ...clock };
    },
    enqueue(event, createdAt, opts) {
      if (opts) outbox.enqueue(event, createdAt, opts);
      else outbox.enqueue(event, createdAt);
    },
    attempt(message, context, work) {
      try {
        return work();
      } catch (err) {
        const code = sqliteCode(err);
        const reason = `${code ? `${code}: ` : ''}${(err as Error).message}`;
        logger?.error({ ...context, reason }, message);
        return { status: 'not-recorded', reason };
      }
    },
    recorded(checkIn) {
      for (const l of listeners) {
        try {
          l(checkIn);
        } catch (err) {
          logger?.error({ err }, 'check-in listener failed');
        }
      }
    },
    onRecorded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
