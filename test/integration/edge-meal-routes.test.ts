/**
 * The meals-by-hand API and pages through the real edge HTTP app (inject), logged in for real:
 * every route 401 without a session, 403 without the CSRF token or with a role too low, and
 * what each answers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { uuidV7Ids } from '../../common/clock.ts';
import type { MealEvent, VoidRecord } from '../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, parseMealWindows } from '../../common/meal-windows.ts';
import type { Db } from '../../common/sqlite.ts';
import { createAuditLog } from '../../edge/src/audit/audit-log.ts';
import type { StaffService } from '../../edge/src/staff/staff-service.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { createStaffMealService } from '../../edge/src/meals/staff-meal-service.ts';
import { createTodayService } from '../../edge/src/meals/today-service.ts';
import type { OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { mealWebPlugin } from '../../edge/src/web/meal-routes.ts';
import type { StatusServer } from '../../edge/src/web/status-server.ts';
import { edgeTempDir, openEdgeDb, TestClock, testCheckInService } from '../helpers/edge-fixtures.ts';
import { login, loginAs, staffTestApp, type StaffSession } from '../helpers/staff-session.ts';

// 12:00 in Shanghai: lunch.
const LUNCH = '2025-03-10T04:00:00.000Z';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let server: StatusServer;
let app: FastifyInstance;
let staff: StaffService;
let service: CheckInService;
let outbox: OutboxRepository;
let worker: StaffSession;
let manager: StaffSession;

beforeEach(async () => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock(LUNCH);
  const built = testCheckInService(db, clock);
  ({ service, outbox } = built);
  const { elders } = built;
  elders.upsertElder('E1', '王秀英');
  elders.upsertElder('E2', '李建国');
  const audit = createAuditLog({ db, clock, ids: uuidV7Ids });
  const meals = createStaffMealService({ db, checkIns: service, audit });
  const today = createTodayService({ checkIns: createCheckInRepository(db), elders, windows: parseMealWindows(DEFAULT_MEAL_WINDOWS), timeZone: 'Asia/Shanghai', clock });
  ({ server, app, staff } = staffTestApp(db, clock, { plugins: [mealWebPlugin({ meals, today, elders, timeZone: 'Asia/Shanghai' })] }));
  worker = await loginAs(app, staff, { role: 'staff', staffId: 'S01', name: '张丽' });
  manager = await loginAs(app, staff, { role: 'manager', staffId: 'M01', name: '刘经理' });
});

afterEach(async () => {
  await server.stop();
  db.close();
  tmp.cleanup();
});

const post = (url: string, who: StaffSession | undefined, payload: object, csrf = true) =>
  app.inject({ method: 'POST', url, payload, headers: who ? (csrf ? who.headers : { cookie: who.cookie }) : {} });
const get = (url: string, who?: StaffSession, html = false) => app.inject({ method: 'GET', url, headers: { ...(who ? { cookie: who.cookie } : {}), ...(html ? { accept: 'text/html' } : {}) } });
const form = (url: string, who: StaffSession, fields: Record<string, string>) =>
  app.inject({ method: 'POST', url, payload: new URLSearchParams({ _csrf: who.csrfToken, ...fields }).toString(), headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' } });
const auditActions = () => db.prepare("SELECT action || ':' || coalesce(staff_id, '') FROM audit_log WHERE action IN ('manual-meal', 'void') ORDER BY seq").pluck().all();

describe('who may call the meal routes', () => {
  it('answers 401 without a session on every route (pages send a browser to the login)', async () => {
    const eventId = '00000000-0000-7000-8000-000000000001';
    const replies = await Promise.all([
      get('/api/v1/meals/elders?q=王'),
      post('/api/v1/meals', undefined, { elderId: 'E1', method: 'manual' }),
      post(`/api/v1/meals/${eventId}/void`, undefined, { reason: 'x' }),
      get('/api/v1/meals/today'),
      get('/staff/today'),
      get('/staff/meals'),
      app.inject({ method: 'POST', url: '/staff/meals', payload: 'elderId=E1&method=manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      app.inject({ method: 'POST', url: '/staff/today/void', payload: `eventId=${eventId}&reason=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    ]);
    expect(replies.map((r) => r.statusCode)).toEqual([401, 401, 401, 401, 401, 401, 401, 401]);
    const page = await get('/staff/today', undefined, true);
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/staff/login?next=%2Fstaff%2Ftoday');
    expect(service.countAll()).toBe(0);
  });

  it('answers 403 to a state-changing request without the CSRF token, changing nothing', async () => {
    expect((await post('/api/v1/meals', worker, { elderId: 'E1', method: 'manual' }, false)).statusCode).toBe(403);
    const r = service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    if (r.status !== 'recorded') throw new Error(r.status);
    expect((await post(`/api/v1/meals/${r.checkIn.eventId}/void`, worker, { reason: 'x' }, false)).statusCode).toBe(403);
    const noToken = await app.inject({ method: 'POST', url: '/staff/meals', payload: 'elderId=E2&method=manual', headers: { cookie: worker.cookie, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(noToken.statusCode).toBe(403);
    expect(service.countAll()).toBe(1);
  });

  it("answers 403 to staff voiding an earlier day's check-in, and lets a manager", async () => {
    const r = service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    if (r.status !== 'recorded') throw new Error(r.status);
    clock.advance(24 * 3600_000);
    // A new day, a new session.
    worker = await login(app, 'S01', worker.pin);
    manager = await login(app, 'M01', manager.pin);
    const refused = await post(`/api/v1/meals/${r.checkIn.eventId}/void`, worker, { reason: '录错' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json<{ error: string }>().error).toMatch(/takes a manager/);
    expect((await post(`/api/v1/meals/${r.checkIn.eventId}/void`, manager, { reason: '录错' })).statusCode).toBe(200);
  });
});

describe('meal API', () => {
  it('searches elders by name or id', async () => {
    const res = await get(`/api/v1/meals/elders?q=${encodeURIComponent('秀英')}`, worker);
    expect(res.json()).toEqual({ elders: [{ elderId: 'E1', name: '王秀英', status: 'active' }] });
    expect((await get('/api/v1/meals/elders?q=', worker)).statusCode).toBe(400);
  });

  it('records a meal by hand as the logged-in staff member, once per window, with clear refusals', async () => {
    const res = await post('/api/v1/meals', worker, { elderId: 'E1', method: 'proxy', proxyName: ' 王强 ' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ checkIn: { elderId: 'E1', elderName: '王秀英', meal: 'lunch', method: 'proxy', staffId: 'S01', proxyName: '王强' } });
    const again = await post('/api/v1/meals', manager, { elderId: 'E1', method: 'manual' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ reason: 'already-checked-in', error: expect.stringMatching(/王秀英 already has lunch/) as string });
    expect((await post('/api/v1/meals', worker, { elderId: 'E9', method: 'manual' })).statusCode).toBe(404);
    const noName = await post('/api/v1/meals', worker, { elderId: 'E2', method: 'proxy' });
    expect([noName.statusCode, noName.json<{ error: string }>().error]).toEqual([400, 'a proxy meal needs the name of the person who collects it']);
    expect((await post('/api/v1/meals', worker, { elderId: 'E2', method: 'face' })).statusCode).toBe(400);
    // A staff id in the body is ignored: the session says who records.
    const asOther = await post('/api/v1/meals', worker, { elderId: 'E2', method: 'manual', staffId: 'M01' });
    expect([asOther.statusCode, asOther.json<{ checkIn: { staffId: string } }>().checkIn.staffId]).toEqual([201, 'S01']);
    clock.set('2025-03-10T06:00:00.000Z'); // 14:00
    worker = await login(app, 'S01', worker.pin); // the session idled out meanwhile
    const closed = await post('/api/v1/meals', worker, { elderId: 'E1', method: 'delivery' });
    expect([closed.statusCode, closed.json<{ reason: string }>().reason]).toEqual([409, 'outside-meal-window']);
    const sent = outbox.takeOldest(10).map((r) => r.event as MealEvent);
    expect(sent.map((e) => [e.elderId, e.method, e.staffId, e.proxyName])).toEqual([
      ['E1', 'proxy', 'S01', '王强'],
      ['E2', 'manual', 'S01', undefined],
    ]);
    expect(auditActions()).toEqual(['manual-meal:S01', 'manual-meal:S01']);
  });

  it('voids a check-in with a reason, once; today shows it voided and the totals without it', async () => {
    const rec = (await post('/api/v1/meals', worker, { elderId: 'E1', method: 'manual' })).json<{ checkIn: { eventId: string } }>().checkIn;
    await post('/api/v1/meals', worker, { elderId: 'E2', method: 'delivery' });
    const v = await post(`/api/v1/meals/${rec.eventId}/void`, worker, { reason: '认错人' });
    expect(v.statusCode).toBe(200);
    expect(v.json()).toMatchObject({ checkIn: { eventId: rec.eventId, voided: { staffId: 'S01', reason: '认错人' } } });
    const twice = await post(`/api/v1/meals/${rec.eventId}/void`, manager, { reason: 'again' });
    expect([twice.statusCode, twice.json<{ reason: string }>().reason]).toEqual([409, 'already-voided']);
    expect((await post('/api/v1/meals/00000000-0000-7000-8000-0000000000ff/void', worker, { reason: 'x' })).statusCode).toBe(404);
    expect((await post(`/api/v1/meals/${rec.eventId}/void`, worker, { reason: '' })).statusCode).toBe(400);
    expect((await post('/api/v1/meals/not-a-uuid/void', worker, { reason: 'x' })).statusCode).toBe(400);
    const record = outbox.takeOldest(10).map((r) => r.event).find((e): e is VoidRecord => 'type' in e && e.type === 'void');
    expect(record).toMatchObject({ voids: rec.eventId, staffId: 'S01', reason: '认错人' });

    const today = (await get('/api/v1/meals/today', worker)).json<{ current: { total: number; voided: number; byMethod: Record<string, number> }; checkIns: Array<{ eventId: string; voided?: unknown }> }>();
    expect(today.current).toMatchObject({ total: 1, voided: 1, byMethod: { manual: 0, delivery: 1 } });
    expect(today.checkIns.find((c) => c.eventId === rec.eventId)?.voided).toMatchObject({ reason: '认错人' });
    expect(auditActions()).toEqual(['manual-meal:S01', 'manual-meal:S01', 'void:S01']);
  });
});

describe('meal pages', () => {
  it('search, pick, record: the form posts and lands on today with a notice', async () => {
    const search = await get(`/staff/meals?q=${encodeURIComponent('王')}`, worker);
    expect(search.statusCode).toBe(200);
    expect(search.body).toContain('href="/staff/meals?elder=E1"');
    const pick = await get('/staff/meals?elder=E1', worker);
    expect(pick.body).toContain('id="record-form"');
    expect(pick.body).toContain('name="method" value="delivery"');
    const done = await form('/staff/meals', worker, { elderId: 'E1', method: 'delivery', proxyName: '' });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toMatch(/^\/staff\/today\?recorded=/);
    const landing = await get(done.headers.location as string, worker);
    expect(landing.body).toContain('已登记：王秀英 午餐，送餐上门。');
    expect(landing.body).toMatch(/<tr class="" data-event-id="[^"]+" data-method="delivery">/);
    // Twice: refused, the page says why.
    const again = await form('/staff/meals', worker, { elderId: 'E1', method: 'manual' });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('王秀英 本餐已登记');
    const proxy = await form('/staff/meals', worker, { elderId: 'E2', method: 'proxy', proxyName: '' });
    expect([proxy.statusCode, proxy.body.includes('代领时请填写代领人姓名。')]).toEqual([400, true]);
  });

  it('voids from today\'s page with a reason', async () => {
    const r = service.record({ elderId: 'E1', method: 'face', score: 0.3, cameraId: 'door' });
    if (r.status !== 'recorded') throw new Error(r.status);
    const page = await get('/staff/today', worker);
    expect(page.body).toContain(`value="${r.checkIn.eventId}"`);
    const empty = await form('/staff/today/void', worker, { eventId: r.checkIn.eventId, reason: ' ' });
    expect([empty.statusCode, empty.body.includes('请填写作废原因')]).toEqual([400, true]);
    const v = await form('/staff/today/void', worker, { eventId: r.checkIn.eventId, reason: '认错人' });
    expect(v.statusCode).toBe(303);
    const after = await get(v.headers.location as string, worker);
    expect(after.body).toContain('已作废 王秀英 的午餐签到');
    expect(after.body).toContain(`<tr class="voided" data-event-id="${r.checkIn.eventId}"`);
    expect(service.countAll()).toBe(0);
  });
});
