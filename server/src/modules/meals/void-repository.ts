/**
 * Voids: a staff member at a box voided a meal (common/records.ts, type `void`). The server stops
 * counting it: the meal moves from `meals` to `voided_meals` (server migration 009), whole, and
 * the statistics count it as `voided`. What a void came to is kept in `meal_voids`:
 *
 * - the meal is counted here, at the void's centre, in an open month: `applied`. Its slot (elder,
 *   date, meal) is free again, and the earliest duplicate attempt for it, if any, becomes the
 *   meal that counts: the box lets staff check the elder in again after a void, and that check-in
 *   may have arrived first (batches out of order) and been taken for a duplicate;
 * - the meal has not arrived (batches out of order): `waiting`. When it arrives, meal ingest asks
 *   `arriving()` first, and it goes straight to voided_meals. The outcome is the same whichever
 *   comes first;
 * - the meal belongs to another centre (`other-centre`), lies in a closed month
 *   (`month-closed`: the reported figure stands), is already voided (`already-voided`) or was
 *   never counted (`not-counted`, kept for review): kept, listed for review, nothing changes.
 *
 * Idempotency by eventId and conflicts are the record ingest's (records/record-ingest.ts): this
 * handler sees each void once, inside the batch's transaction, and throws on any SQLite error.
 */
import type { VoidRecord } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { createClosedMonthRepository, type ClosedMonthRepository } from '../months/closed-month-repository.ts';
import type { RecordHandler } from '../records/record-ingest.ts';
import type { MealRow } from './meal-repository.ts';

export const VOID_STATES = ['applied', 'waiting', 'other-centre', 'month-closed', 'already-voided', 'not-counted'] as const;
export type VoidState = (typeof VOID_STATES)[number];

/** A meal as meal ingest is about to store it: a row of `meals`. */
export type ArrivingMeal = MealRow;

export interface VoidRepository extends RecordHandler<'void'> {
  /**
   * Meal ingest calls this for a meal it has not seen, before storing it. `voided`: a void was
   * waiting for it, and it is now stored in voided_meals (not counted). `store`: no void applies;
   * store it as usual. `forReview`: the meal goes to review anyway (its void becomes `not-counted`).
   */
  arriving(meal: ArrivingMeal, forReview: boolean, receivedAt: Date): 'voided' | 'store';
  /** Voids by state (every state present, 0 when none). */
  countByState(): Record<VoidState, number>;
  /** Meals taken out by voids. */
  countVoidedMeals(): number;
}

const mealCols =
  'event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms, staff_id, proxy_name, reviewed_by';

type Target = { source: 'meals' | 'duplicate_attempts' | 'voided_meals' | 'event_reviews'; centreId: string; serviceDate: string; elderId: string; meal: string };

export interface VoidRepositoryDeps {
  /** Default: the closed_months table of `db`. */
  months?: Pick<ClosedMonthRepository, 'closedSet'>;
}

export function createVoidRepository(db: Db, deps: VoidRepositoryDeps = {}): VoidRepository {
  const months = deps.months ?? createClosedMonthRepository(db);
  const insertVoid = db.prepare<[string, string, string, string, string, string, string, string, string, string | null]>(
    'INSERT INTO meal_voids (event_id, centre_id, device_id, voids, reason, staff_id, at, received_at, state, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const findTarget = db.prepare<[string, string, string, string], Target>(
    `SELECT 'meals' AS source, centre_id AS centreId, service_date AS serviceDate, elder_id AS elderId, meal FROM meals WHERE event_id = ?
     UNION ALL SELECT 'duplicate_attempts', centre_id, service_date, elder_id, meal FROM duplicate_attempts WHERE event_id = ?
     UNION ALL SELECT 'voided_meals', centre_id, service_date, elder_id, meal FROM voided_meals WHERE event_id = ?
     UNION ALL SELECT 'event_reviews', centre_id, service_date, elder_id, meal FROM event_reviews WHERE event_id = ? LIMIT 1`,
  );
  const moveFromMeals = db.prepare<[string, string, string]>(
    `INSERT INTO voided_meals (${mealCols}, void_event_id, voided_at) SELECT ${mealCols}, ?, ? FROM meals WHERE event_id = ?`,
  );
  const deleteMeal = db.prepare<[string]>('DELETE FROM meals WHERE event_id = ?');
  const moveFromDuplicates = db.prepare<[string, string, string]>(
    `INSERT INTO voided_meals (${mealCols}, void_event_id, voided_at) SELECT ${mealCols}, ?, ? FROM duplicate_attempts WHERE event_id = ?`,
  );
  const deleteDuplicate = db.prepare<[string]>('DELETE FROM duplicate_attempts WHERE event_id = ?');
  // The first attempt to arrive is the one that would have counted had the voided meal never been.
  const firstDuplicate = db.prepare<[string, string, string], string>(
    'SELECT event_id FROM duplicate_attempts WHERE elder_id = ? AND service_date = ? AND meal = ? ORDER BY received_at, at, event_id LIMIT 1',
  ).pluck();
  const promote = db.prepare<[string]>(`INSERT INTO meals (${mealCols}) SELECT ${mealCols} FROM duplicate_attempts WHERE event_id = ?`);
  const insertVoided = db.prepare(
    `INSERT INTO voided_meals (${mealCols}, void_event_id, voided_at)
     VALUES (@eventId, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs, @staffId, @proxyName, @reviewedBy, @voidEventId, @voidedAt)`,
  );
  const waitingFor = db.prepare<[string], { eventId: string; centreId: string }>(
    "SELECT event_id AS eventId, centre_id AS centreId FROM meal_voids WHERE voids = ? AND state = 'waiting' ORDER BY received_at, event_id",
  );
  const settle = db.prepare<[string, string, string]>("UPDATE meal_voids SET state = ?, settled_at = ? WHERE event_id = ? AND state = 'waiting'");
  const byState = db.prepare<[], { state: VoidState; n: number }>('SELECT state, count(*) AS n FROM meal_voids GROUP BY state');
  const countVoided = db.prepare<[], number>('SELECT count(*) FROM voided_meals').pluck();

  /** What a void of `target` comes to, and (applied) takes the meal out. */
  function applyTo(v: VoidRecord, target: Target | undefined, at: string): VoidState {
    if (!target) return 'waiting';
    if (target.centreId !== v.centreId) return 'other-centre';
    switch (target.source) {
      case 'voided_meals':
        return 'already-voided';
      case 'event_reviews':
        return 'not-counted';
      case 'duplicate_attempts':
        // Never counted, but it must not become the meal that counts later.
        moveFromDuplicates.run(v.eventId, at, v.voids);
        deleteDuplicate.run(v.voids);
        return 'applied';
      case 'meals': {
        if (months.closedSet().has(target.serviceDate.slice(0, 7))) return 'month-closed';
        moveFromMeals.run(v.eventId, at, v.voids);
        deleteMeal.run(v.voids);
        const next = firstDuplicate.get(target.elderId, target.serviceDate, target.meal);
        if (next !== undefined) {
          promote.run(next);
          deleteDuplicate.run(next);
        }
        return 'applied';
      }
    }
  }

  return {
    type: 'void',
    apply(v, receivedAt) {
      const at = receivedAt.toISOString();
      const state = applyTo(v, findTarget.get(v.voids, v.voids, v.voids, v.voids), at);
      insertVoid.run(v.eventId, v.centreId, v.deviceId, v.voids, v.reason, v.staffId, v.at, at, state, state === 'waiting' ? null : at);
    },
    arriving(meal, forReview, receivedAt) {
      const waiting = waitingFor.all(meal.eventId);
      if (waiting.length === 0) return 'store';
      const at = receivedAt.toISOString();
      let taken = false;
      for (const w of waiting) {
        if (w.centreId !== meal.centreId) settle.run('other-centre', at, w.eventId);
        else if (forReview) settle.run('not-counted', at, w.eventId);
        else if (taken) settle.run('already-voided', at, w.eventId);
        else {
          insertVoided.run({ ...meal, voidEventId: w.eventId, voidedAt: at });
          settle.run('applied', at, w.eventId);
          taken = true;
        }
      }
      return taken ? 'voided' : 'store';
    },
    countByState() {
      const out = Object.fromEntries(VOID_STATES.map((s) => [s, 0])) as Record<VoidState, number>;
      for (const r of byState.all()) out[r.state] = r.n;
      return out;
    },
    countVoidedMeals: () => countVoided.get() ?? 0,
  };
}
