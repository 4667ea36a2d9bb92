/**
 * The edge's SQLite database: where it is migrated from and how it is opened. Apart from the
 * composition root (main.ts) so that commands that only need the database (`mealcheck enrol`,
 * `elder`, camera-check) do not load the whole edge: its HTTP, MQTT and capture modules cost
 * ~20 MB of resident memory that enrolment does not use (README, "Memory on large photos").
 */
import { fileURLToPath } from 'node:url';
import { openDatabase, type Db } from '../../common/sqlite.ts';

export const EDGE_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** Opens (and migrates) the edge database: WAL, synchronous=FULL. */
export function openEdgeDatabase(file: string): Db {
  return openDatabase(file, { migrationsDir: EDGE_MIGRATIONS_DIR });
}
