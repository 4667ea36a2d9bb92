/**
 * `mealcheck month close|list`: months the bureau has reported. Once a month is closed, an event
 * dated in it is kept for review instead of changing the reported figure. Bureau-wide; for good.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseArgs } from '../../../../common/config.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { createClosedMonthRepository, isMonth } from './closed-month-repository.ts';

export const MONTH_USAGE = `mealcheck month close --month YYYY-MM [--by NAME] [--data DIR]
mealcheck month list  [--data DIR]

--by is recorded with the closing (default: the user running the command).
--data is the server's data folder (default: $MEALCHECK_DATA or ./data/server).`;

export async function monthCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const [action, ...rest] = argv;
  const args = parseArgs(rest, new Set(['help']));
  if (action === undefined || action === '--help' || action === '-h' || args.flags.has('help')) {
    out(MONTH_USAGE);
    return action === undefined ? 2 : 0;
  }
  const get = (f: string) => {
    const v = args.flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  if (!['close', 'list'].includes(action)) problems.push(`unknown action "${action}" (close or list)`);
  const month = get('month');
  if (action === 'close' && (month === undefined || !isMonth(month))) problems.push(`--month YYYY-MM is required${month !== undefined ? ` ("${month}" is not a month)` : ''}`);
  for (const f of args.flags.keys()) if (!['month', 'by', 'data'].includes(f)) problems.push(`unknown option --${f}`);
  if (problems.length) throw new ConfigError(problems);

  const dataDir = get('data') ?? process.env.MEALCHECK_DATA ?? './data/server';
  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const months = createClosedMonthRepository(db);
    if (action === 'close') {
      const r = months.close(month!, get('by') ?? `cli:${userInfo().username}`, new Date());
      out(r.created ? `month ${month} closed` : `month ${month} was already closed (${r.month.closedAt} by ${r.month.closedBy})`);
      return 0;
    }
    for (const m of months.list()) out(`${m.month}\tclosed ${m.closedAt} by ${m.closedBy}`);
    return 0;
  } finally {
    db.close();
  }
}
