/**
 * The server's ingest figures for `GET /api/v1/status`: what arrived and where it went. Each
 * figure is a count over its table, so it is true after a restart and across processes.
 */
import type { Db } from '../../../../common/sqlite.ts';
import { REVIEW_REASONS, type EventReviewReason } from '../meals/event-checks.ts';

export interface IngestFigures {
  /** Counted meals. */
  meals: number;
  /** Second check-ins of an elder for one meal: receipted, not counted. */
  duplicateAttempts: number;
  /** Events kept for review, not counted: all, and per reason (every reason present, 0 when none). */
  reviews: { total: number; byReason: Record<EventReviewReason, number> };
  /** Distinct later versions of eventIds already held (event_conflicts): not counted. */
  conflicts: number;
  /** Meals voided by staff (voided_meals), and voids kept for review (not applied: meal unknown so far, another centre's...). */
  voided: number;
  voidsForReview: number;
}

export interface StatusRepository {
  ingest(): IngestFigures;
}

export function createStatusRepository(db: Db): StatusRepository {
  const count = (table: string) => db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck();
  const meals = count('meals');
  const duplicates = count('duplicate_attempts');
  const conflicts = count('event_conflicts');
  const voided = count('voided_meals');
  const voidsOpen = db.prepare<[], number>("SELECT count(*) FROM meal_voids WHERE state <> 'applied'").pluck();
  const byReason = db.prepare<[], { reason: EventReviewReason; n: number }>('SELECT reason, count(*) AS n FROM event_reviews GROUP BY reason');

  return {
    ingest() {
      const reasons = Object.fromEntries(REVIEW_REASONS.map((r) => [r, 0])) as Record<EventReviewReason, number>;
      let total = 0;
      for (const r of byReason.all()) {
        reasons[r.reason] = r.n;
        total += r.n;
      }
      return { meals: meals.get()!, duplicateAttempts: duplicates.get()!, reviews: { total, byReason: reasons }, conflicts: conflicts.get()!, voided: voided.get()!, voidsForReview: voidsOpen.get()! };
    },
  };
}
