/**
 * The server's audit log of bureau-side changes (decisions, erasures, acks), written to the shared
 * hash-chained `server_audit` (modules/audit/server-audit.ts) in the caller's transaction. Never face data, never ID numbers: ids and counts only.
 */
import type { Db } from '../../../../common/sqlite.ts';
import { createServerAuditRepository } from '../audit/server-audit.ts';

export interface BureauAuditEntry {
  at: Date;
  /** Who acted; null for the server itself (an erasure completing on the last ack). */
  userId: string | null;
  action: string;
  subject: string;
  details: Record<string, string | number | boolean | null>;
}

export interface BureauAudit {
  append(entry: BureauAuditEntry): void;
  /** Newest first (for tests and the audit routes to come). */
  recent(limit: number): Array<Omit<BureauAuditEntry, 'at'> & { at: string }>;
}

export function createBureauAudit(db: Db): BureauAudit {
  const audit = createServerAuditRepository(db);
  return {
    append: (e) => audit.record({ userId: e.userId, action: e.action, subject: e.subject, details: e.details }, e.at),
    recent: (limit) => audit.list({ limit, offset: 0 }).entries.map((r) => ({ at: r.at, userId: r.userId, action: r.action, subject: r.subject ?? '', details: r.details as BureauAuditEntry['details'] })),
  };
}
