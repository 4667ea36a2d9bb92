/**
 * The review queue's HTTP routes and page on real Fastify (inject) over a real migrated SQLite
 * database: 401 without a session, 403 without the CSRF token, the crop only to a logged-in
 * staff member (never cached, never in JSON), assign and dismiss by API and by form.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import type { ReviewService } from '../../edge/src/review/review-service.ts';
import type { OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { reviewWebPlugin } from '../../edge/src/web/review-routes.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { labelledJpeg } from '../helpers/fake-engine.ts';
import { mealTestApp } from '../helpers/meal-app.ts';
import { reviewParts } from '../helpers/review-fixtures.ts';
import { loginAs, type StaffSession } from '../helpers/staff-session.ts';

const LUNCH = '2025-03-10T04:00:00.000Z';
let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let app: FastifyInstance;
let reviews: ReviewService;
let outbox: OutboxRepository;
let worker: StaffSession;

beforeEach(async () => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  const clock = new TestClock(LUNCH);
  const holder: { reviews?: ReviewService } = {};
  const plugin = reviewWebPlugin({
    get reviews() {
      return holder.reviews!;
    },
    elders: { getElder: (id) => t.elders.getElder(id) },
    timeZone: 'Asia/Shanghai',
  });
  const t = mealTestApp(db, clock, [plugin]);
  holder.reviews = reviewParts(db, clock, t.checkIns, t.elders).reviews;
  reviews = holder.reviews;
  outbox = t.outbox;
  app = t.server.build();
  t.elders.upsertElder('E1', '王秀英');
  t.elders.upsertElder('E2', '李建国');
  worker = await loginAs(app, t.staff, { role: 'staff' });
});
afterEach(async () => {
  await reviews.stop();
  await app.close();
  db.close();
  tmp.cleanup();
});

async function keepOne(kind: 'unknown' | 'clock' = 'unknown'): Promise<string> {
  reviews.keep({ kind, cameraId: 'door', at: Date.parse(LUNCH) - 60_000, image: await labelledJpeg('x'), box: { x: 100, y: 60, width: 100, height: 100 }, nearest: [{ elderId: 'E1', distance: 0.61 }, { elderId: 'E2', distance: 0.7 }] });
  await reviews.idle();
  return reviews.list()[0]!.id;
}

const post = (url: string, who: StaffSession | undefined, payload?: object, csrf = true) =>
  app.inject({ method: 'POST', url, ...(payload ? { payload } : {}), headers: who ? (csrf ? who.headers : { cookie: who.cookie }) : {} });
const get = (url: string, who?: StaffSession) => app.inject({ method: 'GET', url, headers: who ? { cookie: who.cookie } : {} });
const form = (url: string, who: StaffSession, fields: Record<string, string>, csrf = true) =>
  app.inject({ method: 'POST', url, payload: new URLSearchParams({ ...(csrf ? { _csrf: who.csrfToken } : {}), ...fields }).toString(), headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' } });

describe('review routes', () => {
  it('answer 401 without a session, and change nothing', async () => {
    const id = await keepOne();
    for (const url of ['/api/v1/review', `/api/v1/review/${id}/crop`, `/staff/review/${id}/crop`]) expect((await get(url)).statusCode).toBe(401);
    expect((await get('/staff/review')).statusCode).toBeGreaterThanOrEqual(300);
    expect((await get('/staff/review')).body).not.toContain(id);
    expect((await post(`/api/v1/review/${id}/assign`, undefined, { elderId: 'E1' })).statusCode).toBe(401);
    expect((await post(`/api/v1/review/${id}/dismiss`, undefined)).statusCode).toBe(401);
    expect(reviews.get(id)).toMatchObject({ status: 'pending', hasCrop: true });
  });

  it('answer 403 to a decision without the CSRF token, by API and by form', async () => {
    const id = await keepOne();
    expect((await post(`/api/v1/review/${id}/assign`, worker, { elderId: 'E1' }, false)).statusCode).toBe(403);
    expect((await post(`/api/v1/review/${id}/dismiss`, worker, undefined, false)).statusCode).toBe(403);
    expect((await form('/staff/review/assign', worker, { id, elderId: 'E1' }, false)).statusCode).toBe(403);
    expect((await form('/staff/review/dismiss', worker, { id }, false)).statusCode).toBe(403);
    expect(reviews.get(id)).toMatchObject({ status: 'pending', hasCrop: true });
    expect(outbox.takeOldest(10)).toEqual([]);
  });

  it('list the items with nearest elders by name, the crop as a no-store JPEG, never in JSON', async () => {
    const id = await keepOne();
    const list = await get('/api/v1/review', worker);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ items: [{ id, kind: 'unknown', cameraId: 'door', hasCrop: true, nearest: [{ elderId: 'E1', name: '王秀英', distance: 0.61 }, { elderId: 'E2', name: '李建国' }] }] });
    expect(list.body).not.toMatch(/crop"\s*:/);
    const crop = await get(`/api/v1/review/${id}/crop`, worker);
    expect(crop.statusCode).toBe(200);
    expect(crop.headers['content-type']).toBe('image/jpeg');
    expect(crop.headers['cache-control']).toContain('no-store');
    expect(crop.rawPayload.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect((await get('/api/v1/review/not-a-uuid/crop', worker)).statusCode).toBe(400);
  });

  it('assign by API records a face check-in with reviewedBy; the crop is then gone; twice is 409', async () => {
    const id = await keepOne();
    const r = await post(`/api/v1/review/${id}/assign`, worker, { elderId: 'E2' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ item: { status: 'assigned', hasCrop: false }, checkIn: { elderId: 'E2', method: 'face', meal: 'lunch' } });
    expect((outbox.takeOldest(10).map((o) => o.event) as MealEvent[]).map((e) => [e.elderId, e.method, e.reviewedBy])).toEqual([['E2', 'face', worker.staffId]]);
    expect((await get(`/api/v1/review/${id}/crop`, worker)).statusCode).toBe(404);
    expect((await post(`/api/v1/review/${id}/assign`, worker, { elderId: 'E2' })).statusCode).toBe(409);
    expect((await post(`/api/v1/review/${id}/dismiss`, worker)).statusCode).toBe(409);
  });

  it('refuse an unknown elder (404), a bad body (400) and an elder who has the meal (409)', async () => {
    const id = await keepOne();
    expect((await post(`/api/v1/review/${id}/assign`, worker, { elderId: 'NOPE' })).statusCode).toBe(404);
    expect((await post(`/api/v1/review/${id}/assign`, worker, { elder: 'E1' })).statusCode).toBe(400);
    expect((await post(`/api/v1/review/00000000-0000-7000-8000-00000000ffff/assign`, worker, { elderId: 'E1' })).statusCode).toBe(404);
    const second = await keepOne();
    expect((await post(`/api/v1/review/${second}/assign`, worker, { elderId: 'E1' })).statusCode).toBe(200);
    const third = await keepOne();
    const again = await post(`/api/v1/review/${third}/assign`, worker, { elderId: 'E1' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ reason: 'already-checked-in' });
  });

  it('the page shows each face with its crop and nearest elders; its forms assign and dismiss', async () => {
    const id = await keepOne();
    const page = await get('/staff/review', worker);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`/staff/review/${id}/crop`);
    expect(page.body).toContain('王秀英');
    expect((await get(`/staff/review/${id}/crop`, worker)).statusCode).toBe(200);
    const assigned = await form('/staff/review/assign', worker, { id, elderId: 'E1' });
    expect(assigned.statusCode).toBe(303);
    expect(reviews.get(id)).toMatchObject({ status: 'assigned' });
    const other = await keepOne();
    expect((await form('/staff/review/dismiss', worker, { id: other })).statusCode).toBe(303);
    expect(reviews.get(other)).toMatchObject({ status: 'dismissed', hasCrop: false });
    expect((await form('/staff/review/dismiss', worker, { id: other })).statusCode).toBe(409);
  });

  it('a clock item is listed as kind clock and shown as 时间未校准 (Clock not set); assigning it records the meal', async () => {
    const id = await keepOne('clock');
    expect((await get('/api/v1/review', worker)).json()).toMatchObject({ items: [{ id, kind: 'clock', hasCrop: true }] });
    const page = await get('/staff/review', worker);
    expect(page.body).toContain(`data-kind="clock"`);
    expect(page.body).toContain('<h2>时间未校准</h2>');
    expect((await app.inject({ method: 'GET', url: '/staff/review', headers: { cookie: `${worker.cookie}; mealcheck_lang=en` } })).body).toContain('<h2>Clock not set</h2>');
    const r = await post(`/api/v1/review/${id}/assign`, worker, { elderId: 'E1' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ item: { kind: 'clock', status: 'assigned', hasCrop: false }, checkIn: { elderId: 'E1', method: 'face', meal: 'lunch' } });
    expect((outbox.takeOldest(10).map((o) => o.event) as MealEvent[]).map((e) => [e.elderId, e.method, e.reviewedBy])).toEqual([['E1', 'face', worker.staffId]]);
  });
});
