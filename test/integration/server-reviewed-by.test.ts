/**
 * `reviewedBy` on the server (migration 014): a face meal staff assigned from a box's review
 * queue names them wherever the server keeps the event (meals, duplicate attempts, events kept
 * for review, voided meals); an eventId sent again is compared on it (same: known, other: a
 * conflict); the review and conflict listings show it. Real SQLite, the real ingest (its message
 * handler, without a broker) and the real HTTP app.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { topics, type BatchEvent, type MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest, type MessageOutcome } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir, testIngest } from '../helpers/server-fixtures.ts';

describe('server: reviewedBy', () => {
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

  const send = (...events: BatchEvent[]): MessageOutcome => ingest.handle(topics.events(events[0]!.centreId, events[0]!.deviceId), Buffer.from(JSON.stringify({ v: 1, events })));
  const reviewedByIn = (table: string, eventId: string) => db.prepare(`SELECT reviewed_by FROM ${table} WHERE event_id = ?`).pluck().get(eventId);

  it('stores who assigned a face meal, for a meal, a duplicate attempt and an event kept for review; a door meal has none', () => {
    const assigned = mealEvent({ elderId: 'E1', reviewedBy: 'S01' });
    const door = mealEvent({ elderId: 'E2' });
    const again = mealEvent({ elderId: 'E1', reviewedBy: 'S02' });
    const outside = mealEvent({ elderId: 'E3', reviewedBy: 'S01', at: '2025-03-10T15:00:00.000+08:00' });
    expect(send(assigned, door, again, outside)).toMatchObject({ kind: 'ingested', result: { stored: 2, duplicates: 1, forReview: 1, conflicts: [] } });
    expect(reviewedByIn('meals', assigned.eventId)).toBe('S01');
    expect(reviewedByIn('meals', door.eventId)).toBeNull();
    expect(reviewedByIn('duplicate_attempts', again.eventId)).toBe('S02');
    expect(reviewedByIn('event_reviews', outside.eventId)).toBe('S01');
    expect(createMealRepository(db).findByEventId(assigned.eventId)).toMatchObject({ method: 'face', reviewedBy: 'S01', staffId: null });
  });

  it('a replay with the same reviewedBy is known; another reviewedBy, or none, is a conflict', () => {
    const assigned = mealEvent({ elderId: 'E1', reviewedBy: 'S01' });
    const door = mealEvent({ elderId: 'E2' });
    send(assigned, door);
    expect(send(assigned, door)).toMatchObject({ kind: 'ingested', result: { known: 2, conflicts: [] } });
    const { reviewedBy: _r, ...without } = assigned;
    expect(send({ ...assigned, reviewedBy: 'S02' })).toMatchObject({ kind: 'ingested', result: { known: 0, conflicts: [assigned.eventId] } });
    expect(send(without)).toMatchObject({ kind: 'ingested', result: { known: 0, conflicts: [assigned.eventId] } });
    expect(send({ ...door, reviewedBy: 'S01' })).toMatchObject({ kind: 'ingested', result: { known: 0, conflicts: [door.eventId] } });
    // The original still counts, as it was.
    expect(reviewedByIn('meals', assigned.eventId)).toBe('S01');
    expect(db.prepare('SELECT count(*) FROM meals').pluck().get()).toBe(2);
  });

  it('keeps it when the meal is voided (and compares a replay of the voided meal on it)', () => {
    const assigned = mealEvent({ elderId: 'E1', reviewedBy: 'S01' });
    send(assigned);
    const v = { type: 'void' as const, eventId: uuidv7(), centreId: 'c1', deviceId: 'd1', at: '2025-03-10T04:30:00.000Z', voids: assigned.eventId, reason: '认错人', staffId: 'S03' };
    expect(send(v)).toMatchObject({ kind: 'ingested', result: { stored: 1 } });
    expect(reviewedByIn('voided_meals', assigned.eventId)).toBe('S01');
    expect(send(assigned)).toMatchObject({ kind: 'ingested', result: { known: 1, conflicts: [] } });
    expect(send({ ...assigned, reviewedBy: 'S09' })).toMatchObject({ kind: 'ingested', result: { conflicts: [assigned.eventId] } });
  });

  it('GET /stats/reviews and /stats/conflicts show it', async () => {
    const outside = mealEvent({ elderId: 'E3', reviewedBy: 'S01', at: '2025-03-10T15:00:00.000+08:00' });
    const assigned: MealEvent = mealEvent({ elderId: 'E1', reviewedBy: 'S01' });
    send(outside, assigned);
    send({ ...assigned, reviewedBy: 'S02' });
    const app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN });
    try {
      const auth = { authorization: `Bearer ${TEST_TOKEN}` };
      const reviews = await app.inject({ url: '/api/v1/stats/reviews', headers: auth });
      expect(reviews.statusCode).toBe(200);
      expect(reviews.json()).toMatchObject({ total: 1, events: [{ eventId: outside.eventId, reason: 'outside-window', method: 'face', reviewedBy: 'S01' }] });
      const conflicts = await app.inject({ url: '/api/v1/stats/conflicts', headers: auth });
      expect(conflicts.statusCode).toBe(200);
      expect(conflicts.json()).toMatchObject({ total: 1, conflicts: [{ eventId: assigned.eventId, originalTable: 'meals', original: { reviewedBy: 'S01' }, version: { reviewedBy: 'S02' } }] });
    } finally {
      await app.close();
    }
  });
});
