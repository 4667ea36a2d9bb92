/**
 * What centre health and the welfare list read: meal counts per centre, day and meal, and each
 * regular elder's meals and last meal. Counted meals only (table meals). Prepared once; the
 * caller's centres bound as one JSON array (NULL: all), whatever its length.
 */
import type { Meal } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { Visible } from './stats-repository.ts';

export interface DayCount {
  centreId: string;
  serviceDate: string;
  meal: Meal;
  meals: number;
}

export interface RegularElder {
  centreId: string;
  elderId: string;
  /** Counted meals at this centre in the window. */
  meals: number;
  /** The elder's last counted meal at any centre (YYYY-MM-DD). */
  lastMealDate: string;
  /** The centre's registry: null when the centre's box never reported the elder. */
  name: string | null;
  phone: string | null;
  /** The bureau's decision in force (elder_decisions), else the box's (as EffectiveElder in bureau/). */
  status: string | null;
  removed: boolean;
}

export interface ActivityRepository {
  /** Counted meals per centre, service date and meal, dated `from`..`to`. */
  dayCounts(from: string, to: string, visible: Visible): DayCount[];
  /** Elders with at least `minMeals` counted meals at a centre dated `from`..`to`, per centre. */
  regulars(from: string, to: string, minMeals: number, visible: Visible): RegularElder[];
}

const IN_VISIBLE = '(@visible IS NULL OR m.centre_id IN (SELECT value FROM json_each(@visible)))';
const visibleArg = (v: Visible) => (v === 'all' ? null : JSON.stringify(v));

export function createActivityRepository(db: Db): ActivityRepository {
  // Covered by meals_by_date (service_date, centre_id, meal).
  const dayCounts = db.prepare<{ from: string; to: string; visible: string | null }, DayCount>(
    `SELECT m.centre_id AS centreId, m.service_date AS serviceDate, m.meal, count(*) AS meals FROM meals m
     WHERE m.service_date BETWEEN @from AND @to AND ${IN_VISIBLE} GROUP BY m.centre_id, m.service_date, m.meal`,
  );
  // The last meal anywhere through UNIQUE (elder_id, service_date, meal): an elder who now eats
  // at another centre is not missing.
  const regulars = db.prepare<{ from: string; to: string; minMeals: number; visible: string | null }, Omit<RegularElder, 'removed'> & { removed: number | null }>(
    `SELECT m.centre_id AS centreId, m.elder_id AS elderId, count(*) AS meals,
            (SELECT max(x.service_date) FROM meals x WHERE x.elder_id = m.elder_id) AS lastMealDate,
            r.name, r.phone, r.removed,
            coalesce((SELECT d.status FROM elder_decisions d WHERE d.centre_id = m.centre_id AND d.elder_id = m.elder_id ORDER BY d.id DESC LIMIT 1), r.status) AS status
     FROM meals m LEFT JOIN elder_registry r ON r.centre_id = m.centre_id AND r.elder_id = m.elder_id
     WHERE m.service_date BETWEEN @from AND @to AND ${IN_VISIBLE}
     GROUP BY m.centre_id, m.elder_id HAVING count(*) >= @minMeals
     ORDER BY m.centre_id, m.elder_id`,
  );
  return {
    dayCounts: (from, to, visible) => dayCounts.all({ from, to, visible: visibleArg(visible) }),
    regulars: (from, to, minMeals, visible) => regulars.all({ from, to, minMeals, visible: visibleArg(visible) }).map((r) => ({ ...r, removed: r.removed === 1 })),
  };
}
