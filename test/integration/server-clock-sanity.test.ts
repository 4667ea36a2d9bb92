/** Clock sanity: events carry (bootId, seq); the server keeps its receive time and flags implausible edge times. */
import { describe, expect, it } from 'vitest';
import { parseEventBatch } from '../../common/contract.ts';
import { clockFlagOf, createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { batch, mealEvent, openServerDb, tempDir } from '../helpers/server-fixtures.ts';

const received = new Date('2026-03-10T04:00:00.000Z');

describe('clock sanity', () => {
  it.each([
    ['2026-03-10T03:59:00.000Z', null],
    ['2026-03-10T04:09:00.000Z', null],
    ['2026-03-10T04:11:00.000Z', 'ahead'],
    ['2026-03-08T12:00:00.000Z', 'late'],
    ['1970-01-01T00:00:10.000Z', 'unset'],
    ['2023-12-31T23:59:59.000Z', 'unset'],
  ])('edge time %s received at 04:00Z is flagged %s', (at, flag) => {
    expect(clockFlagOf(at, received)).toBe(flag);
  });

  it('accepts events with and without bootId/seq (v1 edges that predate them)', () => {
    const bootId = '0190f5a2-0000-4000-8000-000000000001';
    expect(parseEventBatch(JSON.stringify(batch(mealEvent(), mealEvent({ bootId, seq: 7 })))).ok).toBe(true);
    expect(parseEventBatch(JSON.stringify(batch(mealEvent({ bootId: 'not-a-uuid', seq: 1 })))).ok).toBe(false);
    expect(parseEventBatch(JSON.stringify(batch(mealEvent({ bootId, seq: -1 })))).ok).toBe(false);
    expect(parseEventBatch(JSON.stringify(batch(mealEvent({ bootId, seq: 1.5 })))).ok).toBe(false);
  });

  it('accepts the clock fields of this release and rejects bad ones', () => {
    const ok = (o: Record<string, unknown>) => parseEventBatch(JSON.stringify(batch(mealEvent(o)))).ok;
    expect(ok({ clock: 'server' })).toBe(true);
    expect(ok({ clock: 'corrected', monoMs: 1234, edgeAt: '1970-01-01T00:05:00.000Z' })).toBe(true);
    expect(ok({ clock: 'unverified', review: 'outside-window' })).toBe(true);
    expect(ok({ clock: 'fine' })).toBe(false);
    expect(ok({ monoMs: -1 })).toBe(false);
    expect(ok({ edgeAt: 'yesterday' })).toBe(false);
    expect(ok({ review: 'please' })).toBe(false);
  });

  it('stores bootId, seq, the receive time and the flag with the meal and with a duplicate attempt', () => {
    const tmp = tempDir();
    const db = openServerDb(tmp.dir);
    try {
      const meals = createMealRepository(db);
      const bootId = '0190f5a2-0000-4000-8000-000000000001';
      const fine = mealEvent({ elderId: 'e2', serviceDate: '2026-03-10', at: '2026-03-10T03:58:00.000Z', bootId, seq: 4 });
      // Two days offline: flagged late, still counted (a box may be offline for days).
      const late = mealEvent({ elderId: 'e3', serviceDate: '2026-03-08', at: '2026-03-08T04:00:00.000Z', bootId, seq: 5 });
      const dup = mealEvent({ elderId: 'e3', serviceDate: '2026-03-08', at: '2026-03-08T04:30:00.000Z', bootId, seq: 6 });
      expect(meals.ingest(batch(fine, late, dup), 'c1', 'd1', received)).toMatchObject({ stored: 2, duplicates: 1, forReview: 0 });
      expect(meals.findByEventId(fine.eventId)).toMatchObject({ bootId, seq: 4, clockFlag: null, receivedAt: received.toISOString() });
      expect(meals.findByEventId(late.eventId)).toMatchObject({ bootId, seq: 5, clockFlag: 'late' });
      expect(db.prepare('SELECT boot_id AS bootId, seq, clock_flag AS clockFlag FROM duplicate_attempts').get()).toEqual({ bootId, seq: 6, clockFlag: 'late' });
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});
