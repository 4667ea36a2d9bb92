/**
 * The server's audit log of bureau-side changes (decisions, erasures, acks): one small interface,
 * so the auth slice's shared `server_audit` writer can replace this one without touching callers.
 * Appends in the caller's transaction. Never face data, never ID numbers: ids and counts only.
 */
import type { Db } from '../../../../common/sqlite.ts';

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
  const insert = db.prepare<[string, string | null, string, string, string]>('INSERT INTO server_audit (at, user_id, action, subject, details) VALUES (?, ?, ?, ?, ?)');
  const recent = db.prepare<[number], { at: string; userId: string | null; action: string; subject: string; details: string }>(
    'SELECT at, user_id AS userId, action, subject, details FROM server_audit ORDER BY id DESC LIMIT ?',
  );
  return {
    append: (e) => void insert.run(e.at.toISOString(), e.userId, e.action, e.subject, JSON.stringify(e.details)),
    recent: (limit) => recent.all(limit).map((r) => ({ ...r, details: JSON.parse(r.details) as BureauAuditEntry['details'] })),
  };
}
