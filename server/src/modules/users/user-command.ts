/**
 * `mealcheck user add|list|passwd|disable|enable`: bureau users on the server's database. Works
 * while the server runs (SQLite WAL; every request reads the users table). The password comes
 * from a prompt that does not echo, or from stdin (`--password-stdin`, for scripts); it is never
 * an argument (it would show in `ps` and shell history) and never printed or logged.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { ROLES, type Role } from '../../plugins/auth.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { createServerAuditRepository } from '../audit/server-audit.ts';
import { createApiTokenRepository } from './api-token-repository.ts';
import { createSessionRepository } from './session-repository.ts';
import { createUserRepository, UserInputError } from './user-repository.ts';

const validId = (v: string) => (isValidId(v) ? undefined : `"${v}" is not an id (letters, digits, _ . -)`);

const USER = {
  usage: `mealcheck user add     --user ID --name NAME --role ROLE [--district ID,...] [--centre ID] [--password-stdin] [--data DIR]
mealcheck user passwd  --user ID [--password-stdin] [--data DIR]   (ends the user's sessions)
mealcheck user disable --user ID [--data DIR]                      (ends sessions; API tokens stop working)
mealcheck user enable  --user ID [--data DIR]
mealcheck user list    [--data DIR]`,
  about: `Roles: admin (bureau admin), analyst (--district: their districts' centres), manager (--centre: one
centre, read only), auditor (reads everything and the audit log, changes nothing). The password is
asked for without echo, or read from the first line of stdin with --password-stdin.`,
  options: {
    userId: { flag: 'user', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the user id people sign in with' },
    name: { flag: 'name', type: 'string', default: undefined, arg: 'NAME', doc: 'display name (add)' },
    role: { flag: 'role', type: 'string', default: undefined, choices: [...ROLES], doc: 'role (add)' },
    districts: { flag: 'district', type: 'list', default: undefined, arg: 'ID,...', doc: "an analyst's districts (add)" },
    centreId: { flag: 'centre', type: 'string', default: undefined, arg: 'ID', check: validId, doc: "a manager's centre (add)" },
    passwordStdin: { flag: 'password-stdin', type: 'boolean', default: false, doc: 'read the password from the first line of stdin instead of a prompt' },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
  },
  positional: { name: 'ACTION', doc: 'add, passwd, disable, enable or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

/** Reads a secret without echoing it: from a TTY with a prompt, else the first line of stdin. */
export async function readSecret(prompt: string, fromStdin: boolean): Promise<string> {
  const stdin = process.stdin;
  if (fromStdin || !stdin.isTTY) {
    let data = '';
    for await (const chunk of stdin) {
      data += String(chunk);
      if (data.includes('\n')) break;
    }
    return data.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let s = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            return resolve(s);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new Error('cancelled'));
          }
          if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
          else s += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

export async function userCommand(
  argv: string[],
  out: (s: string) => void = (s) => console.log(s),
  secret: (prompt: string, fromStdin: boolean) => Promise<string> = readSecret,
): Promise<number> {
  const p = readActionCommand(argv, USER, ['add', 'passwd', 'disable', 'enable', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: o, action } = p;
  const problems: string[] = [];
  if (action !== 'list' && o.userId === undefined) problems.push('--user ID is required');
  if (action === 'add') {
    if (o.name === undefined) problems.push('--name NAME is required');
    if (o.role === undefined) problems.push(`--role is required (${ROLES.join(', ')})`);
  } else if (o.name !== undefined || o.role !== undefined || o.districts !== undefined || o.centreId !== undefined) problems.push(`${action} takes no --name, --role, --district or --centre (mealcheck user add sets them; the API's PUT /api/v1/users/:userId changes them)`);
  if (problems.length) throw new ConfigError(problems);

  const db = openDatabase(join(o.dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const users = createUserRepository(db);
    const audit = createServerAuditRepository(db);
    // Sessions are ended whatever their limits: any non-zero limits will do here.
    const sessions = createSessionRepository(db, { idleMs: 1, maxMs: 1 });
    const by = `cli:${userInfo().username}`;
    const now = new Date();
    const userId = o.userId!;
    try {
      if (action === 'list') {
        for (const u of users.list()) {
          const scope = u.role === 'analyst' ? `districts ${u.districtIds.join(',')}` : u.role === 'manager' ? `centre ${u.centreId}` : 'all centres';
          const tokens = createApiTokenRepository(db).list().filter((t) => t.userId === u.userId && t.revokedAt === null).length;
          out(`${u.userId}\t${u.role}\t${u.displayName}\t${scope}\t${u.disabled ? 'DISABLED' : 'active'}\t${tokens} API token(s)`);
        }
        return 0;
      }
      if (action === 'add') {
        const password = await secret(`password for ${userId}: `, o.passwordStdin);
        const u = await users.add({ userId, displayName: o.name!, role: o.role as Role, password, ...(o.districts ? { districtIds: [...o.districts] } : {}), ...(o.centreId ? { centreId: o.centreId } : {}) }, now);
        audit.record({ userId: by, action: 'user-add', subject: u.userId, details: { role: u.role, districtIds: u.districtIds.join(','), centreId: u.centreId } }, now);
        out(`user ${u.userId} (${u.role}) added`);
        return 0;
      }
      if (!users.get(userId)) {
        out(`no user ${userId}`);
        return 1;
      }
      if (action === 'passwd') {
        const password = await secret(`new password for ${userId}: `, o.passwordStdin);
        await users.update(userId, { password }, now);
        const ended = sessions.removeForUser(userId);
        audit.record({ userId: by, action: 'password-change', subject: userId, details: { sessionsEnded: ended } }, now);
        out(`password of ${userId} changed; ${ended} session(s) ended`);
        return 0;
      }
      const disabled = action === 'disable';
      await users.update(userId, { disabled }, now);
      const ended = disabled ? sessions.removeForUser(userId) : 0;
      audit.record({ userId: by, action: 'user-change', subject: userId, details: { disabled, sessionsEnded: ended } }, now);
      out(disabled ? `user ${userId} disabled; ${ended} session(s) ended, API tokens refused` : `user ${userId} enabled`);
      return 0;
    } catch (err) {
      if (err instanceof UserInputError) throw new ConfigError(err.problems);
      throw err;
    }
  } finally {
    db.close();
  }
}
