/**
 * Bureau sign-in on the server: the session cookie and its CSRF token, one answer for every
 * failed sign-in, the lock-out, sign-out, API tokens (shown once, hashed, revocable), a password
 * change or disabling ending sessions, the audit rows they leave, and the start-up check that
 * refuses an /api route without an access declaration.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { installAuth, SESSION_COOKIE } from '../../server/src/plugins/auth.ts';
import { PASSWORD, ROLE_USERS, seedBureau, signIn, type BureauSeed } from '../helpers/bureau-users.ts';
import { openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;
let seed: BureauSeed;
let now: Date;
const admin = { authorization: `Bearer ${TEST_TOKEN}` };

async function start(sessions?: { secureCookies?: boolean }) {
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN, clock: { now: () => now }, ...(sessions ? { sessions } : {}) });
}

beforeEach(async () => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  now = new Date('2025-03-20T04:00:00.000Z');
  seed = await seedBureau(db, now);
  await start();
});
afterEach(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

const audit = async () => (await app.inject({ method: 'GET', url: '/api/v1/audit?limit=1000', headers: admin })).json() as { entries: Array<{ action: string; userId: string | null; subject: string | null; details: Record<string, unknown> }>; chain: { ok: boolean } };

describe('POST /api/v1/login', () => {
  it('sets an HttpOnly SameSite=Strict session cookie holding a token the table keeps only hashed', async () => {
    const s = await signIn(app, ROLE_USERS.analyst);
    expect(s.status).toBe(200);
    expect(s.setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{40,}; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800$`));
    expect(s.body).toMatchObject({ user: { userId: ROLE_USERS.analyst, role: 'analyst', via: 'session', districtIds: ['district-north'], centreIds: ['centre-north-1', 'centre-north-2'] } });
    const token = /=([^;]+)/.exec(s.setCookie!)![1]!;
    const dump = JSON.stringify(db.prepare('SELECT * FROM sessions').all());
    expect(dump).not.toContain(token);
    expect(dump).toContain(ROLE_USERS.analyst);
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: s.headers });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ userId: ROLE_USERS.analyst, csrfToken: s.headers['x-mealcheck-csrf'] });
  });

  it('marks the cookie Secure when told it is behind TLS', async () => {
    await app.close();
    await start({ secureCookies: true });
    expect((await signIn(app, ROLE_USERS.admin)).setCookie).toMatch(/; Secure$/);
  });

  it('answers an unknown user, a wrong password and a disabled user alike', async () => {
    await seed.users.update(ROLE_USERS.auditor, { disabled: true }, now);
    const answers = await Promise.all([signIn(app, 'nobody-here'), signIn(app, ROLE_USERS.admin, 'wrong password!'), signIn(app, ROLE_USERS.auditor)]);
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'wrong user id or password' });
      expect(a.setCookie).toBeUndefined();
    }
    const failed = (await audit()).entries.filter((e) => e.action === 'login-failed');
    expect(failed.map((e) => e.subject).sort()).toEqual(['nobody-here', ROLE_USERS.admin, ROLE_USERS.auditor].sort());
    expect(JSON.stringify(failed)).not.toContain('wrong password!');
  });

  it('locks a user id out after 5 failures from one source, even with the right password, for 15 minutes', async () => {
    for (let i = 0; i < 5; i++) expect((await signIn(app, ROLE_USERS.manager, `bad password ${i}`)).status).toBe(401);
    const locked = await signIn(app, ROLE_USERS.manager);
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ message: expect.stringContaining('try again in 15 minute') });
    // Another user from the same source is not affected.
    expect((await signIn(app, ROLE_USERS.admin)).status).toBe(200);
    now = new Date(now.getTime() + 15 * 60_000 + 1000);
    expect((await signIn(app, ROLE_USERS.manager)).status).toBe(200);
    const actions = (await audit()).entries.map((e) => e.action);
    expect(actions.filter((a) => a === 'login-failed')).toHaveLength(5);
    expect(actions).toContain('login-locked');
    expect((await audit()).chain.ok).toBe(true);
  });

  it('refuses a sign-in posted from another site', async () => {
    const res = await signIn(app, ROLE_USERS.admin, PASSWORD, { origin: 'https://evil.example', host: 'bureau.example' });
    expect(res.status).toBe(403);
  });
});

describe('a session', () => {
  it('needs its CSRF token for a change, and a same-site Origin', async () => {
    const s = await signIn(app, ROLE_USERS.admin);
    const put = (headers: Record<string, string>) => app.inject({ method: 'PUT', url: '/api/v1/districts/district-north', payload: { name: '北部' }, headers });
    expect((await put({ cookie: s.headers.cookie! })).statusCode).toBe(403);
    expect((await put({ ...s.headers, 'x-mealcheck-csrf': 'x'.repeat(43) })).statusCode).toBe(403);
    expect((await put({ ...s.headers, origin: 'https://evil.example', host: 'bureau.example' })).statusCode).toBe(403);
    const ok = await put(s.headers);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ districtId: 'district-north', name: '北部' });
    // Reads need no CSRF token.
    expect((await app.inject({ method: 'GET', url: '/api/v1/districts', headers: { cookie: s.headers.cookie! } })).statusCode).toBe(200);
  });

  it('ends at sign-out, after 12 h idle, and when the password changes', async () => {
    const a = await signIn(app, ROLE_USERS.auditor);
    const out = await app.inject({ method: 'POST', url: '/api/v1/logout', headers: a.headers });
    expect(out.json()).toEqual({ ended: true });
    expect(out.headers['set-cookie']).toMatch(/Max-Age=0/);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: a.headers })).statusCode).toBe(401);

    const b = await signIn(app, ROLE_USERS.auditor);
    now = new Date(now.getTime() + 11 * 3_600_000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: b.headers })).statusCode).toBe(200);
    now = new Date(now.getTime() + 11 * 3_600_000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: b.headers })).statusCode).toBe(200);
    now = new Date(now.getTime() + 12 * 3_600_000 + 1000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: b.headers })).statusCode).toBe(401);

    const c = await signIn(app, ROLE_USERS.auditor);
    const change = await app.inject({ method: 'PUT', url: `/api/v1/users/${ROLE_USERS.auditor}`, payload: { password: 'a new long password' }, headers: admin });
    expect(change.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: c.headers })).statusCode).toBe(401);
    expect((await signIn(app, ROLE_USERS.auditor)).status).toBe(401);
    expect((await signIn(app, ROLE_USERS.auditor, 'a new long password')).status).toBe(200);
    const entries = (await audit()).entries;
    expect(entries.find((e) => e.action === 'password-change')).toMatchObject({ userId: 'admin-token', subject: ROLE_USERS.auditor, details: { sessionsEnded: 1 } });
    expect(JSON.stringify(entries)).not.toContain('a new long password');
  });
});

describe('users and API tokens', () => {
  it('creates users with checked roles and refuses what does not fit', async () => {
    const post = (payload: object) => app.inject({ method: 'POST', url: '/api/v1/users', payload, headers: admin });
    const made = await post({ userId: 'u-south', displayName: '南区分析员', role: 'analyst', password: PASSWORD, districtIds: ['district-south'] });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ userId: 'u-south', role: 'analyst', districtIds: ['district-south'], centreId: null, disabled: false });
    expect(made.body).not.toContain('scrypt');
    expect((await post({ userId: 'u-south', displayName: 'x', role: 'auditor', password: PASSWORD })).statusCode).toBe(409);
    const bad = await post({ userId: 'u-m', displayName: 'x', role: 'manager', password: PASSWORD, districtIds: ['nowhere'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('a manager needs their centre');
    expect(bad.json().message).toContain('only an analyst has districts');
    expect((await post({ userId: 'admin-token', displayName: 'x', role: 'admin', password: PASSWORD })).json().message).toContain('reserved');
    expect((await post({ userId: 'u-short', displayName: 'x', role: 'admin', password: 'short' })).statusCode).toBe(400);
  });

  it('makes a token shown once and kept hashed, which acts as its user until revoked', async () => {
    const made = await app.inject({ method: 'POST', url: '/api/v1/tokens', payload: { userId: ROLE_USERS.manager, name: '财务系统' }, headers: admin });
    expect(made.statusCode).toBe(201);
    const { token, apiToken } = made.json() as { token: string; apiToken: { tokenId: string } };
    expect(token).toMatch(/^mct_/);
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(token);
    const list = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: admin });
    expect(list.body).not.toContain(token);
    const bearer = { authorization: `Bearer ${token}` };
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer });
    expect(me.json()).toMatchObject({ userId: ROLE_USERS.manager, role: 'manager', via: 'api-token', centreIds: ['centre-north-1'] });
    expect((await app.inject({ method: 'GET', url: '/api/v1/users', headers: bearer })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: admin })).json().tokens[0].lastUsedAt).toBe(now.toISOString());
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${apiToken.tokenId}`, headers: admin })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer })).statusCode).toBe(401);
    const actions = (await audit()).entries.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['token-add', 'token-revoke']));
  });

  it("stops a disabled user's tokens and sessions at once", async () => {
    const s = await signIn(app, ROLE_USERS.analyst);
    const t = seed.tokenHeaders(ROLE_USERS.analyst, now);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/users/${ROLE_USERS.analyst}`, payload: { disabled: true }, headers: admin })).json()).toMatchObject({ disabled: true });
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: s.headers })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: t })).statusCode).toBe(401);
  });
});

describe('districts and centres', () => {
  it('moves a centre to another district, and the analyst sees it at once; audited', async () => {
    const analyst = seed.tokenHeaders(ROLE_USERS.analyst, now);
    const put = await app.inject({ method: 'PUT', url: '/api/v1/centres/centre-south-1', payload: { districtId: 'district-north' }, headers: admin });
    expect(put.json()).toMatchObject({ centreId: 'centre-south-1', name: '南一照料中心', districtId: 'district-north' });
    const d = (await app.inject({ method: 'GET', url: '/api/v1/districts', headers: analyst })).json();
    expect(d.districts).toEqual([expect.objectContaining({ districtId: 'district-north', centreIds: ['centre-north-1', 'centre-north-2', 'centre-south-1'] })]);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/centres/c9', payload: { districtId: 'nowhere' }, headers: admin })).statusCode).toBe(400);
    expect((await audit()).entries[0]).toMatchObject({ action: 'centre-change', subject: 'centre-south-1', details: { districtId: 'district-north' } });
  });
});

describe('start-up check', () => {
  it('refuses to start with an /api route that declares no access', async () => {
    const bare = Fastify();
    installAuth(bare, { adminToken: TEST_TOKEN, resolver: { apiToken: () => undefined, session: () => undefined } });
    const boot = async () => {
      await bare.register(async (api) => {
        api.get('/forgotten', async () => ({}));
      }, { prefix: '/api/v1' });
      await bare.ready();
    };
    await expect(boot()).rejects.toThrow(/GET \/api\/v1\/forgotten declares no access/);
    await bare.close();
  });
});
