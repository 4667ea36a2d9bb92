/**
 * The edge's SQLite database: where it is migrated from and how it is opened. Apart from the
 * composition root (main.ts) so that commands that only need the database (`mealcheck enrol`,
 * `elder`, camera-check) do not load the whole edge: its HTTP, MQTT and capture modules cost
 * ~20 MB of resident memory that enrolment does not use (README, "Memory on large photos").
 *
 * The data folder is 0700 and the database files 0600: templates and review crops are sealed
 * (template-vault.ts), names and ID-card numbers are not (a backup seals the ID numbers away), and no other user of the box has any business reading them.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import { attachTemplateVault, defaultTemplateKeyFile, openTemplateVault } from './elders/template-vault.ts';
import { restoreSealedIdNumbers } from './elders/id-number-backup.ts';

export const EDGE_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface EdgeDatabaseOptions {
  /** The template key file (default: MEALCHECK_TEMPLATE_KEY, else `<data folder>.key`). */
  templateKey?: string | undefined;
}

/** Opens (and migrates) the edge database: WAL, synchronous=FULL, private files, its template vault. */
export function openEdgeDatabase(file: string, opts: EdgeDatabaseOptions = {}): Db {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    chmodSync(dirname(file), 0o700);
  }
  const db = openDatabase(file, { migrationsDir: EDGE_MIGRATIONS_DIR });
  // A deleted or re-sealed template (erasure, removal, sealing old rows) is overwritten on disk,
  // not left in a free page for a stolen box to give away.
  db.pragma('secure_delete = ON');
  if (file !== ':memory:') {
    // SQLite gives the -wal and -shm files the database file's mode.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    const vault = openTemplateVault(db, opts.templateKey ?? defaultTemplateKeyFile(file));
    attachTemplateVault(db, vault);
    // A restored backup's ID numbers, sealed away in it (id-number-backup.ts), come back here.
    restoreSealedIdNumbers(db, vault);
  }
  return db;
}
