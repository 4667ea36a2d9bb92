/**
 * The bureau's summary statistics as a pure fold over meal facts (settlement-service.ts
 * `facts`: every counted meal with what the settlement pays for it, every voided meal and
 * duplicate attempt). No SQL here and no rule arithmetic: amounts are the settlement's own, so
 * the summary of a month equals the month's settlement. Table-driven tests in
 * test/unit/stats-summary.test.ts.
 *
 * The previous period has the same length and ends the day before `from`. Its facts are keyed
 * as if shifted forward by the period's length, so a time row compares with the same stretch
 * before (day D with day D - length; a month, or an ISO week, with the days that many days
 * earlier) and a centre, meal... row with the same centre, meal... before.
 */
import { CHECK_IN_METHODS, MEALS } from '../../../../common/contract.ts';
import type { MealFact } from '../settlement/settlement-service.ts';
import { checkDateRange, dayNumber } from './stats-query.ts';

export const SUMMARY_GROUPS = ['centre', 'district', 'day', 'isoWeek', 'month', 'meal', 'method', 'category'] as const;
export type SummaryGroup = (typeof SUMMARY_GROUPS)[number];

export interface SummaryQuery {
  from: string;
  to: string;
  groupBy: SummaryGroup;
  centreId?: string;
  districtId?: string;
}

/** The figures of a row, a period or the totals. */
export interface Figures {
  /** Counted meals (not voided, not duplicate attempts, not kept for review). */
  meals: number;
  /** Distinct elders with a counted meal. */
  distinctElders: number;
  /** Meals the settlement subsidises (rules, day and month caps). */
  subsidisedMeals: number;
  /** What the settlement pays for them, in fen. */
  amountFen: number;
  /** Meals voided by staff. */
  voids: number;
  /** Second check-ins for a meal already counted. */
  duplicates: number;
}

export const FIGURES = ['meals', 'distinctElders', 'subsidisedMeals', 'amountFen', 'voids', 'duplicates'] as const satisfies readonly (keyof Figures)[];

export interface SummaryRow extends Figures {
  /** Centre id, district id, YYYY-MM-DD, YYYY-Www, YYYY-MM, meal, method or category code; null: no district / no category. */
  key: string | null;
  /** Centre or district name, category name; null where there is none (days, meals, methods). */
  label: string | null;
  previous: Figures;
  /** Figures minus previous. */
  change: Figures;
}

export interface Summary {
  from: string;
  to: string;
  groupBy: SummaryGroup;
  /** The period before, of equal length. */
  previousFrom: string;
  previousTo: string;
  rows: SummaryRow[];
  /** distinctElders counted across the whole period, not summed over rows. */
  totals: Omit<SummaryRow, 'key' | 'label'>;
}

export interface SummaryLabels {
  centreName(centreId: string): string | null;
  districtOf(centreId: string): string | null;
  districtName(districtId: string): string | null;
  categoryName(code: string): string | null;
}

const DAY_MS = 86_400_000;

/** YYYY-MM-DD of a day number (days since 1970-01-01). */
export function dateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** ISO 8601 week of a date, as YYYY-Www (the week's Thursday decides its year). */
export function isoWeekOf(date: string): string {
  const day = dayNumber(date)!;
  // 1970-01-01 was a Thursday: weekday 1 (Mon) .. 7 (Sun).
  const weekday = ((day + 3) % 7 + 7) % 7 + 1;
  const thursday = day - weekday + 4;
  const year = Number(dateOf(thursday).slice(0, 4));
  const jan1 = dayNumber(`${year}-01-01`)!;
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/**
 * Longest period one summary may cover. Each month the period and the one before touch is
 * settled whole (about a second per month for a city of 20,000 elders), so a year against the
 * year before is the most one request does.
 */
export const MAX_SUMMARY_DAYS = 366;

export type SummaryCheck = { ok: true; query: SummaryQuery } | { ok: false; error: string };

export function checkSummaryQuery(q: { from?: string; to?: string; groupBy?: string; centreId?: string; districtId?: string }): SummaryCheck {
  const problems: string[] = [];
  checkDateRange(q, MAX_SUMMARY_DAYS, problems);
  const groupBy = q.groupBy ?? 'centre';
  if (!(SUMMARY_GROUPS as readonly string[]).includes(groupBy)) problems.push(`groupBy: "${groupBy.slice(0, 20)}" is not one of ${SUMMARY_GROUPS.join(', ')}`);
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  return {
    ok: true,
    query: { from: q.from!, to: q.to!, groupBy: groupBy as SummaryGroup, ...(q.centreId !== undefined ? { centreId: q.centreId } : {}), ...(q.districtId !== undefined ? { districtId: q.districtId } : {}) },
  };
}

/** The period before `from`..`to`, of equal length. */
export function previousPeriod(from: string, to: string): { from: string; to: string; days: number } {
  const f = dayNumber(from)!;
  const days = dayNumber(to)! - f + 1;
  return { from: dateOf(f - days), to: dateOf(f - 1), days };
}

const zero = (): Figures => ({ meals: 0, distinctElders: 0, subsidisedMeals: 0, amountFen: 0, voids: 0, duplicates: 0 });
const minus = (a: Figures, b: Figures): Figures => Object.fromEntries(FIGURES.map((k) => [k, a[k] - b[k]])) as unknown as Figures;

/** Accumulates one period's figures (distinct elders as a set until the end). */
class Acc {
  readonly f = zero();
  readonly elders = new Set<string>();
  add(x: MealFact): void {
    if (x.kind === 'void') this.f.voids++;
    else if (x.kind === 'duplicate') this.f.duplicates++;
    else {
      this.f.meals++;
      this.elders.add(x.elderId);
      if (x.subsidised) {
        this.f.subsidisedMeals++;
        this.f.amountFen += x.amountFen;
      }
    }
  }
  figures(): Figures {
    return { ...this.f, distinctElders: this.elders.size };
  }
}

const mealRank = new Map<string, number>(MEALS.map((m, i) => [m, i]));
const methodRank = new Map<string, number>(CHECK_IN_METHODS.map((m, i) => [m, i]));

/** Row order: meals and methods in their natural order, null keys last, else by key. */
function compareKeys(group: SummaryGroup): (a: string | null, b: string | null) => number {
  const rank = group === 'meal' ? mealRank : group === 'method' ? methodRank : undefined;
  return (a, b) => {
    if (a === b) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    if (rank) return (rank.get(a) ?? 99) - (rank.get(b) ?? 99);
    return a < b ? -1 : 1;
  };
}

/**
 * Folds facts into a summary. `facts(from, to, visit)` hands over the facts dated `from`..`to`
 * (asked once, for the previous period and this one together), already filtered to the caller's
 * centres and the query's filters.
 */
export function summarise(query: SummaryQuery, labels: SummaryLabels, facts: (from: string, to: string, visit: (f: MealFact) => void) => void): Summary {
  const { from, to, groupBy } = query;
  const prev = previousPeriod(from, to);
  const keyOf = (f: MealFact, shiftDays: number): string | null => {
    const date = () => (shiftDays === 0 ? f.serviceDate : dateOf(dayNumber(f.serviceDate)! + shiftDays));
    switch (groupBy) {
      case 'centre':
        return f.centreId;
      case 'district':
        return labels.districtOf(f.centreId);
      case 'day':
        return date();
      case 'isoWeek':
        return isoWeekOf(date());
      case 'month':
        return date().slice(0, 7);
      case 'meal':
        return f.meal;
      case 'method':
        return f.method;
      case 'category':
        return f.category;
    }
  };
  const rows = new Map<string | null, { now: Acc; before: Acc }>();
  const rowOf = (key: string | null) => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { now: new Acc(), before: new Acc() }));
    return r;
  };
  const total = { now: new Acc(), before: new Acc() };
  // One pass over both periods: a month they share is settled once.
  facts(prev.from, to, (f) => {
    if (f.serviceDate >= from) {
      rowOf(keyOf(f, 0)).now.add(f);
      total.now.add(f);
    } else {
      rowOf(keyOf(f, prev.days)).before.add(f);
      total.before.add(f);
    }
  });
  const label = (key: string | null): string | null => {
    if (key === null) return null;
    switch (groupBy) {
      case 'centre':
        return labels.centreName(key);
      case 'district':
        return labels.districtName(key);
      case 'category':
        return labels.categoryName(key);
      case 'day':
      case 'isoWeek':
      case 'month':
      case 'meal':
      case 'method':
        return null;
    }
  };
  const cmp = compareKeys(groupBy);
  const out: SummaryRow[] = [...rows.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([key, r]) => {
      const now = r.now.figures();
      const previous = r.before.figures();
      return { key, label: label(key), ...now, previous, change: minus(now, previous) };
    });
  const now = total.now.figures();
  const previous = total.before.figures();
  return { from, to, groupBy, previousFrom: prev.from, previousTo: prev.to, rows: out, totals: { ...now, previous, change: minus(now, previous) } };
}
