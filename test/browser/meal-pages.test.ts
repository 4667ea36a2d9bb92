/**
 * Meals by hand in real Chromium against a real edge HTTP server (Fastify on a port, SQLite):
 * a staff member finds an elder whose face was not recognised, records the meal by hand, sees it
 * in today's list, voids it with a reason, and sees it voided there (and can record it again).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { MealEvent, VoidRecord } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { mealTestApp, type MealTestApp } from '../helpers/meal-app.ts';

// 12:00 in Shanghai: lunch.
const LUNCH = '2025-03-10T04:00:00.000Z';

let browser: Browser;
let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let edge: MealTestApp;
let base: string;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  edge = mealTestApp(db, new TestClock(LUNCH));
  await edge.server.start();
  base = `http://127.0.0.1:${edge.server.port()}`;
  await edge.staff.add({ staffId: 'S001', name: '王芳', role: 'staff', pin: '864209' }, null);
  edge.elders.upsertElder('E001', '王秀英');
  edge.elders.upsertElder('E002', '李建国');
  page = await (await browser.newContext({ viewport: TABLET })).newPage();
  // The void form asks "are you sure?" (data-confirm): staff say yes.
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${base}/staff/login`);
  await page.fill('#staffId', 'S001');
  await page.fill('#pin', '864209');
  await page.click('#login-form button[type=submit]');
});

afterEach(async () => {
  await page.context().close();
  await edge.server.stop();
  db.close();
  tmp.cleanup();
});

const rows = () => page.locator('#check-ins tbody tr');

describe('meals by hand in Chromium', () => {
  it('records a manual meal, shows it in today\'s list, voids it with a reason and shows it voided', async () => {
    await page.click('#menu-manual');
    expect(new URL(page.url()).pathname).toBe('/staff/meals');
    expect(await page.textContent('#current')).toBe('当前：午餐（11:00–13:30）');
    await page.fill('#q', '秀英');
    await page.click('#search-form button[type=submit]');
    expect(await page.locator('#matches li').count()).toBe(1);
    await page.click('#matches li[data-elder-id="E001"] a');
    // Large controls for older staff.
    const box = await page.locator('#method-manual').boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(48);
    await page.click('#method-manual');

    expect(new URL(page.url()).pathname).toBe('/staff/today');
    expect(await page.textContent('.notice')).toBe('已登记：王秀英 午餐，手工（人脸未识别）。');
    expect(await rows().count()).toBe(1);
    const row = rows().first();
    expect(await row.getAttribute('data-method')).toBe('manual');
    expect(await row.textContent()).toContain('王秀英');
    expect(await row.textContent()).toContain('王芳（S001）');
    expect(await page.textContent('#windows tr.open td.total')).toBe('1');

    await row.locator('input[name=reason]').fill('登记错了人');
    await row.locator('button[type=submit]').click();
    expect(await page.textContent('.notice')).toBe('已作废 王秀英 的午餐签到。可为其重新登记。');
    const voided = rows().first();
    expect(await voided.getAttribute('class')).toBe('voided');
    expect(await voided.textContent()).toContain('登记错了人');
    expect(await voided.locator('button').count()).toBe(0);
    expect(await page.textContent('#windows tr.open td.total')).toBe('0');
    expect(edge.checkIns.countAll()).toBe(0);
    // What went to the server: the meal, then its void.
    const sent = edge.outbox.takeOldest(10).map((r) => r.event);
    expect(sent).toEqual([expect.objectContaining({ elderId: 'E001', method: 'manual', staffId: 'S001' }) as MealEvent, expect.objectContaining({ type: 'void', staffId: 'S001', reason: '登记错了人' }) as VoidRecord]);

    // The elder can now be checked in again (here: a family member collects the meal).
    await page.goto(`${base}/staff/meals?elder=E001`);
    await page.fill('#proxyName', '王强');
    await page.click('#method-proxy');
    expect(await page.textContent('.notice')).toBe('已登记：王秀英 午餐，代领。');
    expect(await rows().count()).toBe(2);
    expect(await page.locator('#check-ins tbody tr[data-method="proxy"]').textContent()).toContain('代领：王强');
  });

  it('refuses a second meal for the window and a proxy meal without the collector, saying why', async () => {
    await page.goto(`${base}/staff/meals?elder=E002`);
    await page.click('#method-delivery');
    await page.goto(`${base}/staff/meals?elder=E002`);
    await page.click('#method-manual');
    expect(await page.textContent('.notice.error')).toMatch(/^李建国 本餐已登记（12:00，送餐上门），不能重复登记。$/);
    await page.goto(`${base}/staff/meals?elder=E001`);
    await page.click('#method-proxy');
    expect(await page.textContent('.notice.error')).toBe('代领时请填写代领人姓名。');
    expect(edge.checkIns.countAll()).toBe(1);
  });

  it('refuses a meal by hand for a suspended elder, saying so', async () => {
    db.prepare("UPDATE elders SET status = 'suspended' WHERE elder_id = 'E002'").run();
    await page.goto(`${base}/staff/meals?q=${encodeURIComponent('李建国')}`);
    expect(await page.textContent('li[data-elder-id="E002"], body')).toContain('状态：暂停，不能登记用餐');
    expect(await page.locator('a[href="/staff/meals?elder=E002"]').count()).toBe(0);
    // Nor by posting the form anyway: the API refuses too.
    const csrf = await page.getAttribute('meta[name="csrf-token"]', 'content');
    const res = await page.request.post(`${base}/api/v1/meals`, { headers: { 'x-csrf-token': csrf ?? '', origin: base }, data: { elderId: 'E002', method: 'manual' } });
    expect(res.status()).toBe(409);
    expect(((await res.json()) as { error: string }).error).toMatch(/suspended/);
    expect(edge.checkIns.countAll()).toBe(0);
  });
});
