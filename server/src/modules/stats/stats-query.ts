/**
 * The meal statistics query: parsing and checking what the bureau asks for. Pure, so it is
 * tested table-driven without a server.
 */
export const GROUP_BY_KEYS = ['centre', 'day', 'meal'] as const;
export type GroupByKey = (typeof GROUP_BY_KEYS)[number];

export const DEFAULT_GROUP_BY: readonly GroupByKey[] = GROUP_BY_KEYS;

/** Longest period one request may cover, so a typo cannot ask for a century of rows. */
export const MAX_RANGE_DAYS = 366 * 3;

export interface StatsQuery {
  from: string;
  to: string;
  /** Always in the canonical order centre, day, meal, without repeats. */
  groupBy: GroupByKey[];
}

export type QueryCheck = { ok: true; query: StatsQuery } | { ok: false; error: string };

const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day number (days since 1970-01-01) of a real calendar date, or null. */
export function dayNumber(date: string): number | null {
  const m = dateRe.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return t / 86_400_000;
}

/**
 * `groupBy` as given: a comma-separated subset of centre, day, meal. Absent means all three;
 * empty means no grouping (a single total row).
 */
export function parseGroupBy(raw: string | undefined): { ok: true; groupBy: GroupByKey[] } | { ok: false; error: string } {
  if (raw === undefined) return { ok: true, groupBy: [...DEFAULT_GROUP_BY] };
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const unknown = parts.filter((p) => !(GROUP_BY_KEYS as readonly string[]).includes(p));
  if (unknown.length > 0) {
    return { ok: false, error: `groupBy: unknown ${unknown.map((u) => `"${u.slice(0, 20)}"`).join(', ')} (use a comma-separated subset of ${GROUP_BY_KEYS.join(', ')})` };
  }
  return { ok: true, groupBy: GROUP_BY_KEYS.filter((k) => parts.includes(k)) };
}

/** Checks a from/to pair of calendar dates, at most `maxDays` apart, into `problems`; their day numbers (null when bad). */
export function checkDateRange(q: { from?: string | undefined; to?: string | undefined }, maxDays: number, problems: string[]): { from: number | null; to: number | null } {
  const from = q.from === undefined ? null : dayNumber(q.from);
  const to = q.to === undefined ? null : dayNumber(q.to);
  if (q.from === undefined) problems.push('from is required (YYYY-MM-DD)');
  else if (from === null) problems.push(`from must be a calendar date YYYY-MM-DD, got "${q.from.slice(0, 20)}"`);
  if (q.to === undefined) problems.push('to is required (YYYY-MM-DD)');
  else if (to === null) problems.push(`to must be a calendar date YYYY-MM-DD, got "${q.to.slice(0, 20)}"`);
  if (from !== null && to !== null) {
    if (to < from) problems.push(`to (${q.to}) is before from (${q.from})`);
    else if (to - from + 1 > maxDays) problems.push(`the period covers ${to - from + 1} days; at most ${maxDays} per request`);
  }
  return { from, to };
}

export function checkStatsQuery(q: { from?: string; to?: string; groupBy?: string }): QueryCheck {
  const problems: string[] = [];
  checkDateRange(q, MAX_RANGE_DAYS, problems);
  const g = parseGroupBy(q.groupBy);
  if (!g.ok) problems.push(g.error);
  if (problems.length > 0 || !g.ok) return { ok: false, error: problems.join('; ') };
  return { ok: true, query: { from: q.from!, to: q.to!, groupBy: g.groupBy } };
}
