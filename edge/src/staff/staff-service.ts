/**
 * Staff accounts on the box: add, remove, reset and change PINs, log in and out, sessions.
 * Every change and every login attempt is audited in the same transaction as the change.
 *
 * Stated parameters (README "Staff pages"):
 * - PIN or password: 6 to 128 characters (a 6-digit PIN is fine), scrypt-hashed (common/secret-hash.ts).
 * - Lock-out: LOCKOUT.attempts wrong PINs in a row lock the account for LOCKOUT.minutes; a good
 *   login resets the count; a manager's PIN reset unlocks. The lock-out is audited (`lockout`).
 * - Sessions: a random 256-bit token in the cookie, only its sha256 stored; it ends after
 *   SESSION.idleMinutes without a request or SESSION.hours after login, at logout, or when the
 *   account is removed or its PIN reset.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../../common/clock.ts';
import { isValidId } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ResolvedSession, SessionResolver, StaffIdentity, StaffRole } from '../web/staff-auth.ts';
import { dummyHash, generatePin, hashPin, verifyPin } from '../../../common/secret-hash.ts';
import { createStaffRepository, type StaffAccount } from './staff-repository.ts';

export const LOCKOUT = { attempts: 5, minutes: 15 } as const;
export const SESSION = { idleMinutes: 30, hours: 12 } as const;
export const PIN_RULE = { min: 6, max: 128 } as const;
/** Generated ids: S001, S002, ... */
const ID_PREFIX = 'S';

export type { StaffAccount } from './staff-repository.ts';

/** A request refused for a reason the person can act on; `code` picks the HTTP status. */
export class StaffError extends Error {
  constructor(
    readonly code: 'invalid' | 'not-found' | 'taken' | 'last-manager' | 'wrong-pin',
    message: string,
  ) {
    super(message);
    this.name = 'StaffError';
  }
}

export type LoginResult =
  | { status: 'ok'; staff: StaffIdentity; token: string; csrfToken: string; mustChangePin: boolean; expiresAt: string }
  /** Wrong id or PIN (which one is not said); `remaining` attempts before the lock-out, when the id exists. */
  | { status: 'refused' }
  | { status: 'locked'; until: string };

export interface StaffService extends SessionResolver {
  list(): StaffAccount[];
  get(staffId: string): StaffAccount | undefined;
  /** Adds an account; without `pin` one is generated, returned once and must be changed at first login. */
  add(input: { staffId?: string; name: string; role: StaffRole; pin?: string }, by: string | null): Promise<{ staff: StaffAccount; pin?: string }>;
  /** Removes an account (its sessions end); refuses the last manager. */
  remove(staffId: string, by: string | null): StaffAccount;
  /** A new generated PIN, shown once; the holder must change it at the next login. Unlocks. */
  resetPin(staffId: string, by: string | null): Promise<{ pin: string }>;
  /** The holder chooses their own PIN, giving the current one. */
  changePin(staffId: string, current: string, next: string): Promise<void>;
  login(staffId: string, pin: string): Promise<LoginResult>;
  logout(token: string): void;
  countManagers(): number;
}

export function pinProblem(pin: string): string | undefined {
  if (pin.length < PIN_RULE.min) return `the PIN must have at least ${PIN_RULE.min} characters`;
  if (pin.length > PIN_RULE.max) return `the PIN must have at most ${PIN_RULE.max} characters`;
  return undefined;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export interface StaffServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
}

export function createStaffService({ db, clock, audit }: StaffServiceDeps): StaffService {
  const repo = createStaffRepository(db);
  const tx = <A extends unknown[], R>(fn: (...a: A) => R) => db.transaction(fn);
  const iso = (ms: number) => new Date(ms).toISOString();
  /** Touch a session at most once a minute: a page view need not be an fsync. */
  const TOUCH_MS = 60_000;

  const add = tx((a: { staffId: string; name: string; role: StaffRole; pinHash: string; mustChangePin: boolean }, by: string | null) => {
    if (repo.idTaken(a.staffId)) throw new StaffError('taken', `staff id ${a.staffId} is taken (ids of removed staff are not reused)`);
    repo.insert({ ...a, createdAt: clock.now().toISOString() });
    audit.append({ staffId: by, action: 'staff-add', subject: a.staffId, details: { name: a.name, role: a.role, oneTimeCode: a.mustChangePin } });
    return repo.credentials(a.staffId)!;
  });

  const remove = tx((staffId: string, by: string | null) => {
    const c = repo.credentials(staffId);
    if (!c) throw new StaffError('not-found', `no staff member ${staffId}`);
    if (c.role === 'manager' && repo.countManagers() <= 1) throw new StaffError('last-manager', `${staffId} is the last manager and cannot be removed: add another manager first`);
    repo.markRemoved(staffId, clock.now().toISOString());
    const sessions = repo.deleteSessionsOf(staffId);
    audit.append({ staffId: by, action: 'staff-remove', subject: staffId, details: { name: c.name, role: c.role, sessionsEnded: sessions } });
    const { pinHash: _, ...account } = c;
    return account;
  });

  const setPin = tx((staffId: string, pinHash: string, mustChange: boolean, by: string | null, action: 'pin-reset' | 'pin-change') => {
    if (!repo.setPin(staffId, pinHash, mustChange)) throw new StaffError('not-found', `no staff member ${staffId}`);
    const ended = action === 'pin-reset' ? repo.deleteSessionsOf(staffId) : 0;
    audit.append({ staffId: by, action, subject: staffId, details: action === 'pin-reset' ? { sessionsEnded: ended } : {} });
  });

  // Attempts while locked are audited but not counted: the lock runs its time, not longer.
  const whileLocked = tx((staffId: string, until: string) => {
    audit.append({ staffId: null, action: 'login-failed', subject: staffId, details: { reason: 'locked', until } });
  });

  const failed = tx((staffId: string | null, known: boolean) => {
    if (!known || staffId === null) {
      audit.append({ staffId: null, action: 'login-failed', subject: staffId, details: { reason: 'unknown-staff' } });
      return;
    }
    const n = repo.recordFailure(staffId);
    audit.append({ staffId: null, action: 'login-failed', subject: staffId, details: { reason: 'wrong-pin', failures: n } });
    if (n >= LOCKOUT.attempts) {
      const until = iso(clock.now().getTime() + LOCKOUT.minutes * 60_000);
      repo.lock(staffId, until);
      audit.append({ staffId: null, action: 'lockout', subject: staffId, details: { failures: n, until, minutes: LOCKOUT.minutes } });
    }
  });

  const loggedIn = tx((staffId: string, session: { tokenHash: string; csrfToken: string; createdAt: string; expiresAt: string }) => {
    repo.clearFailures(staffId);
    repo.insertSession({ ...session, staffId, lastSeenAt: session.createdAt });
    audit.append({ staffId, action: 'login', subject: staffId, details: {} });
  });

  const loggedOut = tx((tokenHash: string, staffId: string) => {
    repo.deleteSession(tokenHash);
    audit.append({ staffId, action: 'logout', subject: staffId, details: {} });
  });

  function newId(): string {
    return `${ID_PREFIX}${String(repo.highestNumberedId(ID_PREFIX) + 1).padStart(3, '0')}`;
  }

  return {
    list: () => repo.list(),
    get(staffId) {
      const c = repo.credentials(staffId);
      if (!c) return undefined;
      const { pinHash: _, ...account } = c;
      return account;
    },
    countManagers: () => repo.countManagers(),

    async add(input, by) {
      const problems: string[] = [];
      const name = input.name.trim();
      if (name.length < 1 || name.length > 100) problems.push('the name must have 1 to 100 characters');
      if (input.staffId !== undefined && !isValidId(input.staffId)) problems.push(`"${input.staffId}" is not a valid staff id (letters, digits, "_", "." and "-", at most 64, not starting with a symbol)`);
      if (input.role !== 'staff' && input.role !== 'manager') problems.push(`role must be staff or manager, got "${String(input.role)}"`);
      const pinIssue = input.pin === undefined ? undefined : pinProblem(input.pin);
      if (pinIssue) problems.push(pinIssue);
      if (problems.length) throw new StaffError('invalid', problems.join('; '));
      const pin = input.pin ?? generatePin();
      const pinHash = await hashPin(pin);
      const staff = add({ staffId: input.staffId ?? newId(), name, role: input.role, pinHash, mustChangePin: input.pin === undefined }, by);
      const { pinHash: _, ...account } = staff;
      return input.pin === undefined ? { staff: account, pin } : { staff: account };
    },

    remove: (staffId, by) => remove(staffId, by),

    async resetPin(staffId, by) {
      if (!repo.credentials(staffId)) throw new StaffError('not-found', `no staff member ${staffId}`);
      const pin = generatePin();
      setPin(staffId, await hashPin(pin), true, by, 'pin-reset');
      return { pin };
    },

    async changePin(staffId, current, next) {
      const c = repo.credentials(staffId);
      if (!c) throw new StaffError('not-found', `no staff member ${staffId}`);
      if (!(await verifyPin(current, c.pinHash))) throw new StaffError('wrong-pin', 'the current PIN is wrong');
      const issue = pinProblem(next);
      if (issue) throw new StaffError('invalid', issue);
      if (next === current) throw new StaffError('invalid', 'the new PIN must differ from the current one');
      setPin(staffId, await hashPin(next), false, staffId, 'pin-change');
    },

    async login(staffId, pin) {
      const c = isValidId(staffId) ? repo.credentials(staffId) : undefined;
      const now = clock.now().getTime();
      if (c?.lockedUntil && Date.parse(c.lockedUntil) > now) {
        whileLocked(staffId, c.lockedUntil);
        return { status: 'locked', until: c.lockedUntil };
      }
      // Same work for an unknown id as for a wrong PIN: ids cannot be found by timing.
      const ok = await verifyPin(pin, c?.pinHash ?? (await dummyHash()));
      if (!c || !ok) {
        failed(isValidId(staffId) ? staffId : null, c !== undefined);
        const after = c ? repo.credentials(staffId) : undefined;
        if (after?.lockedUntil && Date.parse(after.lockedUntil) > now) return { status: 'locked', until: after.lockedUntil };
        return { status: 'refused' };
      }
      const token = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const expiresAt = iso(now + SESSION.hours * 3_600_000);
      loggedIn(staffId, { tokenHash: sha256(token), csrfToken, createdAt: iso(now), expiresAt });
      return { status: 'ok', staff: { staffId: c.staffId, name: c.name, role: c.role }, token, csrfToken, mustChangePin: c.mustChangePin, expiresAt };
    },

    logout(token) {
      const hash = sha256(token);
      const s = repo.session(hash);
      if (s) loggedOut(hash, s.staffId);
    },

    resolveSession(token): ResolvedSession | undefined {
      const hash = sha256(token);
      const s = repo.session(hash);
      if (!s) return undefined;
      const now = clock.now().getTime();
      const idleEnd = Date.parse(s.lastSeenAt) + SESSION.idleMinutes * 60_000;
      const c = repo.credentials(s.staffId);
      if (!c || Date.parse(s.expiresAt) <= now || idleEnd <= now) {
        repo.deleteSession(hash);
        return undefined;
      }
      if (now - Date.parse(s.lastSeenAt) >= TOUCH_MS) repo.touchSession(hash, iso(now));
      return { staff: { staffId: c.staffId, name: c.name, role: c.role }, csrfToken: s.csrfToken, mustChangePin: c.mustChangePin };
    },
  };
}
