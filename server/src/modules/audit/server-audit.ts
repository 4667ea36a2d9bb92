/**
 * The server's own audit log (table server_audit): what bureau users did here (sign-ins, users
 * and tokens, centres and districts, month closing). Append-only and hash-chained with the same
 * hash as the boxes' logs (common/audit-chain.ts; seq is the row id, staffId the user id), so a
 * changed or removed row shows. Features record through the small ServerAudit interface.
 */
import { auditHash, GENESIS_HASH, verifyChain, type AuditDetails, type ChainVerdict } from '../../../../common/audit-chain.ts';
import type { Db } from '../../../../common/sqlite.ts';

/** Actions with a fixed meaning; features add their own names (kebab-case). */
export type ServerAuditAction =
  | 'login'
  | 'login-failed'
  | 'login-locked'
  | 'logout'
  | 'user-add'
  | 'user-change'
  | 'password-change'
  | 'token-add'
  | 'token-revoke'
  | 'district-change'
  | 'centre-change'
  | 'device-add'
  | 'device-remove'
  | 'month-close'
  | (string & {});

export interface ServerAuditEntry {
  /** Who did it: a user id, `admin-token`, `cli:<os user>`, or null (an anonymous failed sign-in). */
  userId: string | null;
  action: ServerAuditAction;
  /** What it was about: a user id, a centre id, a month. */
  subject?: string | null;
  /** Flat and short; never a password, token or anything biometric. */
  details?: AuditDetails;
}

/** What other modules call to audit a change. */
export interface ServerAudit {
  record(entry: ServerAuditEntry, at: Date): void;
}

export interface ServerAuditRow {
  id: number;
  at: string;
  userId: string | null;
  action: string;
  subject: string | null;
  details: AuditDetails;
  hash: string;
}

export interface ServerAuditQuery {
  limit: number;
  offset: number;
  action?: string;
  userId?: string;
}

export interface ServerAuditRepository extends ServerAudit {
  /** Newest first. */
  list(q: ServerAuditQuery): { entries: ServerAuditRow[]; total: number };
  verify(): ChainVerdict;
}

interface Row {
  id: number;
  at: string;
  userId: string | null;
  action: string;
  subject: string | null;
  details: string;
  prevHash: string;
  hash: string;
}

export function createServerAuditRepository(db: Db): ServerAuditRepository {
  const last = db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM server_audit ORDER BY id DESC LIMIT 1');
  const insert = db.prepare<[number, string, string | null, string, string | null, string, string, string]>(
    'INSERT INTO server_audit (id, at, user_id, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const cols = 'id, at, user_id AS userId, action, subject, details, prev_hash AS prevHash, hash';
  const where = 'WHERE (@action IS NULL OR action = @action) AND (@userId IS NULL OR user_id = @userId)';
  const page = db.prepare<{ action: string | null; userId: string | null; limit: number; offset: number }, Row>(`SELECT ${cols} FROM server_audit ${where} ORDER BY id DESC LIMIT @limit OFFSET @offset`);
  const count = db.prepare<{ action: string | null; userId: string | null }, number>(`SELECT count(*) FROM server_audit ${where}`).pluck();
  const all = db.prepare<[], Row>(`SELECT ${cols} FROM server_audit ORDER BY id`);
  // Reading the head and appending in one transaction: two writers cannot both chain onto one row.
  const append = db.transaction((e: ServerAuditEntry, at: Date) => {
    const head = last.get();
    const seq = (head?.id ?? 0) + 1;
    const prevHash = head?.hash ?? GENESIS_HASH;
    const details = e.details ?? {};
    const row = { seq, at: at.toISOString(), staffId: e.userId, action: e.action, subject: e.subject ?? null, details, prevHash };
    insert.run(seq, row.at, e.userId, e.action, row.subject, JSON.stringify(details), prevHash, auditHash(row));
  });

  return {
    record: (entry, at) => append.immediate(entry, at),
    list(q) {
      const args = { action: q.action ?? null, userId: q.userId ?? null };
      const entries = page.all({ ...args, limit: q.limit, offset: q.offset }).map((r) => ({
        id: r.id,
        at: r.at,
        userId: r.userId,
        action: r.action,
        subject: r.subject,
        details: JSON.parse(r.details) as AuditDetails,
        hash: r.hash,
      }));
      return { entries, total: count.get(args) ?? 0 };
    },
    verify() {
      const it = all.iterate();
      const verdict = verifyChain((function* () {
        for (const r of it) yield { seq: r.id, at: r.at, staffId: r.userId, action: r.action, subject: r.subject, details: JSON.parse(r.details) as AuditDetails, prevHash: r.prevHash, hash: r.hash };
      })());
      it.return?.();
      return verdict;
    },
  };
}
