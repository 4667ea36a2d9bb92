/**
 * Staff journeys in real Chromium against a real edge HTTP server (Fastify listening on a port,
 * SQLite): log in, add a staff member, logout, the one-time PIN's forced change, lock-out after
 * five wrong PINs, the language switch.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Db } from '../../common/sqlite.ts';
import type { StaffService } from '../../edge/src/staff/staff-service.ts';
import type { StatusServer } from '../../edge/src/web/status-server.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { staffTestApp } from '../helpers/staff-session.ts';

let browser: Browser;
let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let server: StatusServer;
let staff: StaffService;
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
  ({ server, staff } = staffTestApp(db, new TestClock('2025-03-10T03:00:00.000Z')));
  await server.start();
  base = `http://127.0.0.1:${server.port()}`;
  await staff.add({ staffId: 'M001', name: '张丽', role: 'manager', pin: '135790' }, null);
  page = await (await browser.newContext({ viewport: TABLET })).newPage();
});

afterEach(async () => {
  await page.context().close();
  await server.stop();
  db.close();
  tmp.cleanup();
});

async function logIn(id: string, pin: string): Promise<void> {
  await page.goto(`${base}/staff/`);
  expect(new URL(page.url()).pathname).toBe('/staff/login');
  await page.fill('#staffId', id);
  await page.fill('#pin', pin);
  await page.click('#login-form button[type=submit]');
}

describe('staff pages in Chromium', () => {
  it('a manager logs in, adds a staff member, who logs in with the one-time PIN, must choose their own, and logs out', async () => {
    await logIn('M001', '135790');
    expect(new URL(page.url()).pathname).toBe('/staff/');
    expect(await page.textContent('h1')).toBe('您好，张丽');
    expect(await page.textContent('.who')).toBe('张丽（管理员）');
    // Large controls: at least 48 px tall, text at least 18 px.
    const box = await page.locator('#logout').boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(48);
    expect(parseFloat(await page.locator('body').evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(b).fontSize))).toBeGreaterThanOrEqual(18);

    await page.click('#menu-accounts');
    await page.fill('#name', '王芳');
    await page.selectOption('#role', 'staff');
    await page.click('#add-staff button[type=submit]');
    expect(await page.textContent('.notice')).toBe('已添加 王芳（S001）。');
    const pin = (await page.textContent('#one-time-pin .secret'))!.trim();
    expect(pin).toMatch(/^\d{8}$/);
    expect(await page.locator('#staff-table tbody tr').count()).toBe(2);

    await page.click('#logout');
    expect(new URL(page.url()).pathname).toBe('/staff/login');
    expect(await page.textContent('.notice')).toBe('您已退出登录。');
    // The old session is gone: the home page sends the browser to the login page again.
    await page.goto(`${base}/staff/`);
    expect(new URL(page.url()).pathname).toBe('/staff/login');

    await page.fill('#staffId', 'S001');
    await page.fill('#pin', pin);
    await page.click('#login-form button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/staff/pin');
    expect(await page.textContent('.notice')).toBe('这是一次性密码，请先设置您自己的密码。');
    await page.fill('#current', pin);
    await page.fill('#next', '24681357');
    await page.fill('#repeat', '24681357');
    await page.click('#pin-form button[type=submit]');
    expect(await page.textContent('.notice')).toBe('新密码已保存。');
    await page.goto(`${base}/staff/`);
    expect(await page.textContent('h1')).toBe('您好，王芳');
    // Staff see no account management.
    expect(await page.locator('#menu-accounts').count()).toBe(0);
    const denied = await page.goto(`${base}/staff/accounts`);
    expect(denied!.status()).toBe(403);
  });

  it('five wrong PINs lock the account: the right PIN is then refused too', async () => {
    for (let i = 1; i <= 5; i++) {
      await logIn('M001', '000000');
      expect(await page.textContent('.notice')).toBe(i < 5 ? '工号或密码不正确。' : `连续输错次数过多，账号已锁定，请于 ${lockedUntilText()} 后再试，或请管理员重置密码。`);
    }
    await logIn('M001', '135790');
    expect(new URL(page.url()).pathname).toBe('/staff/login');
    expect(await page.textContent('.notice')).toMatch(/账号已锁定/);
    expect(staff.get('M001')!.lockedUntil).toBe('2025-03-10T03:15:00.000Z');
  });

  it('switches to English and back', async () => {
    await page.goto(`${base}/staff/login`);
    await page.click('header .lang a');
    expect(await page.textContent('h1')).toBe('Staff login');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await logIn('M001', '135790');
    expect(await page.textContent('h1')).toBe('Hello, 张丽');
    await page.click('header .lang a');
    expect(await page.textContent('h1')).toBe('您好，张丽');
  });
});

/** The lock-out time as the page shows it (the centre's zone, zh-CN format). */
function lockedUntilText(): string {
  return new Date('2025-03-10T03:15:00.000Z').toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', month: 'numeric', day: 'numeric' });
}
