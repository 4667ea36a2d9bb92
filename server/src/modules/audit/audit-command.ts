/**
 * `mealcheck audit verify --server [--data DIR]`: checks the server's copy of each box's audit
 * chain (received as audit records) and names the first broken row of each. A chain whose
 * newest rows have not arrived yet is fine; a gap before received rows is reported as missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { verifyAuditChains } from './audit-records.ts';

const SERVER_AUDIT = {
  usage: 'mealcheck audit verify --server [--data DIR]   check the server\'s copies of the boxes\' audit chains (exit 1 if one is broken)',
  options: {
    server: { flag: 'server', type: 'boolean', default: false, doc: "the server's database (mealcheck audit without --server checks an edge's)" },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: undefined, arg: 'DIR', doc: "the server's data folder (default ./data/server)" },
  },
  positional: { name: 'ACTION', doc: 'verify', min: 1, max: 1 },
} as const satisfies CommandSpec;

export async function serverAuditCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, SERVER_AUDIT, ['verify'] as const, out);
  if (typeof p === 'number') return p;
  const dataDir = p.options.dataDir ?? './data/server';
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) throw new ConfigError([`no server database in ${dataDir} (expected ${file})`]);
  const db = openDatabase(file, { migrationsDir: MIGRATIONS_DIR });
  try {
    const reports = verifyAuditChains(db);
    if (reports.length === 0) out('no audit records received yet');
    let broken = 0;
    for (const r of reports) {
      const v = r.verdict;
      if (v.ok) out(`${r.centreId}/${r.deviceId}: ok, ${v.rows} row(s)`);
      else {
        broken++;
        out(`${r.centreId}/${r.deviceId}: BROKEN at row ${v.seq}: ${v.problem} (${v.rows} row(s) before it check out)`);
      }
    }
    return broken ? 1 : 0;
  } finally {
    db.close();
  }
}
