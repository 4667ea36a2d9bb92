import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../common/sqlite.ts';
import { verifyChain } from '../../common/audit-chain.ts';
import type { AuditLog } from '../../edge/src/audit/audit-log.ts';
import { LOCKOUT, SESSION, type StaffService } from '../../edge/src/staff/staff-service.ts';
import type { StatusServer } from '../../edge/src/web/status-server.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { login, loginAs, staffTestApp, type StaffSession } from '../helpers/staff-session.ts';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let server: StatusServer;
let app: FastifyInstance;
let staff: StaffService;
let audit: AuditLog;

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock('2025-03-10T03:00:00.000Z');
  ({ server, app, staff, audit } = staffTestApp(db, clock));
});

afterEach(async () => {
  await server.stop();
  db.close();
  tmp.cleanup();
});

const actions = () => [...audit.iterate()].map((r) => `${r.action}:${r.subject ?? ''}`);
const form = (fields: Record<string, string>) => ({ payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('staff login (JSON)', () => {
  it('sets an httpOnly SameSite=Strict session cookie, stores only its hash, and audits the login', async () => {
    await staff.add({ staffId: 'M1', name: '张经理', role: 'manager', pin: '135790' }, null);
    const res = await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'M1', pin: '135790' } });
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^mealcheck_staff=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const token = cookie.split(';')[0]!.split('=')[1]!;
    const stored = db.prepare('SELECT token_hash FROM staff_sessions').pluck().all() as string[];
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toContain(token);
    expect(JSON.stringify(db.prepare('SELECT * FROM staff').all())).not.toContain('135790');
    expect(res.json()).toMatchObject({ staff: { staffId: 'M1', name: '张经理', role: 'manager' }, mustChangePin: false });
    const me = await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: cookie.split(';')[0]! } });
    expect(me.json()).toMatchObject({ staff: { staffId: 'M1' } });
    expect(actions()).toEqual(['staff-add:M1', 'login:M1']);
  });

  it('refuses a wrong PIN and an unknown id alike (401), auditing both', async () => {
    await staff.add({ staffId: 'S1', name: '李', role: 'staff', pin: '111111' }, null);
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S1', pin: '222222' } });
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'NOBODY', pin: '222222' } });
    expect([wrong.statusCode, unknown.statusCode]).toEqual([401, 401]);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(actions()).toEqual(['staff-add:S1', 'login-failed:S1', 'login-failed:NOBODY']);
  });

  it(`locks an account after ${LOCKOUT.attempts} wrong PINs for ${LOCKOUT.minutes} minutes, audits it, and a reset unlocks`, async () => {
    await staff.add({ staffId: 'S1', name: '李', role: 'staff', pin: '111111' }, null);
    const codes: number[] = [];
    for (let i = 0; i < LOCKOUT.attempts; i++) codes.push((await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S1', pin: '999999' } })).statusCode);
    expect(codes).toEqual([401, 401, 401, 401, 423]);
    // The right PIN does not get in while locked.
    const locked = await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S1', pin: '111111' } });
    expect(locked.statusCode).toBe(423);
    expect(locked.json().until).toBe('2025-03-10T03:15:00.000Z');
    const rows = [...audit.iterate()];
    expect(rows.filter((r) => r.action === 'lockout')).toEqual([expect.objectContaining({ subject: 'S1', details: { failures: 5, until: '2025-03-10T03:15:00.000Z', minutes: 15 } })]);
    expect(rows.at(-1)).toMatchObject({ action: 'login-failed', details: { reason: 'locked' } });
    clock.advance(LOCKOUT.minutes * 60_000 - 1);
    expect((await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S1', pin: '111111' } })).statusCode).toBe(423);
    clock.advance(1);
    await login(app, 'S1', '111111');
    // Locked again, then a manager's reset unlocks at once (with a one-time PIN).
    for (let i = 0; i < LOCKOUT.attempts; i++) await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S1', pin: '999999' } });
    const m = await loginAs(app, staff, { role: 'manager' });
    const reset = await app.inject({ method: 'POST', url: '/api/v1/staff/S1/pin', headers: m.headers });
    expect(reset.statusCode).toBe(200);
    const relog = await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S1', pin: reset.json().pin } });
    expect(relog.statusCode).toBe(200);
    expect(relog.json().mustChangePin).toBe(true);
    expect(verifyChain(audit.iterate()).ok).toBe(true);
  });

  it('ends a session at logout, after the idle timeout and after the maximum age', async () => {
    const s = await loginAs(app, staff, { role: 'staff' });
    const me = () => app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: s.cookie } });
    expect((await app.inject({ method: 'POST', url: '/api/v1/staff/logout', headers: s.headers })).statusCode).toBe(204);
    expect((await me()).statusCode).toBe(401);
    expect(actions().at(-1)).toBe(`logout:${s.staffId}`);

    const idle = await login(app, s.staffId, s.pin);
    clock.advance(SESSION.idleMinutes * 60_000 - 1000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: idle.cookie } })).statusCode).toBe(200);
    clock.advance(SESSION.idleMinutes * 60_000 - 1000); // active just now: still in
    expect((await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: idle.cookie } })).statusCode).toBe(200);
    clock.advance(SESSION.idleMinutes * 60_000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: idle.cookie } })).statusCode).toBe(401);

    const old = await login(app, s.staffId, s.pin);
    for (let h = 0; h < SESSION.hours * 2; h++) {
      clock.advance(30 * 60_000 - 1000);
      const r = await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: old.cookie } });
      if (h < SESSION.hours * 2 - 1) expect(r.statusCode).toBe(200);
    }
    clock.advance(60_000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: old.cookie } })).statusCode).toBe(401);
  });
});

describe('staff accounts (JSON)', () => {
  let manager: StaffSession;
  beforeEach(async () => {
    manager = await loginAs(app, staff, { role: 'manager', staffId: 'M1', name: '张经理' });
  });

  it('a manager adds (a one-time PIN when none is given), lists, resets and removes staff; all audited', async () => {
    const add = await app.inject({ method: 'POST', url: '/api/v1/staff', headers: manager.headers, payload: { name: '王芳', role: 'staff' } });
    expect(add.statusCode).toBe(201);
    const { staff: added, pin } = add.json<{ staff: { staffId: string }; pin: string }>();
    expect(added.staffId).toBe('S001');
    expect(pin).toMatch(/^\d{8}$/);
    const first = await login(app, 'S001', pin);
    const list = await app.inject({ method: 'GET', url: '/api/v1/staff', headers: { cookie: manager.cookie } });
    expect(list.json().staff.map((s: { staffId: string }) => s.staffId)).toEqual(['M1', 'S001']);
    const reset = await app.inject({ method: 'POST', url: '/api/v1/staff/S001/pin', headers: manager.headers });
    expect(reset.json().pin).not.toBe(pin);
    // A reset ends the holder's sessions.
    expect((await app.inject({ method: 'GET', url: '/api/v1/staff/me', headers: { cookie: first.cookie } })).statusCode).toBe(401);
    const del = await app.inject({ method: 'DELETE', url: '/api/v1/staff/S001', headers: manager.headers });
    expect(del.statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId: 'S001', pin: reset.json().pin } })).statusCode).toBe(401);
    // Ids are never reused.
    expect((await app.inject({ method: 'POST', url: '/api/v1/staff', headers: manager.headers, payload: { staffId: 'S001', name: 'x', role: 'staff' } })).statusCode).toBe(409);
    expect(actions()).toEqual(['staff-add:M1', 'login:M1', 'staff-add:S001', 'login:S001', 'pin-reset:S001', 'staff-remove:S001', 'login-failed:S001']);
    const rows = [...audit.iterate()];
    expect(rows.find((r) => r.action === 'staff-add' && r.subject === 'S001')).toMatchObject({ staffId: 'M1', details: { name: '王芳', role: 'staff', oneTimeCode: true } });
    // No PIN anywhere in the log.
    expect(JSON.stringify(rows)).not.toContain(pin);
  });

  it('refuses to remove the last manager (409) and bad input (400)', async () => {
    const del = await app.inject({ method: 'DELETE', url: '/api/v1/staff/M1', headers: manager.headers });
    expect(del.statusCode).toBe(409);
    expect(del.json().error).toMatch(/last manager/);
    await app.inject({ method: 'POST', url: '/api/v1/staff', headers: manager.headers, payload: { staffId: 'M2', name: '赵', role: 'manager', pin: '987654' } });
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/staff/M1', headers: manager.headers })).statusCode).toBe(200);
    const m2 = await login(app, 'M2', '987654');
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/staff/M2', headers: m2.headers })).statusCode).toBe(409);
    for (const payload of [{ name: '', role: 'staff' }, { name: 'x', role: 'boss' }, { name: 'x', role: 'staff', pin: '123' }, { name: 'x', role: 'staff', staffId: '-bad' }]) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/staff', headers: m2.headers, payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().error).toEqual(expect.any(String));
    }
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/staff/NOPE', headers: m2.headers })).statusCode).toBe(404);
  });

  it('lets staff change their own PIN with the current one', async () => {
    const s = await loginAs(app, staff, { role: 'staff', pin: '111111' });
    expect((await app.inject({ method: 'POST', url: '/api/v1/staff/me/pin', headers: s.headers, payload: { current: '000000', next: '222222' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/staff/me/pin', headers: s.headers, payload: { current: '111111', next: '222222' } })).statusCode).toBe(204);
    await login(app, s.staffId, '222222');
    expect(actions().filter((a) => a.startsWith('pin-change'))).toEqual([`pin-change:${s.staffId}`]);
  });
});

/** Every route of the staff feature, with the least role it needs. */
const ROUTES: Array<{ method: 'GET' | 'POST' | 'DELETE'; url: string; role: 'staff' | 'manager'; form?: boolean }> = [
  { method: 'GET', url: '/api/v1/staff/me', role: 'staff' },
  { method: 'POST', url: '/api/v1/staff/logout', role: 'staff' },
  { method: 'POST', url: '/api/v1/staff/me/pin', role: 'staff' },
  { method: 'GET', url: '/api/v1/staff', role: 'manager' },
  { method: 'POST', url: '/api/v1/staff', role: 'manager' },
  { method: 'DELETE', url: '/api/v1/staff/S9', role: 'manager' },
  { method: 'POST', url: '/api/v1/staff/S9/pin', role: 'manager' },
  { method: 'GET', url: '/staff/', role: 'staff' },
  { method: 'GET', url: '/staff/pin', role: 'staff' },
  { method: 'POST', url: '/staff/pin', role: 'staff', form: true },
  { method: 'POST', url: '/staff/logout', role: 'staff', form: true },
  { method: 'GET', url: '/staff/accounts', role: 'manager' },
  { method: 'POST', url: '/staff/accounts', role: 'manager', form: true },
  { method: 'POST', url: '/staff/accounts/S9/remove', role: 'manager', form: true },
  { method: 'POST', url: '/staff/accounts/S9/pin', role: 'manager', form: true },
];

describe('every staff route is authorised', () => {
  it.each(ROUTES)('$method $url: 401 without a session, 403 for a lower role, 403 without the CSRF token', async (r) => {
    const body = r.method === 'GET' ? {} : r.form ? form({ x: '1' }) : { payload: {} };
    const noSession = await app.inject({ method: r.method, url: r.url, ...body });
    expect(noSession.statusCode).toBe(401);
    expect(noSession.json()).toEqual({ error: expect.stringMatching(/log in/) });
    if (r.role === 'manager') {
      const s = await loginAs(app, staff, { role: 'staff' });
      const low = await app.inject({ method: r.method, url: r.url, ...body, headers: { ...('headers' in body ? body.headers : {}), ...s.headers } });
      expect(low.statusCode).toBe(403);
      expect(low.json().error).toMatch(/manager role/);
    }
    if (r.method !== 'GET') {
      const s = await loginAs(app, staff, { role: 'manager' });
      const noCsrf = await app.inject({ method: r.method, url: r.url, ...body, headers: { ...('headers' in body ? body.headers : {}), cookie: s.cookie } });
      expect(noCsrf.statusCode).toBe(403);
      expect(noCsrf.json().error).toMatch(/CSRF/);
      const wrong = await app.inject({ method: r.method, url: r.url, ...body, headers: { ...('headers' in body ? body.headers : {}), cookie: s.cookie, 'x-csrf-token': s.csrfToken.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) } });
      expect(wrong.statusCode).toBe(403);
    }
  });

  it('a browser without a session is sent to the login page', async () => {
    const res = await app.inject({ method: 'GET', url: '/staff/accounts', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/staff/login?next=%2Fstaff%2Faccounts');
  });

  it('refuses state-changing requests sent by another site, logged in or not', async () => {
    await staff.add({ staffId: 'S1', name: '李', role: 'staff', pin: '111111' }, null);
    const cross = await app.inject({ method: 'POST', url: '/api/v1/staff/login', headers: { origin: 'http://evil.example', host: '192.168.1.20:8081' }, payload: { staffId: 'S1', pin: '111111' } });
    expect(cross.statusCode).toBe(403);
    const fetchSite = await app.inject({ method: 'POST', url: '/staff/login', headers: { 'sec-fetch-site': 'cross-site', ...form({}).headers }, payload: 'staffId=S1&pin=111111' });
    expect(fetchSite.statusCode).toBe(403);
    const same = await app.inject({ method: 'POST', url: '/api/v1/staff/login', headers: { origin: 'http://192.168.1.20:8081', host: '192.168.1.20:8081' }, payload: { staffId: 'S1', pin: '111111' } });
    expect(same.statusCode).toBe(200);
  });

  it('the JSON routes take no form bodies; the login form does', async () => {
    await staff.add({ staffId: 'S1', name: '李', role: 'staff', pin: '111111' }, null);
    const json = await app.inject({ method: 'POST', url: '/api/v1/staff/login', ...form({ staffId: 'S1', pin: '111111' }) });
    expect(json.statusCode).toBe(415);
    const page = await app.inject({ method: 'POST', url: '/staff/login', ...form({ staffId: 'S1', pin: '111111', next: '/staff/pin' }) });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/staff/pin');
    // No open redirect.
    const away = await app.inject({ method: 'POST', url: '/staff/login', ...form({ staffId: 'S1', pin: '111111', next: '//evil.example/' }) });
    expect(away.headers.location).toBe('/staff/');
  });

  it('the status and confirmation routes answer only to this box', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/status' })).statusCode).toBe(200);
    const lan = await app.inject({ method: 'GET', url: '/api/v1/status', remoteAddress: '192.168.1.30' });
    expect(lan.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/health', remoteAddress: '192.168.1.30' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/staff/login', remoteAddress: '192.168.1.30' })).statusCode).toBe(200);
  });
});

describe('staff pages (HTML)', () => {
  it('serve zh-CN by default and English after the switch, every string from the catalogue, values escaped', async () => {
    const zh = await app.inject({ method: 'GET', url: '/staff/login' });
    expect(zh.headers['content-type']).toMatch(/text\/html/);
    expect(zh.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(zh.body).toContain('<html lang="zh-CN">');
    expect(zh.body).toContain('工作人员登录');
    const sw = await app.inject({ method: 'GET', url: '/staff/lang/en', headers: { referer: 'http://box/staff/login' } });
    expect(sw.statusCode).toBe(303);
    expect(sw.headers.location).toBe('/staff/login');
    const en = await app.inject({ method: 'GET', url: '/staff/login', headers: { cookie: String(sw.headers['set-cookie']).split(';')[0]! } });
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('Staff login');
    expect((await app.inject({ method: 'GET', url: '/staff/lang/fr' })).statusCode).toBe(400);

    const m = await loginAs(app, staff, { role: 'manager', name: '<script>alert(1)</script>' });
    const home = await app.inject({ method: 'GET', url: '/staff/', headers: { cookie: m.cookie } });
    expect(home.statusCode).toBe(200);
    expect(home.body).not.toContain('<script>alert');
    expect(home.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(home.body).toContain(`<meta name="csrf-token" content="${m.csrfToken}">`);
    for (const word of ['老人', '今日', '手工登记', '工作人员管理']) expect(home.body).toContain(word);
  });

  it('a manager adds a staff member by form and sees the one-time PIN once; a forced change follows its first login', async () => {
    const m = await loginAs(app, staff, { role: 'manager' });
    const add = await app.inject({ method: 'POST', url: '/staff/accounts', headers: { ...form({}).headers, cookie: m.cookie }, payload: new URLSearchParams({ _csrf: m.csrfToken, name: '王芳', role: 'staff' }).toString() });
    expect(add.statusCode).toBe(201);
    const pin = /<p class="secret">(\d{8})<\/p>/.exec(add.body)?.[1];
    expect(pin).toBeDefined();
    const list = await app.inject({ method: 'GET', url: '/staff/accounts', headers: { cookie: m.cookie } });
    expect(list.body).toContain('王芳');
    expect(list.body).not.toContain(pin!);
    const first = await app.inject({ method: 'POST', url: '/staff/login', ...form({ staffId: 'S001', pin: pin! }) });
    expect(first.headers.location).toBe('/staff/pin');
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect((await app.inject({ method: 'GET', url: '/staff/', headers: { cookie } })).headers.location).toBe('/staff/pin');
  });
});

describe('--staff-host', () => {
  it('serves the pages on the LAN address and keeps 127.0.0.1 on the same port', async () => {
    const { StatusServer } = await import('../../edge/src/web/status-server.ts');
    const { staffWebPlugins } = await import('../../edge/src/web/staff-routes.ts');
    const { quietEdgeLogger } = await import('../helpers/edge-fixtures.ts');
    // 127.0.0.2 stands in for the box's LAN address: a second address of this machine.
    const lan = new StatusServer({ port: 0, lanHost: '127.0.0.2', logger: quietEdgeLogger, status: () => { throw new Error('unused'); }, plugins: staffWebPlugins({ staff }) });
    await lan.start();
    try {
      for (const host of ['127.0.0.2', '127.0.0.1']) {
        const res = await fetch(`http://${host}:${lan.port()}/staff/login`);
        expect(res.status, host).toBe(200);
        expect(await res.text()).toContain('工作人员登录');
      }
    } finally {
      await lan.stop();
    }
  });

  it('must be an IP address', async () => {
    const { loadEdgeConfig } = await import('../../edge/src/config.ts');
    expect(() => loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--staff-host', 'tablet.local'], {})).toThrow(/--staff-host: expected this box's IP address/);
    expect(loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--staff-host', '0.0.0.0'], {}).http).toEqual({ host: '127.0.0.1', port: 8081, lanHost: '0.0.0.0' });
  });
});
