/**
 * `mealcheck category set|list` and `mealcheck rule add|end|remove|list`: the bureau's elder
 * categories and subsidy rules on the server's database, as the API sets them (same checks,
 * same audit, by `cli:<os user>`). Amounts are typed in yuan (5 or 5.00) and stored in fen.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { fenOf, RULE_MEALS, yuan, type RuleMeal } from './settlement-calc.ts';
import { createSettlementAudit } from './settlement-audit.ts';
import { createSubsidyRuleRepository, RuleError, type SubsidyRuleRepository } from './subsidy-rule-repository.ts';

const DATA = { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" } as const;
const yuanCheck = (v: string) => (fenOf(v) !== undefined && fenOf(v)! >= 0 ? undefined : `"${v}" is not an amount in yuan (e.g. 5 or 5.00)`);

const CATEGORY = {
  usage: `mealcheck category set --code CODE --name NAME [--data DIR]
mealcheck category list [--data DIR]`,
  about: 'NAME is what the boxes record as the category (their --elder-categories, e.g. 低保); CODE what rules use (low-income).',
  options: {
    code: { flag: 'code', type: 'string', default: undefined, arg: 'CODE', doc: 'the category code: lower-case letters, digits, - (set)' },
    name: { flag: 'name', type: 'string', default: undefined, arg: 'NAME', doc: 'the name the boxes record, e.g. 低保 (set)' },
    dataDir: DATA,
  },
  positional: { name: 'ACTION', doc: 'set or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

const RULE = {
  usage: `mealcheck rule add --category CODE --meal breakfast|lunch|dinner|any --amount YUAN --from YYYY-MM-DD [--to YYYY-MM-DD]
                   [--max-per-day N] [--max-meals-per-month N] [--max-yuan-per-month YUAN] [--data DIR]
mealcheck rule end --id N --to YYYY-MM-DD|open [--data DIR]
mealcheck rule remove --id N [--data DIR]
mealcheck rule list [--category CODE] [--data DIR]`,
  about: 'A rule may not overlap another of its category for the same meal (any overlaps all): end the old one the day before the new one starts.',
  options: {
    id: { flag: 'id', type: 'int', default: undefined, min: 1, arg: 'N', doc: 'the rule (end, remove)' },
    category: { flag: 'category', type: 'string', default: undefined, arg: 'CODE', doc: 'the category code (add; list filters)' },
    meal: { flag: 'meal', type: 'string', default: undefined, choices: RULE_MEALS, doc: 'the meal the rule pays for (add)' },
    amount: { flag: 'amount', type: 'string', default: undefined, arg: 'YUAN', check: yuanCheck, doc: 'paid per meal, in yuan (add)' },
    from: { flag: 'from', type: 'string', default: undefined, arg: 'YYYY-MM-DD', doc: 'first day (add)' },
    to: { flag: 'to', type: 'string', default: undefined, arg: 'YYYY-MM-DD', doc: 'last day, inclusive (add; end: or "open")' },
    maxPerDay: { flag: 'max-per-day', type: 'int', default: undefined, min: 1, arg: 'N', doc: 'subsidised meals a day at most (add)' },
    maxMealsPerMonth: { flag: 'max-meals-per-month', type: 'int', default: undefined, min: 1, arg: 'N', doc: 'subsidised meals a month at most (add)' },
    maxYuanPerMonth: { flag: 'max-yuan-per-month', type: 'string', default: undefined, arg: 'YUAN', check: yuanCheck, doc: 'subsidy a month at most, in yuan (add)' },
    dataDir: DATA,
  },
  positional: { name: 'ACTION', doc: 'add, end, remove or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

function open<T>(dataDir: string, fn: (rules: SubsidyRuleRepository) => T): T {
  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    return fn(createSubsidyRuleRepository(db, createSettlementAudit(db)));
  } catch (err) {
    if (err instanceof RuleError) throw new ConfigError(err.problems);
    throw err;
  } finally {
    db.close();
  }
}

const by = () => `cli:${userInfo().username}`;

export async function categoryCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, CATEGORY, ['set', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: o, action } = p;
  if (action === 'set' && (o.code === undefined || o.name === undefined)) throw new ConfigError(['set needs --code CODE and --name NAME']);
  return open(o.dataDir, (rules) => {
    if (action === 'set') {
      const c = rules.setCategory({ code: o.code!, name: o.name! }, by(), new Date());
      out(`category ${c.code} ${c.name} ${c.created ? 'added' : 'set'}`);
      return 0;
    }
    for (const c of rules.categories()) out(`${c.code}\t${c.name}`);
    return 0;
  });
}

export async function ruleCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, RULE, ['add', 'end', 'remove', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: o, action } = p;
  const problems: string[] = [];
  if (action === 'add') {
    if (o.category === undefined) problems.push('--category CODE is required');
    if (o.meal === undefined) problems.push('--meal breakfast|lunch|dinner|any is required');
    if (o.amount === undefined) problems.push('--amount YUAN is required');
    if (o.from === undefined) problems.push('--from YYYY-MM-DD is required');
  } else if ((action === 'end' || action === 'remove') && o.id === undefined) problems.push('--id N is required');
  if (action === 'end' && o.to === undefined) problems.push('--to YYYY-MM-DD (or open) is required');
  if (problems.length) throw new ConfigError(problems);
  const now = new Date();
  return open(o.dataDir, (rules) => {
    if (action === 'add') {
      const r = rules.addRule(
        {
          category: o.category!,
          meal: o.meal as RuleMeal,
          amountFen: fenOf(o.amount!)!,
          effectiveFrom: o.from!,
          effectiveTo: o.to ?? null,
          maxPerDay: o.maxPerDay ?? null,
          maxMealsPerMonth: o.maxMealsPerMonth ?? null,
          maxFenPerMonth: o.maxYuanPerMonth !== undefined ? fenOf(o.maxYuanPerMonth)! : null,
        },
        by(),
        now,
      );
      out(`rule ${r.id} added: ${r.category} ${r.meal} ${yuan(r.amountFen)} yuan, ${r.effectiveFrom} to ${r.effectiveTo ?? 'open'}`);
    } else if (action === 'end') {
      const r = rules.endRule(o.id!, o.to === 'open' ? null : o.to!, by(), now);
      out(`rule ${r.id}: ${r.effectiveFrom} to ${r.effectiveTo ?? 'open'}`);
    } else if (action === 'remove') {
      rules.removeRule(o.id!, by(), now);
      out(`rule ${o.id} removed`);
    } else {
      for (const r of rules.rules(o.category)) {
        const caps = [r.maxPerDay !== null ? `${r.maxPerDay}/day` : '', r.maxMealsPerMonth !== null ? `${r.maxMealsPerMonth}/month` : '', r.maxFenPerMonth !== null ? `${yuan(r.maxFenPerMonth)} yuan/month` : ''].filter(Boolean).join(' ');
        out(`${r.id}\t${r.category}\t${r.meal}\t${yuan(r.amountFen)}\t${r.effectiveFrom}\t${r.effectiveTo ?? 'open'}${caps ? `\t${caps}` : ''}`);
      }
    }
    return 0;
  });
}
