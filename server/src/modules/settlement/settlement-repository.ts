/**
 * What a month's settlement is computed from, read in one pass per table for one centre or for
 * all (the city-wide summary): counted meals, voided meals, duplicate attempts and events in
 * review dated in the month, adjustments, and the registry's names and categories (as the boxes
 * report them, and as the bureau confirmed them: elder_decisions). Also the
 * adjustments and snapshots this module writes. No query per elder.
 */
import type { CheckInMethod, Meal } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { Adjustment, Category, SettlementMeal, SettlementTotals } from './settlement-calc.ts';

/** One centre's month as read from the tables (input to settle(), less the rules). */
export interface MonthData {
  meals: SettlementMeal[];
  voided: SettlementMeal[];
  duplicates: Map<string, number>;
  inReview: Map<string, number>;
  adjustments: Adjustment[];
}

export interface RegistryEntry {
  name: string | null;
  /** As the box recorded it: a category's name (低保) or code. */
  category: string | null;
  /** The categories the bureau confirmed (decisions with a category), oldest decision first. */
  confirmed: ConfirmedCategory[];
}

/** A bureau decision that confirmed an elder's category (bureau/decision-repository.ts). */
export interface ConfirmedCategory {
  decisionId: number;
  /** YYYY-MM-DD: the decision applies to meals served on or after it. */
  effectiveOn: string;
  category: string;
}

export interface Snapshot {
  centreId: string;
  month: string;
  closedAt: string;
  totals: SettlementTotals;
  rowsHash: string;
}

export interface AdjustmentInput {
  centreId: string;
  month: string;
  elderId: string | null;
  amountFen: number;
  reason: string;
}

export interface SettlementRepository {
  /** The month's data per centre (only the centre's, or those centres', when given). */
  monthData(month: string, centres?: Centres): Map<string, MonthData>;
  /** The registry per centre: elder id -> name, recorded category and the bureau's confirmed ones. */
  registry(centres?: Centres): Map<string, Map<string, RegistryEntry>>;
  addAdjustment(a: AdjustmentInput, by: string, at: Date): Adjustment;
  snapshot(centreId: string, month: string): Snapshot | undefined;
  /** Keeps the first snapshot of a centre-month: a month closes once. */
  saveSnapshot(s: Snapshot): boolean;
  /** Duplicate attempts dated `from`..`to` (of the centres given), one row each. */
  duplicateSlots(from: string, to: string, centres?: Centres): Array<{ centreId: string; elderId: string; serviceDate: string; meal: Meal; method: CheckInMethod }>;
  /** Centres with anything dated in the month (meals, voids, duplicates, reviews, adjustments). */
  centresOf(month: string): string[];
}

function range(month: string): { from: string; to: string } {
  // serviceDate is YYYY-MM-DD text: a month is a string range.
  return { from: `${month}-01`, to: `${month}-31` };
}

type MealSqlRow = SettlementMeal & { centreId: string };

/** One centre, or several (a district analyst's statistics): bound as one JSON array, whatever its length. */
export type Centres = string | readonly string[];
const centresArg = (c: Centres | undefined): string | null => (c === undefined ? null : JSON.stringify(typeof c === 'string' ? [c] : c));
const IN_CENTRES = '(@centres IS NULL OR centre_id IN (SELECT value FROM json_each(@centres)))';

export function createSettlementRepository(db: Db): SettlementRepository {
  const mealCols = 'centre_id AS centreId, event_id AS eventId, elder_id AS elderId, service_date AS serviceDate, meal, method, at';
  const where = `service_date BETWEEN @from AND @to AND ${IN_CENTRES}`;
  type P = { from: string; to: string; centres: string | null };
  const meals = db.prepare<P, MealSqlRow>(`SELECT ${mealCols} FROM meals WHERE ${where}`);
  const voided = db.prepare<P, MealSqlRow>(`SELECT ${mealCols} FROM voided_meals WHERE ${where}`);
  const duplicates = db.prepare<P, { centreId: string; elderId: string; n: number }>(`SELECT centre_id AS centreId, elder_id AS elderId, count(*) AS n FROM duplicate_attempts WHERE ${where} GROUP BY centre_id, elder_id`);
  const duplicateSlots = db.prepare<P, { centreId: string; elderId: string; serviceDate: string; meal: Meal; method: CheckInMethod }>(
    `SELECT centre_id AS centreId, elder_id AS elderId, service_date AS serviceDate, meal, method FROM duplicate_attempts WHERE ${where}`,
  );
  const reviews = db.prepare<P, { centreId: string; elderId: string; n: number }>(`SELECT centre_id AS centreId, elder_id AS elderId, count(*) AS n FROM event_reviews WHERE ${where} GROUP BY centre_id, elder_id`);
  const adjCols = 'id, centre_id AS centreId, month, elder_id AS elderId, amount_fen AS amountFen, reason, created_at AS createdAt, created_by AS createdBy';
  const adjustments = db.prepare<{ month: string; centres: string | null }, Adjustment>(`SELECT ${adjCols} FROM settlement_adjustments WHERE month = @month AND ${IN_CENTRES} ORDER BY id`);
  const oneAdjustment = db.prepare<[number], Adjustment>(`SELECT ${adjCols} FROM settlement_adjustments WHERE id = ?`);
  const insertAdjustment = db.prepare('INSERT INTO settlement_adjustments (centre_id, month, elder_id, amount_fen, reason, created_at, created_by) VALUES (@centreId, @month, @elderId, @amountFen, @reason, @createdAt, @createdBy)');
  const registry = db.prepare<{ centres: string | null }, { centreId: string; elderId: string; name: string | null; category: string | null }>(
    `SELECT centre_id AS centreId, elder_id AS elderId, name, category FROM elder_registry WHERE ${IN_CENTRES}`,
  );
  const confirmed = db.prepare<{ centres: string | null }, { centreId: string; elderId: string } & ConfirmedCategory>(
    `SELECT centre_id AS centreId, elder_id AS elderId, id AS decisionId, effective_on AS effectiveOn, category FROM elder_decisions
     WHERE category IS NOT NULL AND ${IN_CENTRES} ORDER BY id`,
  );
  const snapshot = db.prepare<[string, string], { centreId: string; month: string; closedAt: string; totals: string; rowsHash: string }>(
    'SELECT centre_id AS centreId, month, closed_at AS closedAt, totals, rows_hash AS rowsHash FROM settlement_snapshots WHERE centre_id = ? AND month = ?',
  );
  const insertSnapshot = db.prepare<[string, string, string, string, string]>('INSERT INTO settlement_snapshots (centre_id, month, closed_at, totals, rows_hash) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const centresOfMonth = db.prepare<P & { month: string }, string>(
    `SELECT centre_id FROM meals WHERE ${where} UNION SELECT centre_id FROM voided_meals WHERE ${where}
     UNION SELECT centre_id FROM duplicate_attempts WHERE ${where} UNION SELECT centre_id FROM event_reviews WHERE ${where}
     UNION SELECT centre_id FROM settlement_adjustments WHERE month = @month ORDER BY 1`,
  ).pluck();

  return {
    monthData(month, centres) {
      const p = { ...range(month), centres: centresArg(centres) };
      const out = new Map<string, MonthData>();
      const of = (c: string) => {
        let d = out.get(c);
        if (!d) out.set(c, (d = { meals: [], voided: [], duplicates: new Map(), inReview: new Map(), adjustments: [] }));
        return d;
      };
      const plain = ({ centreId: _c, ...m }: MealSqlRow): SettlementMeal => ({ ...m, meal: m.meal as Meal, method: m.method as CheckInMethod });
      for (const m of meals.iterate(p)) of(m.centreId).meals.push(plain(m));
      for (const m of voided.iterate(p)) of(m.centreId).voided.push(plain(m));
      for (const r of duplicates.iterate(p)) of(r.centreId).duplicates.set(r.elderId, r.n);
      for (const r of reviews.iterate(p)) of(r.centreId).inReview.set(r.elderId, r.n);
      for (const a of adjustments.iterate({ month, centres: p.centres })) of(a.centreId).adjustments.push(a);
      return out;
    },
    registry(centres) {
      const out = new Map<string, Map<string, RegistryEntry>>();
      for (const r of registry.iterate({ centres: centresArg(centres) })) {
        let m = out.get(r.centreId);
        if (!m) out.set(r.centreId, (m = new Map()));
        m.set(r.elderId, { name: r.name, category: r.category, confirmed: [] });
      }
      for (const { centreId: c, elderId, ...d } of confirmed.iterate({ centres: centresArg(centres) })) {
        let m = out.get(c);
        if (!m) out.set(c, (m = new Map()));
        let e = m.get(elderId);
        // A decision on an elder no box reported (yet): the bureau's category still counts.
        if (!e) m.set(elderId, (e = { name: null, category: null, confirmed: [] }));
        e.confirmed.push(d);
      }
      return out;
    },
    addAdjustment(a, by, at) {
      const id = Number(insertAdjustment.run({ ...a, createdAt: at.toISOString(), createdBy: by }).lastInsertRowid);
      return oneAdjustment.get(id)!;
    },
    snapshot(centreId, month) {
      const s = snapshot.get(centreId, month);
      return s ? { ...s, totals: JSON.parse(s.totals) as SettlementTotals } : undefined;
    },
    saveSnapshot: (s) => insertSnapshot.run(s.centreId, s.month, s.closedAt, JSON.stringify(s.totals), s.rowsHash).changes === 1,
    duplicateSlots: (from, to, centres) => duplicateSlots.all({ from, to, centres: centresArg(centres) }),
    centresOf: (month) => centresOfMonth.all({ ...range(month), centres: null, month }),
  };
}

/** The category source settlement reads through: the category code of an elder's meal on `date`. */
export type CategoryOf = (centreId: string, elderId: string, date: string) => string | null;

/**
 * categoryOf from the registry: the category the bureau confirmed for the elder where one applies
 * on the meal's date (the newest decision with a category effective on or before it: a later
 * decision, a backdated correction included, replaces an earlier one), else the category the box
 * recorded; either matched to a bureau category by name (低保) or by code. A confirmed category
 * that names no bureau category is null (flagged), never the box's instead: the bureau decided.
 */
export function registryCategoryOf(registry: ReadonlyMap<string, ReadonlyMap<string, RegistryEntry>>, categories: readonly Category[]): CategoryOf {
  const byText = new Map<string, string>();
  for (const c of categories) {
    byText.set(c.code, c.code);
    byText.set(c.name, c.code);
  }
  return (centreId, elderId, date) => {
    const entry = registry.get(centreId)?.get(elderId);
    if (!entry) return null;
    let applies: ConfirmedCategory | undefined;
    for (const c of entry.confirmed) if (c.effectiveOn <= date && (!applies || c.decisionId > applies.decisionId)) applies = c;
    const text = applies ? applies.category : entry.category;
    return text == null ? null : (byText.get(text.trim()) ?? null);
  };
}
