/**
 * The one interface settlement changes are audited through (categories, rules, adjustments,
 * snapshots at month close). Shaped like the server's audit log (server_audit: at, user id,
 * action, subject, details) so the app can hand this module the shared log instead; until then
 * the rows go to `settlement_audit` (server migration 010).
 */
import type { AuditDetails } from '../../../../common/audit-chain.ts';
import type { Db } from '../../../../common/sqlite.ts';

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

export function createSettlementAudit(db: Db): SettlementAudit & { list(limit: number): SettlementAuditRow[] } {
  const insert = db.prepare<[string, string | null, string, string | null, string]>('INSERT INTO settlement_audit (at, user_id, action, subject, details) VALUES (?, ?, ?, ?, ?)');
  const list = db.prepare<[number], Omit<SettlementAuditRow, 'details'> & { details: string }>(
    'SELECT id, at, user_id AS userId, action, subject, details FROM settlement_audit ORDER BY id DESC LIMIT ?',
  );
  return {
    record(e, at) {
      insert.run(at.toISOString(), e.userId, e.action, e.subject ?? null, JSON.stringify(e.details ?? {}));
    },
    list: (limit) => list.all(limit).map((r) => ({ ...r, details: JSON.parse(r.details) as AuditDetails })),
  };
}
