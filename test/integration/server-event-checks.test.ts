/**
 * The server checks an event's dates instead of taking them (issue 10, items 2 and 3), through
 * ingest's message handler and the admin API on one real database: every event that fails a
 * check is receipted (the edge cannot fix it), kept for review with its reason and never counted;
 * an eventId already held arriving with other content is kept as a conflict.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics, type MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createDeadLetterRepository } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest, type MessageOutcome, type MqttIngest } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { batch, mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

/** The server's clock: 12:00 in Shanghai on Tuesday 2026-03-10. */
const NOW = '2026-03-10T04:00:00.000Z';
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;
let ingest: MqttIngest;
let now: Date;

beforeEach(async () => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  now = new Date(NOW);
  const clock = { now: () => now };
  ingest = createMqttIngest({
    url: 'mqtt://127.0.0.1:1',
    protocolVersion: 4,
    clientId: 'test',
    db,
    meals: createMealRepository(db),
    deadLetters: createDeadLetterRepository(db),
    devices: createDeviceRepository(db),
    clock,
    logger: quietLogger,
  });
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN, clock });
});
afterEach(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

/** A lunch at c1 today (12:00 Shanghai), unless overridden. */
const lunch = (o: Partial<MealEvent> = {}) => mealEvent({ serviceDate: '2026-03-10', meal: 'lunch', at: NOW, ...o });

function send(...events: MealEvent[]): Extract<MessageOutcome, { kind: 'ingested' }>['result'] {
  const centre = events[0]!.centreId;
  const out = ingest.handle(topics.events(centre, 'd1'), Buffer.from(JSON.stringify(batch(...events))));
  if (out.kind !== 'ingested') throw new Error(`not ingested: ${JSON.stringify(out)}`);
  return out.result;
}

const api = async (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) => {
  const res = await app.inject({ method, url: `/api/v1${url}`, headers: auth, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
};
const mealIds = () => db.prepare('SELECT event_id FROM meals').pluck().all() as string[];
const reviewOf = (eventId: string) => db.prepare('SELECT reason, detail FROM event_reviews WHERE event_id = ?').get(eventId) as { reason: string; detail: string } | undefined;

/** Sends `e` alone and expects it receipted, not counted, and kept for review with `reason`. */
function expectReview(e: MealEvent, reason: string, detail?: RegExp): void {
  const r = send(e);
  expect(r).toMatchObject({ receipted: [e.eventId], stored: 0, forReview: 1, rejected: [] });
  expect(mealIds()).not.toContain(e.eventId);
  expect(reviewOf(e.eventId)).toMatchObject({ reason });
  if (detail) expect(reviewOf(e.eventId)!.detail).toMatch(detail);
}

describe('serviceDate is a real calendar date', () => {
  it.each([
    ['2026-13-45', 'month 13'],
    ['0000-00-00', 'year 0'],
    ['2026-02-30', 'February 30th'],
    ['2025-02-29', 'February 29th of a common year'],
  ])('%s (%s) is kept for review, not counted', (serviceDate) => {
    expectReview(lunch({ serviceDate }), 'bad-date', new RegExp(`serviceDate ${serviceDate} is not a calendar date`));
  });

  it('2024-02-29 (a leap day) is a date', () => {
    now = new Date('2024-02-29T12:00:00.000Z');
    const e = lunch({ serviceDate: '2024-02-29', at: '2024-02-29T04:00:00.000Z' });
    expect(send(e)).toMatchObject({ stored: 1 });
  });
});

describe('serviceDate is the centre-local date of at', () => {
  it('a meal dated 2026-01-15 with at = now is kept for review, and January counts nothing', async () => {
    const e = lunch({ serviceDate: '2026-01-15' });
    expectReview(e, 'date-mismatch', /serviceDate 2026-01-15 is not the local date of at .* in Asia\/Shanghai \(2026-03-10\)/);
    const jan = await api('GET', '/stats/meals?from=2026-01-01&to=2026-01-31&groupBy=');
    expect(jan.body).toMatchObject({ total: 0, clockReview: 1 });
  });

  it('the UTC date is not the local date: 00:30 in Shanghai is the next day', () => {
    now = new Date('2026-03-10T22:00:00.000Z');
    // 2026-03-10T16:30Z is 00:30 on the 11th in Shanghai.
    expectReview(lunch({ serviceDate: '2026-03-10', at: '2026-03-10T16:30:00.000Z' }), 'date-mismatch', /\(2026-03-11\)/);
  });
});

describe('meal is the centre window containing at', () => {
  it('counts a lunch at 12:00 Shanghai and a breakfast at 07:00', () => {
    const a = lunch({ elderId: 'a' });
    const b = lunch({ elderId: 'b', meal: 'breakfast', at: '2026-03-09T23:00:00.000Z' });
    expect(send(a, b)).toMatchObject({ stored: 2, forReview: 0 });
  });

  it('keeps a "lunch" at 14:00 (no window) and a "dinner" at 12:00 (the lunch window) for review', () => {
    now = new Date('2026-03-10T12:00:00.000Z');
    expectReview(lunch({ elderId: 'a', at: '2026-03-10T06:00:00.000Z' }), 'outside-window', /14:00 in Asia\/Shanghai\) is in no meal window/);
    expectReview(lunch({ elderId: 'b', meal: 'dinner' }), 'meal-mismatch', /is in the lunch window \(11:00-13:30\), not dinner/);
  });

  it('a window is open at its start and closed at its end (11:00 in, 13:30 out)', () => {
    now = new Date('2026-03-10T12:00:00.000Z');
    expect(send(lunch({ elderId: 'a', at: '2026-03-10T03:00:00.000Z' }))).toMatchObject({ stored: 1 });
    expectReview(lunch({ elderId: 'b', at: '2026-03-10T05:30:00.000Z' }), 'outside-window');
  });
});

describe('a centre with its own time zone and windows', () => {
  it('Europe/London: serviceDate and meal follow London time, not Shanghai', async () => {
    const set = await api('PUT', '/centres/london-1', { timeZone: 'Europe/London', mealWindows: 'lunch=12:00-14:00,dinner=17:00-19:00' });
    expect(set).toEqual({ status: 200, body: { centreId: 'london-1', timeZone: 'Europe/London', mealWindows: 'lunch=12:00-14:00,dinner=17:00-19:00', name: null, districtId: null, updatedAt: NOW } });
    now = new Date('2026-03-10T19:00:00.000Z');
    // 12:30 in London (20:30 in Shanghai, no window there).
    const london = lunch({ centreId: 'london-1', at: '2026-03-10T12:30:00.000Z' });
    expect(send(london)).toMatchObject({ stored: 1 });
    // The same time at a centre with the defaults is in no window.
    expectReview(lunch({ elderId: 'x', at: '2026-03-10T12:30:00.000Z' }), 'outside-window');
    // Breakfast has no window in London.
    expectReview(lunch({ centreId: 'london-1', elderId: 'y', meal: 'breakfast', at: '2026-03-10T08:00:00.000Z' }), 'outside-window', /in Europe\/London/);
  });

  it('Asia/Urumqi: 23:30 there is still the 10th while Shanghai is on the 11th', async () => {
    expect((await api('PUT', '/centres/urumqi-1', { timeZone: 'asia/urumqi', mealWindows: 'dinner=19:00-24:00' })).body).toMatchObject({ timeZone: 'Asia/Urumqi' });
    now = new Date('2026-03-10T18:00:00.000Z');
    const late = lunch({ centreId: 'urumqi-1', meal: 'dinner', at: '2026-03-10T17:30:00.000Z' });
    expect(send(late)).toMatchObject({ stored: 1 });
    expectReview(lunch({ centreId: 'urumqi-1', elderId: 'z', meal: 'dinner', serviceDate: '2026-03-11', at: '2026-03-10T17:30:00.000Z' }), 'date-mismatch', /in Asia\/Urumqi \(2026-03-10\)/);
  });

  it('refuses a bad zone or bad windows with a 400 naming each problem, and keeps the old settings', async () => {
    await api('PUT', '/centres/c9', { mealWindows: 'lunch=11:00-13:00' });
    const bad = await api('PUT', '/centres/c9', { timeZone: 'Mars/Olympus', mealWindows: 'lunch=13:00-11:00,brunch=10:00-11:00' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/timeZone: "Mars\/Olympus" is not an IANA time zone/);
    expect(bad.body.message).toMatch(/mealWindows: lunch: 13:00-11:00 ends before it starts/);
    expect(bad.body.message).toMatch(/"brunch" is not a meal/);
    expect((await api('PUT', '/centres/c9', {})).status).toBe(400);
    expect((await api('PUT', '/centres/bad%2Fid', { timeZone: 'UTC' })).status).toBe(400);
    expect((await api('GET', '/centres')).body).toEqual({
      centres: [{ centreId: 'c9', timeZone: 'Asia/Shanghai', mealWindows: 'lunch=11:00-13:00', name: null, districtId: null, updatedAt: NOW }],
      defaults: { timeZone: 'Asia/Shanghai', mealWindows: 'breakfast=06:00-09:00,lunch=11:00-13:30,dinner=17:30-19:30' },
    });
    // Only the time zone changes; the windows stay.
    expect((await api('PUT', '/centres/c9', { timeZone: 'UTC' })).body).toMatchObject({ timeZone: 'UTC', mealWindows: 'lunch=11:00-13:00' });
  });
});

describe('closed months', () => {
  it('an event dated in a closed month is kept for review; the month\'s count does not change', async () => {
    now = new Date('2026-03-02T04:00:00.000Z');
    const before = lunch({ elderId: 'a', serviceDate: '2026-02-27', at: '2026-02-27T04:00:00.000Z' });
    expect(send(before)).toMatchObject({ stored: 1 });
    const closed = await api('POST', '/months/2026-02/close', { by: 'bureau-anna' });
    expect(closed).toEqual({ status: 200, body: { month: { month: '2026-02', closedAt: '2026-03-02T04:00:00.000Z', closedBy: 'bureau-anna' }, alreadyClosed: false } });
    // A box back online after three days brings a February lunch.
    expectReview(lunch({ elderId: 'b', serviceDate: '2026-02-27', at: '2026-02-27T04:00:00.000Z' }), 'month-closed', /2026-02 is closed/);
    expect((await api('GET', '/stats/meals?from=2026-02-01&to=2026-02-28&groupBy=')).body).toMatchObject({ total: 1 });
    // March is open.
    expect(send(lunch({ elderId: 'c', serviceDate: '2026-03-02', at: '2026-03-02T04:00:00.000Z' }))).toMatchObject({ stored: 1 });
    // Closing again keeps the first closing.
    expect((await api('POST', '/months/2026-02/close')).body).toMatchObject({ month: { closedBy: 'bureau-anna' }, alreadyClosed: true });
    expect((await api('GET', '/months')).body).toEqual({ closed: [{ month: '2026-02', closedAt: '2026-03-02T04:00:00.000Z', closedBy: 'bureau-anna' }] });
  });

  it.each(['2026-13', '2026-2', '0000-01', 'last'])('refuses to close "%s"', async (month) => {
    expect((await api('POST', `/months/${month}/close`)).status).toBe(400);
  });
});

describe('far in the future or the past', () => {
  it('2099-12-31 is counted nowhere, with at = now or at = then', async () => {
    expectReview(lunch({ elderId: 'a', serviceDate: '2099-12-31' }), 'date-mismatch');
    expectReview(lunch({ elderId: 'b', serviceDate: '2099-12-31', at: '2099-12-31T04:00:00.000Z' }), 'clock-ahead', /ahead of the server's time/);
    expect((await api('GET', '/stats/meals?from=2099-12-01&to=2099-12-31&groupBy=')).body).toMatchObject({ total: 0 });
  });

  it('at ahead of the server by more than 10 min is kept for review; 5 min ahead is counted', () => {
    expectReview(lunch({ elderId: 'a', at: '2026-03-10T04:11:00.000Z' }), 'clock-ahead', /11 min ahead/);
    expect(send(lunch({ elderId: 'b', at: '2026-03-10T04:05:00.000Z' }))).toMatchObject({ stored: 1 });
  });

  it('a box offline for 30 days is counted (flagged late); 36 days is kept for review; 1970 is an unset clock', () => {
    const days = (n: number) => new Date(Date.parse(NOW) - n * 86_400_000).toISOString();
    const d30 = lunch({ elderId: 'a', serviceDate: days(30).slice(0, 10), at: days(30) });
    expect(send(d30)).toMatchObject({ stored: 1 });
    expect(db.prepare('SELECT clock_flag FROM meals WHERE event_id = ?').pluck().get(d30.eventId)).toBe('late');
    expectReview(lunch({ elderId: 'b', serviceDate: days(36).slice(0, 10), at: days(36) }), 'too-old', /more than 35 days before/);
    expectReview(lunch({ elderId: 'c', serviceDate: '1970-01-01', at: '1970-01-01T04:00:00.000Z' }), 'clock-unset');
  });
});

describe('reviews are visible', () => {
  it('in GET /stats/reviews (and /stats/clock-review), the stats clockReview count and GET /status', async () => {
    const bad = lunch({ elderId: 'a', serviceDate: '2026-13-45' });
    const unverified = lunch({ elderId: 'b', clock: 'unverified' });
    const good = lunch({ elderId: 'c' });
    send(bad, unverified, good);
    for (const url of ['/stats/reviews', '/stats/clock-review']) {
      const list = await api('GET', url);
      expect(list.body.total).toBe(2);
      expect(list.body.events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ eventId: bad.eventId, reason: 'bad-date', detail: 'serviceDate 2026-13-45 is not a calendar date', serviceDate: '2026-13-45' }),
          expect.objectContaining({ eventId: unverified.eventId, reason: 'unverified' }),
        ]),
      );
    }
    expect((await api('GET', '/stats/meals?from=2026-03-10&to=2026-03-10&groupBy=')).body).toMatchObject({ total: 1, clockReview: 2 });
    const status = await api('GET', '/status');
    expect(status.body).toMatchObject({ at: NOW, ingest: { meals: 1, duplicateAttempts: 0, conflicts: 0, reviews: { total: 2, byReason: { 'bad-date': 1, unverified: 1, 'month-closed': 0 } } } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/status' })).statusCode).toBe(401);
  });
});

describe('a reused eventId with other content is a conflict', () => {
  const conflictRows = () => db.prepare('SELECT event_id AS eventId, original_table AS originalTable, version FROM event_conflicts ORDER BY id').all() as Array<{ eventId: string; originalTable: string; version: string }>;

  it('with a counted meal: the new version is kept and named, the meal stays as it was', async () => {
    const first = lunch({ elderId: 'a' });
    send(first);
    const other = { ...first, elderId: 'someone-else' };
    expect(send(other)).toMatchObject({ receipted: [first.eventId], conflicts: [first.eventId], known: 0, stored: 0 });
    expect(db.prepare('SELECT elder_id FROM meals WHERE event_id = ?').pluck().get(first.eventId)).toBe('a');
    expect(conflictRows()).toEqual([{ eventId: first.eventId, originalTable: 'meals', version: expect.stringContaining('"elderId":"someone-else"') }]);
    const list = await api('GET', '/stats/conflicts');
    expect(list.body).toEqual({
      conflicts: [{ eventId: first.eventId, originalTable: 'meals', original: expect.objectContaining({ eventId: first.eventId, elderId: 'a', meal: 'lunch' }), version: { ...other }, receivedAt: NOW }],
      total: 1,
    });
    expect((await api('GET', '/status')).body).toMatchObject({ ingest: { meals: 1, conflicts: 1 } });
  });

  it('with a duplicate attempt and with an event kept for review', () => {
    const meal = lunch({ elderId: 'a' });
    const dup = lunch({ elderId: 'a', method: 'manual', staffId: 'S1' });
    const review = lunch({ elderId: 'b', serviceDate: '2026-02-30' });
    expect(send(meal, dup, review)).toMatchObject({ stored: 1, duplicates: 1, forReview: 1 });
    expect(send({ ...dup, score: 0.2 }, { ...review, serviceDate: '2026-03-10' })).toMatchObject({ conflicts: [dup.eventId, review.eventId], stored: 0 });
    expect(conflictRows().map((c) => c.originalTable)).toEqual(['duplicate_attempts', 'event_reviews']);
    // The review was not turned into a meal by its "fixed" version.
    expect(mealIds()).toEqual([meal.eventId]);
  });

  it.each<[string, Partial<MealEvent>]>([
    ['meal', { meal: 'dinner' }],
    ['at', { at: '2026-03-10T04:00:01.000Z' }],
    ['method', { method: 'proxy' }],
    ['a field the first version did not have', { bootId: '0190f5a2-0000-4000-8000-000000000001', seq: 1 }],
    ['a field dropped', { cameraId: undefined }],
    ['another device of the centre', { deviceId: 'd2' }],
  ])('differing only in %s', (_name, change) => {
    const first = lunch({ elderId: 'a' });
    send(first);
    const changed = { ...first, ...change };
    const out = ingest.handle(topics.events('c1', changed.deviceId), Buffer.from(JSON.stringify(batch(changed))));
    expect(out).toMatchObject({ kind: 'ingested', result: { conflicts: [first.eventId] } });
  });

  it('the same conflicting version sent twice is one row; sent unchanged, the original is known', () => {
    const first = lunch({ elderId: 'a' });
    send(first);
    const other = { ...first, meal: 'dinner' as const };
    expect(send(other).conflicts).toEqual([first.eventId]);
    expect(send(other).conflicts).toEqual([first.eventId]);
    expect(conflictRows()).toHaveLength(1);
    // A third version is another row.
    expect(send({ ...first, method: 'manual' }).conflicts).toEqual([first.eventId]);
    expect(conflictRows()).toHaveLength(2);
    expect(send(first)).toMatchObject({ known: 1, conflicts: [], receipted: [first.eventId] });
    expect(send({ ...first })).toMatchObject({ known: 1, conflicts: [] });
  });
});
