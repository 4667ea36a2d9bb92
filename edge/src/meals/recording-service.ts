/**
 * Records check-ins at a trusted time: finds the meal window for that time, allows one meal per
 * elder per window, and writes the check-in and its outbox row in ONE transaction, so a meal
 * shown as recorded is always forwarded and a forwarded meal was always recorded. A face the
 * anti-spoof hint finds suspect is held for staff instead (confirmation-service.ts); a check-in
 * recorded here supersedes the elder's open hold for the meal. Outcomes are values, never throws.
 */
import type { Ids } from '../../../common/clock.ts';
import type { MealEvent } from '../../../common/contract.ts';
import { mealAt, type MealWindow } from '../../../common/meal-windows.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import { doorDetails, inactiveStatusOf, requestProblem, withElderName, type CheckIn, type CheckInRequest, type CheckInResult } from './check-in.ts';
import type { CheckInRecord, CheckInRepository } from './check-in-repository.ts';
import { sqliteCode, type CheckInWriter } from './check-in-writer.ts';
import type { ConfirmationService } from './confirmation-service.ts';

/**
 * When a check-in happens, by a clock that can be trusted. `source` (a trust-aware clock's
 * `server` or `system`) goes into the event as `clock`; absent for a plain Clock.
 */
export interface TrustedTime {
  at: Date;
  source?: 'server' | 'system';
}

export interface RecordingServiceDeps {
  db: Db;
  writer: CheckInWriter;
  elders: Pick<ElderRepository, 'getElder'>;
  checkIns: Pick<CheckInRepository, 'find' | 'insert'>;
  confirmations: Pick<ConfirmationService, 'isSuspect' | 'hold' | 'supersedeOpen'>;
  ids: Ids;
  windows: readonly MealWindow[];
  /** The centre's IANA zone: meal windows and service dates are local to it. */
  timeZone: string;
}

export interface RecordingService {
  record(req: CheckInRequest, time: TrustedTime): CheckInResult;
}

export function createRecordingService(deps: RecordingServiceDeps): RecordingService {
  const { db, writer, elders, checkIns, confirmations, ids, windows, timeZone } = deps;

  // better-sqlite3 runs the function in BEGIN..COMMIT and rolls back if it throws, so the
  // check-in and its outbox row are committed together or not at all.
  const insertBoth = db.transaction((record: CheckInRecord, event: MealEvent) => {
    checkIns.insert(record);
    writer.enqueue(event, record.at);
    // A held check-in for this meal has nothing left to confirm: the elder has the meal now.
    confirmations.supersedeOpen(record);
  });

  return {
    record(req, time) {
      const slot = mealAt(time.at, windows, timeZone);
      if (!slot) return { status: 'outside-meal-window' };
      const problem = requestProblem(req);
      if (problem) return { status: 'not-recorded', reason: problem };
      return writer.attempt('check-in NOT recorded', { elderId: req.elderId, meal: slot.meal, serviceDate: slot.serviceDate }, (): CheckInResult => {
        const elder = elders.getElder(req.elderId);
        if (!elder) return { status: 'unknown-elder', elderId: req.elderId };
        const inactive = inactiveStatusOf(elder);
        if (inactive) return { status: 'elder-inactive', elderId: elder.elderId, elderName: elder.name, elderStatus: inactive };
        const earlier = checkIns.find(req.elderId, slot.serviceDate, slot.meal);
        if (earlier) return { status: 'already-checked-in', checkIn: withElderName(elders, earlier, elder.name) };
        if (confirmations.isSuspect(req)) return confirmations.hold(req, elder, slot, time.at);

        const rec: CheckInRecord = { eventId: ids.next(), elderId: elder.elderId, serviceDate: slot.serviceDate, meal: slot.meal, at: time.at.toISOString(), method: req.method, ...doorDetails(req) };
        const event = writer.event(rec, time.source ? { clock: time.source } : undefined);
        try {
          insertBoth(rec, event);
        } catch (err) {
          // Two cameras deciding on the same elder at once: the UNIQUE constraint settles it.
          if (sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') {
            const other = checkIns.find(req.elderId, slot.serviceDate, slot.meal);
            if (other) return { status: 'already-checked-in', checkIn: withElderName(elders, other, elder.name) };
          }
          throw err;
        }
        const checkIn: CheckIn = { ...rec, elderName: elder.name };
        writer.recorded(checkIn);
        return { status: 'recorded', checkIn };
      });
    },
  };
}
