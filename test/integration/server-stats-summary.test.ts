/**
 * The bureau's statistics through the real HTTP app (inject) on real SQLite: meals through the
 * real meal ingest, elders through the registry's record handler, voids through the void
 * handler, boxes through the device repository ingest writes. The summary's amounts are checked
 * against the monthly settlement's own answer, not against numbers worked out here.
 */
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MealEvent } from '../../common/contract.ts';
import type { ElderRecord, VoidRecord } from '../../common/records.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createCentreRepository } from '../../server/src/modules/centres/centre-repository.ts';
import { createDecisionRepository } from '../../server/src/modules/bureau/decision-repository.ts';
import { createDistrictRepository } from '../../server/src/modules/centres/district-repository.ts';
import { createElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { createDeviceCredentialRepository } from '../../server/src/modules/devices/credential-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createVoidRepository } from '../../server/src/modules/meals/void-repository.ts';
import type { HealthReport, WelfareReport } from '../../server/src/modules/stats/centre-health.ts';
import type { Summary } from '../../server/src/modules/stats/stats-summary.ts';
import { batch, mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance | undefined;
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

beforeEach(() => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  db.close();
  tmp.cleanup();
});

async function start(now: Date, stats?: Parameters<typeof buildApp>[0]['stats']) {
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN, clock: { now: () => now }, ...(stats ? { stats } : {}) });
  return app;
}
const get = async <T>(url: string) => {
  const res = await app!.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as T;
};
const send = (method: 'PUT' | 'POST', url: string, payload: object) => app!.inject({ method, url: `/api/v1${url}`, headers: auth, payload });

function registerElder(elderId: string, name: string, category: string | undefined, centreId = 'c1', status: ElderRecord['status'] = 'active', phone?: string) {
  const r: ElderRecord = { type: 'elder', eventId: uuidv7(), centreId, deviceId: 'd1', at: '2025-02-01T02:00:00.000Z', elderId, revision: 1, removed: false, change: 'created', name, ...(category ? { category } : {}), ...(phone ? { phone } : {}), status, staffId: 'S01' };
  createElderRegistryRepository(db).handler.apply(r, new Date('2025-02-01T03:00:00Z'));
}
/** Ingests a meal as the server does, received the same evening. */
function eat(o: Partial<MealEvent>): MealEvent {
  const e = mealEvent(o);
  const r = createMealRepository(db).ingest(batch(e), e.centreId, e.deviceId, new Date(`${e.serviceDate}T12:00:00.000Z`));
  expect(r.rejected).toEqual([]);
  expect(r.forReview).toBe(0);
  return e;
}
function voidMeal(e: MealEvent) {
  const v: VoidRecord = { type: 'void', eventId: uuidv7(), centreId: e.centreId, deviceId: e.deviceId, at: `${e.serviceDate}T06:00:00.000Z`, voids: e.eventId, reason: '认错人', staffId: 'S01' };
  createVoidRepository(db).apply(v, new Date(`${e.serviceDate}T12:00:00.000Z`));
}

describe('GET /stats/summary', () => {
  /** The settlement test's month: rules by date, a month meal cap, a void, a duplicate, no category; plus February and another centre. */
  async function setUp() {
    await start(new Date('2025-04-02T02:00:00.000Z'));
    const now = new Date('2025-02-01T00:00:00Z');
    createDistrictRepository(db).put('north', '北区', now);
    const centres = createCentreRepository(db);
    centres.set('c1', { name: '一中心', districtId: 'north' }, now);
    centres.set('c2', { name: '二中心' }, now);
    expect((await send('PUT', '/categories/low-income', { name: '低保' })).statusCode).toBe(200);
    expect((await send('PUT', '/categories/over-80', { name: '高龄' })).statusCode).toBe(200);
    for (const rule of [
      { category: 'low-income', meal: 'lunch', amountFen: 500, maxPerDay: 1, effectiveFrom: '2025-01-01', effectiveTo: '2025-03-15' },
      { category: 'low-income', meal: 'lunch', amountFen: 600, effectiveFrom: '2025-03-16' },
      { category: 'over-80', meal: 'any', amountFen: 300, maxMealsPerMonth: 3, effectiveFrom: '2025-01-01' },
    ]) expect((await send('POST', '/subsidy-rules', rule)).statusCode).toBe(201);
    registerElder('E1', '王秀英', '低保');
    registerElder('E2', '李建国', '高龄');
    registerElder('E3', '张桂兰', undefined);
    for (const d of ['14', '15', '16', '17']) eat({ elderId: 'E1', serviceDate: `2025-03-${d}` });
    voidMeal(eat({ elderId: 'E1', serviceDate: '2025-03-18' }));
    eat({ elderId: 'E1', serviceDate: '2025-03-14' }); // a second check-in: a duplicate attempt
    for (const [d, m] of [['01', 'breakfast'], ['01', 'lunch'], ['02', 'dinner'], ['03', 'lunch'], ['04', 'lunch']] as const) {
      eat({ elderId: 'E2', serviceDate: `2025-03-${d}`, meal: m, ...(d === '02' ? { method: 'delivery', staffId: 'S01' } : {}) });
    }
    eat({ elderId: 'E3', serviceDate: '2025-03-05', method: 'manual', staffId: 'S01' });
    eat({ elderId: 'E9', serviceDate: '2025-03-05', centreId: 'c2' });
    // February (the period before March 1-31 is January 29 - February 28).
    for (const d of ['10', '11']) eat({ elderId: 'E1', serviceDate: `2025-02-${d}` });
  }

  it("gives the month's amounts exactly as the settlement does, per centre and category", async () => {
    await setUp();
    const byCentre = await get<Summary>('/stats/summary?from=2025-03-01&to=2025-03-31&groupBy=centre');
    const settlement = await get<{ centres: Array<{ centreId: string; meals: number; subsidised: number; amountFen: number; voided: number }> }>('/settlement/summary?month=2025-03');
    expect(byCentre.rows.map((r) => [r.key, r.label, r.meals, r.subsidisedMeals, r.amountFen, r.voids])).toEqual(
      settlement.centres.map((c) => [c.centreId, c.centreId === 'c1' ? '一中心' : '二中心', c.meals, c.subsidised, c.amountFen, c.voided]),
    );
    expect(byCentre.totals).toMatchObject({ meals: 11, distinctElders: 4, voids: 1, duplicates: 1, previous: { meals: 2, distinctElders: 1, amountFen: 1000 } });
    expect(byCentre.totals.amountFen).toBe(settlement.centres.reduce((n, c) => n + c.amountFen, 0));

    const report = await get<{ categories: Array<{ category: string | null; name: string | null; meals: number; amountFen: number }> }>('/settlement?centreId=c1&month=2025-03');
    const byCategory = await get<Summary>('/stats/summary?from=2025-03-01&to=2025-03-31&groupBy=category&centreId=c1');
    expect(byCategory.rows.map((r) => [r.key, r.label, r.meals, r.amountFen])).toEqual(report.categories.map((c) => [c.category, c.name, c.meals, c.amountFen]));
    expect(byCategory.rows.find((r) => r.key === 'low-income')).toMatchObject({ duplicates: 1, voids: 1 });
  });

  it('counts month caps from the 1st even when the range starts later', async () => {
    await setUp();
    // E2's 4th and 5th meals (03-03, 03-04) are over the 3-meal month cap.
    const s = await get<Summary>('/stats/summary?from=2025-03-03&to=2025-03-04&groupBy=day');
    expect(s.rows.map((r) => [r.key, r.meals, r.subsidisedMeals, r.amountFen])).toEqual([
      ['2025-03-03', 1, 0, 0],
      ['2025-03-04', 1, 0, 0],
    ]);
    // Against March 1-2, the first three meals at 3.00.
    expect(s.totals.previous).toMatchObject({ meals: 3, subsidisedMeals: 3, amountFen: 900 });
    // Across a month's end: February 11 (5.00) and March 1 (two at 3.00); February 10 is outside.
    const across = await get<Summary>('/stats/summary?from=2025-02-11&to=2025-03-01&groupBy=centre');
    expect(across.totals).toMatchObject({ meals: 3, subsidisedMeals: 3, amountFen: 1100, distinctElders: 2 });
  });

  it('groups by district, week, month, meal and method; filters by district', async () => {
    await setUp();
    const q = (g: string, extra = '') => get<Summary>(`/stats/summary?from=2025-03-01&to=2025-03-31&groupBy=${g}${extra}`);
    expect((await q('district')).rows.map((r) => [r.key, r.label, r.meals])).toEqual([['north', '北区', 10], [null, null, 1]]);
    expect((await q('month')).rows.map((r) => [r.key, r.meals, r.previous.meals])).toEqual([['2025-03', 11, 2]]);
    // February 10-11 compare with 31 days later: March 13-14, in week 11.
    expect((await q('isoWeek')).rows.map((r) => [r.key, r.meals, r.previous.meals])).toEqual([['2025-W09', 3, 0], ['2025-W10', 4, 0], ['2025-W11', 3, 2], ['2025-W12', 1, 0]]);
    expect((await q('meal')).rows.map((r) => [r.key, r.meals])).toEqual([['breakfast', 1], ['lunch', 9], ['dinner', 1]]);
    expect((await q('method')).rows.map((r) => [r.key, r.meals])).toEqual([['face', 9], ['manual', 1], ['delivery', 1]]);
    expect((await q('centre', '&districtId=north')).rows.map((r) => r.key)).toEqual(['c1']);
  });

  it.each([
    ['an unknown grouping', '/stats/summary?from=2025-03-01&to=2025-03-31&groupBy=week', 400, /groupBy/],
    ['a misspelt parameter', '/stats/summary?from=2025-03-01&to=2025-03-31&groupby=day', 400, /unknown query parameter "groupby"/],
    ['to before from', '/stats/summary?from=2025-03-31&to=2025-03-01', 400, /before from/],
    ['an unknown district', '/stats/summary?from=2025-03-01&to=2025-03-31&districtId=west', 400, /no district "west"/],
  ])('%s', async (_name, url, status, message) => {
    await start(new Date('2025-04-02T02:00:00.000Z'));
    const res = await app!.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth });
    expect(res.statusCode).toBe(status);
    expect(res.json().message).toMatch(message);
  });

  it('leaves the old /stats/meals answer as it was', async () => {
    await setUp();
    const old = await get<{ rows: unknown[]; total: number; voided: number }>('/stats/meals?from=2025-03-01&to=2025-03-31&groupBy=centre');
    expect(old).toMatchObject({ total: 11, voided: 1, rows: [{ centreId: 'c1', meals: 10, voided: 1 }, { centreId: 'c2', meals: 1, voided: 0 }] });
  });
});

describe('GET /stats/health', () => {
  /** Monday 2025-03-10, 14:00 in Shanghai (c1), 12:00 in Urumqi (c2). */
  const NOW = new Date('2025-03-10T06:00:00.000Z');
  const MONDAYS = ['2025-03-03', '2025-02-24', '2025-02-17', '2025-02-10'];

  async function setUp() {
    const centres = createCentreRepository(db);
    centres.set('c1', { name: '一中心' }, NOW);
    centres.set('c2', { name: '二中心', timeZone: 'Asia/Urumqi' }, NOW);
    // Lunch on the last four Mondays at both: 2, 3, 1, 2 elders (usual: 2); none today.
    const per = [2, 3, 1, 2];
    MONDAYS.forEach((date, i) => {
      for (let k = 0; k < per[i]!; k++) {
        eat({ centreId: 'c1', elderId: `A${k}`, serviceDate: date });
        eat({ centreId: 'c2', deviceId: 'd2', elderId: `B${k}`, serviceDate: date, at: `${date}T11:42:00.000+06:00` });
      }
    });
    // Breakfast today at c1 (usually none).
    eat({ centreId: 'c1', elderId: 'A0', serviceDate: '2025-03-10', meal: 'breakfast' });
    const devices = createDeviceRepository(db);
    devices.setStatus('c1', 'd1', 'online', new Date('2025-03-10T00:00:00Z'));
    devices.setStatus('c2', 'd2', 'offline', new Date('2025-03-10T05:00:00Z'));
    devices.seen('c2', 'd3', new Date('2025-03-10T05:50:00Z'));
  }

  it("flags a centre silent once a usual meal's window and grace have passed with none, in the centre's own time", async () => {
    await setUp();
    await start(NOW);
    const h = await get<HealthReport>('/stats/health');
    expect(h).toMatchObject({ at: NOW.toISOString(), offlineAfterMinutes: 15, silentGraceMinutes: 30 });
    const [c1, c2] = h.centres;
    expect(c1).toMatchObject({ centreId: 'c1', name: '一中心', timeZone: 'Asia/Shanghai', localDate: '2025-03-10', localTime: '14:00', silent: true, offline: false, boxesOnline: 1, boxesOffline: 0 });
    expect(c1!.meals.map((m) => [m.meal, m.state, m.today, m.sameWeekdays, m.usual, m.silent])).toEqual([
      ['breakfast', 'closed', 1, [0, 0, 0, 0], 0, false],
      ['lunch', 'closed', 0, [2, 3, 1, 2], 2, true],
      ['dinner', 'upcoming', 0, [0, 0, 0, 0], 0, false],
    ]);
    // At Urumqi's noon lunch is still open: not silent.
    expect(c2).toMatchObject({ centreId: 'c2', timeZone: 'Asia/Urumqi', localTime: '12:00', silent: false, offline: true, boxesOnline: 1, boxesOffline: 1 });
    expect(c2!.meals.find((m) => m.meal === 'lunch')).toMatchObject({ state: 'open', usual: 2, silent: false });
    // d2 said offline an hour ago; d3 never said, but sent a batch 10 minutes ago.
    expect(c2!.boxes.map((b) => [b.deviceId, b.status, b.online])).toEqual([['d2', 'offline', false], ['d3', 'unknown', true]]);
    expect(h.totals).toEqual({ centres: 2, offline: 1, silent: 1, boxes: 3, boxesOffline: 1 });
  });

  it('lists a registered box never heard from as offline, and not a box whose credential was removed', async () => {
    await setUp();
    const credentials = createDeviceCredentialRepository(db);
    for (const [c, d] of [['c1', 'd1'], ['c1', 'd9'], ['c2', 'd2'], ['c2', 'd3']]) await credentials.add(c!, d!, NOW);
    credentials.remove('c2', 'd3');
    await start(NOW);
    const h = await get<HealthReport>('/stats/health');
    expect(h.centres.map((c) => [c.centreId, c.boxes.map((b) => [b.deviceId, b.status, b.lastSeen, b.online]), c.offline])).toEqual([
      ['c1', [['d1', 'online', '2025-03-10T00:00:00.000Z', true], ['d9', 'unknown', null, false]], true],
      ['c2', [['d2', 'offline', '2025-03-10T05:00:00.000Z', false]], true],
    ]);
  });

  it('takes the grace and the offline time from the settings', async () => {
    await setUp();
    await start(NOW, { health: { silentGraceMinutes: 45, offlineAfterMinutes: 5 } });
    const h = await get<HealthReport>('/stats/health');
    expect(h.centres[0]!.silent).toBe(false);
    expect(h.centres[1]!.boxes.map((b) => b.online)).toEqual([false, false]);
  });
});

describe('GET /stats/welfare', () => {
  const NOW = new Date('2025-03-10T06:00:00.000Z');

  it('lists regulars not seen for the days set, except those whose absence is explained (by the box or the bureau) or who eat elsewhere', async () => {
    createCentreRepository(db).set('c1', { name: '一中心' }, NOW);
    registerElder('R1', '王秀英', undefined, 'c1', 'active', '13800138000');
    registerElder('R2', '李建国', undefined, 'c1', 'deceased');
    registerElder('R3', '张桂兰', undefined);
    for (const d of ['01', '02', '03']) for (const e of ['R1', 'R2', 'R3', 'R5']) eat({ elderId: e, serviceDate: `2025-03-${d}` });
    for (const d of ['02', '03']) eat({ elderId: 'R4', serviceDate: `2025-03-${d}` }); // not a regular
    eat({ elderId: 'R3', serviceDate: '2025-03-09', centreId: 'c3' }); // eats at another centre now
    eat({ elderId: 'R5', serviceDate: '2025-03-08' }); // seen 2 days ago
    // R6: active on the box, but the bureau has recorded the move.
    registerElder('R6', '赵淑珍', undefined);
    for (const d of ['01', '02', '03']) eat({ elderId: 'R6', serviceDate: `2025-03-${d}` });
    createDecisionRepository(db).add({ centreId: 'c1', elderId: 'R6', status: 'moved', category: null, effectiveOn: '2025-03-04', reason: '随子女迁居', decidedBy: 'u-admin' }, NOW);
    await start(NOW, { welfare: { minMeals: 3, absentDays: 3 } });
    const w = await get<WelfareReport>('/stats/welfare');
    expect(w).toMatchObject({ minMeals: 3, absentDays: 3, windowDays: 28, total: 1 });
    expect(w.elders).toEqual([{ centreId: 'c1', centreName: '一中心', elderId: 'R1', name: '王秀英', phone: '13800138000', lastMealDate: '2025-03-03', daysAbsent: 7, mealsInWindow: 3 }]);
  });

  it('uses the defaults: 8 meals in 28 days, 3 days absent', async () => {
    // The window is February 11 - March 10: R1 has 8 meals in it, R2 7 (and one on February 10).
    for (let d = 11; d <= 18; d++) eat({ elderId: 'R1', serviceDate: `2025-02-${d}` });
    for (let d = 10; d <= 17; d++) eat({ elderId: 'R2', serviceDate: `2025-02-${d}` });
    await start(NOW);
    const w = await get<WelfareReport>('/stats/welfare');
    expect(w.elders.map((e) => [e.elderId, e.name, e.daysAbsent, e.mealsInWindow])).toEqual([['R1', null, 20, 8]]);
  });
});
