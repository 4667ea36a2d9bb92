/**
 * Voids: a staff member takes back a wrong check-in (any method: a face matched to the wrong
 * elder, the wrong elder picked by hand, a delivery that was really a proxy meal), with a reason.
 * In ONE transaction the check-in moves to voided_check_ins (edge migration 008) and a `void`
 * record (common/records.ts) is queued in the outbox, so the server stops counting the meal
 * exactly when the box does.
 *
 * A voided check-in no longer counts, and the elder can be checked in again for that meal: what
 * a centre means by "void" is "this record is wrong", and the right record (the other elder, the
 * other method) must then be possible, or staff would have no way to correct a mistake. The once
 * per meal rule still holds for the meals that count; the audit log shows who voided what.
 *
 * A check-in recorded while the clock was untrusted is not in check_ins until the time is known
 * (held-check-in-service.ts): it cannot be voided before then (`not-found` says so).
 * Outcomes are values, never throws.
 */
import type { Clock, Ids } from '../../../common/clock.ts';
import { isValidId, type VoidRecord } from '../../../common/contract.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import { withElderName, type CheckIn } from './check-in.ts';
import type { CheckInRepository } from './check-in-repository.ts';
import type { CheckInWriter } from './check-in-writer.ts';

/** Longest reason (the contract's VoidRecord.reason). */
export const VOID_REASON_MAX = 200;

export interface VoidRequest {
  /** The check-in to void (its eventId). */
  eventId: string;
  /** Who voids it. */
  staffId: string;
  /** Why, in the staff member's words ("认错人", "家属代领，不是送餐"). */
  reason: string;
}

export type VoidResult =
  /** Voided: `checkIn.voided` says by whom, when and why; the void record is in the outbox. */
  | { status: 'voided'; checkIn: CheckIn }
  | { status: 'not-found'; eventId: string }
  /** A check-in is voided once; `checkIn.voided` is the first void. */
  | { status: 'already-voided'; checkIn: CheckIn }
  /** The request itself is wrong (no reason, a bad staff id): nothing changed. */
  | { status: 'invalid'; reason: string }
  /** The commit failed (disk full, I/O error): nothing changed. */
  | { status: 'not-recorded'; reason: string };

export interface VoidServiceDeps {
  db: Db;
  writer: CheckInWriter;
  elders: Pick<ElderRepository, 'getElder'>;
  checkIns: Pick<CheckInRepository, 'get' | 'markVoided'>;
  ids: Ids;
  /** Stamps the void (when it was made; the meal keeps its own time). */
  clock: Clock;
  logger?: Logger;
}

export interface VoidService {
  void(req: VoidRequest): VoidResult;
}

/** What is wrong with a void request, if anything. */
export function voidProblem(req: VoidRequest): string | undefined {
  if (!isValidId(req.staffId)) return `invalid staff id "${req.staffId}"`;
  const reason = req.reason.trim();
  if (reason === '') return 'a void needs a reason';
  if (reason.length > VOID_REASON_MAX) return `a void's reason is at most ${VOID_REASON_MAX} characters, got ${reason.length}`;
  return undefined;
}

export function createVoidService(deps: VoidServiceDeps): VoidService {
  const { db, writer, elders, checkIns, ids, clock, logger } = deps;

  const voidTx = db.transaction((req: VoidRequest, at: string): VoidResult => {
    const c = checkIns.get(req.eventId);
    if (!c) return { status: 'not-found', eventId: req.eventId };
    if (c.voided) return { status: 'already-voided', checkIn: withElderName(elders, c) };
    const record: VoidRecord = { type: 'void', eventId: ids.next(), centreId: writer.centreId, deviceId: writer.deviceId, at, voids: c.eventId, reason: req.reason.trim(), staffId: req.staffId };
    const voided = { voidEventId: record.eventId, reason: record.reason, staffId: req.staffId, at };
    // false only if another writer moved it between the read and here, which the transaction excludes.
    if (!checkIns.markVoided(c.eventId, voided)) return { status: 'not-found', eventId: req.eventId };
    writer.enqueue(record, at);
    return { status: 'voided', checkIn: withElderName(elders, { ...c, voided }) };
  });

  return {
    void(req) {
      const problem = voidProblem(req);
      if (problem) return { status: 'invalid', reason: problem };
      const r = writer.attempt('void NOT recorded', { eventId: req.eventId, staffId: req.staffId }, () => voidTx(req, clock.now().toISOString()));
      if (r.status === 'voided') {
        logger?.info({ eventId: r.checkIn.eventId, voidEventId: r.checkIn.voided?.voidEventId, elderId: r.checkIn.elderId, meal: r.checkIn.meal, serviceDate: r.checkIn.serviceDate, staffId: req.staffId }, 'check-in voided by staff');
        writer.recorded(r.checkIn);
      }
      return r;
    },
  };
}
