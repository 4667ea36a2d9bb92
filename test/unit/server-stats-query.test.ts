import { describe, expect, it } from 'vitest';
import { checkStatsQuery, dayNumber, MAX_RANGE_DAYS, parseGroupBy } from '../../server/src/modules/stats/stats-query.ts';

describe('dayNumber', () => {
  it.each([
    ['1970-01-01', 0],
    ['2024-02-29', 19782],
    ['2023-02-29', null],
    ['2025-13-01', null],
    ['2025-04-31', null],
    ['2025-4-01', null],
    ['20250401', null],
    ['2025-04-01T00:00', null],
  ])('%s -> %s', (date, expected) => {
    expect(dayNumber(date)).toBe(expected);
  });
});

describe('parseGroupBy', () => {
  it.each([
    [undefined, ['centre', 'day', 'meal']],
    ['', []],
    ['meal', ['meal']],
    ['meal,centre', ['centre', 'meal']],
    [' day , meal ', ['day', 'meal']],
    ['centre,centre', ['centre']],
  ])('%j -> %j', (raw, expected) => {
    expect(parseGroupBy(raw)).toEqual({ ok: true, groupBy: expected });
  });

  it('names the unknown keys and the allowed ones', () => {
    const r = parseGroupBy('centre,elder,week');
    expect(r).toEqual({ ok: false, error: expect.stringContaining('"elder", "week"') });
    expect(!r.ok && r.error).toContain('centre, day, meal');
  });
});

describe('checkStatsQuery', () => {
  it('accepts a valid period and defaults groupBy', () => {
    expect(checkStatsQuery({ from: '2025-03-01', to: '2025-03-31' })).toEqual({
      ok: true,
      query: { from: '2025-03-01', to: '2025-03-31', groupBy: ['centre', 'day', 'meal'] },
    });
  });

  it('accepts a single day', () => {
    expect(checkStatsQuery({ from: '2025-03-01', to: '2025-03-01', groupBy: 'meal' }).ok).toBe(true);
  });

  it.each([
    [{ to: '2025-03-01' }, 'from is required'],
    [{ from: '2025-03-01' }, 'to is required'],
    [{ from: '2025-02-30', to: '2025-03-01' }, 'from must be a calendar date'],
    [{ from: '2025-03-01', to: 'tomorrow' }, 'to must be a calendar date'],
    [{ from: '2025-03-02', to: '2025-03-01' }, 'to (2025-03-01) is before from (2025-03-02)'],
    [{ from: '2000-01-01', to: '2025-01-01' }, `at most ${MAX_RANGE_DAYS}`],
    [{ from: '2025-03-01', to: '2025-03-01', groupBy: 'elder' }, 'groupBy: unknown "elder"'],
  ])('%j is refused: %s', (q, message) => {
    const r = checkStatsQuery(q);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(message);
  });

  it('reports every problem at once', () => {
    const r = checkStatsQuery({ from: 'x', to: 'y', groupBy: 'z' });
    expect(!r.ok && r.error.split('; ')).toHaveLength(3);
  });
});
