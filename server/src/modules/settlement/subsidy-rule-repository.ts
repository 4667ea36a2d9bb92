/**
 * The bureau's elder categories and subsidy rules (server migration 010). A rule may not overlap
 * another of its category for the same meal (`any` overlaps every meal): the settlement must find
 * exactly one rule for a meal on a day, so an overlap is refused naming the rule it overlaps.
 * Every change is audited through SettlementAudit, in the change's transaction.
 */
import { CATEGORY_CODE_PATTERN } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { dayNumber } from '../stats/stats-query.ts';
import { RULE_MEALS, rulesOverlap, type Category, type RuleMeal, type SubsidyRule } from './settlement-calc.ts';
import type { SettlementAudit } from './settlement-audit.ts';

// The code's pattern is the wire contract's: the boxes get it in their config documents.
export { CATEGORY_CODE_PATTERN };
const codeRe = new RegExp(CATEGORY_CODE_PATTERN);

/** A change refused for a reason the caller can fix: a 400 (or 404 with `notFound`). */
export class RuleError extends Error {
  constructor(
    readonly problems: string[],
    readonly notFound = false,
  ) {
    super(problems.join('; '));
    this.name = 'RuleError';
  }
}

export interface StoredRule extends SubsidyRule {
  createdAt: string;
  createdBy: string;
}

export interface RuleInput {
  category: string;
  meal: RuleMeal;
  amountFen: number;
  maxPerDay?: number | null;
  maxMealsPerMonth?: number | null;
  maxFenPerMonth?: number | null;
  effectiveFrom: string;
  effectiveTo?: string | null;
}

/** The rules a centre's boxes apply, as plain JSON for the config document sent down. */
export interface EffectiveRules {
  centreId: string;
  /** The day asked for: rules effective on it or starting later. */
  from: string;
  categories: Category[];
  rules: Array<Omit<SubsidyRule, 'id'> & { id: number }>;
}

export interface SubsidyRuleRepository {
  categories(): Array<Category & { updatedAt: string }>;
  /** Creates or renames a category. */
  setCategory(c: Category, by: string, at: Date): Category & { updatedAt: string; created: boolean };
  rules(category?: string): StoredRule[];
  rule(id: number): StoredRule | undefined;
  addRule(r: RuleInput, by: string, at: Date): StoredRule;
  /** Sets (or clears, with null) a rule's last day: how a rule ends when a new amount starts. */
  endRule(id: number, effectiveTo: string | null, by: string, at: Date): StoredRule;
  removeRule(id: number, by: string, at: Date): void;
  /**
   * The rules a centre applies from `date` on (effective that day or later). Rules are
   * city-wide today; the centre is in the signature for when they are not.
   */
  effectiveRules(centreId: string, date: string): EffectiveRules;
  /** Changes with every change of a category or rule, by any process (the config publisher polls it). */
  stamp(): string;
}

type RuleRow = Omit<StoredRule, 'meal'> & { meal: string };

const ruleColumns = `id, category, meal, amount_fen AS amountFen, max_per_day AS maxPerDay, max_meals_per_month AS maxMealsPerMonth,
  max_fen_per_month AS maxFenPerMonth, effective_from AS effectiveFrom, effective_to AS effectiveTo, created_at AS createdAt, created_by AS createdBy`;

const toRule = (r: RuleRow): StoredRule => ({ ...r, meal: r.meal as RuleMeal });

function checkRule(r: RuleInput): string[] {
  const problems: string[] = [];
  if (!(RULE_MEALS as readonly string[]).includes(r.meal)) problems.push(`meal must be one of ${RULE_MEALS.join(', ')}`);
  if (!Number.isSafeInteger(r.amountFen) || r.amountFen < 0) problems.push('amountFen must be a whole number of fen, 0 or more');
  for (const k of ['maxPerDay', 'maxMealsPerMonth'] as const) {
    const v = r[k];
    if (v !== undefined && v !== null && (!Number.isSafeInteger(v) || v < 1)) problems.push(`${k} must be a whole number, 1 or more (or absent: no cap)`);
  }
  if (r.maxFenPerMonth !== undefined && r.maxFenPerMonth !== null && (!Number.isSafeInteger(r.maxFenPerMonth) || r.maxFenPerMonth < 0)) problems.push('maxFenPerMonth must be a whole number of fen, 0 or more');
  if (dayNumber(r.effectiveFrom) === null) problems.push(`effectiveFrom must be a calendar date YYYY-MM-DD, got "${String(r.effectiveFrom).slice(0, 20)}"`);
  if (r.effectiveTo !== undefined && r.effectiveTo !== null) {
    if (dayNumber(r.effectiveTo) === null) problems.push(`effectiveTo must be a calendar date YYYY-MM-DD, got "${String(r.effectiveTo).slice(0, 20)}"`);
    else if (r.effectiveTo < r.effectiveFrom) problems.push(`effectiveTo ${r.effectiveTo} is before effectiveFrom ${r.effectiveFrom}`);
  }
  return problems;
}

const describe = (r: SubsidyRule) => `rule ${r.id} (${r.category}, ${r.meal}, ${r.effectiveFrom} to ${r.effectiveTo ?? 'open'})`;

export function createSubsidyRuleRepository(db: Db, audit: SettlementAudit): SubsidyRuleRepository {
  const allCategories = db.prepare<[], Category & { updatedAt: string }>('SELECT code, name, updated_at AS updatedAt FROM categories ORDER BY code');
  const oneCategory = db.prepare<[string], Category & { updatedAt: string }>('SELECT code, name, updated_at AS updatedAt FROM categories WHERE code = ?');
  const categoryByName = db.prepare<[string], { code: string }>('SELECT code FROM categories WHERE name = ?');
  const upsertCategory = db.prepare<[string, string, string]>('INSERT INTO categories (code, name, updated_at) VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at');
  const allRules = db.prepare<[], RuleRow>(`SELECT ${ruleColumns} FROM subsidy_rules ORDER BY category, effective_from, id`);
  const rulesOf = db.prepare<[string], RuleRow>(`SELECT ${ruleColumns} FROM subsidy_rules WHERE category = ? ORDER BY effective_from, id`);
  const oneRule = db.prepare<[number], RuleRow>(`SELECT ${ruleColumns} FROM subsidy_rules WHERE id = ?`);
  const fromDate = db.prepare<[string], RuleRow>(`SELECT ${ruleColumns} FROM subsidy_rules WHERE effective_to IS NULL OR effective_to >= ? ORDER BY category, effective_from, id`);
  const insertRule = db.prepare(
    `INSERT INTO subsidy_rules (category, meal, amount_fen, max_per_day, max_meals_per_month, max_fen_per_month, effective_from, effective_to, created_at, created_by)
     VALUES (@category, @meal, @amountFen, @maxPerDay, @maxMealsPerMonth, @maxFenPerMonth, @effectiveFrom, @effectiveTo, @createdAt, @createdBy)`,
  );
  const updateEnd = db.prepare<[string | null, number]>('UPDATE subsidy_rules SET effective_to = ? WHERE id = ?');
  const deleteRule = db.prepare<[number]>('DELETE FROM subsidy_rules WHERE id = ?');
  // Rules have no updated_at: an end date changes in place, so the stamp covers each rule's end.
  const stamp = db.prepare<[], string>(
    `SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM categories) || '|' ||
            (SELECT count(*) || ':' || coalesce(max(id), 0) || ':' || coalesce(group_concat(id || '=' || coalesce(effective_to, '-')), '') FROM subsidy_rules)`,
  ).pluck();

  const overlapping = (r: Pick<SubsidyRule, 'category' | 'meal' | 'effectiveFrom' | 'effectiveTo'>, exceptId?: number) =>
    rulesOf.all(r.category).map(toRule).find((o) => o.id !== exceptId && rulesOverlap(o, r));

  return {
    categories: () => allCategories.all(),
    setCategory: (c, by, at) =>
      db.transaction(() => {
        const problems: string[] = [];
        if (!codeRe.test(c.code)) problems.push(`code must be lower-case letters, digits and "-" (at most 32), e.g. low-income; got "${c.code.slice(0, 40)}"`);
        const name = c.name.trim();
        if (name.length < 1 || name.length > 32) problems.push('name must be 1 to 32 characters (as the boxes record the category, e.g. 低保)');
        const other = categoryByName.get(name);
        if (other && other.code !== c.code) problems.push(`the name ${name} is already category ${other.code}`);
        if (problems.length) throw new RuleError(problems);
        const before = oneCategory.get(c.code);
        upsertCategory.run(c.code, name, at.toISOString());
        audit.record({ userId: by, action: 'category-set', subject: c.code, details: { name, before: before?.name ?? null } }, at);
        return { ...oneCategory.get(c.code)!, created: before === undefined };
      })(),
    rules: (category) => (category === undefined ? allRules.all() : rulesOf.all(category)).map(toRule),
    rule: (id) => {
      const r = oneRule.get(id);
      return r ? toRule(r) : undefined;
    },
    addRule: (input, by, at) =>
      db.transaction(() => {
        const problems = checkRule(input);
        if (!oneCategory.get(input.category)) problems.push(`no category ${input.category.slice(0, 40)}: add it first`);
        if (problems.length) throw new RuleError(problems);
        const r = { maxPerDay: null, maxMealsPerMonth: null, maxFenPerMonth: null, effectiveTo: null, ...input };
        const o = overlapping(r);
        if (o) throw new RuleError([`overlaps ${describe(o)}: end that rule the day before (effectiveTo) or pick other dates`]);
        const id = Number(insertRule.run({ ...r, createdAt: at.toISOString(), createdBy: by }).lastInsertRowid);
        audit.record(
          { userId: by, action: 'rule-add', subject: String(id), details: { category: r.category, meal: r.meal, amountFen: r.amountFen, maxPerDay: r.maxPerDay, maxMealsPerMonth: r.maxMealsPerMonth, maxFenPerMonth: r.maxFenPerMonth, effectiveFrom: r.effectiveFrom, effectiveTo: r.effectiveTo } },
          at,
        );
        return toRule(oneRule.get(id)!);
      })(),
    endRule: (id, effectiveTo, by, at) =>
      db.transaction(() => {
        const r = oneRule.get(id);
        if (!r) throw new RuleError([`no rule ${id}`], true);
        const next = { ...toRule(r), effectiveTo };
        const problems = checkRule(next);
        if (problems.length) throw new RuleError(problems);
        const o = overlapping(next, id);
        if (o) throw new RuleError([`would overlap ${describe(o)}`]);
        updateEnd.run(effectiveTo, id);
        audit.record({ userId: by, action: 'rule-end', subject: String(id), details: { effectiveTo, before: r.effectiveTo } }, at);
        return toRule(oneRule.get(id)!);
      })(),
    removeRule: (id, by, at) =>
      db.transaction(() => {
        const r = oneRule.get(id);
        if (!r) throw new RuleError([`no rule ${id}`], true);
        deleteRule.run(id);
        audit.record({ userId: by, action: 'rule-remove', subject: String(id), details: { category: r.category, meal: r.meal, amountFen: r.amountFen, effectiveFrom: r.effectiveFrom, effectiveTo: r.effectiveTo } }, at);
      })(),
    effectiveRules: (centreId, date) => ({
      centreId,
      from: date,
      categories: allCategories.all().map(({ code, name }) => ({ code, name })),
      rules: fromDate.all(date).map((r) => {
        const { createdAt: _c, createdBy: _b, ...rule } = toRule(r);
        return rule;
      }),
    }),
    stamp: () => stamp.get() ?? '',
  };
}
