/**
 * Today, as staff see it (issue 12, item 5): the meal window open now, every window of the day
 * with its meals so far per method and its voids, the day's check-ins (time, method, camera,
 * staff, voided ones marked), and the elders expected but not yet seen for the window.
 *
 * "Expected" means a regular of the meal: an elder checked in for it (any method, voids not
 * counted) on at least REGULAR_MIN_DAYS of the REGULAR_LOOKBACK_DAYS service dates before today,
 * still enrolled and active, and not yet checked in for it today. Three of the last seven days
 * picks out who comes most weekdays without listing someone who came once last week; a centre
 * open six days a week still counts as seven calendar days, so a holiday does not hide them.
 * The list is for the window open now, or between meals for the next one today.
 */
import type { Clock } from '../../../common/clock.ts';
import { CHECK_IN_METHODS, type CheckInMethod, type Meal } from '../../../common/contract.ts';
import { formatMinutes, localTime, type MealWindow } from '../../../common/meal-windows.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import { inactiveStatusOf, type CheckIn } from './check-in.ts';
import type { CheckInRepository, RegularElder } from './check-in-repository.ts';

/** An elder is a regular of a meal after this many days with it... */
export const REGULAR_MIN_DAYS = 3;
/** ...among this many service dates before today. */
export const REGULAR_LOOKBACK_DAYS = 7;

export type WindowState = 'past' | 'open' | 'later';

export interface WindowTotals {
  meal: Meal;
  /** Local HH:MM, end exclusive. */
  start: string;
  end: string;
  state: WindowState;
  /** Meals that count (voided ones not among them). */
  total: number;
  byMethod: Record<CheckInMethod, number>;
  voided: number;
}

export interface TodayView {
  serviceDate: string;
  /** The box's time when the view was made, ISO 8601. */
  now: string;
  /** The window open now, or null between meals. */
  current: WindowTotals | null;
  windows: WindowTotals[];
  /** All of the day's windows together. */
  totals: { total: number; byMethod: Record<CheckInMethod, number>; voided: number };
  /** The day's check-ins, oldest first, voided ones included (marked `voided`). */
  checkIns: Array<CheckIn & { staffName?: string }>;
  /** Regulars of the window open now (or of the next one today) not yet checked in for it; null after the day's last window. */
  expected: { meal: Meal; minDays: number; lookbackDays: number; elders: RegularElder[] } | null;
}

export interface TodayServiceDeps {
  checkIns: Pick<CheckInRepository, 'listForDay' | 'listVoidedForDay' | 'tallyForDay' | 'regulars'>;
  elders: Pick<ElderRepository, 'getElder'>;
  windows: readonly MealWindow[];
  timeZone: string;
  clock: Clock;
  /** The name of a staff member by id, when the box knows it (staff accounts). */
  staffName?: (staffId: string) => string | undefined;
}

export interface TodayService {
  today(): TodayView;
}

/** `date` (YYYY-MM-DD) moved by `days`. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

const zero = (): Record<CheckInMethod, number> => Object.fromEntries(CHECK_IN_METHODS.map((m) => [m, 0])) as Record<CheckInMethod, number>;

export function createTodayService(deps: TodayServiceDeps): TodayService {
  const { checkIns, elders, windows, timeZone, clock, staffName } = deps;
  return {
    today() {
      // Sorted per call: the windows may change while the edge runs (the centre's config document).
      const sorted = [...windows].sort((a, b) => a.start - b.start);
      const now = clock.now();
      const { date: serviceDate, minutes } = localTime(now, timeZone);
      const tally = checkIns.tallyForDay(serviceDate);
      const totals = { total: 0, byMethod: zero(), voided: 0 };
      const rows: WindowTotals[] = sorted.map((w) => {
        const t = tally[w.meal];
        const total = CHECK_IN_METHODS.reduce((n, m) => n + t.byMethod[m], 0);
        for (const m of CHECK_IN_METHODS) totals.byMethod[m] += t.byMethod[m];
        totals.total += total;
        totals.voided += t.voided;
        const state: WindowState = minutes >= w.end ? 'past' : minutes >= w.start ? 'open' : 'later';
        return { meal: w.meal, start: formatMinutes(w.start), end: formatMinutes(w.end), state, total, byMethod: { ...t.byMethod }, voided: t.voided };
      });
      const current = rows.find((r) => r.state === 'open') ?? null;
      const forMeal = current ?? rows.find((r) => r.state === 'later');

      const list = [...checkIns.listForDay(serviceDate), ...checkIns.listVoidedForDay(serviceDate)]
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.eventId < b.eventId ? -1 : 1))
        .map((c) => {
          const item: CheckIn & { staffName?: string } = { ...c, elderName: c.elderName ?? c.elderId };
          const by = c.staffId && staffName?.(c.staffId);
          if (by) item.staffName = by;
          return item;
        });

      let expected: TodayView['expected'] = null;
      if (forMeal) {
        const regulars = checkIns
          .regulars(forMeal.meal, addDays(serviceDate, -REGULAR_LOOKBACK_DAYS), addDays(serviceDate, -1), REGULAR_MIN_DAYS, serviceDate)
          // A suspended (deceased, moved away) elder is not expected, however regular they were.
          .filter((r) => {
            const e = elders.getElder(r.elderId);
            return e !== undefined && inactiveStatusOf(e) === undefined;
          });
        expected = { meal: forMeal.meal, minDays: REGULAR_MIN_DAYS, lookbackDays: REGULAR_LOOKBACK_DAYS, elders: regulars };
      }
      return { serviceDate, now: now.toISOString(), current, windows: rows, totals, checkIns: list, expected };
    },
  };
}
