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

/** The centres a caller sees (plugins/auth.ts visibleCentres): every figure is filtered to them. */
export type Visible = 'all' | readonly string[];

export interface StatsRepository {
  mealCounts(query: StatsQuery, visible?: Visible): MealCounts;
  /** Newest first. */
  clockReviews(limit: number, visible?: Visible): ClockReviewItem[];
  clockReviewCount(visible?: Visible): number;
  /** Newest first, each with the original it conflicts with. */
  conflicts(limit: number): ConflictItem[];
  conflictCount(): number;
  /** Voids, newest first: those not applied (kept for review) only, unless `all`. A voided meal of a centre not visible is null. */
  voids(limit: number, all: boolean, visible?: Visible): VoidItem[];
  /** Voids per state. */
  voidCount(all: boolean, visible?: Visible): number;
}

// `@visible` is a JSON array of centre ids, or NULL for every centre: one statement whatever the caller.
const IN_VISIBLE = '(@visible IS NULL OR centre_id IN (SELECT value FROM json_each(@visible)))';
const visibleArg = (v: Visible = 'all') => (v === 'all' ? null : JSON.stringify(v));

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
    return db.prepare<{ from: string; to: string; visible: string | null }, MealCountRow>(
      `SELECT ${select} FROM (
         SELECT centre_id, service_date, meal, 1 AS counted FROM meals WHERE service_date BETWEEN @from AND @to AND ${IN_VISIBLE}
         UNION ALL SELECT centre_id, service_date, meal, 0 FROM voided_meals WHERE service_date BETWEEN @from AND @to AND ${IN_VISIBLE}
       )${group}`,
    );
  }

  const flagged = db.prepare<{ from: string; to: string; visible: string | null }, { n: number }>(
    `SELECT count(*) AS n FROM meals WHERE service_date BETWEEN @from AND @to AND clock_flag IN ('unset', 'ahead') AND ${IN_VISIBLE}`,
  );
  const reviewCount = db.prepare<{ visible: string | null }, { n: number }>(`SELECT count(*) AS n FROM event_reviews WHERE ${IN_VISIBLE}`);
  const reviews = db.prepare<{ limit: number; visible: string | null }, ClockReviewItem>(
    `SELECT event_id AS eventId, reason, detail, centre_id AS centreId, device_id AS deviceId, elder_id AS elderId, service_date AS serviceDate,
            meal, at, method, received_at AS receivedAt, clock_state AS clockState, edge_at AS edgeAt, boot_id AS bootId, seq, mono_ms AS monoMs,
            reviewed_by AS reviewedBy
     FROM event_reviews WHERE ${IN_VISIBLE} ORDER BY received_at DESC, event_id DESC LIMIT @limit`,
  );
  const conflictCount = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM event_conflicts');
  const conflictRows = db.prepare<[number], { eventId: string; originalTable: string; version: string; receivedAt: string }>(
    'SELECT event_id AS eventId, original_table AS originalTable, version, received_at AS receivedAt FROM event_conflicts ORDER BY id DESC LIMIT ?',
  );
  const stored = `event_id AS eventId, centre_id AS centreId, device_id AS deviceId, elder_id AS elderId, service_date AS serviceDate, meal, at, method, score,
    camera_id AS cameraId, boot_id AS bootId, seq, clock_state AS clock, edge_at AS edgeAt, mono_ms AS monoMs, reviewed_by AS reviewedBy, received_at AS receivedAt`;
  const original = db.prepare<[string, string, string, string], StoredEvent>(
    `SELECT ${stored} FROM meals WHERE event_id = ? UNION ALL SELECT ${stored} FROM duplicate_attempts WHERE event_id = ?
     UNION ALL SELECT ${stored} FROM event_reviews WHERE event_id = ? UNION ALL SELECT ${stored} FROM voided_meals WHERE event_id = ? LIMIT 1`,
  );
  const voidCols = `v.event_id AS eventId, v.centre_id AS centreId, v.device_id AS deviceId, v.voids, v.reason, v.staff_id AS staffId, v.at,
    v.received_at AS receivedAt, v.state, v.settled_at AS settledAt`;
  const voidRows = (where: string) =>
    db.prepare<{ limit: number; visible: string | null }, Omit<VoidItem, 'meal'>>(`SELECT ${voidCols} FROM meal_voids v WHERE ${where} ORDER BY v.received_at DESC, v.event_id DESC LIMIT @limit`);
  const voidsOpen = voidRows(`v.state <> 'applied' AND ${IN_VISIBLE}`);
  const voidsAll = voidRows(IN_VISIBLE);
  const voidCountOpen = db.prepare<{ visible: string | null }, number>(`SELECT count(*) FROM meal_voids WHERE state <> 'applied' AND ${IN_VISIBLE}`).pluck();
  const voidCountAll = db.prepare<{ visible: string | null }, number>(`SELECT count(*) FROM meal_voids WHERE ${IN_VISIBLE}`).pluck();
  const mealOf = `elder_id AS elderId, centre_id AS centreId, service_date AS serviceDate, meal, method`;
  const voidedMeal = db.prepare<[string, string, string, string], NonNullable<VoidItem['meal']>>(
    `SELECT ${mealOf} FROM meals WHERE event_id = ? UNION ALL SELECT ${mealOf} FROM voided_meals WHERE event_id = ?
     UNION ALL SELECT ${mealOf} FROM duplicate_attempts WHERE event_id = ? UNION ALL SELECT ${mealOf} FROM event_reviews WHERE event_id = ? LIMIT 1`,
  );

  return {
    clockReviews: (limit, visible) => reviews.all({ limit, visible: visibleArg(visible) }),
    clockReviewCount: (visible) => reviewCount.get({ visible: visibleArg(visible) })?.n ?? 0,
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
    voids: (limit, all, visible = 'all') =>
      (all ? voidsAll : voidsOpen).all({ limit, visible: visibleArg(visible) }).map((v) => {
        const meal = voidedMeal.get(v.voids, v.voids, v.voids, v.voids) ?? null;
        // A void naming another centre's meal (state other-centre) must not show that meal to this centre's users.
        return { ...v, meal: meal && (visible === 'all' || visible.includes(meal.centreId)) ? meal : null };
      }),
    voidCount: (all, visible) => (all ? voidCountAll : voidCountOpen).get({ visible: visibleArg(visible) }) ?? 0,
    mealCounts(query, visible) {
      const groupBy = GROUP_BY_KEYS.filter((k) => query.groupBy.includes(k));
      const key = groupBy.join(',');
      let stmt = statements.get(key);
      if (!stmt) {
        stmt = prepare(groupBy);
        statements.set(key, stmt);
      }
      // Without grouping, count(*) answers exactly one row, 0 for an empty period.
      const args = { from: query.from, to: query.to, visible: visibleArg(visible) };
      const rows = stmt.all(args);
      const total = rows.reduce((n, r) => n + r.meals, 0);
      const voided = rows.reduce((n, r) => n + r.voided, 0);
      return { rows, total, voided, clockFlagged: flagged.get(args)?.n ?? 0, clockReview: reviewCount.get({ visible: args.visible })?.n ?? 0 };
    },
  };
}
