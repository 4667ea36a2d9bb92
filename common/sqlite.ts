/**
 * Opens a SQLite file in WAL mode and applies numbered migrations (`NNN-name.sql`) forward
 * only, tracked in `PRAGMA user_version`. Used by both the edge and the server.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type Db = Database.Database;

export interface OpenOptions {
  /** Folder of `NNN-name.sql` files. */
  migrationsDir: string;
}

export function openDatabase(file: string, opts: OpenOptions): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL everywhere: every commit is fsynced before it returns. On the edge a check-in shown to
  // an elder must survive power loss; on the server a receipt tells the edge to delete its copy,
  // so a commit that WAL with NORMAL could roll back on power loss would lose the meal for good.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, opts.migrationsDir);
  return db;
}

export function migrate(db: Db, migrationsDir: string): number {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{3}-[\w-]+\.sql$/.test(f))
    .sort();
  // Two files with one number (two branches merged, each with its own 008) would apply the first
  // and skip the other for good: refuse, naming both.
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.slice(0, 3));
    if (other !== undefined) throw new Error(`two migrations are numbered ${f.slice(0, 3)} in ${migrationsDir}: ${other} and ${f}; renumber one`);
    seen.set(f.slice(0, 3), f);
  }
  let version = db.pragma('user_version', { simple: true }) as number;
  for (const f of files) {
    const n = Number(f.slice(0, 3));
    if (n <= version) continue;
    if (n !== version + 1) throw new Error(`migration ${f} skips a number (database is at ${version})`);
    const sql = readFileSync(join(migrationsDir, f), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${n}`);
    })();
    version = n;
  }
  return version;
}
