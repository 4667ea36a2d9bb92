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
  /** When it was last set; null for a centre that has only the defaults. */
  updatedAt: string | null;
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
  set(centreId: string, settings: { timeZone?: string; mealWindows?: string }, at: Date): Centre;
  /** Centres with settings of their own, by id. */
  list(): Centre[];
}

interface Row {
  centreId: string;
  timeZone: string | null;
  mealWindows: string | null;
  updatedAt: string;
}

const defaultWindows = parseMealWindows(DEFAULT_MEAL_WINDOWS);

export function createCentreRepository(db: Db): CentreRepository {
  const findOne = db.prepare<[string], Row>('SELECT centre_id AS centreId, time_zone AS timeZone, meal_windows AS mealWindows, updated_at AS updatedAt FROM centres WHERE centre_id = ?');
  const all = db.prepare<[], Row>('SELECT centre_id AS centreId, time_zone AS timeZone, meal_windows AS mealWindows, updated_at AS updatedAt FROM centres ORDER BY centre_id');
  const upsert = db.prepare<{ centreId: string; timeZone: string | null; mealWindows: string | null; updatedAt: string }>(
    `INSERT INTO centres (centre_id, time_zone, meal_windows, updated_at) VALUES (@centreId, @timeZone, @mealWindows, @updatedAt)
     ON CONFLICT (centre_id) DO UPDATE SET time_zone = coalesce(@timeZone, time_zone), meal_windows = coalesce(@mealWindows, meal_windows), updated_at = @updatedAt`,
  );
  // Parsed windows by spec: ingest asks for a centre's rules once per batch, and a spec seldom changes.
  const parsed = new Map<string, readonly MealWindow[]>([[DEFAULT_MEAL_WINDOWS, defaultWindows]]);

  const toCentre = (centreId: string, r: Row | undefined): Centre => ({
    centreId,
    timeZone: r?.timeZone ?? DEFAULT_TIME_ZONE,
    mealWindows: r?.mealWindows ?? DEFAULT_MEAL_WINDOWS,
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
      const checked = checkCentreSettings(settings);
      upsert.run({ centreId, timeZone: checked.timeZone ?? null, mealWindows: checked.mealWindows ?? null, updatedAt: at.toISOString() });
      return toCentre(centreId, findOne.get(centreId));
    },
    list: () => all.all().map((r) => toCentre(r.centreId, r)),
  };
}
