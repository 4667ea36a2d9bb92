/**
 * `mealcheck centre set|list`: each centre's time zone and meal windows on the server's database,
 * which ingest checks every event against. Works while the server runs (SQLite WAL; ingest reads
 * the centre at every batch), so a change applies from the next batch on.
 */
import { join } from 'node:path';
import { ConfigError, parseArgs } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE } from '../../../../common/meal-windows.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { CentreSettingsError, createCentreRepository } from './centre-repository.ts';

export const CENTRE_USAGE = `mealcheck centre set  --centre ID [--time-zone TZ] [--meal-windows SPEC] [--data DIR]
mealcheck centre list [--data DIR]

Give the server the same --time-zone and --meal-windows as the centre's edge boxes: the server
keeps for review every meal whose serviceDate or meal does not fit them. A centre never set has
${DEFAULT_TIME_ZONE} and ${DEFAULT_MEAL_WINDOWS}.
--data is the server's data folder (default: $MEALCHECK_DATA or ./data/server).`;

export async function centreCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const [action, ...rest] = argv;
  const args = parseArgs(rest, new Set(['help']));
  if (action === undefined || action === '--help' || action === '-h' || args.flags.has('help')) {
    out(CENTRE_USAGE);
    return action === undefined ? 2 : 0;
  }
  const get = (f: string) => {
    const v = args.flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  if (!['set', 'list'].includes(action)) problems.push(`unknown action "${action}" (set or list)`);
  const centreId = get('centre');
  const timeZone = get('time-zone');
  const mealWindows = get('meal-windows');
  if (action === 'set') {
    if (!centreId || !isValidId(centreId)) problems.push('--centre ID is required (letters, digits, _ . -)');
    if (timeZone === undefined && mealWindows === undefined) problems.push('give --time-zone TZ, --meal-windows SPEC or both');
  }
  for (const f of args.flags.keys()) if (!['centre', 'time-zone', 'meal-windows', 'data'].includes(f)) problems.push(`unknown option --${f}`);
  if (problems.length) throw new ConfigError(problems);

  const dataDir = get('data') ?? process.env.MEALCHECK_DATA ?? './data/server';
  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const centres = createCentreRepository(db);
    if (action === 'set') {
      let c;
      try {
        c = centres.set(centreId!, { ...(timeZone !== undefined ? { timeZone } : {}), ...(mealWindows !== undefined ? { mealWindows } : {}) }, new Date());
      } catch (err) {
        if (err instanceof CentreSettingsError) throw new ConfigError(err.problems.map((p) => p.replace(/^timeZone:/, '--time-zone:').replace(/^mealWindows:/, '--meal-windows:')));
        throw err;
      }
      out(`centre ${c.centreId}: time zone ${c.timeZone}, meal windows ${c.mealWindows}`);
      return 0;
    }
    out(`(default)\t${DEFAULT_TIME_ZONE}\t${DEFAULT_MEAL_WINDOWS}`);
    for (const c of centres.list()) out(`${c.centreId}\t${c.timeZone}\t${c.mealWindows}\tset ${c.updatedAt}`);
    return 0;
  } finally {
    db.close();
  }
}
