/**
 * `mealcheck backup [--server] [--data DIR] --out FILE` and
 * `mealcheck restore [--server] [--data DIR] --from FILE [--force]` (common/backup.ts).
 *
 * The edge's backup holds sealed templates only (it refuses to write a copy holding a plain
 * one), sealed review crops, its ID-card numbers sealed away (edge/src/elders/id-number-backup.ts)
 * and never the template key: the command says where the key is, to be kept apart.
 */
import { join } from 'node:path';
import { parseOptions, type CommandSpec } from '../common/config.ts';
import { backupDatabase, BackupError, restoreDatabase } from '../common/backup.ts';

const COMMON = {
  server: { flag: 'server', type: 'boolean', default: false, doc: "the server's database instead of an edge's" },
  dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: undefined, arg: 'DIR', doc: 'the data folder (edge: default ./data/edge; --server: ./data/server)' },
} as const;

export const BACKUP = {
  usage: 'mealcheck backup [--server] [--data DIR] --out FILE',
  about: 'Copies the database with SQLite\'s online backup (safe while the program runs) into FILE (0600), checked.',
  options: { ...COMMON, out: { flag: 'out', type: 'string', required: true, arg: 'FILE', doc: 'the backup file to write (must not exist)' } },
} as const satisfies CommandSpec;

export const RESTORE = {
  usage: 'mealcheck restore [--server] [--data DIR] --from FILE [--force]',
  about: 'Puts a backup in place of the database; stop the program first. The edge then re-sends what the server may have counted already: receipts make that harmless.',
  options: {
    ...COMMON,
    from: { flag: 'from', type: 'string', required: true, arg: 'FILE', doc: 'the backup file' },
    force: { flag: 'force', type: 'boolean', default: false, doc: 'move an existing database aside (<file>.before-restore-<time>) instead of refusing' },
  },
} as const satisfies CommandSpec;

interface Target {
  file: string;
  expectTable: string;
}

function targetOf(server: boolean, dataDir: string | undefined, edgeFile: string, serverFile: string): Target {
  return server ? { file: join(dataDir ?? './data/server', serverFile), expectTable: 'meals' } : { file: join(dataDir ?? './data/edge', edgeFile), expectTable: 'outbox' };
}

export async function backupCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = parseOptions(argv, BACKUP);
  if (p.help !== undefined) {
    out(p.help);
    return 0;
  }
  const o = p.options;
  if (o.server) {
    const { DATABASE_FILE, MIGRATIONS_DIR } = await import('../server/src/server.ts');
    const { openDatabase } = await import('../common/sqlite.ts');
    const t = targetOf(true, o.dataDir, '', DATABASE_FILE);
    const db = openDatabase(t.file, { migrationsDir: MIGRATIONS_DIR });
    try {
      const r = await backupDatabase(db, o.out, t.expectTable);
      out(`backup of ${t.file} -> ${r.file} (${Math.round(r.bytes / 1024)} KB, migration ${r.version})`);
      return 0;
    } finally {
      db.close();
    }
  }
  const { openEdgeDatabase } = await import('../edge/src/edge-database.ts');
  const { EDGE_DATABASE_FILE } = await import('../edge/src/elders/elder-command.ts');
  const { templateVaultOf } = await import('../edge/src/elders/template-vault.ts');
  const t = targetOf(false, o.dataDir, EDGE_DATABASE_FILE, '');
  // Opened as the edge opens it: migrated, and any plain template sealed before it is copied.
  const db = openEdgeDatabase(t.file);
  try {
    const plain = db.prepare('SELECT count(*) FROM templates WHERE sealed = 0').pluck().get() as number;
    if (plain > 0) throw new BackupError(`${plain} template(s) in ${t.file} are not sealed (${templateVaultOf(db).problem ?? 'the key did not open'}): no backup with plain face templates`);
    const { sealIdNumbersInCopy } = await import('../edge/src/elders/id-number-backup.ts');
    let ids = 0;
    const r = await backupDatabase(db, o.out, t.expectTable, (copy) => void (ids = sealIdNumbersInCopy(copy, templateVaultOf(db))));
    out(`backup of ${t.file} -> ${r.file} (${Math.round(r.bytes / 1024)} KB, migration ${r.version}); its face templates and review crops are sealed, and its ${ids} ID-card number(s) too.`);
    out(`The template key is not in it: keep ${templateVaultOf(db).keyFile} apart (without it, a restored box's elders need enrolling again).`);
    return 0;
  } finally {
    db.close();
  }
}

export async function restoreCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = parseOptions(argv, RESTORE);
  if (p.help !== undefined) {
    out(p.help);
    return 0;
  }
  const o = p.options;
  let t: Target;
  let open: () => { close(): void };
  if (o.server) {
    const { DATABASE_FILE, MIGRATIONS_DIR } = await import('../server/src/server.ts');
    const { openDatabase } = await import('../common/sqlite.ts');
    t = targetOf(true, o.dataDir, '', DATABASE_FILE);
    open = () => openDatabase(t.file, { migrationsDir: MIGRATIONS_DIR });
  } else {
    const { openEdgeDatabase } = await import('../edge/src/edge-database.ts');
    const { EDGE_DATABASE_FILE } = await import('../edge/src/elders/elder-command.ts');
    t = targetOf(false, o.dataDir, EDGE_DATABASE_FILE, '');
    open = () => openEdgeDatabase(t.file);
  }
  const r = restoreDatabase(o.from, t.file, t.expectTable, { force: o.force });
  // Migrates a backup from an older release, and (edge) checks its templates open with the key.
  open().close();
  out(`restored ${o.from} -> ${t.file} (migration ${r.version})${r.movedAside ? `; the database it replaced is ${r.movedAside}` : ''}`);
  if (!o.server) out('Start the edge: it sends its outbox again, and the server counts each meal once (receipts).');
  return 0;
}
