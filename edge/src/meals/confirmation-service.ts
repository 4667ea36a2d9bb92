/**
 * Anti-spoof confirmations: a face check-in whose anti-spoof hint is below the threshold is not
 * recorded but held for staff (one open hold per elder and meal), who confirm or reject it. A
 * confirmed hold is recorded like a check-in at the door, with the meal, service date and time
 * of the moment the elder stood there, in one transaction with its outbox row, once per elder
 * and meal. A rejected one is kept for audit and never forwarded. A check-in recorded another
 * way for the same meal supersedes the open hold (the recording service calls supersedeOpen()
 * inside its own transaction).
 */
import type { Clock, Ids } from '../../../common/clock.ts';
import type { Meal } from '../../../common/contract.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import { doorDetails, withElderName, type CheckInRequest, type CheckInResult, type Confirmation, type ConfirmationResult, type ConfirmationStatus } from './check-in.ts';
import type { CheckInRecord, CheckInRepository } from './check-in-repository.ts';
import type { CheckInWriter } from './check-in-writer.ts';
import type { ConfirmationRecord, ConfirmationRepository } from './confirmation-repository.ts';

export interface ConfirmationServiceDeps {
  db: Db;
  writer: CheckInWriter;
  elders: Pick<ElderRepository, 'getElder'>;
  checkIns: Pick<CheckInRepository, 'find' | 'insert'>;
  confirmations: ConfirmationRepository;
  ids: Ids;
  /** Stamps the decisions. */
  clock: Clock;
  /**
   * A face check-in whose anti-spoof hint is below this waits for staff confirmation instead of
   * being recorded. 0 (default) = off; a check-in without a hint is never held.
   */
  antispoofThreshold?: number;
  logger?: Logger;
}

export interface ConfirmationService {
  /** The face may be a photo or a screen: its anti-spoof hint is below the threshold. */
  isSuspect(req: CheckInRequest): boolean;
  /**
   * Holds the check-in for staff, or answers with the elder's open hold for this meal. Throws
   * on a SQLite error (the caller's writer.attempt() reports it).
   */
  hold(req: CheckInRequest, elder: { elderId: string; name: string }, slot: { serviceDate: string; meal: Meal }, at: Date): CheckInResult;
  /** Inside the transaction that records `rec`: the elder's open hold for its meal has nothing left to confirm. */
  supersedeOpen(rec: CheckInRecord): void;
  /** Pending ones oldest first, decided ones newest first; all statuses when undefined. */
  list(status: ConfirmationStatus | undefined, limit: number): Confirmation[];
  get(id: string): Confirmation | undefined;
  countPending(): number;
  /** Staff confirm a held check-in (see the module comment). */
  confirm(id: string, staffId: string): ConfirmationResult;
  /** Staff reject a held check-in: kept as `rejected` for audit, nothing recorded or forwarded. */
  reject(id: string, staffId: string, reason?: string): ConfirmationResult;
}

export function createConfirmationService(deps: ConfirmationServiceDeps): ConfirmationService {
  const { db, writer, elders, checkIns, confirmations, ids, clock, logger } = deps;
  const antispoofThreshold = deps.antispoofThreshold ?? 0;
  const named = (c: ConfirmationRecord & { elderName?: string }, name?: string): Confirmation => ({ ...c, elderName: name ?? c.elderName ?? c.elderId });

  // Read, check and write in one transaction, so a confirmation is decided exactly once.
  const confirmTx = db.transaction((id: string, staffId: string, decidedAt: string): ConfirmationResult => {
    const c = confirmations.get(id);
    if (!c) return { status: 'not-found', id };
    const name = c.elderName ?? elders.getElder(c.elderId)?.name;
    if (c.status !== 'pending') return { status: 'already-decided', confirmation: named(c, name) };
    // The meal of the moment at the door: confirming after the window closed (or after
    // midnight) must not lose the meal or move it to another one.
    const earlier = checkIns.find(c.elderId, c.serviceDate, c.meal);
    if (earlier) {
      confirmations.decide(id, { status: 'superseded', at: decidedAt, by: staffId, eventId: earlier.eventId });
      return { status: 'already-checked-in', confirmation: named(confirmations.get(id)!, name), checkIn: withElderName(elders, earlier, name) };
    }
    const rec: CheckInRecord = { eventId: ids.next(), elderId: c.elderId, serviceDate: c.serviceDate, meal: c.meal, at: c.at, method: c.method, ...doorDetails(c) };
    checkIns.insert(rec);
    writer.enqueue(writer.event(rec), decidedAt);
    confirmations.decide(id, { status: 'confirmed', at: decidedAt, by: staffId, eventId: rec.eventId });
    return { status: 'recorded', confirmation: named(confirmations.get(id)!, name), checkIn: withElderName(elders, rec, name) };
  });

  const rejectTx = db.transaction((id: string, staffId: string, decidedAt: string, reason: string | undefined): ConfirmationResult => {
    const c = confirmations.get(id);
    if (!c) return { status: 'not-found', id };
    if (c.status !== 'pending') return { status: 'already-decided', confirmation: named(c) };
    confirmations.decide(id, { status: 'rejected', at: decidedAt, by: staffId, ...(reason !== undefined ? { reason } : {}) });
    return { status: 'rejected', confirmation: named(confirmations.get(id)!) };
  });

  return {
    isSuspect: (req) => req.antispoof !== undefined && req.antispoof < antispoofThreshold,

    hold(req, elder, slot, at) {
      const open = confirmations.findOpen(elder.elderId, slot.serviceDate, slot.meal);
      if (open) return { status: 'pending-confirmation', confirmation: named(open, elder.name) };
      const c: ConfirmationRecord = { id: ids.next(), elderId: elder.elderId, serviceDate: slot.serviceDate, meal: slot.meal, at: at.toISOString(), method: req.method, status: 'pending', ...doorDetails(req) };
      confirmations.insert(c);
      logger?.warn({ elderId: elder.elderId, meal: slot.meal, serviceDate: slot.serviceDate, antispoof: req.antispoof, threshold: antispoofThreshold, confirmationId: c.id }, 'check-in held for staff confirmation (anti-spoof)');
      return { status: 'pending-confirmation', confirmation: named(c, elder.name) };
    },

    supersedeOpen(rec) {
      confirmations.supersedeOpen(rec.elderId, rec.serviceDate, rec.meal, rec.at, rec.eventId);
    },

    list: (status, limit) => confirmations.list(status, limit).map((c) => named(c)),
    get(id) {
      const c = confirmations.get(id);
      return c && named(c);
    },
    countPending: () => confirmations.countPending(),

    confirm(id, staffId) {
      const r = writer.attempt('confirm of a held check-in failed', { confirmationId: id }, () => confirmTx(id, staffId, clock.now().toISOString()));
      if (r.status === 'recorded') {
        logger?.info({ confirmationId: id, eventId: r.checkIn.eventId, elderId: r.checkIn.elderId, staffId }, 'held check-in confirmed by staff');
        writer.recorded(r.checkIn);
      }
      return r;
    },

    reject(id, staffId, reason) {
      const r = writer.attempt('reject of a held check-in failed', { confirmationId: id }, () => rejectTx(id, staffId, clock.now().toISOString(), reason));
      if (r.status === 'rejected') logger?.info({ confirmationId: id, elderId: r.confirmation.elderId, staffId }, 'held check-in rejected by staff');
      return r;
    },
  };
}
