/**
 * Backups of an edge's or the server's SQLite database with SQLite's online backup API
 * (better-sqlite3 `db.backup`): consistent while the program runs and writes (WAL), page by
 * page, into one self-contained file (no -wal), 0600, checked (`integrity_check`) before it is
 * renamed into place. `mealcheck backup` / `mealcheck restore` (scripts/backup-command.ts).
 *
 * A restore puts an older state back; the receipts make that harmless centrally: the edge's
 * outbox again holds meals the server already counted, it sends them again, and the server
 * answers "known" (one row per eventId), so nothing is counted twice; what was recorded after
 * the backup and already receipted is counted centrally already. The edge's templates in a
 * backup are sealed (edge/src/elders/template-vault.ts); the template key is not in it.
 */
import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export interface BackupResult {
  file: string;
  bytes: number;
  /** `user_version` of the copy: its migration. */
  version: number;
}

function check(file: string, expectTable: string): number {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new BackupError(`${file} is not a SQLite database: ${(err as Error).message}`);
  }
  try {
    let ok: unknown;
    try {
      ok = db.pragma('integrity_check', { simple: true });
    } catch (err) {
      throw new BackupError(`${file} is not a SQLite database: ${(err as Error).message}`);
    }
    if (ok !== 'ok') throw new BackupError(`${file} fails SQLite's integrity check: ${String(ok)}`);
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(expectTable);
    if (!has) throw new BackupError(`${file} is not this program's database (it has no ${expectTable} table)`);
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/**
 * Copies the open database `db` into `out` (refused if it exists), checks the copy and makes it
 * 0600. `expectTable` names a table the copy must have (a check that it is the right kind);
 * `prepare` changes the copy first (the edge seals its ID numbers away in it).
 */
export async function backupDatabase(db: Database.Database, out: string, expectTable: string, prepare?: (copy: Database.Database) => void): Promise<BackupResult> {
  if (existsSync(out)) throw new BackupError(`${out} exists already: name a new file`);
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await db.backup(tmp);
    chmodSync(tmp, 0o600);
    if (prepare) {
      // What must not travel in clear is sealed in the copy before it is checked and named.
      const copy = new Database(tmp);
      try {
        prepare(copy);
      } finally {
        copy.close();
      }
    }
    const version = check(tmp, expectTable);
    renameSync(tmp, out);
    return { file: out, bytes: statSync(out).size, version };
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof BackupError) throw err;
    throw new BackupError(`cannot write the backup ${out}: ${(err as Error).message}`);
  }
}

/**
 * Puts the backup `from` in place of the database file `target`, which must not be in use (stop
 * the program first). An existing target (and its -wal/-shm) is moved aside as
 * `<target>.before-restore-<time>` with `force`, else refused. The caller opens it afterwards,
 * which migrates a backup from an older release forward.
 */
export function restoreDatabase(from: string, target: string, expectTable: string, opts: { force: boolean; now?: Date }): { movedAside?: string; version: number } {
  if (!existsSync(from)) throw new BackupError(`no backup file ${from}`);
  const version = check(from, expectTable);
  let movedAside: string | undefined;
  if (existsSync(target)) {
    if (!opts.force) throw new BackupError(`${target} exists: stop the program, then run again with --force to move it aside and restore`);
    movedAside = `${target}.before-restore-${(opts.now ?? new Date()).toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(target + suffix)) renameSync(target + suffix, movedAside + suffix);
  }
  const tmp = `${target}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  chmodSync(tmp, 0o600);
  renameSync(tmp, target);
  return movedAside ? { movedAside, version } : { version };
}
