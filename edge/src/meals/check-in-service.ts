/**
 * The check-in service: the recorder port (check-in.ts) and the staff's view of check-ins and
 * held confirmations, as the composition root and the status server use them. It decides
 * nothing itself; it builds the parts and routes each request to one of them:
 *
 *   record(req) ─┬─ clock trusted   ─▶ recording-service.ts     (meal window, once per elder)
 *                │                        └─ suspect face ─▶ confirmation-service.ts (held for staff)
 *                └─ clock untrusted ─▶ held-check-in-service.ts (held until the time is learnt)
 *   confirm / reject ───────────────▶ confirmation-service.ts
 *   void(req) ──────────────────────▶ void-service.ts          (staff take a wrong check-in back)
 *
 * A meal by hand (`manual`, `delivery`, `proxy`, from the staff pages) is a `record()` like a
 * face, with the staff member's id (and the collector's name for `proxy`): the same clock, meal
 * window and once-per-meal rules, never held for anti-spoof.
 *
 * All of them write through one check-in writer (check-in-writer.ts): the events and their
 * seq, the outbox, the listeners, and the one handling of a failed SQLite write.
 */
import { isTrustAware, type Clock, type Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import { serviceDateOf, type MealWindow } from '../../../common/meal-windows.ts';
import type { Db } from '../../../common/sqlite.ts';
import { createClockRepository, type ClockRepository } from '../clock/clock-repository.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import { withElderName, type CheckIn, type CheckInRecorder, type Confirmation, type ConfirmationResult, type ConfirmationStatus } from './check-in.ts';
import type { CheckInRepository, MealTally } from './check-in-repository.ts';
import type { Meal } from '../../../common/contract.ts';
import { createCheckInWriter } from './check-in-writer.ts';
import { createConfirmationRepository, type ConfirmationRepository } from './confirmation-repository.ts';
import { createConfirmationService } from './confirmation-service.ts';
import { createHeldCheckInService } from './held-check-in-service.ts';
import { createRecordingService } from './recording-service.ts';
import { createVoidService, type VoidRequest, type VoidResult } from './void-service.ts';

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
  /** A day's check-ins, oldest first; with `voided`, the voided ones too (marked `voided`). */
  listForDay(serviceDate: string, opts?: { voided?: boolean }): CheckIn[];
  /** A check-in by its eventId, counted or voided. */
  getCheckIn(eventId: string): CheckIn | undefined;
  /**
   * Staff void a wrong check-in with a reason (void-service.ts): it stops counting, the elder
   * can be checked in again for the meal, and a void record goes to the server in the same
   * transaction.
   */
  void(req: VoidRequest): VoidResult;
  countForDay(serviceDate: string): number;
  /** A day's check-ins per meal and method, and its voided ones per meal. */
  tallyForDay(serviceDate: string): Record<Meal, MealTally>;
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
  const log = logger ? { logger } : {};
  const writer = createCheckInWriter({ outbox, centreId, deviceId, ...(deps.bootId !== undefined ? { bootId: deps.bootId } : {}), ...log });
  const confirmations = createConfirmationService({
    db,
    writer,
    elders,
    checkIns,
    confirmations: deps.confirmations ?? createConfirmationRepository(db),
    ids,
    clock,
    ...(deps.antispoofThreshold !== undefined ? { antispoofThreshold: deps.antispoofThreshold } : {}),
    ...log,
  });
  const recording = createRecordingService({ db, writer, elders, checkIns, confirmations, ids, windows, timeZone });
  const voids = createVoidService({ db, writer, elders, checkIns, ids, clock, ...log });
  const named = (c: CheckIn | (Omit<CheckIn, 'elderName'> & { elderName?: string })): CheckIn => ({ ...c, elderName: c.elderName ?? c.elderId });
  const held = createHeldCheckInService({ db, writer, elders, unsynced: deps.unsynced ?? createClockRepository(db), ids, windows, timeZone, isSuspect: confirmations.isSuspect, ...log });

  return {
    record(req) {
      // One reading per check-in: trust and time cannot disagree.
      const reading = isTrustAware(clock) ? clock.reading() : undefined;
      if (reading && !reading.trusted) return held.record(req, reading);
      return recording.record(req, reading ? { at: reading.at, source: reading.source } : { at: clock.now() });
    },
    confirm: confirmations.confirm,
    reject: confirmations.reject,
    listConfirmations: (status, limit = 100) => confirmations.list(status, limit),
    getConfirmation: confirmations.get,
    countPendingConfirmations: confirmations.countPending,
    today: () => serviceDateOf(clock.now(), timeZone),
    listForDay(serviceDate, opts) {
      const live = checkIns.listForDay(serviceDate);
      if (!opts?.voided) return live.map(named);
      return [...live, ...checkIns.listVoidedForDay(serviceDate)].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.eventId < b.eventId ? -1 : 1)).map(named);
    },
    getCheckIn(eventId) {
      const c = checkIns.get(eventId);
      return c && withElderName(elders, c);
    },
    void: voids.void,
    countForDay: (serviceDate) => checkIns.countForDay(serviceDate),
    tallyForDay: (serviceDate) => checkIns.tallyForDay(serviceDate),
    // Check-ins waiting for the time count too: they were recorded.
    countAll: () => checkIns.countAll() + (isTrustAware(clock) ? held.countHeld() : 0),
    onRecorded: writer.onRecorded,
  };
}
