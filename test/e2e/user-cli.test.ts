/**
 * `mealcheck user` and `mealcheck centre district|set --district` as real processes on a server
 * data folder: the password read from stdin is never printed, and the user then signs in to the
 * server built on that folder and sees their district's centres.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server/src/server.ts';
import { signIn } from '../helpers/bureau-users.ts';
import { MEALCHECK, mealcheck } from '../helpers/processes.ts';
import { quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

const PASSWORD = 'typed on stdin 123';
let tmp: ReturnType<typeof tempDir>;

function withStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MEALCHECK, ...args], { env: { ...process.env, MEALCHECK_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe('mealcheck user', () => {
  it('adds an analyst of a district made with mealcheck centre, who then signs in', async () => {
    const data = ['--data', tmp.dir];
    expect((await mealcheck(['centre', 'district', ...data, '--district', 'north', '--name', '北区'])).stdout).toContain('district north created');
    expect((await mealcheck(['centre', 'set', ...data, '--centre', 'c-n1', '--name', '北一', '--district', 'north'])).code).toBe(0);
    const bad = await mealcheck(['centre', 'set', ...data, '--centre', 'c-n1', '--district', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--district: no district "nowhere"');

    const add = await withStdin(['user', 'add', ...data, '--user', 'ana', '--name', '分析员', '--role', 'analyst', '--district', 'north', '--password-stdin'], `${PASSWORD}\n`);
    expect(add).toMatchObject({ code: 0 });
    expect(add.stdout).toContain('user ana (analyst) added');
    expect(add.stdout + add.stderr).not.toContain(PASSWORD);
    const short = await withStdin(['user', 'add', ...data, '--user', 'x', '--name', 'x', '--role', 'auditor', '--password-stdin'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('password: at least 10 characters');

    const list = await mealcheck(['user', 'list', ...data]);
    expect(list.stdout).toMatch(/^ana\tanalyst\t分析员\tdistricts north\tactive/m);

    const db = openDatabase(join(tmp.dir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
    const app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN });
    try {
      const s = await signIn(app, 'ana', PASSWORD);
      expect(s.status).toBe(200);
      expect(s.body).toMatchObject({ user: { centreIds: ['c-n1'] } });
      expect((await mealcheck(['user', 'disable', ...data, '--user', 'ana'])).stdout).toContain('user ana disabled; 1 session(s) ended');
      expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: s.headers })).statusCode).toBe(401);
      const audit = (await app.inject({ method: 'GET', url: '/api/v1/audit', headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json();
      expect(audit.entries.map((e: { action: string }) => e.action)).toEqual(['user-change', 'login', 'user-add', 'centre-change', 'district-change']);
      expect(audit.chain.ok).toBe(true);
    } finally {
      await app.close();
      db.close();
    }
  });
});
