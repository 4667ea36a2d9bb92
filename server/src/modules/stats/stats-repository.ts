/** Meal counts for the bureau. Counts meals only: duplicate attempts are not meals. */
import { MEALS } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { GROUP_BY_KEYS, type GroupByKey, type StatsQuery } from './stats-query.ts';

export interface MealCountRow {
  centreId?: string;
  day?: string;
  meal?: string;
  meals: number;
}

export interface MealCounts {
  rows: MealCountRow[];
  total: number;
}

export interface StatsRepository {
  mealCounts(query: StatsQuery): MealCounts;
}

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
    const select = [...cols.map((c) => c.select), 'count(*) AS meals'].join(', ');
    const group = cols.length ? ` GROUP BY ${cols.map((c) => c.order).join(', ')} ORDER BY ${cols.map((c) => c.order).join(', ')}` : '';
    return db.prepare<[string, string], MealCountRow>(`SELECT ${select} FROM meals WHERE service_date BETWEEN ? AND ?${group}`);
  }

  return {
    mealCounts(query) {
      const groupBy = GROUP_BY_KEYS.filter((k) => query.groupBy.includes(k));
      const key = groupBy.join(',');
      let stmt = statements.get(key);
      if (!stmt) {
        stmt = prepare(groupBy);
        statements.set(key, stmt);
      }
      // Without grouping, count(*) answers exactly one row, 0 for an empty period.
      const rows = stmt.all(query.from, query.to);
      const total = rows.reduce((n, r) => n + r.meals, 0);
      return { rows, total };
    },
  };
}
