/**
 * Turns check-ins recorded while the clock was untrusted into what they really were, once the
 * time is known (see clock/trusted-clock.ts):
 *
 * - held rows of THIS run: the time of each is the server's time at its monotonic stamp. Its
 *   meal window and service date are worked out again from that time. It becomes a check-in
 *   (`corrected`); or, when the elder already has that meal, a `duplicate` (sent anyway, so the
 *   server keeps it as a duplicate attempt: visible, not counted); or, when the time falls in no
 *   window, `outside-window` (sent for review, not as a meal). Each is logged.
 * - held rows of an EARLIER run that ended before learning the time: their monotonic stamps
 *   mean nothing now, so they are sent as `unverified` for the server to keep for review.
 *
 * Each row is resolved, its check-in written and its outbox row released in one transaction.
 *
 * It lives with the meals, not the clock: it writes check-ins and releases their outbox rows,
 * and the clock only tells it the time (`timeAt`). So neither clock/ nor sync/ imports meals/.
 */
import type { MealEvent } from '../../../common/contract.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { CheckInRecord, CheckInRepository } from './check-in-repository.ts';
import { doorDetails } from './check-in.ts';
import { nearestMeal, type MealWindow } from '../../../common/meal-windows.ts';
import type { ClockRepository, UnsyncedCheckIn } from '../clock/clock-repository.ts';
import type { HeldOutbox } from '../sync/outbox-repository.ts';

export interface ClockCorrectorDeps {
  db: Db;
  clocks: Pick<ClockRepository, 'listHeld' | 'resolve'>;
  checkIns: Pick<CheckInRepository, 'find' | 'insert'>;
  outbox: HeldOutbox;
  windows: readonly MealWindow[];
  timeZone: string;
  /** This run. */
  bootId: string;
  logger: Logger;
}

export interface CorrectionSummary {
  corrected: number;
  duplicates: number;
  outsideWindow: number;
  unverified: number;
  /** Held check-ins whose outbox row was gone (already released elsewhere): resolved only. */
  missing: number;
}

const empty = (): CorrectionSummary => ({ corrected: 0, duplicates: 0, outsideWindow: 0, unverified: 0, missing: 0 });

export interface ClockCorrector {
  /** Corrects this run's held check-ins; `timeAt` maps a monotonic stamp to the server's time. */
  correctHeld(timeAt: (monoMs: number) => Date, now: Date): CorrectionSummary;
  /** Releases, as unverified, the held check-ins of runs other than this one. */
  releaseEarlierRuns(now: Date): CorrectionSummary;
}

export function createClockCorrector(deps: ClockCorrectorDeps): ClockCorrector {
  const { db, clocks, checkIns, outbox, windows, timeZone, bootId, logger } = deps;

  const correctOne = db.transaction((u: UnsyncedCheckIn, at: Date, now: Date, sum: CorrectionSummary) => {
    const held = outbox.heldEvent(u.eventId);
    const slot = nearestMeal(at, windows, timeZone);
    const base = { at: at.toISOString(), serviceDate: slot.serviceDate, meal: slot.meal, resolvedAt: now.toISOString() };
    const event: MealEvent | undefined = held && { ...held, at: base.at, serviceDate: slot.serviceDate, meal: slot.meal, clock: 'corrected', edgeAt: u.edgeAt, monoMs: u.monoMs };
    if (event) delete event.review;
    const log = { eventId: u.eventId, elderId: u.elderId, edgeAt: u.edgeAt, at: base.at, serviceDate: slot.serviceDate, meal: slot.meal };
    if (!slot.inWindow) {
      clocks.resolve(u.eventId, { status: 'outside-window', ...base });
      if (event) event.review = 'outside-window';
      sum.outsideWindow++;
      logger.warn(log, 'check-in recorded while the clock was untrusted was outside every meal window: sent for review, not as a meal');
    } else {
      const earlier = checkIns.find(u.elderId, slot.serviceDate, slot.meal);
      if (earlier) {
        clocks.resolve(u.eventId, { status: 'duplicate', ...base, originalEventId: earlier.eventId });
        sum.duplicates++;
        logger.warn({ ...log, originalEventId: earlier.eventId }, 'check-in recorded while the clock was untrusted was a second one for this meal: sent as a duplicate attempt');
      } else {
        const rec: CheckInRecord = { eventId: u.eventId, elderId: u.elderId, serviceDate: slot.serviceDate, meal: slot.meal, at: base.at, method: u.method, ...doorDetails(u) };
        checkIns.insert(rec);
        clocks.resolve(u.eventId, { status: 'corrected', ...base });
        sum.corrected++;
        logger.info(log, 'check-in recorded while the clock was untrusted: time corrected');
      }
    }
    if (!event || !outbox.release(event)) sum.missing++;
  });

  const unverifyOne = db.transaction((u: UnsyncedCheckIn, now: Date, sum: CorrectionSummary) => {
    const held = outbox.heldEvent(u.eventId);
    // The event was enqueued with the box's guesses (clock `unverified`): it goes as it is.
    const guess = held ?? { at: u.edgeAt, ...nearestMeal(new Date(u.edgeAt), windows, timeZone) };
    clocks.resolve(u.eventId, { status: 'unverified', at: guess.at, serviceDate: guess.serviceDate, meal: guess.meal, resolvedAt: now.toISOString() });
    sum.unverified++;
    if (!held || !outbox.release({ ...held, clock: 'unverified' })) sum.missing++;
  });

  return {
    correctHeld(timeAt, now) {
      const sum = empty();
      // Oldest first, so the first of two check-ins for one meal is the one that counts.
      for (const u of clocks.listHeld(bootId)) {
        try {
          correctOne(u, timeAt(u.monoMs), now, sum);
        } catch (err) {
          // Rolled back: the row stays held, and a later run sends it as unverified.
          logger.error({ err, eventId: u.eventId }, 'cannot correct a held check-in');
        }
      }
      if (sum.corrected + sum.duplicates + sum.outsideWindow > 0) logger.info({ ...sum }, 'held check-ins corrected with the server time');
      return sum;
    },
    releaseEarlierRuns(now) {
      const sum = empty();
      for (const u of clocks.listHeld(bootId, true)) {
        try {
          unverifyOne(u, now, sum);
        } catch (err) {
          logger.error({ err, eventId: u.eventId }, 'cannot release a held check-in of an earlier run');
        }
      }
      if (sum.unverified > 0) {
        logger.warn({ ...sum }, 'check-ins of an earlier run that never learnt the time: sent as unverified, for the server to keep for review');
      }
      return sum;
    },
  };
}
