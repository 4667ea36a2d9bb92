/**
 * Centres as the server knows them: each centre's time zone and meal windows, which the server
 * checks every event's serviceDate and meal against (meals/event-checks.ts). A centre without a
 * row has the defaults, the same as an edge box started without --time-zone / --meal-windows.
 */
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE, formatMealWindows, isValidTimeZone, MealWindowError, parseMealWindows, type MealWindow } from '../../../../common/meal-windows.ts';
import type { Db } from '../../../../common/sqlite.ts';

export interface Centre {
  centreId: string;
  /** IANA time zone: serviceDate is the local date of `at` here. */
  timeZone: string;
  /** `breakfast=06:00-09:00,...` in the centre's local time. */
  mealWindows: string;
  /** The centre's name as the bureau calls it; null until given. */
  name: string | null;
  /** The district it belongs to (districts table); null until given. */
  districtId: string | null;
  /** When it was last set; null for a centre that has only the defaults. */
  updatedAt: string | null;
}

/** What an operator may set on a centre; absent keeps, `districtId: null` takes it out of its district. */
export interface CentreSettings {
  timeZone?: string;
  mealWindows?: string;
  name?: string;
  districtId?: string | null;
}

/** A centre's rules, parsed, for checking events. */
export interface CentreRules {
  timeZone: string;
  windows: readonly MealWindow[];
}

export class CentreSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'CentreSettingsError';
  }
}

/** The canonical spelling of an IANA zone (`asia/shanghai` -> `Asia/Shanghai`), or null. */
export function canonicalTimeZone(timeZone: string): string | null {
  if (timeZone.length > 64 || !isValidTimeZone(timeZone)) return null;
  return new Intl.DateTimeFormat('en', { timeZone }).resolvedOptions().timeZone;
}

/**
 * Checks and normalises what an operator asks for; throws CentreSettingsError naming every
 * problem.
 */
export function checkCentreSettings(s: { timeZone?: string; mealWindows?: string }): { timeZone?: string; mealWindows?: string } {
  const problems: string[] = [];
  const out: { timeZone?: string; mealWindows?: string } = {};
  if (s.timeZone !== undefined) {
    const tz = canonicalTimeZone(s.timeZone);
    if (tz) out.timeZone = tz;
    else problems.push(`timeZone: "${s.timeZone.slice(0, 64)}" is not an IANA time zone (e.g. Asia/Shanghai, Asia/Urumqi)`);
  }
  if (s.mealWindows !== undefined) {
    try {
      out.mealWindows = formatMealWindows(parseMealWindows(s.mealWindows));
    } catch (err) {
      if (!(err instanceof MealWindowError)) throw err;
      problems.push(...err.problems.map((p) => `mealWindows: ${p}`));
    }
  }
  if (problems.length) throw new CentreSettingsError(problems);
  return out;
}

export interface CentreRepository {
  /** The centre's settings, the defaults filled in. */
  get(centreId: string): Centre;
  /** The centre's parsed rules, for ingest. */
  rules(centreId: string): CentreRules;
  /** Sets what is given and keeps the rest; checked first (throws CentreSettingsError). */
  set(centreId: string, settings: CentreSettings, at: Date): Centre;
  /** Centres with settings of their own, by id; only `visible` ones unless 'all'. */
  list(visible?: 'all' | readonly string[]): Centre[];
}

interface Row {
  centreId: string;
  timeZone: string | null;
  mealWindows: string | null;
  name: string | null;
  districtId: string | null;
  updatedAt: string;
}

const defaultWindows = parseMealWindows(DEFAULT_MEAL_WINDOWS);

export function createCentreRepository(db: Db): CentreRepository {
  const cols = 'centre_id AS centreId, time_zone AS timeZone, meal_windows AS mealWindows, name, district_id AS districtId, updated_at AS updatedAt';
  const findOne = db.prepare<[string], Row>(`SELECT ${cols} FROM centres WHERE centre_id = ?`);
  // `visible` is a JSON array of centre ids, or NULL for all (bound once, whatever its length).
  const all = db.prepare<{ visible: string | null }, Row>(`SELECT ${cols} FROM centres WHERE @visible IS NULL OR centre_id IN (SELECT value FROM json_each(@visible)) ORDER BY centre_id`);
  const districtExists = db.prepare<[string], number>('SELECT 1 FROM districts WHERE district_id = ?').pluck();
  const upsert = db.prepare<{ centreId: string; timeZone: string | null; mealWindows: string | null; name: string | null; setDistrict: number; districtId: string | null; updatedAt: string }>(
    `INSERT INTO centres (centre_id, time_zone, meal_windows, name, district_id, updated_at) VALUES (@centreId, @timeZone, @mealWindows, @name, @districtId, @updatedAt)
     ON CONFLICT (centre_id) DO UPDATE SET time_zone = coalesce(@timeZone, time_zone), meal_windows = coalesce(@mealWindows, meal_windows),
       name = coalesce(@name, name), district_id = CASE WHEN @setDistrict = 1 THEN @districtId ELSE district_id END, updated_at = @updatedAt`,
  );
  // Parsed windows by spec: ingest asks for a centre's rules once per batch, and a spec seldom changes.
  const parsed = new Map<string, readonly MealWindow[]>([[DEFAULT_MEAL_WINDOWS, defaultWindows]]);

  const toCentre = (centreId: string, r: Row | undefined): Centre => ({
    centreId,
    timeZone: r?.timeZone ?? DEFAULT_TIME_ZONE,
    mealWindows: r?.mealWindows ?? DEFAULT_MEAL_WINDOWS,
    name: r?.name ?? null,
    districtId: r?.districtId ?? null,
    updatedAt: r?.updatedAt ?? null,
  });

  return {
    get: (centreId) => toCentre(centreId, findOne.get(centreId)),
    rules(centreId) {
      const c = toCentre(centreId, findOne.get(centreId));
      let windows = parsed.get(c.mealWindows);
      if (!windows) {
        // Stored by set(), which checked it; a hand-edited row that no longer parses throws here
        // and the batch is not receipted (the edge re-sends once it is fixed).
        windows = parseMealWindows(c.mealWindows);
        parsed.set(c.mealWindows, windows);
      }
      return { timeZone: c.timeZone, windows };
    },
    set(centreId, settings, at) {
      const problems: string[] = [];
      let checked: { timeZone?: string; mealWindows?: string } = {};
      try {
        checked = checkCentreSettings(settings);
      } catch (err) {
        if (!(err instanceof CentreSettingsError)) throw err;
        problems.push(...err.problems);
      }
      const name = settings.name?.trim();
      if (name !== undefined && (name === '' || name.length > 100)) problems.push('name: 1 to 100 characters');
      const { districtId } = settings;
      if (typeof districtId === 'string' && !districtExists.get(districtId)) problems.push(`districtId: no district "${districtId.slice(0, 64)}" (create it first)`);
      if (problems.length) throw new CentreSettingsError(problems);
      upsert.run({
        centreId,
        timeZone: checked.timeZone ?? null,
        mealWindows: checked.mealWindows ?? null,
        name: name ?? null,
        setDistrict: districtId !== undefined ? 1 : 0,
        districtId: districtId ?? null,
        updatedAt: at.toISOString(),
      });
      return toCentre(centreId, findOne.get(centreId));
    },
    list: (visible = 'all') => all.all({ visible: visible === 'all' ? null : JSON.stringify(visible) }).map((r) => toCentre(r.centreId, r)),
  };
}
