/**
 * The monthly settlement of one centre, as a pure function of its month's data: which meals the
 * bureau pays for, how much, and why not for the others. No SQL here (settlement-repository.ts
 * reads the month in a few single passes); the table-driven tests in
 * test/unit/settlement-calc.test.ts pin the rules down.
 *
 * Rules are applied per serviceDate: the rule effective on the meal's day, for its category and
 * meal (a rule for `any` meal covers all three). Meals are taken in time order (date, then
 * breakfast, lunch, dinner), so caps cut the month's latest meals:
 *   - a rule's `maxPerDay` counts the elder's meals subsidised that day under rules for the same
 *     meal (`any` counts all three), so a lunch rule and a dinner rule do not share one cap;
 *   - `maxMealsPerMonth` and `maxFenPerMonth` count everything subsidised to the elder in the
 *     month (whichever rule paid it), checked against the cap of the rule applying to the meal.
 *     A meal that would go over the fen cap is not subsidised at all (no part payments: a meal is
 *     paid at its rule's amount or not).
 * A meal cut by a cap, or with no category or no rule that day, is still counted (the elder ate)
 * and listed as unsubsidised with the reason. Voided meals are listed and not counted; duplicate
 * attempts and meals kept for review are counts only.
 */
import { createHash } from 'node:crypto';
import { CHECK_IN_METHODS, MEALS, type CheckInMethod, type Meal } from '../../../../common/contract.ts';

export const RULE_MEALS = [...MEALS, 'any'] as const;
export type RuleMeal = (typeof RULE_MEALS)[number];

export interface Category {
  /** What rules and reports use, e.g. `low-income`. */
  code: string;
  /** What the boxes record as the elder's category, e.g. 低保. */
  name: string;
}

export interface SubsidyRule {
  id: number;
  category: string;
  meal: RuleMeal;
  amountFen: number;
  maxPerDay: number | null;
  maxMealsPerMonth: number | null;
  maxFenPerMonth: number | null;
  /** YYYY-MM-DD, inclusive. */
  effectiveFrom: string;
  /** YYYY-MM-DD, inclusive; null: open. */
  effectiveTo: string | null;
}

export interface SettlementMeal {
  eventId: string;
  elderId: string;
  serviceDate: string;
  meal: Meal;
  method: CheckInMethod;
  at: string;
}

export interface Adjustment {
  id: number;
  centreId: string;
  month: string;
  /** Null: the centre's, not one elder's. */
  elderId: string | null;
  amountFen: number;
  reason: string;
  createdAt: string;
  createdBy: string;
}

export interface SettlementInput {
  centreId: string;
  /** YYYY-MM */
  month: string;
  /** The meals that count (server table meals) dated in the month. */
  meals: readonly SettlementMeal[];
  /** Meals staff voided, dated in the month: listed, never counted. */
  voided: readonly SettlementMeal[];
  /** Duplicate attempts per elder. */
  duplicates: ReadonlyMap<string, number>;
  /** Events kept for review per elder: not counted until resolved. */
  inReview: ReadonlyMap<string, number>;
  adjustments: readonly Adjustment[];
  /** Elders' names from the registry; an elder missing here is flagged `not-in-registry`. */
  names: ReadonlyMap<string, string | null>;
  /** The elder's category code on a day, or null (none, or one the bureau has not defined). */
  categoryOf: (elderId: string, date: string) => string | null;
  categories: readonly Category[];
  rules: readonly SubsidyRule[];
}

export const UNSUBSIDISED_REASONS = ['no-category', 'no-rule', 'day-cap', 'month-meal-cap', 'month-fen-cap'] as const;
export type UnsubsidisedReason = (typeof UNSUBSIDISED_REASONS)[number];
export const ELDER_FLAGS = ['not-in-registry', 'no-category', 'no-rule'] as const;
export type ElderFlag = (typeof ELDER_FLAGS)[number];

export type MethodCounts = Record<CheckInMethod, number>;

export interface UnsubsidisedMeal {
  eventId: string;
  serviceDate: string;
  meal: Meal;
  reason: UnsubsidisedReason;
}

export interface VoidedListing {
  eventId: string;
  serviceDate: string;
  meal: Meal;
  method: CheckInMethod;
}

export interface ElderSettlement {
  elderId: string;
  name: string | null;
  /** The category of the elder's latest meal in the month (or today's, without meals). */
  category: string | null;
  categoryName: string | null;
  meals: number;
  byMethod: MethodCounts;
  subsidised: number;
  amountFen: number;
  unsubsidised: UnsubsidisedMeal[];
  voided: VoidedListing[];
  duplicates: number;
  inReview: number;
  adjustmentFen: number;
  /** amountFen + adjustmentFen */
  totalFen: number;
  flags: ElderFlag[];
}

export interface CategoryTotal {
  /** Null: meals of elders with no (known) category. */
  category: string | null;
  name: string | null;
  elders: number;
  meals: number;
  subsidised: number;
  amountFen: number;
  adjustmentFen: number;
  totalFen: number;
}

export interface SettlementTotals {
  elders: number;
  meals: number;
  byMethod: MethodCounts;
  subsidised: number;
  unsubsidised: number;
  amountFen: number;
  voided: number;
  duplicates: number;
  inReview: number;
  adjustmentFen: number;
  totalFen: number;
}

export interface Settlement {
  centreId: string;
  month: string;
  elders: ElderSettlement[];
  categories: CategoryTotal[];
  adjustments: Adjustment[];
  totals: SettlementTotals;
  /** sha256 of the rows (elders and adjustments): equal hashes, equal settlements. */
  rowsHash: string;
}

const mealOrder: Record<Meal, number> = { breakfast: 0, lunch: 1, dinner: 2 };

function zeroMethods(): MethodCounts {
  return Object.fromEntries(CHECK_IN_METHODS.map((m) => [m, 0])) as MethodCounts;
}

/** The rule for a meal of a category on a day; overlap-free rules give at most one (else the newest). */
export function ruleFor(rules: readonly SubsidyRule[], category: string, meal: Meal, date: string): SubsidyRule | undefined {
  let found: SubsidyRule | undefined;
  for (const r of rules) {
    if (r.category !== category || (r.meal !== meal && r.meal !== 'any')) continue;
    if (r.effectiveFrom > date || (r.effectiveTo !== null && r.effectiveTo < date)) continue;
    if (!found || r.id > found.id) found = r;
  }
  return found;
}

/** True when two rules of one category could both apply to one meal on one day. */
export function rulesOverlap(a: Pick<SubsidyRule, 'category' | 'meal' | 'effectiveFrom' | 'effectiveTo'>, b: Pick<SubsidyRule, 'category' | 'meal' | 'effectiveFrom' | 'effectiveTo'>): boolean {
  if (a.category !== b.category) return false;
  if (a.meal !== b.meal && a.meal !== 'any' && b.meal !== 'any') return false;
  const aEnd = a.effectiveTo ?? '9999-12-31';
  const bEnd = b.effectiveTo ?? '9999-12-31';
  return a.effectiveFrom <= bEnd && b.effectiveFrom <= aEnd;
}

interface ElderAcc {
  row: ElderSettlement;
  monthMeals: number;
  monthFen: number;
  /** Subsidised per "date|rule meal". */
  day: Map<string, number>;
  lastDate: string;
}

/** What settle() made of one counted meal: its category that day, and what the bureau pays for it. */
export interface MealOutcome {
  /** The elder's (known) category code on the meal's day; null: none, or one the bureau has not defined. */
  category: string | null;
  /** The rule's amount when subsidised, else 0. */
  amountFen: number;
  /** Why it is not subsidised; null when it is. */
  reason: UnsubsidisedReason | null;
}

/**
 * The month's settlement. `onMeal`, when given, hears the outcome of every counted meal, in the
 * order the caps are applied (statistics group them by other keys: SettlementService.facts, stats/stats-summary.ts).
 */
export function settle(input: SettlementInput, onMeal?: (meal: SettlementMeal, outcome: MealOutcome) => void): Settlement {
  const names = new Map(input.categories.map((c) => [c.code, c.name]));
  const elders = new Map<string, ElderAcc>();
  const acc = (elderId: string): ElderAcc => {
    let a = elders.get(elderId);
    if (!a) {
      a = {
        row: {
          elderId,
          name: input.names.get(elderId) ?? null,
          category: null,
          categoryName: null,
          meals: 0,
          byMethod: zeroMethods(),
          subsidised: 0,
          amountFen: 0,
          unsubsidised: [],
          voided: [],
          duplicates: input.duplicates.get(elderId) ?? 0,
          inReview: input.inReview.get(elderId) ?? 0,
          adjustmentFen: 0,
          totalFen: 0,
          flags: input.names.has(elderId) ? [] : ['not-in-registry'],
        },
        monthMeals: 0,
        monthFen: 0,
        day: new Map(),
        lastDate: '',
      };
      elders.set(elderId, a);
    }
    return a;
  };
  const byCategory = new Map<string | null, CategoryTotal>();
  const cat = (code: string | null): CategoryTotal => {
    let c = byCategory.get(code);
    if (!c) {
      c = { category: code, name: code === null ? null : (names.get(code) ?? null), elders: 0, meals: 0, subsidised: 0, amountFen: 0, adjustmentFen: 0, totalFen: 0 };
      byCategory.set(code, c);
    }
    return c;
  };
  const flag = (row: ElderSettlement, f: ElderFlag) => {
    if (!row.flags.includes(f)) row.flags.push(f);
  };

  const meals = [...input.meals].sort(
    (a, b) => (a.serviceDate < b.serviceDate ? -1 : a.serviceDate > b.serviceDate ? 1 : 0) || mealOrder[a.meal] - mealOrder[b.meal] || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0) || (a.eventId < b.eventId ? -1 : 1),
  );
  for (const m of meals) {
    const a = acc(m.elderId);
    const row = a.row;
    row.meals++;
    row.byMethod[m.method]++;
    const code = input.categoryOf(m.elderId, m.serviceDate);
    const known = code !== null && names.has(code) ? code : null;
    if (m.serviceDate >= a.lastDate) {
      a.lastDate = m.serviceDate;
      row.category = known;
      row.categoryName = known === null ? null : names.get(known)!;
    }
    const c = cat(known);
    c.meals++;
    const cut = (reason: UnsubsidisedReason) => {
      row.unsubsidised.push({ eventId: m.eventId, serviceDate: m.serviceDate, meal: m.meal, reason });
      onMeal?.(m, { category: known, amountFen: 0, reason });
    };
    if (known === null) {
      cut('no-category');
      flag(row, 'no-category');
      continue;
    }
    const rule = ruleFor(input.rules, known, m.meal, m.serviceDate);
    if (!rule) {
      cut('no-rule');
      flag(row, 'no-rule');
      continue;
    }
    const dayKey = `${m.serviceDate}|${rule.meal}`;
    const today = a.day.get(dayKey) ?? 0;
    if (rule.maxPerDay !== null && today >= rule.maxPerDay) cut('day-cap');
    else if (rule.maxMealsPerMonth !== null && a.monthMeals >= rule.maxMealsPerMonth) cut('month-meal-cap');
    else if (rule.maxFenPerMonth !== null && a.monthFen + rule.amountFen > rule.maxFenPerMonth) cut('month-fen-cap');
    else {
      a.day.set(dayKey, today + 1);
      a.monthMeals++;
      a.monthFen += rule.amountFen;
      row.subsidised++;
      row.amountFen += rule.amountFen;
      c.subsidised++;
      c.amountFen += rule.amountFen;
      onMeal?.(m, { category: known, amountFen: rule.amountFen, reason: null });
    }
  }

  for (const v of input.voided) acc(v.elderId).row.voided.push({ eventId: v.eventId, serviceDate: v.serviceDate, meal: v.meal, method: v.method });
  // Elders with only duplicates or events in review still get a row: the bureau sees them.
  for (const id of input.duplicates.keys()) acc(id);
  for (const id of input.inReview.keys()) acc(id);

  const adjustments = [...input.adjustments].sort((a, b) => a.id - b.id);
  let centreAdjustmentFen = 0;
  for (const adj of adjustments) {
    if (adj.elderId === null) {
      centreAdjustmentFen += adj.amountFen;
      continue;
    }
    acc(adj.elderId).row.adjustmentFen += adj.amountFen;
  }

  const rows = [...elders.values()].map((a) => a.row).sort((x, y) => (x.elderId < y.elderId ? -1 : 1));
  for (const row of rows) {
    row.voided.sort((x, y) => (x.serviceDate < y.serviceDate ? -1 : x.serviceDate > y.serviceDate ? 1 : mealOrder[x.meal] - mealOrder[y.meal]) || (x.eventId < y.eventId ? -1 : 1));
    if (row.meals === 0) {
      // No meal to date the category by: the elder's category at the month's end.
      const code = row.elderId ? input.categoryOf(row.elderId, `${input.month}-31`) : null;
      row.category = code !== null && names.has(code) ? code : null;
      row.categoryName = row.category === null ? null : names.get(row.category)!;
    }
    row.totalFen = row.amountFen + row.adjustmentFen;
    const c = cat(row.category);
    c.elders++;
    c.adjustmentFen += row.adjustmentFen;
  }
  for (const c of byCategory.values()) c.totalFen = c.amountFen + c.adjustmentFen;
  const categories = [...byCategory.values()].sort((x, y) => (x.category === null ? 1 : y.category === null ? -1 : x.category < y.category ? -1 : 1));

  const totals: SettlementTotals = {
    elders: rows.length,
    meals: 0,
    byMethod: zeroMethods(),
    subsidised: 0,
    unsubsidised: 0,
    amountFen: 0,
    voided: 0,
    duplicates: 0,
    inReview: 0,
    adjustmentFen: centreAdjustmentFen,
    totalFen: 0,
  };
  for (const r of rows) {
    totals.meals += r.meals;
    for (const m of CHECK_IN_METHODS) totals.byMethod[m] += r.byMethod[m];
    totals.subsidised += r.subsidised;
    totals.unsubsidised += r.unsubsidised.length;
    totals.amountFen += r.amountFen;
    totals.voided += r.voided.length;
    totals.duplicates += r.duplicates;
    totals.inReview += r.inReview;
    totals.adjustmentFen += r.adjustmentFen;
  }
  totals.totalFen = totals.amountFen + totals.adjustmentFen;
  return { centreId: input.centreId, month: input.month, elders: rows, categories, adjustments, totals, rowsHash: rowsHash(rows, adjustments) };
}

/** sha256 over the rows as JSON (keys in the order settle() builds them). */
export function rowsHash(rows: readonly ElderSettlement[], adjustments: readonly Adjustment[]): string {
  return createHash('sha256').update(JSON.stringify({ rows, adjustments })).digest('hex');
}

/** 1234 -> "12.34", -5 -> "-0.05": fen as yuan, for pages and exports only. */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(fen);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

/** "5", "5.0", "5.00" -> 500; anything else (more than 2 decimals, not a number) -> undefined. */
export function fenOf(yuanText: string): number | undefined {
  const m = /^(-)?(\d{1,9})(?:\.(\d{1,2}))?$/.exec(yuanText.trim());
  if (!m) return undefined;
  const fen = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}
