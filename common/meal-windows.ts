/**
 * Meal windows: which meal (if any) an instant belongs to, on which service date, in the
 * centre's own time zone. Pure: the caller passes the instant (from the injected clock).
 */
import { MEALS, type Meal } from './contract.ts';

export interface MealWindow {
  meal: Meal;
  /** Minutes after local midnight, inclusive. */
  start: number;
  /** Minutes after local midnight, exclusive: 11:00-13:30 is open at 13:29:59, closed at 13:30. */
  end: number;
}

export const DEFAULT_MEAL_WINDOWS = 'breakfast=06:00-09:00,lunch=11:00-13:30,dinner=17:30-19:30';
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export class MealWindowError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid meal windows: ${problems.join('; ')}`);
    this.name = 'MealWindowError';
  }
}

const hhmm = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** `24:00` is accepted as an end time only: a window may run to midnight. */
function parseTime(s: string, isEnd = false): number | undefined {
  if (isEnd && s.trim() === '24:00') return 24 * 60;
  const m = hhmm.exec(s.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

export function formatMinutes(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/**
 * Parses `breakfast=06:00-09:00,lunch=11:00-13:30,dinner=17:30-19:30`. Each meal at most once,
 * a window may not cross midnight and windows may not overlap. Throws MealWindowError naming
 * every problem; returns the windows sorted by start.
 */
export function parseMealWindows(spec: string): MealWindow[] {
  const problems: string[] = [];
  const windows: MealWindow[] = [];
  const parts = spec.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new MealWindowError(['no meal windows given (expected e.g. "lunch=11:00-13:30")']);
  for (const part of parts) {
    const m = /^([a-z]+)\s*=\s*([^-\s]+)\s*-\s*(\S+)$/.exec(part);
    if (!m) {
      problems.push(`"${part}" is not meal=HH:MM-HH:MM`);
      continue;
    }
    const [, name, from, to] = m as unknown as [string, string, string, string];
    if (!(MEALS as readonly string[]).includes(name)) {
      problems.push(`"${name}" is not a meal (one of ${MEALS.join(', ')})`);
      continue;
    }
    const start = parseTime(from);
    const end = parseTime(to, true);
    if (start === undefined || end === undefined) {
      problems.push(`${name}: "${start === undefined ? from : to}" is not a 24-hour time HH:MM`);
      continue;
    }
    if (end <= start) {
      problems.push(`${name}: ${from}-${to} ends before it starts (windows may not cross midnight)`);
      continue;
    }
    if (windows.some((w) => w.meal === name)) {
      problems.push(`${name} is given twice`);
      continue;
    }
    windows.push({ meal: name as Meal, start, end });
  }
  windows.sort((a, b) => a.start - b.start);
  for (let i = 1; i < windows.length; i++) {
    const a = windows[i - 1]!;
    const b = windows[i]!;
    if (b.start < a.end) problems.push(`${a.meal} (${formatMinutes(a.start)}-${formatMinutes(a.end)}) overlaps ${b.meal} (${formatMinutes(b.start)}-${formatMinutes(b.end)})`);
  }
  if (problems.length) throw new MealWindowError(problems);
  return windows;
}

export function formatMealWindows(windows: readonly MealWindow[]): string {
  return windows.map((w) => `${w.meal}=${formatMinutes(w.start)}-${formatMinutes(w.end)}`).join(',');
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // en-CA and h23 give stable numeric parts; we read them by type, never by position.
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Per zone, the last minute asked for and its answer (see localTime). */
const lastMinute = new Map<string, { minute: number; date: string; minutes: number }>();

/** The local calendar date and minute of the day of `instant` in `timeZone`. */
export function localTime(instant: Date, timeZone: string): { date: string; minutes: number } {
  // formatToParts costs ~10 us, and the server asks once per event: events come in batches
  // recorded within a minute or so of each other. Every UTC offset in use since 1972 is a whole
  // number of minutes, so one UTC minute is one local minute and its answer can be reused.
  const minute = Math.floor(instant.getTime() / 60_000);
  const hit = lastMinute.get(timeZone);
  if (hit && hit.minute === minute) return { date: hit.date, minutes: hit.minutes };
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(instant)) parts[p.type] = p.value;
  const local = { date: `${parts.year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
  if (Number.isFinite(minute)) lastMinute.set(timeZone, { minute, ...local });
  return { ...local };
}

/** The service date (YYYY-MM-DD) of `instant` at the centre. */
export function serviceDateOf(instant: Date, timeZone: string): string {
  return localTime(instant, timeZone).date;
}

/** The meal open at `instant` in the centre's zone, with its service date, or null between meals. */
export function mealAt(instant: Date, windows: readonly MealWindow[], timeZone: string = DEFAULT_TIME_ZONE): { serviceDate: string; meal: Meal } | null {
  const { date, minutes } = localTime(instant, timeZone);
  const w = windows.find((x) => minutes >= x.start && minutes < x.end);
  return w ? { serviceDate: date, meal: w.meal } : null;
}

/**
 * The meal open at `instant`, or else the window nearest to it on the same local date (minutes
 * to its start or end). For a time that belongs to no meal but must still name one: a check-in
 * whose corrected time fell between meals, kept for review.
 */
export function nearestMeal(instant: Date, windows: readonly MealWindow[], timeZone: string = DEFAULT_TIME_ZONE): { serviceDate: string; meal: Meal; inWindow: boolean } {
  const { date, minutes } = localTime(instant, timeZone);
  let best: MealWindow | undefined;
  let bestGap = Infinity;
  for (const w of windows) {
    const gap = minutes < w.start ? w.start - minutes : minutes >= w.end ? minutes - w.end + 1 : 0;
    if (gap < bestGap) [best, bestGap] = [w, gap];
  }
  // parseMealWindows never returns an empty list.
  return { serviceDate: date, meal: best?.meal ?? 'lunch', inWindow: bestGap === 0 };
}

/**
 * The shortest time between the end of one meal window and the start of another (across
 * midnight too), in ms. Two check-ins of one elder closer together than this cannot be for two
 * different meals: dedupe uses it while the clock is untrusted and only elapsed time is known.
 */
export function shortestGapBetweenMeals(windows: readonly MealWindow[]): number {
  if (windows.length === 0) return 0;
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  let gap = 24 * 60 - sorted[sorted.length - 1]!.end + sorted[0]!.start;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i]!.start - sorted[i - 1]!.end);
  return gap * 60_000;
}
