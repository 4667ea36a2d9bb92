/**
 * Meal counts for the bureau. Counts meals only: duplicate attempts are not meals, and neither
 * are events kept for review, eventId conflicts or meals staff voided; those are counted apart
 * so they are seen (voided meals beside the meals of their centre, day and meal).
 */
import { MEALS } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { EventReviewReason } from '../meals/event-checks.ts';
import type { MealRow } from '../meals/meal-repository.ts';
import type { VoidState } from '../meals/void-repository.ts';
import { GROUP_BY_KEYS, type GroupByKey, type StatsQuery } from './stats-query.ts';

export interface MealCountRow {
  centreId?: string;
  day?: string;
  meal?: string;
  meals: number;
  /** Meals of this group voided by staff (not in `meals`). */
  voided: number;
}

export interface MealCounts {
  rows: MealCountRow[];
  total: number;
  /** Meals of the period voided by staff: not in `total`. */
  voided: number;
  /** Meals of the period (in `total`) whose edge time looked wrong on arrival (unset, or ahead of the server). */
  clockFlagged: number;
  /** Events kept for review (any reason, any date: their dates may be wrong): not in `total`. */
  clockReview: number;
}

/**
 * An event kept for review (server table event_reviews): the stored event, with why. Its
 * serviceDate is the edge's guess (unverified) or the corrected date with the nearest meal
 * (outside-window).
 */
export type ClockReviewItem = Omit<MealRow, 'score' | 'cameraId' | 'clockFlag' | 'clockState'> & {
  reason: EventReviewReason;
  /** What was wrong, in words; null for events kept before the server gave details. */
  detail: string | null;
  clockState: string | null;
};

/** A stored event as the server holds it (the fields of a MealEvent it keeps), `clock` as in the contract. */
export type StoredEvent = Omit<MealRow, 'clockFlag' | 'clockState'> & { clock: string | null };

/** A void received, and what it came to (server table meal_voids). */
export interface VoidItem {
  eventId: string;
  centreId: string;
  deviceId: string;
  /** The eventId of the meal voided. */
  voids: string;
  reason: string;
  staffId: string;
  at: string;
  receivedAt: string;
  state: VoidState;
  settledAt: string | null;
  /** The meal, when the server has it (as a meal, a voided meal, a duplicate attempt or for review). */
  meal: { elderId: string; centreId: string; serviceDate: string; meal: string; method: string } | null;
}

/** An eventId that arrived again with other content (server table event_conflicts). */
export interface ConflictItem {
  eventId: string;
  /** Where the first version is: meals (counted), duplicate_attempts or event_reviews. */
  originalTable: string;
  original: StoredEvent | null;
  /** The later version as it arrived (a MealEvent). */
  version: Record<string, unknown>;
  receivedAt: string;
}

export interface StatsRepository {
  mealCounts(query: StatsQuery): MealCounts;
  /** Newest first. */
  clockReviews(limit: number): ClockReviewItem[];
  clockReviewCount(): number;
  /** Newest first, each with the original it conflicts with. */
  conflicts(limit: number): ConflictItem[];
  conflictCount(): number;
  /** Voids, newest first: those not applied (kept for review) only, unless `all`. */
  voids(limit: number, all: boolean): VoidItem[];
  /** Voids per state. */
  voidCount(all: boolean): number;
}

// Columns of the union of meals and voided meals below (`counted` 1 for a meal, 0 for a voided one).
const column: Record<GroupByKey, { select: string; order: string }> = {
  centre: { select: 'centre_id AS centreId', order: 'centre_id' },
  day: { select: 'service_date AS day', order: 'service_date' },
  // Meals sort in the order of the day, not alphabetically.
  meal: { select: 'meal', order: `CASE meal ${MEALS.map((m, i) => `WHEN '${m}' THEN ${i}`).join(' ')} END` },
};

export function createStatsRepository(db: Db): StatsRepository {
  // One prepared statement per grouping (8 at most), made on first use and kept.
  const statements = new Map<string, ReturnType<typeof prepare>>();
  function prepare(groupBy: readonly GroupByKey[]) {
    const cols = groupBy.map((k) => column[k]);
    const select = [...cols.map((c) => c.select), 'coalesce(sum(counted), 0) AS meals', 'count(*) - coalesce(sum(counted), 0) AS voided'].join(', ');
    const group = cols.length ? ` GROUP BY ${cols.map((c) => c.order).join(', ')} ORDER BY ${cols.map((c) => c.order).join(', ')}` : '';
    return db.prepare<[string, string, string, string], MealCountRow>(
      `SELECT ${select} FROM (
         SELECT centre_id, service_date, meal, 1 AS counted FROM meals WHERE service_date BETWEEN ? AND ?
         UNION ALL SELECT centre_id, service_date, meal, 0 FROM voided_meals WHERE service_date BETWEEN ? AND ?
       )${group}`,
    );
  }

  const flagged = db.prepare<[string, string], { n: number }>(
    "SELECT count(*) AS n FROM meals WHERE service_date BETWEEN ? AND ? AND clock_flag IN ('unset', 'ahead')",
  );
  const reviewCount = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM event_reviews');
  const reviews = db.prepare<[number], ClockReviewItem>(
    `SELECT event_id AS eventId, reason, detail, centre_id AS centreId, device_id AS deviceId, elder_id AS elderId, service_date AS serviceDate,
            meal, at, method, received_at AS receivedAt, clock_state AS clockState, edge_at AS edgeAt, boot_id AS bootId, seq, mono_ms AS monoMs
     FROM event_reviews ORDER BY received_at DESC, event_id DESC LIMIT ?`,
  );
  const conflictCount = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM event_conflicts');
  const conflictRows = db.prepare<[number], { eventId: string; originalTable: string; version: string; receivedAt: string }>(
    'SELECT event_id AS eventId, original_table AS originalTable, version, received_at AS receivedAt FROM event_conflicts ORDER BY id DESC LIMIT ?',
  );
  const stored = `event_id AS eventId, centre_id AS centreId, device_id AS deviceId, elder_id AS elderId, service_date AS serviceDate, meal, at, method, score,
    camera_id AS cameraId, boot_id AS bootId, seq, clock_state AS clock, edge_at AS edgeAt, mono_ms AS monoMs, received_at AS receivedAt`;
  const original = db.prepare<[string, string, string, string], StoredEvent>(
    `SELECT ${stored} FROM meals WHERE event_id = ? UNION ALL SELECT ${stored} FROM duplicate_attempts WHERE event_id = ?
     UNION ALL SELECT ${stored} FROM event_reviews WHERE event_id = ? UNION ALL SELECT ${stored} FROM voided_meals WHERE event_id = ? LIMIT 1`,
  );
  const voidCols = `v.event_id AS eventId, v.centre_id AS centreId, v.device_id AS deviceId, v.voids, v.reason, v.staff_id AS staffId, v.at,
    v.received_at AS receivedAt, v.state, v.settled_at AS settledAt`;
  const voidRows = (where: string) =>
    db.prepare<[number], Omit<VoidItem, 'meal'>>(`SELECT ${voidCols} FROM meal_voids v ${where} ORDER BY v.received_at DESC, v.event_id DESC LIMIT ?`);
  const voidsOpen = voidRows("WHERE v.state <> 'applied'");
  const voidsAll = voidRows('');
  const voidCountOpen = db.prepare<[], number>("SELECT count(*) FROM meal_voids WHERE state <> 'applied'").pluck();
  const voidCountAll = db.prepare<[], number>('SELECT count(*) FROM meal_voids').pluck();
  const mealOf = `elder_id AS elderId, centre_id AS centreId, service_date AS serviceDate, meal, method`;
  const voidedMeal = db.prepare<[string, string, string, string], NonNullable<VoidItem['meal']>>(
    `SELECT ${mealOf} FROM meals WHERE event_id = ? UNION ALL SELECT ${mealOf} FROM voided_meals WHERE event_id = ?
     UNION ALL SELECT ${mealOf} FROM duplicate_attempts WHERE event_id = ? UNION ALL SELECT ${mealOf} FROM event_reviews WHERE event_id = ? LIMIT 1`,
  );

  return {
    clockReviews: (limit) => reviews.all(limit),
    clockReviewCount: () => reviewCount.get()?.n ?? 0,
    conflicts: (limit) =>
      conflictRows.all(limit).map((c) => ({
        eventId: c.eventId,
        originalTable: c.originalTable,
        original: original.get(c.eventId, c.eventId, c.eventId, c.eventId) ?? null,
        // Written by ingest from a checked MealEvent.
        version: JSON.parse(c.version) as Record<string, unknown>,
        receivedAt: c.receivedAt,
      })),
    conflictCount: () => conflictCount.get()?.n ?? 0,
    voids: (limit, all) => (all ? voidsAll : voidsOpen).all(limit).map((v) => ({ ...v, meal: voidedMeal.get(v.voids, v.voids, v.voids, v.voids) ?? null })),
    voidCount: (all) => (all ? voidCountAll : voidCountOpen).get() ?? 0,
    mealCounts(query) {
      const groupBy = GROUP_BY_KEYS.filter((k) => query.groupBy.includes(k));
      const key = groupBy.join(',');
      let stmt = statements.get(key);
      if (!stmt) {
        stmt = prepare(groupBy);
        statements.set(key, stmt);
      }
      // Without grouping, count(*) answers exactly one row, 0 for an empty period.
      const rows = stmt.all(query.from, query.to, query.from, query.to);
      const total = rows.reduce((n, r) => n + r.meals, 0);
      const voided = rows.reduce((n, r) => n + r.voided, 0);
      return { rows, total, voided, clockFlagged: flagged.get(query.from, query.to)?.n ?? 0, clockReview: reviewCount.get()?.n ?? 0 };
    },
  };
}
