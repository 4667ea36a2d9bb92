/**
 * Page sessions (table sessions) and the sign-in lock-out (table login_failures), both in the
 * database so that any server instance on it answers the same.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../../../common/sqlite.ts';
import { tokenHash } from '../../plugins/auth.ts';

export interface SessionLimits {
  /** A session unused this long has ended. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  maxMs: number;
}

export interface SessionRepository {
  /** A new session: the token goes into the cookie, only its hash into the table. */
  create(userId: string, now: Date): { token: string; expiresAt: string };
  /** The user of a live session (touching it), or undefined. */
  resolve(token: string, now: Date): string | undefined;
  remove(token: string): void;
  /** Ends every session of the user (password changed, user disabled). */
  removeForUser(userId: string): number;
}

/** Touching a session at most this often keeps the idle clock right without a write per request. */
const TOUCH_MS = 60_000;

export function createSessionRepository(db: Db, limits: SessionLimits): SessionRepository {
  const insert = db.prepare<[string, string, string, string, string]>('INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)');
  const find = db.prepare<[string], { userId: string; lastSeenAt: string; expiresAt: string }>('SELECT user_id AS userId, last_seen_at AS lastSeenAt, expires_at AS expiresAt FROM sessions WHERE token_hash = ?');
  const touch = db.prepare<[string, string]>('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?');
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?');
  const removeUser = db.prepare<[string]>('DELETE FROM sessions WHERE user_id = ?');
  const sweep = db.prepare<[string]>('DELETE FROM sessions WHERE expires_at <= ?');

  return {
    create(userId, now) {
      // Ended sessions go at each sign-in: the table stays the size of the live ones.
      sweep.run(now.toISOString());
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now.getTime() + limits.maxMs).toISOString();
      insert.run(tokenHash(token), userId, now.toISOString(), now.toISOString(), expiresAt);
      return { token, expiresAt };
    },
    resolve(token, now) {
      const h = tokenHash(token);
      const s = find.get(h);
      if (!s) return undefined;
      const t = now.getTime();
      const last = Date.parse(s.lastSeenAt);
      if (t >= Date.parse(s.expiresAt) || t - last >= limits.idleMs) {
        remove.run(h);
        return undefined;
      }
      if (t - last >= TOUCH_MS) touch.run(now.toISOString(), h);
      return s.userId;
    },
    remove: (token) => void remove.run(tokenHash(token)),
    removeForUser: (userId) => removeUser.run(userId).changes,
  };
}

export interface LockoutPolicy {
  /** Failures within `windowMs` that lock the key. */
  failures: number;
  windowMs: number;
  lockMs: number;
}

/** Per user id and source address: a few tries, then minutes of waiting. */
export const PER_SOURCE: LockoutPolicy = { failures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
/** Per user id from anywhere: a guesser with many addresses is still slowed down. */
export const PER_USER: LockoutPolicy = { failures: 20, windowMs: 60 * 60_000, lockMs: 15 * 60_000 };

export interface LoginLimiter {
  /** When the latest lock of these keys ends, or undefined when none is locked. */
  lockedUntil(keys: string[], now: Date): Date | undefined;
  /** Counts a failure; true when it locked the key. */
  fail(key: string, policy: LockoutPolicy, now: Date): boolean;
  clear(key: string): void;
}

export function createLoginLimiter(db: Db): LoginLimiter {
  const get = db.prepare<[string], { failures: number; firstAt: string; lockedUntil: string | null }>('SELECT failures, first_at AS firstAt, locked_until AS lockedUntil FROM login_failures WHERE key = ?');
  const put = db.prepare<[string, number, string, string | null]>(
    'INSERT INTO login_failures (key, failures, first_at, locked_until) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at, locked_until = excluded.locked_until',
  );
  const del = db.prepare<[string]>('DELETE FROM login_failures WHERE key = ?');
  return {
    lockedUntil(keys, now) {
      let until: Date | undefined;
      for (const k of keys) {
        const r = get.get(k);
        if (r?.lockedUntil && Date.parse(r.lockedUntil) > now.getTime() && (!until || Date.parse(r.lockedUntil) > until.getTime())) until = new Date(r.lockedUntil);
      }
      return until;
    },
    fail: db.transaction((key: string, policy: LockoutPolicy, now: Date) => {
      const r = get.get(key);
      const t = now.getTime();
      const fresh = !r || t - Date.parse(r.firstAt) >= policy.windowMs || (r.lockedUntil !== null && Date.parse(r.lockedUntil) <= t);
      const failures = fresh ? 1 : r.failures + 1;
      const locked = failures >= policy.failures;
      put.run(key, failures, fresh ? now.toISOString() : r.firstAt, locked ? new Date(t + policy.lockMs).toISOString() : null);
      return locked;
    }) as LoginLimiter['fail'],
    clear: (key) => void del.run(key),
  };
}
