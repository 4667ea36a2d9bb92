/**
 * Records check-ins: finds the meal window for now, allows one meal per elder per window, and
 * writes the check-in and its outbox row in ONE transaction, so a meal shown as recorded is
 * always forwarded and a forwarded meal was always recorded. Outcomes are values, never throws.
 */
import type { MealEvent } from '../../../common/contract.ts';
import { isTrustAware, type Clock, type Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import { createClockRepository, type ClockRepository } from '../clock/clock-repository.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import { doorDetails, requestProblem, withElderName, type CheckIn, type CheckInRecorder, type CheckInRequest, type CheckInResult, type Confirmation, type ConfirmationResult, type ConfirmationStatus } from './check-in.ts';
import type { CheckInRecord, CheckInRepository } from './check-in-repository.ts';
import { createCheckInWriter, sqliteCode } from './check-in-writer.ts';
import { createConfirmationRepository, type ConfirmationRepository } from './confirmation-repository.ts';
import { createConfirmationService } from './confirmation-service.ts';
import { createHeldCheckInService } from './held-check-in-service.ts';
import { mealAt, serviceDateOf, type MealWindow } from '../../../common/meal-windows.ts';

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
  /** Face check-ins held for staff (anti-spoof); default: the `confirmations` table of `db`. */
  confirmations?: ConfirmationRepository;
  /**
   * A face check-in whose anti-spoof hint is below this waits for staff confirmation instead of
   * being recorded. 0 (default) = off; a check-in without a hint is never held.
   */
  antispoofThreshold?: number;
  /**
   * Check-ins recorded while a trust-aware clock (edge/src/clock/trusted-clock.ts) is untrusted;
   * default: the `unsynced_check_ins` table of `db`. Unused with a plain Clock (always trusted).
   */
  unsynced?: Pick<ClockRepository, 'insertUnsynced' | 'latestHeld' | 'countByStatus'>;
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
  /** Held face check-ins: pending ones oldest first, decided ones newest first; all statuses when undefined. */
  listConfirmations(status?: ConfirmationStatus, limit?: number): Confirmation[];
  getConfirmation(id: string): Confirmation | undefined;
  countPendingConfirmations(): number;
  /**
   * Staff confirm a held check-in: recorded like one at the door, with the meal, service date
   * and time of the moment the elder stood there (not of the confirmation), in one transaction
   * with its outbox row, once per elder and meal.
   */
  confirm(id: string, staffId: string): ConfirmationResult;
  /** Staff reject a held check-in: kept as `rejected` for audit, nothing recorded or forwarded. */
  reject(id: string, staffId: string, reason?: string): ConfirmationResult;
}

export function createCheckInService(deps: CheckInServiceDeps): CheckInService {
  const { db, elders, checkIns, outbox, clock, ids, windows, timeZone, centreId, deviceId, logger } = deps;
  const writer = createCheckInWriter({ outbox, centreId, deviceId, ...(deps.bootId !== undefined ? { bootId: deps.bootId } : {}), ...(logger ? { logger } : {}) });

  const withName = (c: CheckInRecord, fallback?: string): CheckIn => withElderName(elders, c, fallback);
  const confirmations = createConfirmationService({
    db,
    writer,
    elders,
    checkIns,
    confirmations: deps.confirmations ?? createConfirmationRepository(db),
    ids,
    clock,
    ...(deps.antispoofThreshold !== undefined ? { antispoofThreshold: deps.antispoofThreshold } : {}),
    ...(logger ? { logger } : {}),
  });
  const toEvent = writer.event;
  const held = createHeldCheckInService({
    db,
    writer,
    elders,
    unsynced: deps.unsynced ?? createClockRepository(db),
    ids,
    windows,
    timeZone,
    isSuspect: confirmations.isSuspect,
    ...(logger ? { logger } : {}),
  });

  // better-sqlite3 runs the function in BEGIN..COMMIT and rolls back if it throws, so the
  // check-in and its outbox row are committed together or not at all.
  const insertBoth = db.transaction((record: CheckInRecord, event: MealEvent) => {
    checkIns.insert(record);
    writer.enqueue(event, record.at);
    // A held check-in for this meal has nothing left to confirm: the elder has the meal now.
    confirmations.supersedeOpen(record);
  });

  const notify = writer.recorded;

  function record(req: CheckInRequest): CheckInResult {
    const reading = isTrustAware(clock) ? clock.reading() : undefined;
    if (reading && !reading.trusted) return held.record(req, reading);
    const now = reading?.trusted ? reading.at : clock.now();
    const slot = mealAt(now, windows, timeZone);
    if (!slot) return { status: 'outside-meal-window' };
    const problem = requestProblem(req);
    if (problem) return { status: 'not-recorded', reason: problem };
    return writer.attempt('check-in NOT recorded', { elderId: req.elderId, meal: slot.meal, serviceDate: slot.serviceDate }, (): CheckInResult => {
      const elder = elders.getElder(req.elderId);
      if (!elder) return { status: 'unknown-elder', elderId: req.elderId };
      const earlier = checkIns.find(req.elderId, slot.serviceDate, slot.meal);
      if (earlier) return { status: 'already-checked-in', checkIn: withName(earlier, elder.name) };
      if (confirmations.isSuspect(req)) return confirmations.hold(req, elder, slot, now);

      const rec: CheckInRecord = { eventId: ids.next(), elderId: elder.elderId, serviceDate: slot.serviceDate, meal: slot.meal, at: now.toISOString(), method: req.method, ...doorDetails(req) };
      const event = toEvent(rec, reading?.trusted ? { clock: reading.source } : undefined);
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
      notify(checkIn);
      return { status: 'recorded', checkIn };
    });
  }

  return {
    record,
    confirm: confirmations.confirm,
    reject: confirmations.reject,
    listConfirmations: (status, limit = 100) => confirmations.list(status, limit),
    getConfirmation: confirmations.get,
    countPendingConfirmations: confirmations.countPending,
    today: () => serviceDateOf(clock.now(), timeZone),
    listForDay: (serviceDate) => checkIns.listForDay(serviceDate).map((c) => ({ ...c, elderName: c.elderName ?? c.elderId })),
    countForDay: (serviceDate) => checkIns.countForDay(serviceDate),
    // Check-ins waiting for the time count too: they were recorded.
    countAll: () => checkIns.countAll() + (isTrustAware(clock) ? held.countHeld() : 0),
    onRecorded: writer.onRecorded,
  };
}
