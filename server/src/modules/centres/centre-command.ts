/**
 * `mealcheck centre set|district|list`: each centre's time zone, meal windows, name and district
 * on the server's database (ingest checks every event against the zone and windows), and the
 * districts themselves. Works while the server runs (SQLite WAL; ingest reads
 * the centre at every batch), so a change applies from the next batch on.
 */
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE } from '../../../../common/meal-windows.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { userInfo } from 'node:os';
import { createServerAuditRepository } from '../audit/server-audit.ts';
import { CentreSettingsError, createCentreRepository } from './centre-repository.ts';
import { createDistrictRepository } from './district-repository.ts';

const validId = (v: string) => (isValidId(v) ? undefined : `"${v}" is not an id (letters, digits, _ . -)`);

const CENTRE = {
  usage: `mealcheck centre set      --centre ID [--time-zone TZ] [--meal-windows SPEC] [--name NAME] [--district ID|none] [--data DIR]
mealcheck centre district --district ID --name NAME [--data DIR]   creates or renames a district
mealcheck centre list     [--data DIR]`,
  about: `Give the server the same --time-zone and --meal-windows as the centre's edge boxes: the server
keeps for review every meal whose serviceDate or meal does not fit them. A centre never set has
${DEFAULT_TIME_ZONE} and ${DEFAULT_MEAL_WINDOWS}.`,
  options: {
    centreId: { flag: 'centre', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the centre (set)' },
    timeZone: { flag: 'time-zone', type: 'string', default: undefined, arg: 'TZ', doc: "IANA time zone of the centre, e.g. Asia/Shanghai (set)" },
    mealWindows: { flag: 'meal-windows', type: 'string', default: undefined, arg: 'SPEC', doc: 'meal=HH:MM-HH:MM,... in the centre\'s local time (set)' },
    name: { flag: 'name', type: 'string', default: undefined, arg: 'NAME', doc: "the centre's (set) or the district's (district) name" },
    districtId: { flag: 'district', type: 'string', default: undefined, arg: 'ID', doc: 'the district the centre belongs to, none to take it out (set); the district (district)' },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
  },
  positional: { name: 'ACTION', doc: 'set, district or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

export async function centreCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, CENTRE, ['set', 'district', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: { centreId, timeZone, mealWindows, name, districtId, dataDir }, action } = p;
  const problems: string[] = [];
  if (action === 'set') {
    if (centreId === undefined) problems.push('--centre ID is required (letters, digits, _ . -)');
    if (timeZone === undefined && mealWindows === undefined && name === undefined && districtId === undefined) problems.push('give --time-zone TZ, --meal-windows SPEC, --name NAME or --district ID');
  } else if (action === 'district') {
    if (districtId === undefined || name === undefined) problems.push('district needs --district ID and --name NAME');
    if (centreId !== undefined || timeZone !== undefined || mealWindows !== undefined) problems.push('district takes only --district, --name and --data');
  } else if (centreId !== undefined || timeZone !== undefined || mealWindows !== undefined || name !== undefined || districtId !== undefined) problems.push('list takes only --data');
  if (problems.length) throw new ConfigError(problems);

  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const centres = createCentreRepository(db);
    const audit = createServerAuditRepository(db);
    const by = `cli:${userInfo().username}`;
    const now = new Date();
    const flags = (p: string) => p.replace(/^timeZone:/, '--time-zone:').replace(/^mealWindows:/, '--meal-windows:').replace(/^name:/, '--name:').replace(/^districtId:/, '--district:');
    if (action === 'district') {
      try {
        const { district, created } = createDistrictRepository(db).put(districtId!, name!, now);
        audit.record({ userId: by, action: 'district-change', subject: district.districtId, details: { name: district.name, created } }, now);
        out(`district ${district.districtId} ${created ? 'created' : 'renamed'}: ${district.name}`);
        return 0;
      } catch (err) {
        if (err instanceof CentreSettingsError) throw new ConfigError(err.problems.map(flags));
        throw err;
      }
    }
    if (action === 'set') {
      const settings = {
        ...(timeZone !== undefined ? { timeZone } : {}),
        ...(mealWindows !== undefined ? { mealWindows } : {}),
        ...(name !== undefined ? { name } : {}),
        ...(districtId !== undefined ? { districtId: districtId === 'none' ? null : districtId } : {}),
      };
      let c;
      try {
        c = centres.set(centreId!, settings, now);
      } catch (err) {
        if (err instanceof CentreSettingsError) throw new ConfigError(err.problems.map(flags));
        throw err;
      }
      audit.record({ userId: by, action: 'centre-change', subject: c.centreId, details: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, v ?? null])) }, now);
      out(`centre ${c.centreId}: time zone ${c.timeZone}, meal windows ${c.mealWindows}${c.name ? `, name ${c.name}` : ''}${c.districtId ? `, district ${c.districtId}` : ''}`);
      return 0;
    }
    out(`(default)\t${DEFAULT_TIME_ZONE}\t${DEFAULT_MEAL_WINDOWS}`);
    for (const c of centres.list()) out(`${c.centreId}\t${c.timeZone}\t${c.mealWindows}\t${c.name ?? '-'}\t${c.districtId ?? '-'}\tset ${c.updatedAt}`);
    for (const d of createDistrictRepository(db).list()) out(`district ${d.districtId}\t${d.name}\t${d.centreIds.join(',') || '(no centre)'}`);
    return 0;
  } finally {
    db.close();
  }
}
