/**
 * Monthly settlement: reads a month (settlement-repository.ts), applies the subsidy rules
 * (settlement-calc.ts) and says whether the month is closed. Closing a month (bureau-wide, in
 * months/) also stores each centre's settlement as it stood (totals and a hash of its rows), in
 * the same transaction; a closed month's report is recomputed and compared with it, so a change
 * made later (a rule edited, a category changed) is visible instead of silent.
 */
import type { Db } from '../../../../common/sqlite.ts';
import type { ClosedMonthRepository, ClosedMonth } from '../months/closed-month-repository.ts';
import type { CheckInMethod, Meal } from '../../../../common/contract.ts';
import { settle, type Adjustment, type MealOutcome, type Settlement, type SettlementMeal, type SettlementTotals } from './settlement-calc.ts';
import type { SettlementAudit } from './settlement-audit.ts';
import { createSettlementRepository, registryCategoryOf, type AdjustmentInput, type CategoryOf, type MonthData, type SettlementRepository } from './settlement-repository.ts';
import type { SubsidyRuleRepository } from './subsidy-rule-repository.ts';

export class MonthClosedError extends Error {
  constructor(readonly month: string) {
    super(`month ${month} is closed: its settlement no longer changes (an adjustment belongs to an open month)`);
    this.name = 'MonthClosedError';
  }
}

export interface SnapshotCheck {
  closedAt: string;
  totals: SettlementTotals;
  rowsHash: string;
  /** False when the settlement computed now differs from the one stored at close. */
  matches: boolean;
}

export interface SettlementReport extends Settlement {
  status: 'open' | 'closed';
  closedAt: string | null;
  /** The settlement stored when the month closed; null while open (or closed before snapshots). */
  snapshot: SnapshotCheck | null;
}

export interface CentreSummary {
  centreId: string;
  elders: number;
  meals: number;
  subsidised: number;
  unsubsidised: number;
  amountFen: number;
  adjustmentFen: number;
  totalFen: number;
  voided: number;
  inReview: number;
  /** Closed month: false when the figures differ from the snapshot; null while open. */
  matchesSnapshot: boolean | null;
}

export interface CitySummary {
  month: string;
  status: 'open' | 'closed';
  closedAt: string | null;
  centres: CentreSummary[];
  totals: Omit<CentreSummary, 'centreId' | 'matchesSnapshot'> & { centres: number };
}

/**
 * One counted meal, voided meal or duplicate attempt as statistics see it: with the elder's
 * category that day and, for a counted meal, what the month's settlement pays for it.
 */
export interface MealFact {
  kind: 'meal' | 'void' | 'duplicate';
  centreId: string;
  elderId: string;
  serviceDate: string;
  meal: Meal;
  method: CheckInMethod;
  /** A known category code, or null. */
  category: string | null;
  /** Counted meals only: subsidised under the settlement's rules and caps (else 0). */
  amountFen: number;
  subsidised: boolean;
}

export interface SettlementService {
  report(centreId: string, month: string): SettlementReport;
  /** Per-centre totals of the month for the centres given ('all': every centre with data). */
  summary(month: string, centres: 'all' | readonly string[]): CitySummary;
  /** Refused (MonthClosedError) for a closed month. Audited. */
  addAdjustment(a: AdjustmentInput, by: string, at: Date): Adjustment;
  /** Closes the month (months/) and stores every centre's snapshot, in one transaction. */
  closeMonth(month: string, by: string, at: Date): { month: ClosedMonth; created: boolean };
  /**
   * Every counted meal, voided meal and duplicate attempt dated `from`..`to` (YYYY-MM-DD) of the
   * centres given, each with what settle() made of it. The months around are settled whole
   * (caps count from the 1st), one month in memory at a time.
   */
  facts(from: string, to: string, centres: 'all' | readonly string[], visit: (f: MealFact) => void): void;
}

/** The months (YYYY-MM) from the month of `from` to the month of `to`. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let y = Number(from.slice(0, 4));
  let m = Number(from.slice(5, 7));
  const end = to.slice(0, 7);
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    if (month > end) return out;
    out.push(month);
    if (++m > 12) [y, m] = [y + 1, 1];
  }
}

export interface SettlementServiceDeps {
  db: Db;
  rules: SubsidyRuleRepository;
  months: ClosedMonthRepository;
  audit: SettlementAudit;
  repo?: SettlementRepository;
  /**
   * Where an elder's category comes from; default: the registry the boxes report
   * (registryCategoryOf). Built per report from the categories and the registry read once.
   */
  categorySource?: (registry: ReturnType<SettlementRepository['registry']>, categories: ReturnType<SubsidyRuleRepository['categories']>) => CategoryOf;
}

const EMPTY: MonthData = { meals: [], voided: [], duplicates: new Map(), inReview: new Map(), adjustments: [] };

export function createSettlementService(deps: SettlementServiceDeps): SettlementService {
  const { db, rules, months, audit } = deps;
  const repo = deps.repo ?? createSettlementRepository(db);
  const categorySource = deps.categorySource ?? registryCategoryOf;

  const closedAt = (month: string) => months.list().find((m) => m.month === month)?.closedAt ?? null;

  interface Observer {
    /** Only these centres are settled. */
    only?: ReadonlySet<string>;
    onMeal(centreId: string, meal: SettlementMeal, outcome: MealOutcome): void;
    /** Each voided meal of a settled centre, with the elder's known category that day. */
    onVoid(centreId: string, meal: SettlementMeal, category: string | null): void;
    /** The same category lookup, for what settle() does not see (duplicate attempts). */
    categoryOf?: (lookup: (centreId: string, elderId: string, date: string) => string | null) => void;
  }

  /** Settlements of the month per centre, every table read once (for one centre or all). */
  function compute(month: string, centreId?: string, observer?: Observer): Map<string, Settlement> {
    // Only the observer's centres are read (a district analyst's statistics), or only centreId's.
    const read = centreId ?? (observer?.only ? [...observer.only] : undefined);
    const data = repo.monthData(month, read);
    if (centreId !== undefined && !data.has(centreId)) data.set(centreId, EMPTY);
    const registry = repo.registry(read);
    const categories = rules.categories();
    const categoryOf = categorySource(registry, categories);
    const known = new Set(categories.map((c) => c.code));
    // As settle() reads it: a code the bureau has not defined is no category.
    const knownCategory = (c: string, elderId: string, date: string) => {
      const code = categoryOf(c, elderId, date);
      return code !== null && known.has(code) ? code : null;
    };
    observer?.categoryOf?.(knownCategory);
    const allRules = rules.rules();
    const out = new Map<string, Settlement>();
    for (const [c, d] of data) {
      if (observer?.only && !observer.only.has(c)) continue;
      const reg = registry.get(c) ?? new Map();
      out.set(
        c,
        settle(
          {
            centreId: c,
            month,
            ...d,
            names: new Map([...reg].map(([id, e]) => [id, e.name])),
            categoryOf: (elderId, date) => categoryOf(c, elderId, date),
            categories,
            rules: allRules,
          },
          observer && ((m, o) => observer.onMeal(c, m, o)),
        ),
      );
      if (observer) for (const v of d.voided) observer.onVoid(c, v, knownCategory(c, v.elderId, v.serviceDate));
    }
    return out;
  }

  const check = (s: Settlement, month: string) => {
    const snap = repo.snapshot(s.centreId, month);
    return snap ? { closedAt: snap.closedAt, totals: snap.totals, rowsHash: snap.rowsHash, matches: snap.rowsHash === s.rowsHash } : null;
  };

  return {
    report(centreId, month) {
      const s = compute(month, centreId).get(centreId)!;
      const at = closedAt(month);
      return { ...s, status: at === null ? 'open' : 'closed', closedAt: at, snapshot: at === null ? null : check(s, month) };
    },
    summary(month, centres) {
      const all = compute(month);
      const at = closedAt(month);
      const rows: CentreSummary[] = [];
      for (const [c, s] of [...all].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (centres !== 'all' && !centres.includes(c)) continue;
        const t = s.totals;
        rows.push({
          centreId: c,
          elders: t.elders,
          meals: t.meals,
          subsidised: t.subsidised,
          unsubsidised: t.unsubsidised,
          amountFen: t.amountFen,
          adjustmentFen: t.adjustmentFen,
          totalFen: t.totalFen,
          voided: t.voided,
          inReview: t.inReview,
          matchesSnapshot: at === null ? null : (check(s, month)?.matches ?? false),
        });
      }
      const sum = (k: keyof Omit<CentreSummary, 'centreId' | 'matchesSnapshot'>) => rows.reduce((n, r) => n + r[k], 0);
      return {
        month,
        status: at === null ? 'open' : 'closed',
        closedAt: at,
        centres: rows,
        totals: {
          centres: rows.length,
          elders: sum('elders'),
          meals: sum('meals'),
          subsidised: sum('subsidised'),
          unsubsidised: sum('unsubsidised'),
          amountFen: sum('amountFen'),
          adjustmentFen: sum('adjustmentFen'),
          totalFen: sum('totalFen'),
          voided: sum('voided'),
          inReview: sum('inReview'),
        },
      };
    },
    addAdjustment: (a, by, at) =>
      db.transaction(() => {
        if (months.closedSet().has(a.month)) throw new MonthClosedError(a.month);
        const adj = repo.addAdjustment(a, by, at);
        audit.record({ userId: by, action: 'adjustment-add', subject: `${a.centreId}/${a.month}`, details: { id: adj.id, elderId: a.elderId, amountFen: a.amountFen, reason: a.reason } }, at);
        return adj;
      })(),
    facts(from, to, centres, visit) {
      const only = centres === 'all' ? undefined : new Set(centres);
      const inRange = (date: string) => date >= from && date <= to;
      const list = only ? [...only] : undefined;
      for (const month of monthsBetween(from, to)) {
        let lookup: (centreId: string, elderId: string, date: string) => string | null = () => null;
        compute(month, undefined, {
          ...(only ? { only } : {}),
          onMeal: (centreId, m, o) => {
            if (inRange(m.serviceDate)) visit({ kind: 'meal', centreId, elderId: m.elderId, serviceDate: m.serviceDate, meal: m.meal, method: m.method, category: o.category, amountFen: o.amountFen, subsidised: o.reason === null });
          },
          onVoid: (centreId, m, category) => {
            if (inRange(m.serviceDate)) visit({ kind: 'void', centreId, elderId: m.elderId, serviceDate: m.serviceDate, meal: m.meal, method: m.method, category, amountFen: 0, subsidised: false });
          },
          categoryOf: (l) => (lookup = l),
        });
        const lo = month === from.slice(0, 7) ? from : `${month}-01`;
        const hi = month === to.slice(0, 7) ? to : `${month}-31`;
        for (const d of repo.duplicateSlots(lo, hi, list)) {
          visit({ kind: 'duplicate', ...d, category: lookup(d.centreId, d.elderId, d.serviceDate), amountFen: 0, subsidised: false });
        }
      }
    },
    closeMonth: (month, by, at) =>
      db.transaction(() => {
        const r = months.close(month, by, at);
        if (!r.created) return r;
        const stored = compute(month);
        for (const [centreId, s] of stored) {
          repo.saveSnapshot({ centreId, month, closedAt: r.month.closedAt, totals: s.totals, rowsHash: s.rowsHash });
        }
        audit.record({ userId: by, action: 'settlement-snapshot', subject: month, details: { centres: stored.size } }, at);
        return r;
      })(),
  };
}
