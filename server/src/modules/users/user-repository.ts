/**
 * Bureau users (tables users, user_districts): who may sign in to the server, with which role,
 * and which centres they see. Passwords are kept only as slow scrypt hashes (common/secret-hash.ts).
 */
import { isValidId } from '../../../../common/contract.ts';
import { hashPin } from '../../../../common/secret-hash.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { ADMIN_TOKEN_USER, ROLES, type Principal, type Role } from '../../plugins/auth.ts';

export interface User {
  userId: string;
  displayName: string;
  role: Role;
  /** An analyst's districts (empty for other roles). */
  districtIds: string[];
  /** A manager's centre (null for other roles). */
  centreId: string | null;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  userId: string;
  displayName: string;
  role: Role;
  password: string;
  districtIds?: string[];
  centreId?: string;
}

export interface UserChange {
  displayName?: string;
  role?: Role;
  password?: string;
  districtIds?: string[];
  /** null: none (when the role is no longer manager). */
  centreId?: string | null;
  disabled?: boolean;
}

/** Long enough that the lock-out, not luck, decides an online guess; short enough to type. */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 200;

export class UserInputError extends Error {
  constructor(readonly problems: string[], readonly conflict = false) {
    super(problems.join('; '));
    this.name = 'UserInputError';
  }
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `password: at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password: at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

export interface UserRepository {
  add(user: NewUser, at: Date): Promise<User>;
  /** Undefined for an unknown user. A password change or disabling ends the user's sessions (the caller does). */
  update(userId: string, change: UserChange, at: Date): Promise<User | undefined>;
  get(userId: string): User | undefined;
  list(): User[];
  /** For sign-in only. */
  passwordHash(userId: string): string | undefined;
  /** The user as a request's principal; undefined when disabled or unknown. */
  principal(userId: string, via: Principal['via']): Principal | undefined;
}

interface Row {
  userId: string;
  displayName: string;
  role: Role;
  centreId: string | null;
  disabled: number;
  createdAt: string;
  updatedAt: string;
}

export function createUserRepository(db: Db): UserRepository {
  const cols = 'user_id AS userId, display_name AS displayName, role, centre_id AS centreId, disabled, created_at AS createdAt, updated_at AS updatedAt';
  const one = db.prepare<[string], Row>(`SELECT ${cols} FROM users WHERE user_id = ?`);
  const all = db.prepare<[], Row>(`SELECT ${cols} FROM users ORDER BY user_id`);
  const hashOf = db.prepare<[string], string>('SELECT password_hash FROM users WHERE user_id = ?').pluck();
  const districtsOf = db.prepare<[string], string>('SELECT district_id FROM user_districts WHERE user_id = ? ORDER BY district_id').pluck();
  const districtExists = db.prepare<[string], number>('SELECT 1 FROM districts WHERE district_id = ?').pluck();
  const centresIn = db.prepare<[string], string>('SELECT centre_id FROM centres WHERE district_id IN (SELECT value FROM json_each(?)) ORDER BY centre_id').pluck();
  const insert = db.prepare<{ userId: string; displayName: string; role: string; passwordHash: string; centreId: string | null; at: string }>(
    'INSERT INTO users (user_id, display_name, role, password_hash, centre_id, disabled, created_at, updated_at) VALUES (@userId, @displayName, @role, @passwordHash, @centreId, 0, @at, @at)',
  );
  const change = db.prepare<{ userId: string; displayName: string; role: string; passwordHash: string | null; centreId: string | null; disabled: number; at: string }>(
    `UPDATE users SET display_name = @displayName, role = @role, password_hash = coalesce(@passwordHash, password_hash), centre_id = @centreId,
       disabled = @disabled, updated_at = @at WHERE user_id = @userId`,
  );
  const clearDistricts = db.prepare<[string]>('DELETE FROM user_districts WHERE user_id = ?');
  const addDistrict = db.prepare<[string, string]>('INSERT INTO user_districts (user_id, district_id) VALUES (?, ?)');

  const toUser = (r: Row): User => ({ ...r, districtIds: districtsOf.all(r.userId), disabled: r.disabled === 1 });

  /** Every problem of the user's final state, at once. */
  function problems(u: { userId?: string; displayName: string; role: string; districtIds: string[]; centreId: string | null; password?: string }): string[] {
    const out: string[] = [];
    if (u.userId !== undefined) {
      if (!isValidId(u.userId)) out.push(`userId: "${u.userId.slice(0, 64)}" is not an id (letters, digits, _ . -)`);
      else if (u.userId === ADMIN_TOKEN_USER) out.push(`userId: "${ADMIN_TOKEN_USER}" is reserved for the admin token`);
    }
    if (u.displayName.trim() === '' || u.displayName.length > 100) out.push('displayName: 1 to 100 characters');
    if (!(ROLES as readonly string[]).includes(u.role)) out.push(`role: one of ${ROLES.join(', ')}`);
    if (u.password !== undefined) {
      const p = passwordProblem(u.password);
      if (p) out.push(p);
    }
    if (u.role === 'manager') {
      if (u.centreId === null) out.push('centreId: a manager needs their centre');
      else if (!isValidId(u.centreId)) out.push(`centreId: "${u.centreId.slice(0, 64)}" is not an id`);
    } else if (u.centreId !== null) out.push(`centreId: only a manager has a centre (${u.role} sees ${u.role === 'analyst' ? 'their districts' : 'every centre'})`);
    if (u.role === 'analyst') {
      if (u.districtIds.length === 0) out.push('districtIds: an analyst needs at least one district');
      for (const d of u.districtIds) if (!districtExists.get(d)) out.push(`districtIds: no district "${d.slice(0, 64)}" (create it first)`);
    } else if (u.districtIds.length > 0) out.push('districtIds: only an analyst has districts');
    return out;
  }

  const setDistricts = (userId: string, ids: string[]) => {
    clearDistricts.run(userId);
    for (const d of new Set(ids)) addDistrict.run(userId, d);
  };

  return {
    async add(user, at) {
      const u = { ...user, displayName: user.displayName.trim(), districtIds: [...new Set(user.districtIds ?? [])], centreId: user.centreId ?? null };
      const found = problems(u);
      if (found.length) throw new UserInputError(found);
      if (one.get(u.userId)) throw new UserInputError([`user ${u.userId} exists already`], true);
      const passwordHash = await hashPin(u.password);
      db.transaction(() => {
        insert.run({ userId: u.userId, displayName: u.displayName, role: u.role, passwordHash, centreId: u.centreId, at: at.toISOString() });
        setDistricts(u.userId, u.districtIds);
      }).immediate();
      return toUser(one.get(u.userId)!);
    },
    async update(userId, c, at) {
      const row = one.get(userId);
      if (!row) return undefined;
      const current = toUser(row);
      const role = c.role ?? current.role;
      // A role change drops what the old role had, unless the change gives it again.
      const next = {
        displayName: (c.displayName ?? current.displayName).trim(),
        role,
        districtIds: [...new Set(c.districtIds ?? (role === 'analyst' ? current.districtIds : []))],
        centreId: c.centreId !== undefined ? c.centreId : role === 'manager' ? current.centreId : null,
        ...(c.password !== undefined ? { password: c.password } : {}),
      };
      const found = problems(next);
      if (found.length) throw new UserInputError(found);
      const passwordHash = c.password !== undefined ? await hashPin(c.password) : null;
      db.transaction(() => {
        change.run({ userId, displayName: next.displayName, role, passwordHash, centreId: next.centreId, disabled: (c.disabled ?? current.disabled) ? 1 : 0, at: at.toISOString() });
        setDistricts(userId, next.districtIds);
      }).immediate();
      return toUser(one.get(userId)!);
    },
    get(userId) {
      const r = one.get(userId);
      return r && toUser(r);
    },
    list: () => all.all().map(toUser),
    passwordHash: (userId) => hashOf.get(userId),
    principal(userId, via) {
      const r = one.get(userId);
      if (!r || r.disabled === 1) return undefined;
      const base = { userId: r.userId, role: r.role, displayName: r.displayName, via };
      if (r.role === 'manager') return { ...base, centreId: r.centreId!, centreIds: [r.centreId!] };
      if (r.role === 'analyst') {
        const districtIds = districtsOf.all(r.userId);
        return { ...base, districtIds, centreIds: centresIn.all(JSON.stringify(districtIds)) };
      }
      return base;
    },
  };
}
