/**
 * `mealcheck audit verify|list --data DIR`: checks the edge's audit log chain (every hash and
 * every link, common/audit-chain.ts) and names the first broken row; `list` shows the newest
 * rows. `--server` runs the same check on a server's copy, per centre and device
 * (server/src/modules/audit/audit-command.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { verifyChain } from '../../../common/audit-chain.ts';
import { readActionCommand, type CommandSpec } from '../../../common/config.ts';
import { systemClock, uuidV7Ids } from '../../../common/clock.ts';
import { EDGE_DATABASE_FILE } from '../elders/elder-command.ts';
import { openEdgeDatabase } from '../main.ts';
import { createAuditLog } from './audit-log.ts';

export const AUDIT = {
  usage: `mealcheck audit verify --data DIR            check the edge's audit chain (exit 1 at a broken row)
mealcheck audit list   --data DIR [--limit N]  the newest rows
mealcheck audit verify --server [--data DIR]   check the server's copies, per centre and device`,
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: undefined, arg: 'DIR', doc: 'the data folder (edge: default ./data/edge; --server: ./data/server)' },
    server: { flag: 'server', type: 'boolean', default: false, doc: "check the server's database instead of an edge's" },
    limit: { flag: 'limit', type: 'int', default: 20, min: 1, max: 10000, doc: 'rows to list (list)' },
  },
  positional: { name: 'ACTION', doc: 'verify or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

export class AuditCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditCommandError';
  }
}

export async function auditCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, AUDIT, ['verify', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const dataDir = p.options.dataDir ?? './data/edge';
  const file = join(dataDir, EDGE_DATABASE_FILE);
  if (!existsSync(file)) throw new AuditCommandError(`no edge database in ${dataDir} (expected ${file}); for a server's copy add --server`);
  const db = openEdgeDatabase(file);
  try {
    const audit = createAuditLog({ db, clock: systemClock, ids: uuidV7Ids });
    if (p.action === 'list') {
      for (const r of audit.recent(p.options.limit).reverse()) out(`${r.seq}\t${r.at}\t${r.staffId ?? '-'}\t${r.action}\t${r.subject ?? '-'}\t${JSON.stringify(r.details)}`);
      return 0;
    }
    const v = verifyChain(audit.iterate());
    if (v.ok) {
      out(`audit log ok: ${v.rows} row(s), chain intact (head ${v.head.slice(0, 16)}...)`);
      return 0;
    }
    out(`audit log BROKEN at row ${v.seq}: ${v.problem} (${v.rows} row(s) before it check out)`);
    return 1;
  } finally {
    db.close();
  }
}
