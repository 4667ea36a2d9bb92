/**
 * The elder registry's staff API (edge/src/web/elder-routes.ts) on a real Fastify app with the
 * real staff sessions and a real database: every route 401 without a session, 403 for a role
 * too low or without the CSRF token; changes reach the registry (and its outbox records).
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { elderWebPlugins } from '../../edge/src/web/elder-routes.ts';
import { FACE_API_MODEL } from '../../edge/src/recognition/matcher.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { testRegistry, type TestRegistry } from '../helpers/elder-registry.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { syntheticDescriptor } from '../helpers/fake-engine.ts';
import { loginAs, staffTestApp, type StaffSession } from '../helpers/staff-session.ts';

const ID_A = '11010519491231002X';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let app: FastifyInstance;
let reg: TestRegistry;
let staff: StaffSession;
let manager: StaffSession;

beforeEach(async () => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  const clock = new TestClock('2025-03-10T02:00:00Z');
  reg = testRegistry(db, { clock });
  // The registry's plugins after the staff feature's (its session hook first), as main.ts wires them.
  const built = staffTestApp(db, clock, { plugins: elderWebPlugins(reg.registry) });
  app = built.app;
  staff = await loginAs(app, built.staff, { role: 'staff' });
  manager = await loginAs(app, built.staff, { role: 'manager' });
  reg.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A, category: '特困' }, 'S01', { signedBy: 'elder' });
});
afterEach(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const routes: Array<{ method: Method; url: string; payload?: object; role: 'staff' | 'manager' }> = [
  { method: 'GET', url: '/api/v1/elders', role: 'staff' },
  { method: 'GET', url: '/api/v1/elders/E001', role: 'staff' },
  { method: 'POST', url: '/api/v1/elders', payload: { name: '李桂兰' }, role: 'staff' },
  { method: 'PATCH', url: '/api/v1/elders/E001', payload: { phone: '13800138000' }, role: 'staff' },
  { method: 'POST', url: '/api/v1/elders/E001/status', payload: { status: 'suspended' }, role: 'staff' },
  { method: 'POST', url: '/api/v1/elders/E001/consent', payload: { signedBy: 'elder' }, role: 'staff' },
  { method: 'POST', url: '/api/v1/elders/E001/consent/withdraw', role: 'staff' },
  { method: 'GET', url: '/api/v1/consent-texts/current', role: 'staff' },
  { method: 'DELETE', url: '/api/v1/elders/E001', role: 'manager' },
];

describe('elder routes: authorisation', () => {
  it.each(routes)('$method $url: 401 without a session', async ({ method, url, payload }) => {
    const res = await app.inject({ method, url, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain('王秀英');
  });

  it.each(routes.filter((r) => r.method !== 'GET'))('$method $url: 403 without the CSRF token', async ({ method, url, payload }) => {
    const res = await app.inject({ method, url, headers: { cookie: staff.cookie }, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(403);
    expect(reg.registry.get('E001')).toMatchObject({ status: 'active', revision: 2 });
  });

  it.each(routes.filter((r) => r.role === 'manager'))('$method $url: 403 for staff, allowed for a manager', async ({ method, url }) => {
    const refused = await app.inject({ method, url, headers: staff.headers });
    expect(refused.statusCode).toBe(403);
    expect(reg.registry.get('E001')).toBeDefined();
    const ok = await app.inject({ method, url, headers: manager.headers });
    expect(ok.statusCode).toBe(200);
  });

  it('a full ID-card number: 403 for staff, shown to a manager', async () => {
    expect((await app.inject({ url: '/api/v1/elders/E001?idNumber=full', headers: { cookie: staff.cookie } })).statusCode).toBe(403);
    const res = await app.inject({ url: '/api/v1/elders/E001?idNumber=full', headers: { cookie: manager.cookie } });
    expect(res.json()).toMatchObject({ elder: { idNumber: ID_A } });
  });
});

describe('elder routes: what staff do', () => {
  it('lists and searches, ID numbers masked', async () => {
    reg.registry.create({ elderId: 'E002', name: '李桂兰' }, 'S01');
    const all = await app.inject({ url: '/api/v1/elders', headers: { cookie: staff.cookie } });
    expect(all.json()).toMatchObject({ total: 2, elders: [{ elderId: 'E001', idNumber: '**************002X', consent: { signedBy: 'elder' } }, { elderId: 'E002' }] });
    expect(all.body).not.toContain(ID_A);
    const byTail = await app.inject({ url: '/api/v1/elders?q=002X', headers: { cookie: staff.cookie } });
    expect(byTail.json<{ elders: { elderId: string }[] }>().elders.map((e) => e.elderId)).toEqual(['E001']);
    const byName = await app.inject({ url: `/api/v1/elders?q=${encodeURIComponent('李')}`, headers: { cookie: staff.cookie } });
    expect(byName.json<{ elders: { elderId: string }[] }>().elders.map((e) => e.elderId)).toEqual(['E002']);
  });

  it('registers with consent, by the logged-in staff member; bad input is a 400 naming every problem', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/elders', headers: staff.headers, payload: { name: '李桂兰', idNumber: '440300194001011235', category: '低保', consent: { signedBy: 'guardian', guardianName: '李小红' } } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ elder: { elderId: 'E0002', name: '李桂兰', idNumber: '**************1235', consent: { signedBy: 'guardian', guardianName: '李小红', staffId: staff.staffId } } });
    const bad = await app.inject({ method: 'POST', url: '/api/v1/elders', headers: staff.headers, payload: { name: '', idNumber: '440300194001011234', category: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ problems: string[] }>().problems).toEqual([expect.stringMatching(/^name/), expect.stringMatching(/^idNumber: .*should be 5, not 4/), expect.stringMatching(/^category/)]);
    const dup = await app.inject({ method: 'POST', url: '/api/v1/elders', headers: staff.headers, payload: { name: '王某', idNumber: ID_A } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json<{ error: string }>().error).toMatch(/as elder E001/);
    const json = await app.inject({ method: 'POST', url: '/api/v1/elders', headers: staff.headers, payload: { name: '张三', descriptor: [1, 2] } });
    expect(json.statusCode).toBe(400);
  });

  it('edits, suspends and reactivates; 404 for an unknown elder', async () => {
    const edit = await app.inject({ method: 'PATCH', url: '/api/v1/elders/E001', headers: staff.headers, payload: { phone: '0571-8765 4321' } });
    expect(edit.json()).toMatchObject({ elder: { phone: '0571-8765 4321', revision: 3 } });
    const s = await app.inject({ method: 'POST', url: '/api/v1/elders/E001/status', headers: staff.headers, payload: { status: 'suspended' } });
    expect(s.json()).toMatchObject({ elder: { status: 'suspended' } });
    const a = await app.inject({ method: 'POST', url: '/api/v1/elders/E001/status', headers: staff.headers, payload: { status: 'active' } });
    expect(a.json()).toMatchObject({ elder: { status: 'active', revision: 5 } });
    expect((await app.inject({ method: 'PATCH', url: '/api/v1/elders/E404', headers: staff.headers, payload: { phone: '13800138000' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/v1/elders/E001/status', headers: staff.headers, payload: { status: 'gone' } })).statusCode).toBe(400);
    // Every change went to the outbox, each once.
    const revisions = createOutboxRepository(db)
      .takeOldest(100)
      .map((r) => r.event)
      .filter((e) => 'type' in e && e.type === 'elder')
      .map((e) => ('revision' in e ? e.revision : 0));
    expect(revisions).toEqual([1, 2, 3, 4, 5]);
  });

  it('a manager removes an elder: templates deleted at once', async () => {
    reg.elders.addTemplate('E001', syntheticDescriptor(1), 'live-1', FACE_API_MODEL);
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/elders/E001', headers: manager.headers });
    expect(res.json()).toEqual({ removed: { elderId: 'E001', name: '王秀英', templates: 1 } });
    expect(reg.elders.countTemplates()).toBe(0);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/elders/E001', headers: manager.headers })).statusCode).toBe(404);
  });

  it('records and withdraws consent; shows the consent text', async () => {
    reg.elders.addTemplate('E001', syntheticDescriptor(1), 'live-1', FACE_API_MODEL);
    const w = await app.inject({ method: 'POST', url: '/api/v1/elders/E001/consent/withdraw', headers: staff.headers });
    expect(w.json()).toMatchObject({ templatesDeleted: 1 });
    expect(w.json<{ elder: { consent?: unknown } }>().elder.consent).toBeUndefined();
    const noName = await app.inject({ method: 'POST', url: '/api/v1/elders/E001/consent', headers: staff.headers, payload: { signedBy: 'guardian' } });
    expect(noName.statusCode).toBe(400);
    const c = await app.inject({ method: 'POST', url: '/api/v1/elders/E001/consent', headers: staff.headers, payload: { signedBy: 'guardian', guardianName: '王小明', signedOn: '2025-03-09' } });
    expect(c.json()).toMatchObject({ elder: { consent: { textVersion: '2025-01', signedOn: '2025-03-09', guardianName: '王小明', staffId: staff.staffId } } });
    const text = await app.inject({ url: '/api/v1/consent-texts/current', headers: { cookie: staff.cookie } });
    expect(text.json()).toMatchObject({ version: '2025-01', lang: 'zh-CN', current: true, text: expect.stringContaining('知情同意书') as unknown });
    expect((await app.inject({ url: '/api/v1/consent-texts/1999-01', headers: { cookie: staff.cookie } })).statusCode).toBe(404);
  });
});
