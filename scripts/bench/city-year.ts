/**
 * A city-year of data in a server database, for `npm run bench:stats`: centres in districts,
 * elders in the registry with categories, subsidy rules, and a year of meals in their windows
 * (breakfast, lunch, dinner; most elders lunch on most weekdays), with methods, a small share
 * of voids and duplicate attempts. Made once into a cached file (keyed by GENERATOR_VERSION and
 * the size) and reused. Bulk INSERTs with prepared statements in big transactions, rows in
 * primary-key order, journal off for the generation only; the by-date index is built after.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, type Db } from '../../common/sqlite.ts';
import { MIGRATIONS_DIR } from '../../server/src/server.ts';

export const GENERATOR_VERSION = 2;

export interface CitySize {
  centres: number;
  elders: number;
  days: number;
  /** First service date, YYYY-MM-DD. */
  from: string;
}
export const CITY_YEAR: CitySize = { centres: 411, elders: 20_000, days: 365, from: '2026-01-01' };

export const CATEGORIES = [
  { code: 'dibao', name: '低保' },
  { code: 'tekun', name: '特困' },
  { code: 'gaoling', name: '高龄' },
  { code: 'putong', name: '普通' },
] as const;
/** Local windows (Asia/Shanghai, UTC+8), as DEFAULT_MEAL_WINDOWS: [meal, start minute, end minute]. */
export const WINDOWS = [
  ['breakfast', 6 * 60, 9 * 60],
  ['lunch', 11 * 60, 13 * 60 + 30],
  ['dinner', 17 * 60 + 30, 19 * 60 + 30],
] as const;
const METHODS = ['face', 'face', 'face', 'face', 'face', 'face', 'face', 'face', 'manual', 'delivery', 'proxy'] as const;

export interface GenerateResult {
  meals: number;
  voids: number;
  duplicates: number;
  ms: number;
}

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const centreIdOf = (i: number) => `c${pad(i + 1, 3)}`;
export const elderIdOf = (i: number) => `e${pad(i + 1, 5)}`;
/** A UUID-shaped id that sorts in generation order. */
const idOf = (kind: number, seq: number) => `00000000-0000-7000-8${kind}00-${seq.toString(16).padStart(12, '0')}`;

/** Fills a freshly migrated server database. */
export function generateCity(db: Db, size: CitySize, seed = 1): GenerateResult {
  const t0 = performance.now();
  const rand = rng(seed);
  const now = '2026-12-31T12:00:00.000Z';
  const districts = Math.max(1, Math.min(12, Math.ceil(size.centres / 35)));
  const start = Date.parse(`${size.from}T00:00:00Z`);
  const dates = Array.from({ length: size.days }, (_, d) => new Date(start + d * 86_400_000).toISOString().slice(0, 10));
  const weekday = dates.map((_, d) => new Date(start + d * 86_400_000).getUTCDay());
  // The migrations' indexes on the big tables are dropped for the load and built after it.
  const indexes = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('meals', 'voided_meals', 'duplicate_attempts')")
    .all() as Array<{ name: string; sql: string }>;
  for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);
  let meals = 0;
  let voids = 0;
  let duplicates = 0;
  db.transaction(() => {
    const district = db.prepare('INSERT INTO districts (district_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < districts; i++) district.run(`d${pad(i + 1, 2)}`, `区${i + 1}`, now, now);
    const centre = db.prepare('INSERT INTO centres (centre_id, time_zone, meal_windows, updated_at, name, district_id) VALUES (?, NULL, NULL, ?, ?, ?)');
    const device = db.prepare("INSERT INTO devices (centre_id, device_id, status, status_at, last_seen) VALUES (?, 'box1', 'online', ?, ?)");
    for (let c = 0; c < size.centres; c++) {
      centre.run(centreIdOf(c), now, `中心${c + 1}`, `d${pad((c % districts) + 1, 2)}`);
      device.run(centreIdOf(c), now, now);
    }
    const category = db.prepare('INSERT INTO categories (code, name, updated_at) VALUES (?, ?, ?)');
    const rule = db.prepare("INSERT INTO subsidy_rules (category, meal, amount_fen, max_per_day, max_meals_per_month, max_fen_per_month, effective_from, effective_to, created_at, created_by) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?, 'bench')");
    for (const [i, k] of CATEGORIES.entries()) {
      category.run(k.code, k.name, now);
      if (k.code === 'putong') continue;
      rule.run(k.code, 'lunch', 800 - i * 200, 1, null, size.from, now);
      rule.run(k.code, 'any', 300, 2, 60, size.from, now);
    }
    const elder = db.prepare("INSERT INTO elder_registry (centre_id, elder_id, device_id, revision, removed, name, category, status, change, staff_id, changed_at, event_id, received_at) VALUES (?, ?, 'box1', 1, 0, ?, ?, 'active', 'created', 'S01', ?, ?, ?)");
    for (let e = 0; e < size.elders; e++) {
      const k = CATEGORIES[rand() < 0.15 ? 0 : rand() < 0.05 ? 1 : rand() < 0.5 ? 2 : 3]!;
      elder.run(centreIdOf(e % size.centres), elderIdOf(e), `老人${e + 1}`, k.name, now, idOf(1, e), now);
    }
  })();

  const meal = db.prepare("INSERT INTO meals (event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, staff_id, proxy_name) VALUES (?, ?, 'box1', ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)");
  const voided = db.prepare("INSERT INTO voided_meals (event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, staff_id, void_event_id, voided_at) VALUES (?, ?, 'box1', ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)");
  const voidRow = db.prepare("INSERT INTO meal_voids (event_id, centre_id, device_id, voids, reason, staff_id, at, received_at, state, settled_at) VALUES (?, ?, 'box1', ?, '误登记', 'S01', ?, ?, 'applied', ?)");
  const duplicate = db.prepare("INSERT INTO duplicate_attempts (event_id, original_event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at) VALUES (?, ?, ?, 'box1', ?, ?, ?, ?, 'face', 0.9, NULL, ?)");
  // Per elder: how often they come for each meal (elder-major order keeps both meal keys sequential).
  const chunk = 500;
  let seq = 0;
  for (let e0 = 0; e0 < size.elders; e0 += chunk) {
    db.transaction(() => {
      for (let e = e0; e < Math.min(size.elders, e0 + chunk); e++) {
        const centreId = centreIdOf(e % size.centres);
        const elderId = elderIdOf(e);
        const p = [0.2 + rand() * 0.5, 0.75 + rand() * 0.2, 0.2 + rand() * 0.6];
        const method = METHODS[Math.floor(rand() * METHODS.length)]!;
        for (let d = 0; d < size.days; d++) {
          const date = dates[d]!;
          const weekend = weekday[d] === 0 || weekday[d] === 6;
          for (let m = 0; m < 3; m++) {
            if (rand() >= p[m]! * (weekend ? 0.6 : 1)) continue;
            const [name, lo, hi] = WINDOWS[m]!;
            const local = lo + Math.floor(rand() * (hi - lo));
            const at = new Date(Date.parse(`${date}T00:00:00Z`) + (local - 480) * 60_000 + Math.floor(rand() * 60_000)).toISOString();
            const how = rand() < 0.9 ? method : METHODS[Math.floor(rand() * METHODS.length)]!;
            const score = how === 'face' ? 0.8 + rand() * 0.2 : null;
            const staff = how === 'face' ? null : 'S01';
            const id = idOf(0, seq++);
            if (rand() < 0.003) {
              const v = idOf(2, voids++);
              voided.run(id, centreId, elderId, date, name, at, how, score, at, staff, v, at);
              voidRow.run(v, centreId, id, at, at, at);
              continue;
            }
            meal.run(id, centreId, elderId, date, name, at, how, score, at, staff);
            meals++;
            if (rand() < 0.005) duplicate.run(idOf(3, duplicates++), id, centreId, elderId, date, name, at, at);
          }
        }
      }
    })();
  }
  for (const i of indexes) db.exec(i.sql);
  db.exec('ANALYZE');
  return { meals, voids, duplicates, ms: performance.now() - t0 };
}

/** Opens a new database at `file` with the server's migrations and the generation pragmas. */
export function createCityDb(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  migrate(db, MIGRATIONS_DIR);
  return db;
}

/** The cached city file for this size, made first if missing. `made` is set when it was generated now. */
export function ensureCity(cacheDir: string, size: CitySize, log: (s: string) => void): { file: string; made?: GenerateResult } {
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `city-v${GENERATOR_VERSION}-${size.centres}c-${size.elders}e-${size.days}d-${size.from}.sqlite`);
  if (existsSync(file)) return { file };
  const part = `${file}.part`;
  rmSync(part, { force: true });
  log(`generating ${size.centres} centres, ${size.elders} elders, ${size.days} days into ${file} ...`);
  const db = createCityDb(part);
  const made = generateCity(db, size);
  db.close();
  renameSync(part, file);
  log(`generated ${made.meals} meals in ${(made.ms / 1000).toFixed(1)} s (${Math.round(made.meals / (made.ms / 1000))} meals/s)`);
  return { file, made };
}
