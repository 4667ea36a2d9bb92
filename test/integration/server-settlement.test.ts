/**
 * Subsidy rules and the monthly settlement through the real HTTP app (inject) on real SQLite:
 * meals through the real meal ingest, elders through the registry's record handler, voids
 * through the void handler. Exports are parsed back (CSV by hand, XLSX with exceljs) and
 * compared with the JSON report.
 */
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MealEvent } from '../../common/contract.ts';
import type { ElderRecord, VoidRecord } from '../../common/records.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createVoidRepository } from '../../server/src/modules/meals/void-repository.ts';
import { createSettlementAudit } from '../../server/src/modules/settlement/settlement-audit.ts';
import type { SettlementReport } from '../../server/src/modules/settlement/settlement-service.ts';
import { batch, mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;
const auth = { authorization: `Bearer ${TEST_TOKEN}` };
const NOW = new Date('2025-04-02T02:00:00.000Z');

beforeEach(async () => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN, clock: { now: () => NOW } });
});
afterEach(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) => app.inject({ method, url: `/api/v1${url}`, headers: auth, ...(payload ? { payload } : {}) });

function registerElder(elderId: string, name: string, category: string | undefined, centreId = 'c1') {
  const r: ElderRecord = {
    type: 'elder',
    eventId: uuidv7(),
    centreId,
    deviceId: 'd1',
    at: '2025-02-20T02:00:00.000Z',
    elderId,
    revision: 1,
    removed: false,
    change: 'created',
    name,
    ...(category ? { category } : {}),
    status: 'active',
    staffId: 'S01',
  };
  createElderRegistryRepository(db).handler.apply(r, new Date('2025-02-20T03:00:00Z'));
}

const meals = () => createMealRepository(db);
/** Ingests a meal as the server does, received the same evening. */
function eat(o: Partial<MealEvent>): MealEvent {
  const e = mealEvent(o);
  const r = meals().ingest(batch(e), e.centreId, e.deviceId, new Date(`${e.serviceDate}T12:00:00.000Z`));
  expect(r.rejected).toEqual([]);
  return e;
}
function voidMeal(e: MealEvent) {
  const v: VoidRecord = { type: 'void', eventId: uuidv7(), centreId: e.centreId, deviceId: e.deviceId, at: `${e.serviceDate}T06:00:00.000Z`, voids: e.eventId, reason: '认错人', staffId: 'S01' };
  createVoidRepository(db).apply(v, new Date(`${e.serviceDate}T12:00:00.000Z`));
}

async function setUpRules() {
  expect((await api('PUT', '/categories/low-income', { name: '低保' })).statusCode).toBe(200);
  expect((await api('PUT', '/categories/over-80', { name: '高龄' })).statusCode).toBe(200);
  const a = await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'lunch', amountFen: 500, maxPerDay: 1, effectiveFrom: '2025-01-01', effectiveTo: '2025-03-15' });
  expect(a.statusCode, a.body).toBe(201);
  expect((await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'lunch', amountFen: 600, effectiveFrom: '2025-03-16' })).statusCode).toBe(201);
  expect((await api('POST', '/subsidy-rules', { category: 'over-80', meal: 'any', amountFen: 300, maxMealsPerMonth: 3, effectiveFrom: '2025-01-01' })).statusCode).toBe(201);
}

/** 王秀英 (低保): lunches 03-14..03-17 (two at 5.00, two at 6.00), one voided; 李建国 (高龄): 5 meals, cap 3; 张桂兰: no category. */
async function setUpMonth() {
  await setUpRules();
  registerElder('E1', '王秀英', '低保');
  registerElder('E2', '李建国', '高龄');
  registerElder('E3', '张桂兰', undefined);
  for (const d of ['14', '15', '16', '17']) eat({ elderId: 'E1', serviceDate: `2025-03-${d}` });
  const wrong = eat({ elderId: 'E1', serviceDate: '2025-03-18' });
  voidMeal(wrong);
  eat({ elderId: 'E1', serviceDate: '2025-03-14', meal: 'lunch' }); // a second check-in: a duplicate attempt
  for (const [d, m] of [['01', 'breakfast'], ['01', 'lunch'], ['02', 'dinner'], ['03', 'lunch'], ['04', 'lunch']] as const) eat({ elderId: 'E2', serviceDate: `2025-03-${d}`, meal: m, method: d === '02' ? 'delivery' : 'face', ...(d === '02' ? { staffId: 'S01' } : {}) });
  eat({ elderId: 'E3', serviceDate: '2025-03-05', method: 'manual', staffId: 'S01' });
  eat({ elderId: 'E9', serviceDate: '2025-03-05', centreId: 'c2' }); // another centre
}

describe('categories and rules', () => {
  it('refuses an overlapping rule with a 400 naming the rule, and `any` overlaps every meal', async () => {
    await setUpRules();
    const same = await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'lunch', amountFen: 700, effectiveFrom: '2025-03-01', effectiveTo: '2025-03-31' });
    expect(same.statusCode).toBe(400);
    expect(same.json().message).toMatch(/overlaps rule 1 \(low-income, lunch, 2025-01-01 to 2025-03-15\)/);
    const any = await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'any', amountFen: 100, effectiveFrom: '2026-01-01' });
    expect(any.statusCode).toBe(400);
    expect(any.json().message).toMatch(/overlaps rule 2/);
    // Ending rule 2 first makes room.
    expect((await api('PATCH', '/subsidy-rules/2', { effectiveTo: '2025-12-31' })).json()).toMatchObject({ id: 2, effectiveTo: '2025-12-31' });
    expect((await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'any', amountFen: 100, effectiveFrom: '2026-01-01' })).statusCode).toBe(201);
    // Dinner beside lunch is no overlap.
    expect((await api('POST', '/subsidy-rules', { category: 'over-80', meal: 'dinner', amountFen: 100, effectiveFrom: '2030-01-01' })).statusCode).toBe(400);
    const rules = (await api('GET', '/subsidy-rules?category=low-income')).json().rules as Array<{ id: number; amountFen: number }>;
    expect(rules.map((r) => r.amountFen)).toEqual([500, 600, 100]);
  });

  it.each([
    ['an unknown category', { category: 'nobody', meal: 'lunch', amountFen: 500, effectiveFrom: '2025-01-01' }, /no category nobody/],
    ['a date that is not one', { category: 'low-income', meal: 'lunch', amountFen: 500, effectiveFrom: '2025-02-30' }, /effectiveFrom must be a calendar date/],
    ['an end before the start', { category: 'low-income', meal: 'lunch', amountFen: 500, effectiveFrom: '2027-02-01', effectiveTo: '2027-01-01' }, /before effectiveFrom/],
    ['yuan instead of fen', { category: 'low-income', meal: 'lunch', amountFen: 5.5, effectiveFrom: '2027-01-01' }, /amountFen/],
    ['a meal that is not one', { category: 'low-income', meal: 'supper', amountFen: 500, effectiveFrom: '2027-01-01' }, /meal/],
  ])('400 for %s', async (_name, body, message) => {
    await setUpRules();
    const res = await api('POST', '/subsidy-rules', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(message);
  });

  it('404 for a rule that is not there; 401 without the token; changes are audited', async () => {
    await setUpRules();
    expect((await api('DELETE', '/subsidy-rules/99')).statusCode).toBe(404);
    expect((await api('DELETE', '/subsidy-rules/3')).json()).toEqual({ removed: 3 });
    expect((await app.inject({ method: 'POST', url: '/api/v1/subsidy-rules', payload: {} })).statusCode).toBe(401);
    // The page sends a browser without a session to sign in.
    const page = await app.inject({ method: 'GET', url: '/bureau/settlement?centreId=c1&month=2025-03' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe(`/bureau/login?next=${encodeURIComponent('/bureau/settlement?centreId=c1&month=2025-03')}`);
    const actions = createSettlementAudit(db).list(20).map((r) => `${r.action} ${r.subject}`).reverse();
    expect(actions).toEqual(['category-set low-income', 'category-set over-80', 'rule-add 1', 'rule-add 2', 'rule-add 3', 'rule-remove 3']);
  });

  it("gives a centre's effective rules as plain JSON for its boxes", async () => {
    await setUpRules();
    const res = await api('GET', '/centres/c1/subsidy-rules?date=2025-03-20');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.categories).toEqual([{ code: 'low-income', name: '低保' }, { code: 'over-80', name: '高龄' }]);
    // Rule 1 ended on 03-15: not sent.
    expect(body.rules.map((r: { id: number }) => r.id)).toEqual([2, 3]);
    expect(body.rules[0]).not.toHaveProperty('createdBy');
  });
});

describe('GET /settlement', () => {
  it('settles a centre-month: rules per day, caps, voids, duplicates, no category', async () => {
    await setUpMonth();
    const res = await api('GET', '/settlement?centreId=c1&month=2025-03');
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json() as SettlementReport;
    expect(r).toMatchObject({ centreId: 'c1', month: '2025-03', status: 'open', snapshot: null });
    const [e1, e2, e3] = r.elders;
    expect(e1).toMatchObject({ elderId: 'E1', name: '王秀英', category: 'low-income', categoryName: '低保', meals: 4, subsidised: 4, amountFen: 500 + 500 + 600 + 600, duplicates: 1, flags: [] });
    expect(e1!.voided).toEqual([expect.objectContaining({ serviceDate: '2025-03-18', meal: 'lunch' })]);
    expect(e2).toMatchObject({ elderId: 'E2', category: 'over-80', meals: 5, subsidised: 3, amountFen: 900, byMethod: { face: 4, delivery: 1, manual: 0, proxy: 0 } });
    expect(e2!.unsubsidised.map((u) => `${u.serviceDate} ${u.reason}`)).toEqual(['2025-03-03 month-meal-cap', '2025-03-04 month-meal-cap']);
    expect(e3).toMatchObject({ elderId: 'E3', name: '张桂兰', category: null, meals: 1, amountFen: 0, flags: ['no-category'] });
    expect(r.totals).toMatchObject({ elders: 3, meals: 10, subsidised: 7, unsubsidised: 3, amountFen: 3100, voided: 1, duplicates: 1, totalFen: 3100 });
    expect(r.categories.map((c) => [c.category, c.amountFen])).toEqual([['low-income', 2200], ['over-80', 900], [null, 0]]);
  });

  it("counts the bureau's confirmed category over the box's, for meals from the decision's day on", async () => {
    await setUpMonth();
    const decide = async (elderId: string, body: { category?: string; effectiveOn: string }) => {
      const res = await api('POST', `/centres/c1/elders/${elderId}/decisions`, { status: 'active', reason: '民政核定', ...body });
      expect(res.statusCode, res.body).toBe(201);
    };
    // 李建国: the box says 高龄; the bureau confirms 低保 (by code) from 03-03.
    await decide('E2', { category: 'low-income', effectiveOn: '2025-03-03' });
    // 张桂兰: the box forwarded no category; the bureau said 高龄, then corrected it to 低保 for the same day.
    await decide('E3', { category: '高龄', effectiveOn: '2025-03-01' });
    await decide('E3', { category: '低保', effectiveOn: '2025-03-01' });
    // 王秀英: a decision without a category leaves the box's; one from April does not touch March.
    await decide('E1', { effectiveOn: '2025-03-01' });
    await decide('E1', { category: 'over-80', effectiveOn: '2025-04-01' });

    const r = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    const [e1, e2, e3] = r.elders;
    expect(e1).toMatchObject({ elderId: 'E1', category: 'low-income', subsidised: 4, amountFen: 2200, flags: [] });
    // 03-01 and 03-02 as 高龄 (3.00 any meal), 03-03 and 03-04 as 低保 (5.00 a lunch): no month cap reached.
    expect(e2).toMatchObject({ elderId: 'E2', category: 'low-income', categoryName: '低保', meals: 5, subsidised: 5, amountFen: 300 * 3 + 500 * 2, unsubsidised: [], flags: [] });
    expect(e3).toMatchObject({ elderId: 'E3', category: 'low-income', meals: 1, subsidised: 1, amountFen: 500, flags: [] });
    expect(r.totals).toMatchObject({ elders: 3, meals: 10, subsidised: 10, unsubsidised: 0, amountFen: 2200 + 1900 + 500 });
    expect(r.categories.map((c) => [c.category, c.amountFen])).toEqual([['low-income', 2200 + 1000 + 500], ['over-80', 900]]);
    // The city-wide summary settles the same way.
    const summary = (await api('GET', '/settlement/summary?month=2025-03')).json() as { centres: Array<{ centreId: string; amountFen: number }> };
    expect(summary.centres.find((c) => c.centreId === 'c1')?.amountFen).toBe(4600);
  });

  it.each([
    ['no month', '/settlement?centreId=c1'],
    ['a month that is not one', '/settlement?centreId=c1&month=2025-13'],
    ['a bad centre id', '/settlement?centreId=%20x&month=2025-03'],
    ['an unknown format', '/settlement?centreId=c1&month=2025-03&format=pdf'],
  ])('400 for %s', async (_name, url) => {
    expect((await api('GET', url)).statusCode).toBe(400);
  });

  it('exports CSV (BOM, zh-CN headers) and XLSX that read back as the JSON', async () => {
    await setUpMonth();
    const json = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    const csv = await api('GET', '/settlement?centreId=c1&month=2025-03&format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(csv.headers['content-disposition']).toContain('settlement-c1-2025-03.csv');
    expect([...csv.rawPayload.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = csv.rawPayload.toString('utf8').slice(1).trimEnd().split('\r\n').map((l) => l.split(','));
    expect(lines[0]!.slice(0, 4)).toEqual(['老人编号', '姓名', '类别', '就餐次数']);
    const col = (name: string) => lines[0]!.indexOf(name);
    const byElder = new Map(lines.slice(1).map((l) => [l[0], l]));
    for (const e of json.elders) {
      const l = byElder.get(e.elderId)!;
      expect(l[col('姓名')]).toBe(e.name);
      expect(Number(l[col('就餐次数')])).toBe(e.meals);
      expect(l[col('补贴金额（元）')]).toBe((e.amountFen / 100).toFixed(2));
    }
    expect(byElder.get('E3')![col('备注')]).toBe('无类别');
    const total = lines[lines.length - 1]!;
    expect(total[0]).toBe('合计');
    expect(total[col('合计（元）')]).toBe((json.totals.totalFen / 100).toFixed(2));

    const xlsx = await api('GET', '/settlement?centreId=c1&month=2025-03&format=xlsx');
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['结算']);
    const ws = wb.worksheets[0]!;
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(lines[0]);
    const amountCol = header.indexOf('补贴金额（元）') + 1;
    for (const [i, e] of json.elders.entries()) {
      const row = ws.getRow(i + 2);
      expect(row.getCell(1).value).toBe(e.elderId);
      expect(row.getCell(amountCol).value).toBe(e.amountFen / 100);
      expect(row.getCell(amountCol).numFmt).toBe('0.00');
    }
    const last = ws.getRow(ws.rowCount);
    expect(last.getCell(1).value).toBe('合计');
    expect(last.getCell(header.indexOf('合计（元）') + 1).value).toBe(json.totals.totalFen / 100);
    expect(last.font?.bold).toBe(true);
  });

  it('lists meals in review as a count, not counted', async () => {
    await setUpRules();
    registerElder('E1', '王秀英', '低保');
    // A lunch whose `at` is in the breakfast window: kept for review (meal-mismatch).
    const e = mealEvent({ elderId: 'E1', serviceDate: '2025-03-20', at: '2025-03-20T07:30:00.000+08:00' });
    expect(meals().ingest(batch(e), 'c1', 'd1', new Date('2025-03-20T12:00:00Z')).forReview).toBe(1);
    const r = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    expect(r.elders[0]).toMatchObject({ elderId: 'E1', meals: 0, inReview: 1, amountFen: 0 });
    expect(r.totals).toMatchObject({ meals: 0, inReview: 1 });
  });
});

describe('adjustments and month close', () => {
  it('adds adjustments to the report, then refuses them once the month is closed; the snapshot shows a later change', async () => {
    await setUpMonth();
    const a = await api('POST', '/settlement/adjustments', { centreId: 'c1', month: '2025-03', elderId: 'E2', amountFen: 300, reason: '补录 3月2日 晚餐' });
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json()).toMatchObject({ id: 1, elderId: 'E2', amountFen: 300, createdBy: 'admin-token', createdAt: NOW.toISOString() });
    expect((await api('POST', '/settlement/adjustments', { centreId: 'c1', month: '2025-03', amountFen: -100, reason: '中心扣减' })).statusCode).toBe(201);
    expect((await api('POST', '/settlement/adjustments', { centreId: 'c1', month: '2025-03', amountFen: 0, reason: 'x' })).statusCode).toBe(400);
    let r = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    expect(r.elders.find((e) => e.elderId === 'E2')).toMatchObject({ amountFen: 900, adjustmentFen: 300, totalFen: 1200 });
    expect(r.totals).toMatchObject({ amountFen: 3100, adjustmentFen: 200, totalFen: 3300 });
    const before = r.rowsHash;

    const closed = await api('POST', '/months/2025-03/close', { by: '财务科' });
    expect(closed.statusCode).toBe(200);
    const refused = await api('POST', '/settlement/adjustments', { centreId: 'c1', month: '2025-03', amountFen: 100, reason: '晚了' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/month 2025-03 is closed/);

    r = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    expect(r).toMatchObject({ status: 'closed', closedAt: NOW.toISOString(), snapshot: { rowsHash: before, matches: true, totals: { totalFen: 3300 } } });
    // Both centres with meals in the month got a snapshot.
    expect(db.prepare('SELECT centre_id FROM settlement_snapshots ORDER BY 1').pluck().all()).toEqual(['c1', 'c2']);

    // Later someone edits a rule that was in force: the report says so instead of changing silently.
    expect((await api('PATCH', '/subsidy-rules/3', { effectiveTo: '2025-03-01' })).statusCode).toBe(200);
    r = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    expect(r.snapshot).toMatchObject({ matches: false, totals: { totalFen: 3300 } });
    // 李建国 keeps only 03-01's two meals at 3.00 (was three, the cap).
    expect(r.totals.totalFen).toBe(3300 - 300);
    const page = await app.inject({ method: 'GET', url: '/bureau/settlement?centreId=c1&month=2025-03', headers: auth });
    expect(page.body).toContain('结账后数据有变动');
    const summary = (await api('GET', '/settlement/summary?month=2025-03')).json();
    expect(summary.centres.map((c: { centreId: string; matchesSnapshot: boolean }) => [c.centreId, c.matchesSnapshot])).toEqual([['c1', false], ['c2', true]]);
  });
});

describe('city-wide summary and the printable page', () => {
  it('totals every centre, as JSON, CSV and XLSX', async () => {
    await setUpMonth();
    const s = (await api('GET', '/settlement/summary?month=2025-03')).json();
    expect(s).toMatchObject({ month: '2025-03', status: 'open', totals: { centres: 2, meals: 11, amountFen: 3100 } });
    expect(s.centres.map((c: { centreId: string; totalFen: number }) => [c.centreId, c.totalFen])).toEqual([['c1', 3100], ['c2', 0]]);
    const csv = (await api('GET', '/settlement/summary?month=2025-03&format=csv')).rawPayload.toString('utf8');
    expect(csv.startsWith('\ufeff中心,老人数')).toBe(true);
    expect(csv).toContain('\r\n合计,4,11,7,4,31.00,0.00,31.00,1,0,\r\n');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await api('GET', '/settlement/summary?month=2025-03&format=xlsx')).rawPayload as unknown as ArrayBuffer);
    expect(wb.worksheets[0]!.name).toBe('汇总');
    expect(wb.worksheets[0]!.getRow(2).getCell(1).value).toBe('c1');
  });

  it('renders the printable page in zh-CN (en on request), escaping names, with print CSS and no external resource', async () => {
    await setUpRules();
    registerElder('E1', '<b>王</b>', '低保');
    eat({ elderId: 'E1', serviceDate: '2025-03-14' });
    const res = await app.inject({ method: 'GET', url: '/bureau/settlement?centreId=c1&month=2025-03', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<html lang="zh-CN">');
    expect(res.body).toContain('c1 2025-03 助餐补贴结算');
    expect(res.body).toContain('&lt;b&gt;王&lt;/b&gt;');
    expect(res.body).toContain('@media print');
    // Nothing from elsewhere: the one script is the server's own (the print button), no inline script.
    expect(res.body.replace('<script src="/bureau/assets/common.js" defer></script>', '')).not.toMatch(/<(script|link)\b|https?:\/\/|onclick=/);
    const en = await app.inject({ method: 'GET', url: '/bureau/settlement?centreId=c1&month=2025-03&lang=en', headers: auth });
    expect(en.body).toContain('meal subsidy settlement');
    const summary = await app.inject({ method: 'GET', url: '/bureau/settlement/summary?month=2025-03', headers: auth });
    expect(summary.body).toContain('2025-03 全市助餐补贴结算汇总');
  });

  it('settles a month of ~3,000 meals of one centre', async () => {
    await setUpRules();
    const insert = db.prepare(
      "INSERT INTO meals (event_id, centre_id, device_id, elder_id, service_date, meal, at, method, received_at) VALUES (?, 'c1', 'd1', ?, ?, ?, ?, 'face', ?)",
    );
    db.transaction(() => {
      for (let e = 0; e < 50; e++) registerElder(`E${e}`, `老人${e}`, e % 2 ? '低保' : '高龄');
      for (let e = 0; e < 50; e++)
        for (let d = 1; d <= 31; d++)
          for (const m of ['breakfast', 'lunch'] as const) insert.run(uuidv7(), `E${e}`, `2025-03-${String(d).padStart(2, '0')}`, m, '2025-03-01T00:00:00Z', '2025-03-01T00:00:00Z');
    })();
    const r = (await api('GET', '/settlement?centreId=c1&month=2025-03')).json() as SettlementReport;
    expect(r.totals.meals).toBe(3100);
    // 低保: lunches only (15 at 5.00, 16 at 6.00) per elder; 高龄: 3 meals at 3.00 (the cap).
    expect(r.totals.amountFen).toBe(25 * (15 * 500 + 16 * 600) + 25 * 900);
  });
});
