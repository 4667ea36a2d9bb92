/**
 * Voids on the server: a voided meal stops counting and shows as `voided` in the statistics,
 * whatever order the void, the meal and the meal recorded instead arrive in; a void that cannot
 * apply (another centre's meal, a closed month, a meal that never came) is kept for review.
 * Real SQLite, the real ingest (its message handler, without a broker) and the real HTTP app.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { topics, type BatchEvent, type MealEvent, type VoidRecord } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createMqttIngest, type MessageOutcome } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { type VoidState } from '../../server/src/modules/meals/void-repository.ts';
import { createClosedMonthRepository } from '../../server/src/modules/months/closed-month-repository.ts';
import { createStatsRepository } from '../../server/src/modules/stats/stats-repository.ts';
import { fixtureClock, mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir, testIngest } from '../helpers/server-fixtures.ts';

const DAY = { from: '2025-03-10', to: '2025-03-10' };

function voidOf(meal: MealEvent, overrides: Partial<VoidRecord> = {}): VoidRecord {
  return { type: 'void', eventId: uuidv7(), centreId: meal.centreId, deviceId: meal.deviceId, at: '2025-03-10T04:30:00.000Z', voids: meal.eventId, reason: '认错人', staffId: 'S01', ...overrides };
}

describe('server: voids', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Db;
  let ingest: ReturnType<typeof createMqttIngest>;

  beforeEach(() => {
    tmp = tempDir();
    db = openServerDb(tmp.dir);
    ingest = testIngest(db);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  /** One batch from centre/device of its first event, through the ingest's own message handler. */
  const send = (...events: BatchEvent[]): MessageOutcome => ingest.handle(topics.events(events[0]!.centreId, events[0]!.deviceId), Buffer.from(JSON.stringify({ v: 1, events })));
  const counts = () => createStatsRepository(db).mealCounts({ ...DAY, groupBy: ['centre', 'day', 'meal'] });
  const stateOf = (v: VoidRecord) => db.prepare('SELECT state FROM meal_voids WHERE event_id = ?').pluck().get(v.eventId) as VoidState | undefined;
  const where = (eventId: string) =>
    db
      .prepare(
        `SELECT 'meals' FROM meals WHERE event_id = @id UNION ALL SELECT 'voided_meals' FROM voided_meals WHERE event_id = @id
         UNION ALL SELECT 'duplicate_attempts' FROM duplicate_attempts WHERE event_id = @id`,
      )
      .pluck()
      .all({ id: eventId });

  it('takes a voided meal out of the count and shows it as voided for its centre, day and meal', () => {
    const a = mealEvent({ elderId: 'E1' });
    const b = mealEvent({ elderId: 'E2' });
    send(a, b);
    expect(counts()).toMatchObject({ total: 2, voided: 0 });
    const v = voidOf(a);
    expect(send(v)).toMatchObject({ kind: 'ingested', result: { stored: 1, receipted: [v.eventId] } });
    expect(counts()).toMatchObject({ rows: [{ centreId: 'c1', day: '2025-03-10', meal: 'lunch', meals: 1, voided: 1 }], total: 1, voided: 1 });
    expect(stateOf(v)).toBe('applied');
    expect(where(a.eventId)).toEqual(['voided_meals']);
    // The meal kept whole: who, when, how.
    expect(db.prepare('SELECT elder_id AS elderId, method, void_event_id AS voidEventId FROM voided_meals').get()).toEqual({ elderId: 'E1', method: 'face', voidEventId: v.eventId });
  });

  it('is idempotent: the void and the voided meal sent again change nothing and are receipted', () => {
    const a = mealEvent();
    const v = voidOf(a);
    send(a);
    send(v);
    expect(send(v, a)).toMatchObject({ kind: 'ingested', result: { stored: 0, known: 2, conflicts: [] } });
    expect(send(a)).toMatchObject({ kind: 'ingested', result: { known: 1, receipted: [a.eventId] } });
    expect(counts()).toMatchObject({ total: 0, voided: 1 });
    expect(db.prepare('SELECT count(*) FROM meal_voids').pluck().get()).toBe(1);
  });

  it('applies a void that arrives before its meal (another batch) as soon as the meal arrives', () => {
    const a = mealEvent({ elderId: 'E1' });
    const v = voidOf(a);
    send(v);
    expect(stateOf(v)).toBe('waiting');
    expect(counts()).toMatchObject({ total: 0, voided: 0 });
    expect(send(a)).toMatchObject({ kind: 'ingested', result: { stored: 1, receipted: [a.eventId] } });
    expect(stateOf(v)).toBe('applied');
    expect(where(a.eventId)).toEqual(['voided_meals']);
    expect(counts()).toMatchObject({ rows: [{ meals: 0, voided: 1 }], total: 0, voided: 1 });
  });

  it('counts the meal recorded instead, in whatever order the meal, its void and the new meal arrive', () => {
    const orders = [
      ['meal', 'void', 'again'],
      ['meal', 'again', 'void'],
      ['void', 'meal', 'again'],
      ['void', 'again', 'meal'],
      ['again', 'meal', 'void'],
      ['again', 'void', 'meal'],
    ] as const;
    for (const order of orders) {
      db.exec('DELETE FROM meals; DELETE FROM voided_meals; DELETE FROM duplicate_attempts; DELETE FROM meal_voids; DELETE FROM records');
      // The box voided the elder's meal and checked them in again for the same lunch.
      const meal = mealEvent({ elderId: 'E1', method: 'face' });
      const again = mealEvent({ elderId: 'E1', method: 'manual', staffId: 'S01', score: undefined, cameraId: undefined });
      const v = voidOf(meal);
      const byName = { meal, again, void: v };
      for (const name of order) expect(send(byName[name]).kind, `${order.join(',')}: ${name}`).toBe('ingested');
      expect(counts(), order.join(',')).toMatchObject({ total: 1, voided: 1 });
      expect(where(again.eventId), order.join(',')).toEqual(['meals']);
      expect(where(meal.eventId), order.join(',')).toEqual(['voided_meals']);
    }
  });

  it('keeps the meal and its void in one batch straight: meals are stored first, then the void applies', () => {
    const a = mealEvent();
    const v = voidOf(a);
    send(v, a);
    expect(counts()).toMatchObject({ total: 0, voided: 1 });
    expect(stateOf(v)).toBe('applied');
  });

  it("keeps a void of another centre's meal for review and never applies it", () => {
    const theirs = mealEvent({ centreId: 'c2', deviceId: 'd9', elderId: 'E7' });
    send(theirs);
    const v = voidOf(theirs, { centreId: 'c1', deviceId: 'd1' });
    send(v);
    expect(stateOf(v)).toBe('other-centre');
    expect(counts()).toMatchObject({ total: 1, voided: 0 });
    // Also when the void came first and the other centre's meal after it.
    const later = mealEvent({ centreId: 'c2', deviceId: 'd9', elderId: 'E8' });
    const early = voidOf(later, { centreId: 'c1', deviceId: 'd1' });
    send(early);
    send(later);
    expect(stateOf(early)).toBe('other-centre');
    expect(counts()).toMatchObject({ total: 2, voided: 0 });
  });

  it('keeps a void of a meal in a closed month for review: the reported figure stands', () => {
    const a = mealEvent();
    send(a);
    createClosedMonthRepository(db).close('2025-03', 'bureau', fixtureClock.now());
    const v = voidOf(a);
    send(v);
    expect(stateOf(v)).toBe('month-closed');
    expect(counts()).toMatchObject({ total: 1, voided: 0 });
  });

  it('a second void of one meal is kept as already-voided, counted once', () => {
    const a = mealEvent();
    send(a);
    const first = voidOf(a);
    const second = voidOf(a, { staffId: 'S02', reason: '重复' });
    send(first);
    send(second);
    expect([stateOf(first), stateOf(second)]).toEqual(['applied', 'already-voided']);
    expect(counts()).toMatchObject({ total: 0, voided: 1 });
  });

  it('lists the voids kept for review, and every void with all=true, behind the token', async () => {
    const a = mealEvent({ elderId: 'E1' });
    send(a);
    const applied = voidOf(a);
    const orphan = voidOf(mealEvent({ elderId: 'E9' }));
    send(applied);
    send(orphan);
    const app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN });
    try {
      const auth = { authorization: `Bearer ${TEST_TOKEN}` };
      expect((await app.inject({ url: '/api/v1/stats/voids' })).statusCode).toBe(401);
      const open = await app.inject({ url: '/api/v1/stats/voids', headers: auth });
      expect(open.statusCode).toBe(200);
      expect(open.json()).toEqual({ total: 1, voids: [expect.objectContaining({ eventId: orphan.eventId, state: 'waiting', meal: null, reason: '认错人', staffId: 'S01' })] });
      const all = (await app.inject({ url: '/api/v1/stats/voids?all=true', headers: auth })).json() as { total: number; voids: Array<{ state: string; meal: unknown }> };
      expect(all.total).toBe(2);
      expect(all.voids.find((x) => x.state === 'applied')?.meal).toEqual({ elderId: 'E1', centreId: 'c1', serviceDate: '2025-03-10', meal: 'lunch', method: 'face' });
      expect((await app.inject({ url: '/api/v1/stats/voids?all=maybe', headers: auth })).statusCode).toBe(400);
      const stats = (await app.inject({ url: '/api/v1/stats/meals?from=2025-03-10&to=2025-03-10&groupBy=centre', headers: auth })).json() as unknown;
      expect(stats).toMatchObject({ rows: [{ centreId: 'c1', meals: 0, voided: 1 }], total: 0, voided: 1 });
      const status = (await app.inject({ url: '/api/v1/status', headers: auth })).json() as unknown;
      expect(status).toMatchObject({ ingest: { meals: 0, voided: 1, voidsForReview: 1 } });
    } finally {
      await app.close();
    }
  });

  it('stores who recorded a meal by hand and who collected it, and keeps one without a staff id for review', () => {
    const proxy = mealEvent({ elderId: 'E1', method: 'proxy', staffId: 'S01', proxyName: '李明（儿子）', score: undefined, cameraId: undefined });
    const nobody = mealEvent({ elderId: 'E2', method: 'delivery', score: undefined, cameraId: undefined });
    expect(send(proxy, nobody)).toMatchObject({ kind: 'ingested', result: { stored: 1, forReview: 1 } });
    expect(db.prepare('SELECT staff_id AS staffId, proxy_name AS proxyName FROM meals WHERE event_id = ?').get(proxy.eventId)).toEqual({ staffId: 'S01', proxyName: '李明（儿子）' });
    expect(db.prepare('SELECT reason, detail FROM event_reviews WHERE event_id = ?').get(nobody.eventId)).toEqual({ reason: 'no-staff', detail: 'a delivery meal names no staff member who recorded it' });
    // The staff id is part of the event: the same eventId with another staff id is a conflict.
    expect(send({ ...proxy, staffId: 'S02' })).toMatchObject({ kind: 'ingested', result: { conflicts: [proxy.eventId] } });
  });
});
