/**
 * The kiosk page in Debian's Chromium against a real edge (Fastify on a port, SQLite, the
 * pipeline, real espeak-ng), with a test camera at the camera/model seam: a check-in made at
 * the door shows the masked name and the message and plays the box's audio; 请稍候 and
 * 请联系工作人员 for a stranger; the page survives the edge restarting; where autoplay is
 * refused, one tap turns the sound on. The health page renders for staff only.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { loadEdgeConfig, type EdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';
import { KIOSK_MODE_ARGS, launchChromium, TABLET } from '../helpers/browser.ts';
import { edgeTempDir, quietEdgeLogger, reservePort } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, PushFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';

const wang = syntheticDescriptor(11);
const stranger = syntheticDescriptor(99);
const engine = () => new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: wang })], stranger: [fakeFace({ descriptor: stranger })] });
const GONE = ['empty', 'empty', 'empty', 'empty', 'empty', 'empty'];

interface KioskRecord {
  shown: Array<{ id: string; tone: string; domMs: number; frameMs: number }>;
  played: Array<{ id: string; via: string }>;
  connected: boolean;
  connects: number;
  messages: number;
}
const record = (page: Page) => page.evaluate(() => (globalThis as unknown as { __kiosk: KioskRecord }).__kiosk);

let browser: Browser;
let tmp: ReturnType<typeof edgeTempDir>;
let config: EdgeConfig;
let edge: Edge | undefined;
let camera: PushFrameSource;
let base: string;

async function startEdge(): Promise<void> {
  camera = new PushFrameSource('door');
  edge = new Edge(config, { engine: engine(), sources: [camera], logger: quietEdgeLogger });
  await edge.start();
}

beforeAll(async () => {
  browser = await launchChromium(KIOSK_MODE_ARGS);
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  tmp = edgeTempDir();
  const dataDir = join(tmp.dir, 'edge');
  const db = openEdgeDatabase(join(dataDir, 'edge.db'));
  const elders = createElderRepository(db);
  elders.upsertElder('E1', '王秀英');
  elders.addTemplate('E1', wang, 'wang-1.jpg', FACE_API_MODEL);
  db.close();
  // A fixed port: the restart test brings a second edge up where the page is looking.
  const port = await reservePort();
  config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', dataDir, '--server', 'mqtt://127.0.0.1:1', '--http-port', String(port), '--meal-windows', ALL_DAY_WINDOWS], {});
  base = `http://127.0.0.1:${port}`;
  await startEdge();
});
afterEach(async () => {
  await edge?.stop();
  tmp.cleanup();
});

async function openKiosk(b: Browser = browser): Promise<Page> {
  const page = await (await b.newContext({ viewport: TABLET })).newPage();
  await page.goto(`${base}/`);
  expect(new URL(page.url()).pathname).toBe('/kiosk');
  await page.waitForFunction(() => (globalThis as unknown as { __kiosk: KioskRecord }).__kiosk.connected);
  return page;
}

describe('the kiosk page in Chromium', () => {
  it('shows the masked name and the message of a check-in at the door and plays its audio; 请稍候 then 请联系工作人员 for a stranger', async () => {
    const page = await openKiosk();
    // The idle screen: welcome, the clock, the open window.
    expect(await page.getAttribute('body', 'data-state')).toBe('idle');
    expect(await page.textContent('.welcome')).toBe('欢迎就餐');
    expect(await page.textContent('#clock')).toMatch(/^\d\d:\d\d$/);
    expect(await page.textContent('#window')).toMatch(/^(早|午|晚)餐 \d\d:\d\d–\d\d:\d\d 就餐中$/);
    const fontPx = await page.locator('.welcome').evaluate((e) => parseFloat((globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(e).fontSize));
    expect(fontPx).toBeGreaterThanOrEqual(80);

    const audio = page.waitForResponse((r) => r.url().includes('/kiosk/audio/'));
    camera.push('wang');
    await page.waitForSelector('body[data-state=decision]');
    expect(await page.textContent('#name')).toBe('王*英');
    expect(await page.textContent('#message')).toMatch(/^(早|午|晚)餐签到成功$/);
    expect(await page.getAttribute('body', 'data-tone')).toBe('ok');
    const res = await audio;
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toBe('audio/wav');
    await page.waitForFunction(() => (globalThis as unknown as { __kiosk: KioskRecord }).__kiosk.played.length === 1);
    const r = await record(page);
    expect(r.played[0]!.via).toBe('audio');
    expect(r.played[0]!.id).toBe(r.shown[0]!.id);
    expect(r.shown[0]!.domMs).toBeGreaterThanOrEqual(0);
    expect(r.shown[0]!.frameMs).toBeGreaterThanOrEqual(r.shown[0]!.domMs);

    camera.push(...GONE, 'stranger', 'stranger');
    await page.waitForSelector('body[data-state=wait]');
    expect(await page.textContent('#wait')).toContain('请稍候');
    camera.push('stranger', 'stranger', 'stranger');
    await page.waitForSelector('body[data-state=decision][data-tone=error]');
    expect(await page.textContent('#message')).toBe('请联系工作人员');
    expect(await page.textContent('#name')).toBe('');
    expect((await record(page)).messages).toBe(2);
    await page.context().close();
  });

  it('survives the edge restarting: it reconnects by itself and shows the next elder', async () => {
    const page = await openKiosk();
    await edge!.stop();
    edge = undefined;
    await page.waitForSelector('#offline:not([hidden])');
    await startEdge();
    await page.waitForFunction(() => (globalThis as unknown as { __kiosk: KioskRecord }).__kiosk.connected);
    await page.waitForSelector('#offline', { state: 'hidden' });
    camera.push('wang');
    await page.waitForSelector('body[data-state=decision]');
    expect(await page.textContent('#name')).toBe('王*英');
    await page.context().close();
  });

  it('where the browser wants a tap before sound (Chromium without the kiosk flag), asks for one tap and then speaks', async () => {
    // Headless Chromium plays sound unasked whatever --autoplay-policy says (and counts the page
    // as activated), so the page is given the refusal a desktop Chromium makes: play() fails with
    // NotAllowedError until the user has touched the page (a real pointer event, as page.click sends).
    const context = await browser.newContext({ viewport: TABLET });
    await context.addInitScript(`{
      const play = HTMLMediaElement.prototype.play;
      let touched = false;
      addEventListener('pointerdown', () => { touched = true; }, true);
      HTMLMediaElement.prototype.play = function () {
        if (!touched) return Promise.reject(new DOMException('play() failed because the user did not interact with the document first', 'NotAllowedError'));
        return play.call(this);
      };
    }`);
    const page = await context.newPage();
    await page.goto(`${base}/kiosk`);
    await page.waitForFunction(() => (globalThis as unknown as { __kiosk: KioskRecord }).__kiosk.connected);
    camera.push('wang');
    await page.waitForSelector('body[data-state=decision]');
    await page.waitForSelector('#sound:not([hidden])');
    expect(await page.textContent('#sound')).toBe('点击开启声音');
    expect((await record(page)).played).toEqual([]);
    await page.click('#sound');
    await page.waitForFunction(() => (globalThis as unknown as { __kiosk: KioskRecord }).__kiosk.played.length === 1);
    expect(await page.isHidden('#sound')).toBe(true);
    await context.close();
  });
});

describe('the health page in Chromium', () => {
  it('is refused without login and renders the box status for staff', async () => {
    await edge!.staff.add({ staffId: 'S001', name: '王芳', role: 'staff', pin: '864209' }, null);
    const page = await (await browser.newContext({ viewport: TABLET })).newPage();
    await page.goto(`${base}/staff/health`);
    expect(new URL(page.url()).pathname).toBe('/staff/login');
    await page.fill('#staffId', 'S001');
    await page.fill('#pin', '864209');
    await page.click('#login-form button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/staff/health');
    expect(await page.textContent('h1')).toBe('设备状态');
    expect(await page.textContent('#kiosk-voice td')).toBe('正常（cmn）');
    expect(await page.textContent('#version td')).toMatch(/^mealcheck /);
    expect(await page.locator('#cameras tr[data-camera=door]').count()).toBe(1);
    await page.context().close();
  });
});
