/**
 * The bureau's pages in real Chromium against a real server (startServer: HTTP, embedded broker,
 * SQLite) whose meals arrived from boxes over MQTT: sign-in and sign-out, the dashboard's charts
 * and centre table, a district analyst seeing only their district, the registry marking an elder
 * deceased, erasures, users and tokens, the audit log, and the settlement page. The README's
 * screenshots of these pages are saved on the way (docs/screenshots/bureau-*.png).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics, type EventBatch, type ElderRecord } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { createElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { CENTRE_N1, CENTRE_N2, CENTRE_S1, PASSWORD, ROLE_USERS, seedBureau } from '../helpers/bureau-users.ts';
import { batch, connectDevice, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

/** 20:00 in Shanghai on Monday 2025-03-10: today's meals are in, the month has ten days. */
const NOW = new Date('2025-03-10T12:00:00.000Z');
const SHOTS = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');
/** A desk screen: the bureau works at a PC (the pages also fit a 1024 px tablet). */
const DESK = { width: 1280, height: 800 } as const;

let tmp: ReturnType<typeof tempDir>;
let server: RunningServer;
let browser: Browser;
let base: string;
let page: Page;
let problems: string[];
const devices: MqttClient[] = [];

/** Meals per centre: north-1 eats most, south-1 least; every centre has some today. */
const MEALS: Record<string, { days: string[]; elders: number }> = {
  [CENTRE_N1]: { days: ['2025-03-03', '2025-03-04', '2025-03-05', '2025-03-07', '2025-03-10'], elders: 4 },
  [CENTRE_N2]: { days: ['2025-03-04', '2025-03-06', '2025-03-10'], elders: 3 },
  [CENTRE_S1]: { days: ['2025-03-05', '2025-03-10'], elders: 2 },
};
const TODAY_MEALS = 4 + 3 + 2;
const MONTH_MEALS = 5 * 4 + 3 * 3 + 2 * 2;

let elderN = 0;
function elder(centreId: string, elderId: string, name: string): ElderRecord {
  elderN++;
  return {
    type: 'elder',
    eventId: `01900000-0000-7000-8000-${elderN.toString(16).padStart(12, '0')}`,
    centreId,
    deviceId: `box-${centreId}`,
    at: '2025-03-01T02:00:00.000Z',
    elderId,
    revision: 1,
    removed: false,
    change: 'created',
    name,
    idNumber: '11010519491231002X',
    category: '低保',
    status: 'active',
  } as ElderRecord;
}

/** A box of the centre sends its meals and waits for the server's receipt, as an edge does. */
async function sendMeals(centreId: string): Promise<void> {
  const deviceId = `box-${centreId}`;
  const device = await connectDevice(server.mqttUrl, { clientId: `edge-${centreId}` });
  devices.push(device);
  await device.subscribeAsync(topics.receipts(centreId, deviceId), { qos: 1 });
  const { days, elders } = MEALS[centreId]!;
  const events = days.flatMap((serviceDate) => Array.from({ length: elders }, (_, i) => mealEvent({ centreId, deviceId, elderId: `${centreId}-e${i + 1}`, serviceDate })));
  const receipt = nextMessage(device, topics.receipts(centreId, deviceId));
  await device.publishAsync(topics.events(centreId, deviceId), JSON.stringify(batch(...events) satisfies EventBatch), { qos: 1 });
  await receipt;
  // north-2's box has gone offline; the others are up.
  const state = centreId === CENTRE_N2 ? 'offline' : 'online';
  await device.publishAsync(topics.status(centreId, deviceId), JSON.stringify({ v: 1, state, at: NOW.toISOString() }), { qos: 1, retain: true });
}

beforeAll(async () => {
  tmp = tempDir('mealcheck-bureau-pages-');
  server = await startServer(serverSettings({ dataDir: join(tmp.dir, 'server'), httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock: { now: () => NOW } });
  base = server.httpUrl;
  await seedBureau(server.db, NOW);
  // The bureau pays 低保 5.00 yuan a meal (every elder here is 低保).
  const admin = { authorization: `Bearer ${TEST_TOKEN}` };
  expect((await server.app.inject({ method: 'PUT', url: '/api/v1/categories/low-income', headers: admin, payload: { name: '低保' } })).statusCode).toBe(200);
  expect((await server.app.inject({ method: 'POST', url: '/api/v1/subsidy-rules', headers: admin, payload: { category: 'low-income', meal: 'any', amountFen: 500, effectiveFrom: '2025-01-01' } })).statusCode).toBe(201);
  const registry = createElderRegistryRepository(server.db);
  const names = ['王秀英', '李桂兰', '张玉珍', '刘淑华'];
  for (const [centreId, { elders }] of Object.entries(MEALS)) {
    for (let i = 0; i < elders; i++) registry.handler.apply(elder(centreId, `${centreId}-e${i + 1}`, names[i]!), NOW);
    await sendMeals(centreId);
  }
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  for (const d of devices) await d.endAsync();
  await server?.stop();
  tmp?.cleanup();
});

/**
 * Answers a page may get: the dashboard's optional parts (404 until the statistics routes are
 * there), a wrong password, a page of another role, the browser's own favicon request.
 */
const EXPECTED_REFUSALS = [/^404 \/api\/v1\/stats\/(summary|health|welfare)$/, /^401 \/api\/v1\/login$/, /^403 \/bureau\//, /^404 \/favicon\.ico$/];

async function open(): Promise<Page> {
  const p = await (await browser.newContext({ viewport: DESK })).newPage();
  problems = [];
  // No script or style the CSP refuses, no script error, no failed API call.
  p.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  p.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !EXPECTED_REFUSALS.some((e) => e.test(`${r.status()} ${u.pathname}`))) problems.push(`${r.status()} ${u.pathname}`);
  });
  p.on('pageerror', (e) => problems.push(e.message));
  return p;
}

afterEach(async () => {
  await page?.context().close();
});

async function signIn(userId: string, next = '/bureau/'): Promise<void> {
  await page.goto(`${base}${next}`);
  expect(new URL(page.url()).pathname).toBe('/bureau/login');
  await page.fill('#userId', userId);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== '/bureau/login'), page.click('#login-form button[type=submit]')]);
}

const rowsOf = (p: Page, table: string) => p.locator(`${table} tbody tr`).evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset.centreId ?? ''));

describe('bureau pages in Chromium', () => {
  it('sends a visitor to sign in, signs the admin in to the dashboard (totals, charts, centres and health), and out again', async () => {
    page = await open();
    await page.goto(`${base}/bureau/`);
    expect(new URL(page.url()).pathname).toBe('/bureau/login');
    expect(await page.textContent('h1')).toBe('登录');
    // A wrong password says so and stays.
    await page.fill('#userId', ROLE_USERS.admin);
    await page.fill('#password', 'not the password');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#notice.error');
    expect(await page.textContent('#notice')).toBe('用户名或密码错误。');
    await page.screenshot({ path: join(SHOTS, 'bureau-login.png') });

    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/bureau/`), page.click('#login-form button[type=submit]')]);
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.textContent('h1')).toBe('全市助餐概览');
    expect(await page.textContent('.who')).toBe('管理员（管理员）');
    expect(await page.locator('#nav a').allTextContents()).toEqual(['概览', '结算', '老人名册', '人脸数据删除', '用户', '审计日志']);
    expect(await page.textContent('#today-meals')).toBe(String(TODAY_MEALS));
    expect(await page.textContent('#month-meals')).toBe(String(MONTH_MEALS));
    // The charts are echarts canvases, drawn.
    expect(await page.locator('#chart-day canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-centre canvas').count()).toBeGreaterThan(0);
    expect(await page.getAttribute('#chart-day', 'data-ready')).toBe('true');
    // One row per centre, with this month's meals and its box's health.
    expect((await rowsOf(page, '#centre-table')).sort()).toEqual([CENTRE_N1, CENTRE_N2, CENTRE_S1]);
    const n1 = page.locator(`#centre-table tr[data-centre-id="${CENTRE_N1}"] td`);
    expect(await n1.nth(0).textContent()).toContain('北一照料中心');
    expect(await n1.nth(1).textContent()).toBe('北区');
    expect(await n1.nth(2).textContent()).toBe('4');
    expect(await n1.nth(3).textContent()).toBe('20');
    expect(await n1.nth(5).textContent()).toBe('100.00');
    expect(await page.textContent('#month-amount')).toBe((MONTH_MEALS * 5).toFixed(2));
    expect(await n1.nth(8).textContent()).toBe('正常');
    expect(await page.locator(`#centre-table tr[data-centre-id="${CENTRE_N2}"] td`).nth(8).textContent()).toBe('设备离线');
    // Large, readable: body text at least 18 px, controls at least 44 px tall.
    expect(parseFloat(await page.locator('body').evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(b).fontSize))).toBeGreaterThanOrEqual(18);
    expect((await page.locator('#logout').boundingBox())!.height).toBeGreaterThanOrEqual(44);
    await page.screenshot({ path: join(SHOTS, 'bureau-dashboard.png'), fullPage: true });
    // On a 1024 px tablet the page does not scroll sideways (wide tables scroll in their card).
    await page.setViewportSize(TABLET);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(TABLET.width);
    expect(problems).toEqual([]);

    await Promise.all([page.waitForURL((u) => u.pathname === '/bureau/login'), page.click('#logout')]);
    expect(await page.textContent('#signed-out')).toBe('您已退出登录。');
    await page.goto(`${base}/bureau/`);
    expect(new URL(page.url()).pathname).toBe('/bureau/login');
  });

  // /stats/summary, /stats/health and /stats/welfare are being added to the server in parallel
  // (branch wt-stats): until they are here, their answers are given at the browser's network, in
  // the shape those routes' schemas give them, to check the page uses them.
  it('uses the summary, health and welfare statistics where the server has them', async () => {
    page = await open();
    const asked: string[] = [];
    await page.route(/\/api\/v1\/stats\/(summary|health|welfare)/, (route) => {
      const u = new URL(route.request().url());
      asked.push(u.pathname + u.search);
      const json = (body: unknown) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
      if (u.pathname.endsWith('/summary')) {
        const today = u.searchParams.get('from') === '2025-03-10';
        const figures = { meals: today ? 3 : 10, distinctElders: today ? 2 : 5, subsidisedMeals: 3, amountFen: today ? 1500 : 5000, voids: 0, duplicates: 1 };
        const rows = [CENTRE_N1, CENTRE_N2, CENTRE_S1].map((key) => ({ key, label: key, ...figures }));
        // totals as the route gives them: distinct elders city-wide (one elder ate at two centres today).
        return json({ rows, totals: { ...figures, meals: figures.meals * 3, distinctElders: figures.distinctElders * 3 - (today ? 1 : 0), amountFen: figures.amountFen * 3 } });
      }
      if (u.pathname.endsWith('/health')) {
        const box = (centreId: string, lastSeen: string, online: boolean) => ({ deviceId: `box-${centreId}`, status: online ? 'online' : 'offline', statusAt: lastSeen, lastSeen, online });
        return json({ at: NOW.toISOString(), offlineAfterMinutes: 10, silentGraceMinutes: 30, centres: [
          { centreId: CENTRE_N1, name: '北一照料中心', boxes: [box(CENTRE_N1, '2025-03-10T11:00:00.000Z', true)], boxesOnline: 1, boxesOffline: 0, meals: [], offline: false, silent: true },
          { centreId: CENTRE_N2, name: '北二照料中心', boxes: [box(CENTRE_N2, '2025-03-09T11:00:00.000Z', false)], boxesOnline: 0, boxesOffline: 1, meals: [], offline: true, silent: false },
          { centreId: CENTRE_S1, name: '南一照料中心', boxes: [], boxesOnline: 0, boxesOffline: 0, meals: [], offline: false, silent: false },
        ] });
      }
      return json({ at: NOW.toISOString(), minMeals: 8, absentDays: 3, windowDays: 28, elders: [{ centreId: CENTRE_N2, centreName: '北二照料中心', elderId: `${CENTRE_N2}-e3`, name: '张玉珍', lastMealDate: '2025-03-04', daysAbsent: 6, mealsInWindow: 9 }], total: 1 });
    });
    await signIn(ROLE_USERS.admin);
    await page.waitForSelector('body[data-loaded=true]');
    expect(asked).toContain('/api/v1/stats/summary?from=2025-03-10&to=2025-03-10&groupBy=centre');
    expect(asked).toContain('/api/v1/stats/summary?from=2025-03-01&to=2025-03-10&groupBy=centre');
    expect(await page.textContent('#today-elders')).toBe('5');
    expect(await page.textContent('#today-amount')).toBe('45.00');
    const health = (id: string) => page.locator(`#centre-table tr[data-centre-id="${id}"] td`).nth(8).textContent();
    expect([await health(CENTRE_N1), await health(CENTRE_N2), await health(CENTRE_S1)]).toEqual(['异常沉默', '设备离线', '无设备']);
    expect(await page.locator(`#centre-table tr[data-centre-id="${CENTRE_N1}"] td`).nth(4).textContent()).toBe('5');
    expect(await page.isVisible('#welfare')).toBe(true);
    expect(await page.locator('#welfare tbody td').allTextContents()).toEqual([`${CENTRE_N2}-e3`, '张玉珍', '北二照料中心', '2025-03-04', '9']);
    expect(problems).toEqual([]);
  });

  it("shows a district analyst only their district's centres, and no admin pages", async () => {
    page = await open();
    await signIn(ROLE_USERS.analyst);
    await page.waitForSelector('body[data-loaded=true]');
    expect((await rowsOf(page, '#centre-table')).sort()).toEqual([CENTRE_N1, CENTRE_N2]);
    expect(await page.textContent('#today-meals')).toBe(String(4 + 3));
    expect(await page.locator('#nav a').allTextContents()).toEqual(['概览', '结算', '老人名册', '人脸数据删除']);
    expect(await page.content()).not.toContain(CENTRE_S1);
    // English on request, the same page and centres.
    await Promise.all([page.waitForURL(`${base}/bureau/`), page.click('header .lang')]);
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.textContent('h1')).toBe('City-wide meal service');
    expect(await page.locator('#nav a').allTextContents()).toEqual(['Overview', 'Settlement', 'Elder registry', 'Face data erasure']);
    expect(await page.locator(`#centre-table tr[data-centre-id="${CENTRE_N1}"] td`).nth(8).textContent()).toBe('OK');
    await page.screenshot({ path: join(SHOTS, 'bureau-dashboard-en.png') });
    const users = await page.goto(`${base}/bureau/users`);
    expect(users!.status()).toBe(403);
    expect(await page.textContent('h1')).toContain('无权访问');
    expect(problems).toEqual([]);
  });

  it('marks an elder deceased from the registry: the decision is recorded and shown, and goes down to the centre', async () => {
    page = await open();
    await signIn(ROLE_USERS.admin, `/bureau/registry?centreId=${CENTRE_N1}`);
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.inputValue('#centre')).toBe(CENTRE_N1);
    expect(await page.locator('#elders tbody tr').count()).toBe(4);
    expect(await page.textContent('#elder-count')).toBe('共 4 位老人，显示 4 位');
    const row = page.locator(`#elders tr[data-elder-id="${CENTRE_N1}-e1"]`);
    expect(await row.locator('td.status').textContent()).toBe('正常');
    await row.locator('button.decide').click();
    expect(await page.textContent('#d-elder')).toBe(`王秀英（${CENTRE_N1}-e1）`);
    await page.selectOption('#d-status', 'deceased');
    await page.fill('#d-date', '2025-03-08');
    await page.fill('#d-reason', '家属告知已去世');
    await page.screenshot({ path: join(SHOTS, 'bureau-registry.png'), fullPage: true });
    await page.click('#decision-form button[type=submit]');
    await page.waitForSelector('#notice.ok');
    expect(await page.textContent('#notice')).toBe('已登记：王秀英 身故（2025-03-08 起）。');
    await page.waitForSelector(`#elders tr[data-elder-id="${CENTRE_N1}-e1"][data-status=deceased]`);
    expect(await row.locator('td.status').textContent()).toBe('身故');
    expect(await row.locator('td').nth(5).textContent()).toBe('民政局决定');
    // Recorded on the server as the signed-in admin, and in the centre's config document for its boxes.
    const admin = { authorization: `Bearer ${TEST_TOKEN}` };
    const history = (await server.app.inject({ method: 'GET', url: `/api/v1/centres/${CENTRE_N1}/elders/${CENTRE_N1}-e1/decisions`, headers: admin })).json();
    expect(history.decisions[0]).toMatchObject({ status: 'deceased', effectiveOn: '2025-03-08', reason: '家属告知已去世', decidedBy: ROLE_USERS.admin });
    const config = (await server.app.inject({ method: 'GET', url: `/api/v1/centres/${CENTRE_N1}/config`, headers: admin })).json();
    expect(JSON.stringify(config.document)).toContain(`${CENTRE_N1}-e1`);
    expect(problems).toEqual([]);
  });

  it("sends an erasure of an elder's face data to the centre's boxes and lists it as pending per box", async () => {
    page = await open();
    await signIn(ROLE_USERS.manager, '/bureau/erasures');
    await page.waitForSelector('body[data-loaded=true]');
    // The manager has one centre, and may ask for an erasure there.
    expect(await page.locator('#centre option').allTextContents()).toEqual([`北一照料中心（${CENTRE_N1}）`]);
    await page.selectOption('#e-elder', `${CENTRE_N1}-e2`);
    await page.fill('#e-reason', '老人撤回同意');
    await page.click('#erasure-form button[type=submit]');
    await page.waitForSelector('#notice.ok');
    const row = page.locator(`#erasures tr[data-elder-id="${CENTRE_N1}-e2"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('pending');
    expect(await row.locator('td').nth(0).textContent()).toContain('李桂兰');
    expect(await row.locator('td').nth(4).textContent()).toBe(`box-${CENTRE_N1} 等待回执`);
    await page.screenshot({ path: join(SHOTS, 'bureau-erasures.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('lets the admin add a user and make an API token (shown once), then revoke it', async () => {
    page = await open();
    page.on('dialog', (d) => void d.accept());
    await signIn(ROLE_USERS.admin, '/bureau/users');
    await page.waitForSelector('body[data-loaded=true]');
    await page.fill('#u-id', 'u-west');
    await page.fill('#u-name', '西区分析员');
    await page.selectOption('#u-role', 'analyst');
    await page.fill('#u-password', 'a long enough password');
    await page.fill('#u-districts', 'district-north');
    await page.click('#user-form button[type=submit]');
    await page.waitForSelector('#users tr[data-user-id="u-west"]');
    expect(await page.textContent('#notice')).toBe('已添加用户 u-west。');
    expect(await page.locator('#users tr[data-user-id="u-west"] td').nth(2).textContent()).toBe('区分析员');
    expect(await page.locator('#users tr[data-user-id="u-west"] td').nth(3).textContent()).toBe('district-north');

    await page.selectOption('#t-user', 'u-west');
    await page.fill('#t-name', '财务系统对接');
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#new-token:not([hidden])');
    const token = (await page.textContent('#new-token .secret'))!.trim();
    // The token works as u-west: their district only.
    const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await me.json()) as { userId: string }).userId).toBe('u-west');
    await page.screenshot({ path: join(SHOTS, 'bureau-users.png'), fullPage: true });
    const row = page.locator('#tokens tbody tr', { hasText: '财务系统对接' });
    await row.locator('button.revoke').click();
    await page.waitForFunction(() => [...(globalThis as unknown as { document: { querySelectorAll(s: string): Array<{ textContent: string }> } }).document.querySelectorAll('#tokens tbody tr')].some((tr) => tr.textContent.includes('财务系统对接') && !tr.textContent.includes('吊销')));
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(problems).toEqual([]);
  });

  it("shows the auditor the server's audit log, its hash chain checked, filtered by action", async () => {
    page = await open();
    await signIn(ROLE_USERS.auditor, '/bureau/audit');
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.locator('#nav a').allTextContents()).toEqual(['概览', '结算', '老人名册', '人脸数据删除', '审计日志']);
    expect(await page.getAttribute('#chain', 'data-ok')).toBe('true');
    expect(await page.locator('#audit tbody tr').count()).toBeGreaterThan(3);
    await page.screenshot({ path: join(SHOTS, 'bureau-audit.png'), fullPage: true });
    await page.fill('#a-action', 'login');
    await page.click('#audit-filter button[type=submit]');
    await page.waitForFunction(() => {
      const rows = [...(globalThis as unknown as { document: { querySelectorAll(s: string): Array<{ dataset: Record<string, string> }> } }).document.querySelectorAll('#audit tbody tr')];
      return rows.length > 0 && rows.every((r) => r.dataset.action === 'login');
    });
    expect(await page.locator('#audit tbody tr', { hasText: ROLE_USERS.auditor }).count()).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('keeps the settlement page working: signed in, printable, in the shared script', async () => {
    page = await open();
    await signIn(ROLE_USERS.admin, '/bureau/settlement/summary?month=2025-03');
    expect(new URL(page.url()).pathname).toBe('/bureau/settlement/summary');
    expect(await page.textContent('h1')).toBe('2025-03 全市助餐补贴结算汇总');
    expect(await page.locator('table tbody tr').count()).toBeGreaterThanOrEqual(3);
    await page.goto(`${base}/bureau/settlement?centreId=${CENTRE_N1}&month=2025-03`);
    expect(await page.textContent('h1')).toContain('2025-03');
    expect(await page.locator('button[data-print]').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
