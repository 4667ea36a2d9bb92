/**
 * The one interface settlement changes are audited through (categories, rules, adjustments,
 * snapshots at month close). Written to the server's one hash-chained audit log (server_audit,
 * modules/audit/server-audit.ts); the `settlement_audit` table of migration 013 is unused.
 */
import type { AuditDetails } from '../../../../common/audit-chain.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { createServerAuditRepository } from '../audit/server-audit.ts';

export interface SettlementAuditEntry {
  /** Who: a user id, `admin-token`, `cli:<os user>`. */
  userId: string | null;
  /** category-set, rule-add, rule-end, rule-remove, adjustment-add, settlement-snapshot */
  action: string;
  subject?: string | null;
  details?: AuditDetails;
}

export interface SettlementAudit {
  record(entry: SettlementAuditEntry, at: Date): void;
}

export interface SettlementAuditRow {
  id: number;
  at: string;
  userId: string | null;
  action: string;
  subject: string | null;
  details: AuditDetails;
}

/** The shared, hash-chained server audit log (server_audit), with a reader of its newest rows. */
export function createSettlementAudit(db: Db): SettlementAudit & { list(limit: number): SettlementAuditRow[] } {
  const audit = createServerAuditRepository(db);
  return {
    record: (e, at) => audit.record(e, at),
    list: (limit) => audit.list({ limit, offset: 0 }).entries.map((r) => ({ id: r.id, at: r.at, userId: r.userId, action: r.action, subject: r.subject, details: r.details })),
  };
}
