/** SQL for staff accounts and their sessions (edge migration 006). */
import type { Db } from '../../../common/sqlite.ts';
import type { StaffRole } from '../web/staff-auth.ts';

export interface StaffAccount {
  staffId: string;
  name: string;
  role: StaffRole;
  mustChangePin: boolean;
  failedLogins: number;
  /** ISO time until which logins are refused; undefined when not locked (or the lock ran out). */
  lockedUntil?: string;
  createdAt: string;
}

export interface StaffCredentials extends StaffAccount {
  pinHash: string;
}

export interface SessionRow {
  tokenHash: string;
  staffId: string;
  csrfToken: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface StaffRepository {
  /** Active accounts (removed ones are not listed), by id. */
  list(): StaffAccount[];
  /** An active account with its PIN hash. */
  credentials(staffId: string): StaffCredentials | undefined;
  /** True when the id was ever used (removed accounts included): ids are never reused. */
  idTaken(staffId: string): boolean;
  /** Ids matching `prefix` followed by digits, ever used; for the next generated id. */
  highestNumberedId(prefix: string): number;
  insert(a: { staffId: string; name: string; role: StaffRole; pinHash: string; mustChangePin: boolean; createdAt: string }): void;
  markRemoved(staffId: string, at: string): boolean;
  setPin(staffId: string, pinHash: string, mustChangePin: boolean): boolean;
  countManagers(): number;
  recordFailure(staffId: string): number;
  lock(staffId: string, until: string): void;
  clearFailures(staffId: string): void;

  insertSession(s: SessionRow): void;
  session(tokenHash: string): SessionRow | undefined;
  touchSession(tokenHash: string, at: string): void;
  deleteSession(tokenHash: string): void;
  deleteSessionsOf(staffId: string): number;
  deleteExpiredSessions(now: string, idleBefore: string): number;
}

interface Row {
  staff_id: string;
  name: string;
  role: StaffRole;
  pin_hash: string;
  must_change_pin: number;
  failed_logins: number;
  locked_until: string | null;
  created_at: string;
}

interface SRow {
  token_hash: string;
  staff_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

function account(r: Row): StaffAccount {
  const a: StaffAccount = { staffId: r.staff_id, name: r.name, role: r.role, mustChangePin: r.must_change_pin === 1, failedLogins: r.failed_logins, createdAt: r.created_at };
  if (r.locked_until !== null) a.lockedUntil = r.locked_until;
  return a;
}

export function createStaffRepository(db: Db): StaffRepository {
  const list = db.prepare<[], Row>('SELECT * FROM staff WHERE removed_at IS NULL ORDER BY staff_id');
  const get = db.prepare<[string], Row>('SELECT * FROM staff WHERE staff_id = ? AND removed_at IS NULL');
  const taken = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM staff WHERE staff_id = ? COLLATE NOCASE');
  const ids = db.prepare<[string], { staff_id: string }>("SELECT staff_id FROM staff WHERE staff_id LIKE ? || '%'");
  const insert = db.prepare('INSERT INTO staff (staff_id, name, role, pin_hash, must_change_pin, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const remove = db.prepare('UPDATE staff SET removed_at = ? WHERE staff_id = ? AND removed_at IS NULL');
  const setPin = db.prepare('UPDATE staff SET pin_hash = ?, must_change_pin = ?, failed_logins = 0, locked_until = NULL WHERE staff_id = ? AND removed_at IS NULL');
  const managers = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM staff WHERE role = 'manager' AND removed_at IS NULL");
  const fail = db.prepare<[string], { failed_logins: number }>('UPDATE staff SET failed_logins = failed_logins + 1 WHERE staff_id = ? RETURNING failed_logins');
  const lock = db.prepare('UPDATE staff SET locked_until = ?, failed_logins = 0 WHERE staff_id = ?');
  const clear = db.prepare('UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE staff_id = ?');
  const insertSession = db.prepare('INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (@tokenHash, @staffId, @csrfToken, @createdAt, @lastSeenAt, @expiresAt)');
  const session = db.prepare<[string], SRow>('SELECT * FROM staff_sessions WHERE token_hash = ?');
  const touch = db.prepare('UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ?');
  const del = db.prepare('DELETE FROM staff_sessions WHERE token_hash = ?');
  const delOf = db.prepare('DELETE FROM staff_sessions WHERE staff_id = ?');
  const expired = db.prepare('DELETE FROM staff_sessions WHERE expires_at <= ? OR last_seen_at <= ?');

  return {
    list: () => list.all().map(account),
    credentials: (staffId) => {
      const r = get.get(staffId);
      return r ? { ...account(r), pinHash: r.pin_hash } : undefined;
    },
    idTaken: (staffId) => taken.get(staffId)!.n > 0,
    highestNumberedId: (prefix) => {
      let max = 0;
      for (const { staff_id } of ids.all(prefix)) {
        const m = /^\D*(\d+)$/.exec(staff_id);
        if (m && staff_id.startsWith(prefix)) max = Math.max(max, Number(m[1]));
      }
      return max;
    },
    insert: (a) => void insert.run(a.staffId, a.name, a.role, a.pinHash, a.mustChangePin ? 1 : 0, a.createdAt),
    markRemoved: (staffId, at) => remove.run(at, staffId).changes > 0,
    setPin: (staffId, pinHash, mustChange) => setPin.run(pinHash, mustChange ? 1 : 0, staffId).changes > 0,
    countManagers: () => managers.get()!.n,
    recordFailure: (staffId) => fail.get(staffId)?.failed_logins ?? 0,
    lock: (staffId, until) => void lock.run(until, staffId),
    clearFailures: (staffId) => void clear.run(staffId),
    insertSession: (s) => void insertSession.run(s),
    session: (tokenHash) => {
      const r = session.get(tokenHash);
      return r ? { tokenHash: r.token_hash, staffId: r.staff_id, csrfToken: r.csrf_token, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at } : undefined;
    },
    touchSession: (tokenHash, at) => void touch.run(at, tokenHash),
    deleteSession: (tokenHash) => void del.run(tokenHash),
    deleteSessionsOf: (staffId) => delOf.run(staffId).changes,
    deleteExpiredSessions: (now, idleBefore) => expired.run(now, idleBefore).changes,
  };
}
