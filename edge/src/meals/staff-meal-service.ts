/**
 * Meals by hand and voids as staff make them (issue 12, item 4), for the staff API and pages:
 * the staff member is the logged-in one, and each action is audited in the SAME transaction as
 * the check-in (or void) and its outbox row, so a meal never exists without its audit row nor
 * the other way round. The rules themselves are the check-in service's (check-in-service.ts):
 * meal window at the trusted clock, once per elder per window, a suspended or unknown elder
 * refused; this adds who may do what:
 *
 * - any staff member records `manual`, `delivery` and `proxy` meals and voids today's check-ins;
 * - voiding a check-in of an earlier day takes a manager: the day's list has been seen, maybe
 *   printed, by then.
 */
import type { Db } from '../../../common/sqlite.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CheckInResult, StaffMethod } from './check-in.ts';
import type { CheckInService } from './check-in-service.ts';
import type { VoidResult } from './void-service.ts';

/** Who acts: the logged-in staff member (web/staff-auth.ts StaffActor fits). */
export interface StaffActor {
  staffId: string;
  role: 'staff' | 'manager';
}

export interface StaffMealRequest {
  elderId: string;
  method: StaffMethod;
  /** Who collected it: `proxy` only. */
  proxyName?: string;
}

export type StaffVoidResult = VoidResult | { status: 'forbidden'; reason: string };

export interface StaffMealServiceDeps {
  db: Db;
  checkIns: Pick<CheckInService, 'record' | 'void' | 'getCheckIn' | 'today'>;
  /** Every meal by hand and void is appended here, in its transaction. */
  audit: Pick<AuditLog, 'append'>;
}

export interface StaffMealService {
  record(staff: StaffActor, req: StaffMealRequest): CheckInResult;
  void(staff: StaffActor, req: { eventId: string; reason: string }): StaffVoidResult;
}

export function createStaffMealService(deps: StaffMealServiceDeps): StaffMealService {
  const { db, checkIns, audit } = deps;

  const recordTx = db.transaction((staff: StaffActor, req: StaffMealRequest): CheckInResult => {
    const r = checkIns.record({ elderId: req.elderId, method: req.method, staffId: staff.staffId, ...(req.proxyName !== undefined ? { proxyName: req.proxyName } : {}) });
    if (r.status === 'recorded') {
      const c = r.checkIn;
      audit.append({
        staffId: staff.staffId,
        action: 'manual-meal',
        subject: c.eventId,
        details: { elderId: c.elderId, method: c.method, meal: c.meal, serviceDate: c.serviceDate, proxyName: c.proxyName ?? null, provisional: c.provisional ?? false },
      });
    }
    return r;
  });

  const voidTx = db.transaction((staff: StaffActor, req: { eventId: string; reason: string }): StaffVoidResult => {
    const c = checkIns.getCheckIn(req.eventId);
    if (c && !c.voided && c.serviceDate !== checkIns.today() && staff.role !== 'manager') {
      return { status: 'forbidden', reason: `check-in ${c.eventId} is of ${c.serviceDate}, not today: voiding an earlier day's check-in takes a manager` };
    }
    const r = checkIns.void({ eventId: req.eventId, staffId: staff.staffId, reason: req.reason });
    if (r.status === 'voided') {
      const v = r.checkIn;
      audit.append({
        staffId: staff.staffId,
        action: 'void',
        subject: v.eventId,
        details: { elderId: v.elderId, method: v.method, meal: v.meal, serviceDate: v.serviceDate, reason: v.voided?.reason ?? req.reason, voidEventId: v.voided?.voidEventId ?? null },
      });
    }
    return r;
  });

  return {
    record: (staff, req) => recordTx(staff, req),
    void: (staff, req) => voidTx(staff, req),
  };
}
