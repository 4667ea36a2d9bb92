import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { createDeadLetterRepository, DEAD_LETTER_EXCERPT_BYTES } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository, type MealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createStatsRepository } from '../../server/src/modules/stats/stats-repository.ts';
import { batch, FIXTURE_NOW, mealEvent, openServerDb, tempDir } from '../helpers/server-fixtures.ts';

const now = new Date(FIXTURE_NOW);

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let meals: MealRepository;

beforeEach(() => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  meals = createMealRepository(db);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('meal repository', () => {
  it('stores a batch and receipts every event', () => {
    const a = mealEvent({ elderId: 'e1' });
    const b = mealEvent({ elderId: 'e2', method: 'manual', score: undefined, cameraId: undefined, staffId: 'S1' });
    const r = meals.ingest(batch(a, b), 'c1', 'd1', now);
    expect(r).toMatchObject({ receipted: [a.eventId, b.eventId], stored: 2, known: 0, duplicates: 0, rejected: [] });
    expect(meals.findByEventId(a.eventId)).toEqual({
      eventId: a.eventId,
      centreId: 'c1',
      deviceId: 'd1',
      elderId: 'e1',
      serviceDate: '2025-03-10',
      meal: 'lunch',
      at: a.at,
      method: 'face',
      score: 0.41,
      cameraId: 'door',
      receivedAt: now.toISOString(),
      bootId: null,
      seq: null,
      clockFlag: null,
      clockState: null,
      edgeAt: null,
      monoMs: null,
      staffId: null,
      proxyName: null,
      reviewedBy: null,
    });
    expect(meals.findByEventId(b.eventId)).toMatchObject({ score: null, cameraId: null, staffId: 'S1' });
  });

  it('is idempotent on eventId, across batches and within one', () => {
    const a = mealEvent();
    meals.ingest(batch(a), 'c1', 'd1', now);
    const again = meals.ingest(batch(a, a), 'c1', 'd1', now);
    expect(again).toMatchObject({ receipted: [a.eventId, a.eventId], stored: 0, known: 2, duplicates: 0 });
    expect(meals.count()).toBe(1);
    expect(meals.countDuplicateAttempts()).toBe(0);
  });

  it('keeps a second check-in for the same elder, date and meal as a duplicate attempt', () => {
    const first = mealEvent({ elderId: 'e1', meal: 'lunch' });
    const second = mealEvent({ elderId: 'e1', meal: 'lunch', deviceId: 'd1', method: 'manual', staffId: 'S1' });
    const otherMeal = mealEvent({ elderId: 'e1', meal: 'dinner' });
    const r = meals.ingest(batch(first, second, otherMeal), 'c1', 'd1', now);
    expect(r).toMatchObject({ receipted: [first.eventId, second.eventId, otherMeal.eventId], stored: 2, duplicates: 1 });
    expect(meals.count()).toBe(2);
    expect(meals.findByEventId(second.eventId)).toBeUndefined();
    expect(db.prepare('SELECT original_event_id AS o FROM duplicate_attempts WHERE event_id = ?').get(second.eventId)).toEqual({ o: first.eventId });
    // The duplicate attempt re-sent is already known, not a second duplicate.
    expect(meals.ingest(batch(second), 'c1', 'd1', now)).toMatchObject({ receipted: [second.eventId], known: 1, duplicates: 0 });
    expect(meals.countDuplicateAttempts()).toBe(1);
  });

  it('rejects events whose centre or device is not the topic one, keeping the rest', () => {
    const good = mealEvent({ elderId: 'e1' });
    const otherCentre = mealEvent({ elderId: 'e2', centreId: 'c2' });
    const otherDevice = mealEvent({ elderId: 'e3', deviceId: 'd9' });
    const r = meals.ingest(batch(good, otherCentre, otherDevice), 'c1', 'd1', now);
    expect(r.receipted).toEqual([good.eventId]);
    expect(r.rejected.map((x) => x.eventId)).toEqual([otherCentre.eventId, otherDevice.eventId]);
    expect(r.rejected[0]!.reason).toContain('names centre c2 / device d1 but arrived on the topic of centre c1 / device d1');
    expect(meals.count()).toBe(1);
  });

  it('rolls the whole batch back when a write fails', () => {
    const a = mealEvent({ elderId: 'e1' });
    db.exec(`CREATE TRIGGER fail BEFORE INSERT ON meals WHEN NEW.elder_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    expect(() => meals.ingest(batch(a, mealEvent({ elderId: 'boom' })), 'c1', 'd1', now)).toThrow('boom');
    expect(meals.count()).toBe(0);
  });
});

describe('dead letter repository', () => {
  it('keeps an excerpt and counts repeats of the same message', () => {
    const dl = createDeadLetterRepository(db);
    const huge = Buffer.alloc(100_000, 'x');
    dl.record('t/1', 'too big', huge, now);
    dl.record('t/1', 'too big', huge, new Date('2025-03-10T05:00:00.000Z'));
    dl.record('t/1', 'other', 'abc', now);
    const [other, big] = dl.list();
    expect(dl.count()).toBe(2);
    expect(big).toMatchObject({ topic: 't/1', reason: 'too big', payloadBytes: 100_000, attempts: 2, lastReceivedAt: '2025-03-10T05:00:00.000Z' });
    expect(big!.payloadExcerpt).toHaveLength(DEAD_LETTER_EXCERPT_BYTES);
    expect(other).toMatchObject({ reason: 'other', payloadExcerpt: 'abc', attempts: 1 });
  });
});

describe('device repository', () => {
  it('tracks last seen and status', () => {
    const devices = createDeviceRepository(db);
    const seenAt = new Date('2025-03-10T04:00:00.000Z');
    devices.seen('c1', 'd1', seenAt);
    expect(devices.find('c1', 'd1')).toMatchObject({ status: 'unknown', lastSeen: seenAt.toISOString() });
    devices.setStatus('c1', 'd1', 'offline', new Date('2025-03-10T06:00:00.000Z'), '2025-03-10T05:59:00.000Z');
    // An older "seen" never moves last_seen back.
    devices.seen('c1', 'd1', seenAt);
    expect(devices.list()).toEqual([
      { centreId: 'c1', deviceId: 'd1', status: 'offline', statusAt: '2025-03-10T05:59:00.000Z', lastSeen: '2025-03-10T06:00:00.000Z' },
    ]);
  });
});

describe('stats repository', () => {
  function seed() {
    const rows = [
      mealEvent({ centreId: 'c2', deviceId: 'd1', elderId: 'e1', serviceDate: '2025-03-10', meal: 'dinner' }),
      mealEvent({ centreId: 'c2', deviceId: 'd1', elderId: 'e2', serviceDate: '2025-03-10', meal: 'breakfast' }),
      mealEvent({ centreId: 'c1', deviceId: 'd1', elderId: 'e3', serviceDate: '2025-03-10', meal: 'lunch' }),
      mealEvent({ centreId: 'c1', deviceId: 'd1', elderId: 'e4', serviceDate: '2025-03-10', meal: 'lunch' }),
      mealEvent({ centreId: 'c1', deviceId: 'd1', elderId: 'e3', serviceDate: '2025-03-11', meal: 'lunch' }),
      mealEvent({ centreId: 'c1', deviceId: 'd1', elderId: 'e3', serviceDate: '2025-03-12', meal: 'lunch' }),
      // Outside the period.
      mealEvent({ centreId: 'c1', deviceId: 'd1', elderId: 'e3', serviceDate: '2025-02-28', meal: 'lunch' }),
    ];
    // Received after the last of those days, as the server checks that no event is ahead of it.
    const received = new Date('2025-03-12T14:00:00.000Z');
    for (const e of rows) meals.ingest(batch(e), e.centreId, e.deviceId, received);
    // A duplicate attempt: not counted.
    meals.ingest(batch(mealEvent({ centreId: 'c1', elderId: 'e3', serviceDate: '2025-03-10', meal: 'lunch' })), 'c1', 'd1', received);
  }

  it('groups by centre, day and meal, sorted, with meals in day order', () => {
    seed();
    const stats = createStatsRepository(db);
    expect(stats.mealCounts({ from: '2025-03-10', to: '2025-03-11', groupBy: ['centre', 'day', 'meal'] })).toEqual({
      rows: [
        { centreId: 'c1', day: '2025-03-10', meal: 'lunch', meals: 2, voided: 0 },
        { centreId: 'c1', day: '2025-03-11', meal: 'lunch', meals: 1, voided: 0 },
        { centreId: 'c2', day: '2025-03-10', meal: 'breakfast', meals: 1, voided: 0 },
        { centreId: 'c2', day: '2025-03-10', meal: 'dinner', meals: 1, voided: 0 },
      ],
      total: 5,
      voided: 0,
      clockFlagged: 0,
      clockReview: 0,
    });
  });

  it('groups by any subset, and by nothing', () => {
    seed();
    const stats = createStatsRepository(db);
    const q = { from: '2025-03-01', to: '2025-03-31' };
    expect(stats.mealCounts({ ...q, groupBy: ['meal'] }).rows).toEqual([
      { meal: 'breakfast', meals: 1, voided: 0 },
      { meal: 'lunch', meals: 4, voided: 0 },
      { meal: 'dinner', meals: 1, voided: 0 },
    ]);
    expect(stats.mealCounts({ ...q, groupBy: ['centre'] }).rows).toEqual([
      { centreId: 'c1', meals: 4, voided: 0 },
      { centreId: 'c2', meals: 2, voided: 0 },
    ]);
    expect(stats.mealCounts({ ...q, groupBy: ['day'] }).rows.map((r) => r.day)).toEqual(['2025-03-10', '2025-03-11', '2025-03-12']);
    expect(stats.mealCounts({ ...q, groupBy: [] })).toEqual({ rows: [{ meals: 6, voided: 0 }], total: 6, voided: 0, clockFlagged: 0, clockReview: 0 });
    expect(stats.mealCounts({ from: '2030-01-01', to: '2030-01-01', groupBy: [] })).toEqual({ rows: [{ meals: 0, voided: 0 }], total: 0, voided: 0, clockFlagged: 0, clockReview: 0 });
    expect(stats.mealCounts({ from: '2030-01-01', to: '2030-01-01', groupBy: ['centre'] })).toEqual({ rows: [], total: 0, voided: 0, clockFlagged: 0, clockReview: 0 });
  });
});
