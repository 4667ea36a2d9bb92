/**
 * Records check-ins: finds the meal window for now, allows one meal per elder per window, and
 * writes the check-in and its outbox row in ONE transaction, so a meal shown as recorded is
 * always forwarded and a forwarded meal was always recorded. Outcomes are values, never throws.
 */
import { randomUUID } from 'node:crypto';
import { isValidId, type MealEvent } from '../../../common/contract.ts';
import type { Clock, Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import type { CheckIn, CheckInRecorder, CheckInRequest, CheckInResult } from './check-in.ts';
import type { CheckInRecord, CheckInRepository } from './check-in-repository.ts';
import { mealAt, serviceDateOf, type MealWindow } from './meal-windows.ts';

export interface CheckInServiceDeps {
  db: Db;
  elders: Pick<ElderRepository, 'getElder'>;
  checkIns: CheckInRepository;
  outbox: Pick<OutboxRepository, 'enqueue'>;
  clock: Clock;
  ids: Ids;
  windows: readonly MealWindow[];
  /** The centre's IANA zone: meal windows and service dates are local to it. */
  timeZone: string;
  centreId: string;
  deviceId: string;
  logger?: Logger;
  /** Identifies this run of the edge program in events (clock sanity); default: a new random UUID. */
  bootId?: string;
}

export interface CheckInService extends CheckInRecorder {
  /** Today's service date at the centre, by the injected clock. */
  today(): string;
  /** A day's check-ins, oldest first. */
  listForDay(serviceDate: string): CheckIn[];
  countForDay(serviceDate: string): number;
  countAll(): number;
  /** Called after each committed check-in (e.g. to wake the forwarder). Returns an unsubscribe. */
  onRecorded(listener: (checkIn: CheckIn) => void): () => void;
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function createCheckInService(deps: CheckInServiceDeps): CheckInService {
  const { db, elders, checkIns, outbox, clock, ids, windows, timeZone, centreId, deviceId, logger } = deps;
  const listeners = new Set<(c: CheckIn) => void>();
  // (bootId, seq) orders this run's events whatever the wall clock says: a box with no RTC
  // may start at 1970, or jump when NTP arrives. Gaps (a failed commit) are harmless.
  const bootId = deps.bootId ?? randomUUID();
  let seq = 0;

  const withName = (c: CheckInRecord, fallback?: string): CheckIn => ({ ...c, elderName: elders.getElder(c.elderId)?.name ?? fallback ?? c.elderId });

  // better-sqlite3 runs the function in BEGIN..COMMIT and rolls back if it throws, so the
  // check-in and its outbox row are committed together or not at all.
  const insertBoth = db.transaction((record: CheckInRecord, event: MealEvent) => {
    checkIns.insert(record);
    outbox.enqueue(event, record.at);
  });

  function record(req: CheckInRequest): CheckInResult {
    const now = clock.now();
    const slot = mealAt(now, windows, timeZone);
    if (!slot) return { status: 'outside-meal-window' };
    // Checked before SQLite so a bad value never becomes an outbox row the server rejects forever.
    if (req.cameraId !== undefined && !isValidId(req.cameraId)) return { status: 'not-recorded', reason: `invalid camera id "${req.cameraId}"` };
    if (req.score !== undefined && !(Number.isFinite(req.score) && req.score >= 0 && req.score <= 10)) {
      return { status: 'not-recorded', reason: `invalid score ${req.score}` };
    }
    try {
      const elder = elders.getElder(req.elderId);
      if (!elder) return { status: 'unknown-elder', elderId: req.elderId };
      const earlier = checkIns.find(req.elderId, slot.serviceDate, slot.meal);
      if (earlier) return { status: 'already-checked-in', checkIn: withName(earlier, elder.name) };

      const rec: CheckInRecord = { eventId: ids.next(), elderId: elder.elderId, serviceDate: slot.serviceDate, meal: slot.meal, at: now.toISOString(), method: req.method };
      if (req.score !== undefined) rec.score = req.score;
      if (req.cameraId !== undefined) rec.cameraId = req.cameraId;
      const event: MealEvent = { ...rec, centreId, deviceId, bootId, seq: ++seq };
      try {
        insertBoth(rec, event);
      } catch (err) {
        // Two cameras deciding on the same elder at once: the UNIQUE constraint settles it.
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') {
          const other = checkIns.find(req.elderId, slot.serviceDate, slot.meal);
          if (other) return { status: 'already-checked-in', checkIn: withName(other, elder.name) };
        }
        throw err;
      }
      const checkIn: CheckIn = { ...rec, elderName: elder.name };
      for (const l of listeners) {
        try {
          l(checkIn);
        } catch (err) {
          logger?.error({ err }, 'check-in listener failed');
        }
      }
      return { status: 'recorded', checkIn };
    } catch (err) {
      const code = sqliteCode(err);
      const reason = `${code ? `${code}: ` : ''}${(err as Error).message}`;
      logger?.error({ elderId: req.elderId, meal: slot.meal, serviceDate: slot.serviceDate, reason }, 'check-in NOT recorded');
      return { status: 'not-recorded', reason };
    }
  }

  return {
    record,
    today: () => serviceDateOf(clock.now(), timeZone),
    listForDay: (serviceDate) => checkIns.listForDay(serviceDate).map((c) => ({ ...c, elderName: c.elderName ?? c.elderId })),
    countForDay: (serviceDate) => checkIns.countForDay(serviceDate),
    countAll: () => checkIns.countAll(),
    onRecorded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
