/**
 * `mealcheck centre set|list`: each centre's time zone and meal windows on the server's database,
 * which ingest checks every event against. Works while the server runs (SQLite WAL; ingest reads
 * the centre at every batch), so a change applies from the next batch on.
 */
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE } from '../../../../common/meal-windows.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { CentreSettingsError, createCentreRepository } from './centre-repository.ts';

const validId = (v: string) => (isValidId(v) ? undefined : `"${v}" is not an id (letters, digits, _ . -)`);

const CENTRE = {
  usage: `mealcheck centre set  --centre ID [--time-zone TZ] [--meal-windows SPEC] [--data DIR]
mealcheck centre list [--data DIR]`,
  about: `Give the server the same --time-zone and --meal-windows as the centre's edge boxes: the server
keeps for review every meal whose serviceDate or meal does not fit them. A centre never set has
${DEFAULT_TIME_ZONE} and ${DEFAULT_MEAL_WINDOWS}.`,
  options: {
    centreId: { flag: 'centre', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the centre (set)' },
    timeZone: { flag: 'time-zone', type: 'string', default: undefined, arg: 'TZ', doc: "IANA time zone of the centre, e.g. Asia/Shanghai (set)" },
    mealWindows: { flag: 'meal-windows', type: 'string', default: undefined, arg: 'SPEC', doc: 'meal=HH:MM-HH:MM,... in the centre\'s local time (set)' },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
  },
  positional: { name: 'ACTION', doc: 'set or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

export async function centreCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, CENTRE, ['set', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: { centreId, timeZone, mealWindows, dataDir }, action } = p;
  const problems: string[] = [];
  if (action === 'set') {
    if (centreId === undefined) problems.push('--centre ID is required (letters, digits, _ . -)');
    if (timeZone === undefined && mealWindows === undefined) problems.push('give --time-zone TZ, --meal-windows SPEC or both');
  } else if (centreId !== undefined || timeZone !== undefined || mealWindows !== undefined) problems.push('list takes only --data');
  if (problems.length) throw new ConfigError(problems);

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
