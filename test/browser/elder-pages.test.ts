/**
 * The elder registry's pages in real Chromium against a real edge HTTP server (Fastify on a
 * port, SQLite, the real staff sessions): register an elder (a mistyped ID-card number refused
 * first), sign the consent with the text shown, find the elder by the ID-card tail, suspend and
 * reactivate, and a manager removes them. Saves the README's screenshots (docs/screenshots/).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { FACE_API_MODEL } from '../../edge/src/recognition/matcher.ts';
import type { StatusServer } from '../../edge/src/web/status-server.ts';
import { elderWebPlugins } from '../../edge/src/web/elder-routes.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { testRegistry, type TestRegistry } from '../helpers/elder-registry.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { syntheticDescriptor } from '../helpers/fake-engine.ts';
import { staffTestApp } from '../helpers/staff-session.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

let browser: Browser;
let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let server: StatusServer;
let reg: TestRegistry;
let base: string;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  const clock = new TestClock('2025-03-10T03:00:00.000Z');
  reg = testRegistry(db, { clock });
  const built = staffTestApp(db, clock, { plugins: elderWebPlugins(reg.registry) });
  server = built.server;
  await server.start();
  base = `http://127.0.0.1:${server.port()}`;
  await built.staff.add({ staffId: 'M001', name: '张丽', role: 'manager', pin: '135790' }, null);
  await built.staff.add({ staffId: 'S001', name: '王芳', role: 'staff', pin: '246810' }, null);
  page = await (await browser.newContext({ viewport: TABLET })).newPage();
  // Confirm dialogs (remove, withdraw) are answered yes.
  page.on('dialog', (d) => void d.accept());
});

afterEach(async () => {
  await page.context().close();
  await server.stop();
  db.close();
  tmp.cleanup();
});

async function logIn(id: string, pin: string): Promise<void> {
  await page.goto(`${base}/staff/`);
  await page.fill('#staffId', id);
  await page.fill('#pin', pin);
  await page.click('#login-form button[type=submit]');
  expect(new URL(page.url()).pathname).toBe('/staff/');
}

const path = () => new URL(page.url()).pathname;

describe('elder pages in Chromium', () => {
  it('staff register an elder with consent, find them by the ID-card tail, suspend and reactivate them', async () => {
    await logIn('S001', '246810');
    await page.click('#menu-elders');
    expect(path()).toBe('/staff/elders');
    await page.click('#elder-new');
    await page.fill('#name', '王秀英');
    await page.fill('#idNumber', '110105194912310021');
    await page.fill('#phone', '138 0013 8000');
    await page.selectOption('#category', '特困');
    await page.click('#elder-form button[type=submit]');
    // A mistyped check digit: refused, saying which character, the form kept.
    expect(await page.textContent('.notice.error')).toBe('输入有误：身份证号最后一位应为 X，而不是 1，请检查是否输错');
    expect(await page.inputValue('#name')).toBe('王秀英');
    await page.screenshot({ path: `${SHOTS}elder-form.png` });
    await page.fill('#idNumber', '110105194912310 02x');
    await page.click('#elder-form button[type=submit]');

    // Straight to the consent, its text shown.
    expect(path()).toBe('/staff/elders/E0001/consent');
    expect(await page.textContent('.notice.ok')).toContain('已登记');
    expect(await page.textContent('#consent-text')).toContain('人脸特征只保存在本中心的设备上');
    await page.check('#signed-guardian');
    await page.click('#consent-submit');
    expect(await page.textContent('.notice.error')).toBe('输入有误：由监护人代签时，请填写代签人姓名');
    await page.fill('#guardianName', '王小明');
    await page.screenshot({ path: `${SHOTS}elder-consent.png`, fullPage: true });
    await page.click('#consent-submit');
    expect(path()).toBe('/staff/elders/E0001');
    expect(await page.textContent('#elder-consent')).toBe('2025-03-10 由监护人 王小明 签署');
    // Staff see the ID number masked, even in the edit form.
    expect(await page.inputValue('#idNumber')).toBe('');
    expect(await page.getAttribute('#idNumber', 'placeholder')).toBe('**************002X');

    // Found by the last digits of the ID card.
    await page.goto(`${base}/staff/elders`);
    await page.fill('#q', '002x');
    await page.click('#elder-search button[type=submit]');
    const rows = page.locator('#elder-list tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/E0001.*王秀英.*\*+002X.*特困.*在册.*已签署/s);
    reg.registry.create({ elderId: 'E0002', name: '李桂兰' }, 'S001');
    await page.goto(`${base}/staff/elders`);
    await page.screenshot({ path: `${SHOTS}elder-list.png` });

    await page.click('#elder-list a[href="/staff/elders/E0001"] >> nth=0');
    await page.click('#status-suspended');
    expect(await page.textContent('#elder-status')).toBe('暂停');
    expect(reg.elders.getElder('E0001')?.status).toBe('suspended');
    await page.click('#status-active');
    expect(await page.textContent('#elder-status')).toBe('在册');
    // Staff cannot remove: the button is a manager's.
    expect(await page.locator('#elder-remove').count()).toBe(0);
    // Every change went to the outbox for the server: created, consent, suspended, reactivated.
    expect(reg.registry.get('E0001')?.revision).toBe(4);
  });

  it('a manager sees the full ID number and removes an elder: the face templates go at once', async () => {
    reg.registry.create({ elderId: 'E0007', name: '赵志刚', idNumber: '440300194001011235' }, 'S001', { signedBy: 'elder' });
    reg.elders.addTemplate('E0007', syntheticDescriptor(7), 'live-1', FACE_API_MODEL);
    await logIn('M001', '135790');
    await page.goto(`${base}/staff/elders/E0007`);
    expect(await page.inputValue('#idNumber')).toBe('440300194001011235');
    await page.click('#elder-remove');
    expect(path()).toBe('/staff/elders');
    expect(await page.textContent('.notice.ok')).toContain('已删除');
    expect(reg.elders.countTemplates()).toBe(0);
    expect(reg.registry.get('E0007')).toBeUndefined();
  });

  it('without a session the pages send the browser to the login page', async () => {
    await page.goto(`${base}/staff/elders/new`);
    expect(path()).toBe('/staff/login');
  });
});
