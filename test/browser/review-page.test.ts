/**
 * The review queue in real Chromium against a real edge HTTP server (Fastify on a port, SQLite)
 * and the real door pipeline on a fake camera: a stranger stands at the door, the door keeps
 * their face for review, a staff member opens the review page, sees the picture and the nearest
 * elders, and assigns it to an elder: the meal is recorded as a face check-in with reviewedBy,
 * queued for the server, and the picture is gone.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import type { ReviewService } from '../../edge/src/review/review-service.ts';
import { reviewWebPlugin } from '../../edge/src/web/review-routes.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, labelledJpeg, PushFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { mealTestApp, type MealTestApp } from '../helpers/meal-app.ts';
import { reviewParts, reviewPipeline } from '../helpers/review-fixtures.ts';

const LUNCH = '2025-03-10T04:00:00.000Z';
const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const A = syntheticDescriptor(1);
const B = syntheticDescriptor(2);
const STRANGER = syntheticDescriptor(9);

/** The fields of an <img> the test reads (the project's tsconfig has no DOM lib). */
interface Img {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
  addEventListener(type: 'load', cb: (v: unknown) => void, opts: { once: boolean }): void;
}

let browser: Browser;
let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let edge: MealTestApp;
let reviews: ReviewService;
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
  const clock = new TestClock(LUNCH);
  const holder: { reviews?: ReviewService } = {};
  const plugin = reviewWebPlugin({
    get reviews() {
      return holder.reviews!;
    },
    elders: { getElder: (id) => edge.elders.getElder(id) },
    timeZone: 'Asia/Shanghai',
  });
  edge = mealTestApp(db, clock, [plugin]);
  reviews = holder.reviews = reviewParts(db, clock, edge.checkIns, edge.elders).reviews;
  await edge.server.start();
  base = `http://127.0.0.1:${edge.server.port()}`;
  await edge.staff.add({ staffId: 'S001', name: '王芳', role: 'staff', pin: '864209' }, null);
  edge.elders.upsertElder('E001', '王秀英');
  edge.elders.upsertElder('E002', '李建国');
  page = await (await browser.newContext({ viewport: TABLET })).newPage();
  await page.goto(`${base}/staff/login`);
  await page.fill('#staffId', 'S001');
  await page.fill('#pin', '864209');
  await page.click('#login-form button[type=submit]');
});

afterEach(async () => {
  await page.context().close();
  await reviews.stop();
  await edge.server.stop();
  db.close();
  tmp.cleanup();
});

describe('the review queue in Chromium', () => {
  it('a stranger at the door camera is kept; staff assign the face to an elder on the page and the meal is recorded', async () => {
    // The door: a stranger stands in front of the camera for five frames, then leaves.
    const camera = new PushFrameSource('door');
    const engine = new FakeEngine({ stranger: [fakeFace({ descriptor: descriptorAt(STRANGER, 0.05, 3), box: { x: 100, y: 50, width: 110, height: 110 } })] });
    const door = reviewPipeline(camera, engine, [{ elderId: 'E001', descriptor: A }, { elderId: 'E002', descriptor: B }], edge.checkIns, reviews);
    await door.start();
    const frame = await labelledJpeg('stranger');
    camera.push(frame, frame, frame, frame, frame);
    camera.end();
    await door.done();
    await reviews.idle();
    expect(edge.checkIns.countAll()).toBe(0);

    await page.click('#menu-review');
    expect(new URL(page.url()).pathname).toBe('/staff/review');
    const card = page.locator('.review-item');
    expect(await card.count()).toBe(1);
    expect(await card.getAttribute('data-kind')).toBe('unknown');
    expect(await card.textContent()).toContain('未识别');
    expect(await card.textContent()).toContain('摄像头 door');
    // The picture came from the authenticated crop route and is a real image.
    const img = card.locator('img.crop');
    await img.evaluate((el: Img) => (el.complete ? undefined : new Promise((r) => el.addEventListener('load', r, { once: true }))));
    expect(await img.evaluate((el: Img) => el.naturalWidth)).toBeGreaterThan(0);
    expect(await img.evaluate((el: Img) => Math.max(el.naturalWidth, el.naturalHeight))).toBeLessThanOrEqual(160);
    const cropUrl = await img.getAttribute('src');
    expect(await card.locator('li[data-elder-id]').count()).toBe(2);
    await page.screenshot({ path: `${SHOTS}staff-review.png` });

    await card.locator('li[data-elder-id="E002"] button.assign').click();
    expect(new URL(page.url()).pathname).toBe('/staff/review');
    expect(await page.textContent('.notice')).toBe('已为李建国登记午餐（人脸，经S001核实）。');
    expect(await page.textContent('#review-empty')).toBe('没有待核实的人脸。');

    const [checkIn] = edge.checkIns.listForDay('2025-03-10');
    expect(checkIn).toMatchObject({ elderId: 'E002', method: 'face', meal: 'lunch', cameraId: 'door' });
    const events = edge.outbox.takeOldest(10).map((o) => o.event as MealEvent);
    expect(events.map((e) => [e.elderId, e.method, e.reviewedBy])).toEqual([['E002', 'face', 'S001']]);
    // The picture is gone: from the database and from the route.
    expect(db.prepare('SELECT count(*) FROM review_items WHERE crop IS NOT NULL').pluck().get()).toBe(0);
    expect((await page.request.get(`${base}${cropUrl}`)).status()).toBe(404);
  });
});
