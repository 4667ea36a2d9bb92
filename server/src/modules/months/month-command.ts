/**
 * `mealcheck month close|list`: months the bureau has reported. Once a month is closed, an event
 * dated in it is kept for review instead of changing the reported figure. Bureau-wide; for good.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { createSettlementAudit } from '../settlement/settlement-audit.ts';
import { createSettlementService } from '../settlement/settlement-service.ts';
import { createSubsidyRuleRepository } from '../settlement/subsidy-rule-repository.ts';
import { createClosedMonthRepository, isMonth } from './closed-month-repository.ts';

const MONTH = {
  usage: `mealcheck month close --month YYYY-MM [--by NAME] [--data DIR]
mealcheck month list  [--data DIR]`,
  options: {
    month: { flag: 'month', type: 'string', default: undefined, arg: 'YYYY-MM', check: (v: string) => (isMonth(v) ? undefined : `"${v}" is not a month (YYYY-MM)`), doc: 'the month to close (close)' },
    by: { flag: 'by', type: 'string', default: undefined, arg: 'NAME', doc: 'recorded with the closing (default: the user running the command)' },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
  },
  positional: { name: 'ACTION', doc: 'close or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

export async function monthCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, MONTH, ['close', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: { month, by, dataDir }, action } = p;
  const problems: string[] = [];
  if (action === 'close' && month === undefined) problems.push('--month YYYY-MM is required');
  else if (action === 'list' && (month !== undefined || by !== undefined)) problems.push('list takes only --data');
  if (problems.length) throw new ConfigError(problems);

  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const months = createClosedMonthRepository(db);
    if (action === 'close') {
      // As the API does: each centre's settlement is stored with the closing (settlement-service.ts).
      const audit = createSettlementAudit(db);
      const settlement = createSettlementService({ db, rules: createSubsidyRuleRepository(db, audit), months, audit });
      const r = settlement.closeMonth(month!, by ?? `cli:${userInfo().username}`, new Date());
      out(r.created ? `month ${month} closed` : `month ${month} was already closed (${r.month.closedAt} by ${r.month.closedBy})`);
      return 0;
    }
    for (const m of months.list()) out(`${m.month}\tclosed ${m.closedAt} by ${m.closedBy}`);
    return 0;
  } finally {
    db.close();
  }
}
