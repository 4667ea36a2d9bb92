/**
 * Check-ins while the clock is untrusted (no RTC, not yet synced with the server: see
 * clock/trusted-clock.ts). The elder is not turned away: the check-in is recorded with the
 * monotonic time of this run, its outbox row held, and its time, meal and date corrected once the
 * time is known (clock-correction.ts). Until then the meal shown is the box's guess, and one
 * elder's check-ins closer together than the shortest gap between two meals count as one.
 */
import type { ClockReading, Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import { nearestMeal, shortestGapBetweenMeals, type MealWindow } from '../../../common/meal-windows.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { ClockRepository, UnsyncedCheckIn } from '../clock/clock-repository.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import type { MealEvent } from '../../../common/contract.ts';
import { doorDetails, inactiveStatusOf, requestProblem, type CheckIn, type CheckInRequest, type CheckInResult } from './check-in.ts';
import type { CheckInRecord } from './check-in-repository.ts';
import type { CheckInWriter } from './check-in-writer.ts';

/** What an untrusted clock says: the box's (wrong) wall clock and the time since this run started. */
export type UntrustedReading = Extract<ClockReading, { trusted: false }>;

export interface HeldCheckInServiceDeps {
  db: Db;
  writer: CheckInWriter;
  elders: Pick<ElderRepository, 'getElder'>;
  /** The `unsynced_check_ins` table. */
  unsynced: Pick<ClockRepository, 'insertUnsynced' | 'latestHeld' | 'countByStatus'>;
  ids: Ids;
  windows: readonly MealWindow[];
  timeZone: string;
  /** A face the anti-spoof hint finds suspect (confirmation-service.ts): not recorded while the time is unknown. */
  isSuspect(req: CheckInRequest): boolean;
  logger?: Logger;
}

export interface HeldCheckInService {
  /** Records `req` as a check-in held until the time is learnt. Outcomes are values, never throws. */
  record(req: CheckInRequest, reading: UntrustedReading): CheckInResult;
  /** Check-ins recorded and still waiting for the time. */
  countHeld(): number;
}

export function createHeldCheckInService(deps: HeldCheckInServiceDeps): HeldCheckInService {
  const { db, writer, elders, unsynced, ids, windows, timeZone, isSuspect, logger } = deps;
  const { bootId } = writer;
  // Two check-ins of one elder closer in elapsed time than this are for the same meal.
  const sameMealWithinMs = shortestGapBetweenMeals(windows);

  // The check-in and its held outbox row, committed together.
  const insertHeld = db.transaction((u: Omit<UnsyncedCheckIn, 'status'>, event: MealEvent) => {
    unsynced.insertUnsynced(u);
    writer.enqueue(event, u.edgeAt, { held: true });
  });

  return {
    record(req, reading) {
      const problem = requestProblem(req);
      if (problem) return { status: 'not-recorded', reason: problem };
      const guess = nearestMeal(reading.system, windows, timeZone);
      return writer.attempt('check-in NOT recorded', { elderId: req.elderId, monoMs: reading.monoMs }, (): CheckInResult => {
        const elder = elders.getElder(req.elderId);
        if (!elder) return { status: 'unknown-elder', elderId: req.elderId };
        const inactive = inactiveStatusOf(elder);
        if (inactive) return { status: 'elder-inactive', elderId: elder.elderId, elderName: elder.name, elderStatus: inactive };
        const earlier = unsynced.latestHeld(elder.elderId, bootId);
        if (earlier && reading.monoMs - earlier.monoMs < sameMealWithinMs) {
          const c: CheckIn = { eventId: earlier.eventId, elderId: earlier.elderId, elderName: elder.name, serviceDate: guess.serviceDate, meal: guess.meal, at: earlier.edgeAt, method: earlier.method, provisional: true };
          return { status: 'already-checked-in', checkIn: c };
        }
        // A hold for staff would carry the guessed date and meal, which nothing corrects later:
        // while the time is unknown a suspect face goes to staff through the review queue
        // (kind `clock`), where assigning records the meal then; or they check the elder in by hand.
        if (isSuspect(req)) {
          logger?.warn({ elderId: elder.elderId, antispoof: req.antispoof }, 'suspect face while the clock is untrusted: not recorded, kept for staff review');
          return { status: 'not-recorded', reason: 'face needs staff confirmation while the clock is not set: staff decide it in the review queue, or check this elder in by hand', review: 'clock' };
        }
        // No anti-spoof hint: unsynced_check_ins has no column for it, so the corrected check-in
        // could not keep it.
        const { antispoof: _antispoof, ...details } = doorDetails(req);
        const rec: CheckInRecord = { eventId: ids.next(), elderId: elder.elderId, serviceDate: guess.serviceDate, meal: guess.meal, at: reading.system.toISOString(), method: req.method, ...details };
        // Sent like this (`unverified`) only if this run ends before it learns the time.
        const event = writer.event(rec, { clock: 'unverified', monoMs: reading.monoMs, edgeAt: rec.at });
        const u: Omit<UnsyncedCheckIn, 'status'> = { eventId: rec.eventId, elderId: rec.elderId, bootId, monoMs: reading.monoMs, edgeAt: rec.at, method: rec.method, ...doorDetails(rec) };
        insertHeld(u, event);
        logger?.warn({ elderId: rec.elderId, eventId: rec.eventId, monoMs: reading.monoMs, edgeAt: rec.at }, 'check-in recorded with an untrusted clock: held until the time is learnt');
        const checkIn: CheckIn = { ...rec, elderName: elder.name, provisional: true };
        writer.recorded(checkIn);
        return { status: 'recorded', checkIn };
      });
    },
    countHeld: () => unsynced.countByStatus().held,
  };
}
