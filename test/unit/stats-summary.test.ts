import { describe, expect, it } from 'vitest';
import type { MealFact } from '../../server/src/modules/settlement/settlement-service.ts';
import { monthsBetween } from '../../server/src/modules/settlement/settlement-service.ts';
import { boxOnline, mealHealth, median } from '../../server/src/modules/stats/centre-health.ts';
import { checkSummaryQuery, isoWeekOf, previousPeriod, summarise, type SummaryGroup, type SummaryLabels } from '../../server/src/modules/stats/stats-summary.ts';

describe('isoWeekOf', () => {
  it.each([
    ['2025-03-10', '2025-W11'], // a Monday
    ['2025-03-16', '2025-W11'], // its Sunday
    ['2024-12-30', '2025-W01'], // a Monday whose Thursday is in 2025
    ['2021-01-03', '2020-W53'], // a Sunday of 2020's week 53
    ['2026-12-31', '2026-W53'],
    ['2027-01-01', '2026-W53'],
    ['2027-01-04', '2027-W01'],
  ])('%s is in %s', (date, week) => expect(isoWeekOf(date)).toBe(week));
});

describe('periods', () => {
  it.each([
    ['2025-03-01', '2025-03-31', '2025-01-29', '2025-02-28', 31],
    ['2025-03-10', '2025-03-10', '2025-03-09', '2025-03-09', 1],
    ['2025-01-01', '2025-01-07', '2024-12-25', '2024-12-31', 7],
  ])('%s..%s comes after %s..%s', (from, to, pf, pt, days) => expect(previousPeriod(from, to)).toEqual({ from: pf, to: pt, days }));

  it('lists the months a range touches', () => {
    expect(monthsBetween('2024-11-15', '2025-02-01')).toEqual(['2024-11', '2024-12', '2025-01', '2025-02']);
    expect(monthsBetween('2025-03-01', '2025-03-31')).toEqual(['2025-03']);
  });

  it.each([
    [{ from: '2025-03-01', to: '2025-02-01' }, /before from/],
    [{ from: '2025-02-30', to: '2025-03-01' }, /calendar date/],
    [{ from: '2025-03-01', to: '2025-03-02', groupBy: 'week' }, /groupBy: "week" is not one of centre, district, day, isoWeek/],
    [{ to: '2025-03-02' }, /from is required/],
    [{ from: '2024-01-01', to: '2025-01-01' }, /covers 367 days; at most 366/],
  ])('refuses %o', (q, message) => {
    const c = checkSummaryQuery(q);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error).toMatch(message);
  });

  it('groups by centre unless told otherwise', () => {
    expect(checkSummaryQuery({ from: '2025-03-01', to: '2025-03-02' })).toEqual({ ok: true, query: { from: '2025-03-01', to: '2025-03-02', groupBy: 'centre' } });
  });
});

const labels: SummaryLabels = {
  centreName: (id) => ({ c1: '一中心', c2: '二中心' })[id] ?? null,
  districtOf: (id) => ({ c1: 'north', c2: 'north' })[id] ?? null,
  districtName: (id) => (id === 'north' ? '北区' : null),
  categoryName: (code) => (code === 'low-income' ? '低保' : null),
};
const fact = (o: Partial<MealFact>): MealFact => ({ kind: 'meal', centreId: 'c1', elderId: 'E1', serviceDate: '2025-03-10', meal: 'lunch', method: 'face', category: null, amountFen: 0, subsidised: false, ...o });

/** Facts of March 10-11 and of the period before (March 8-9). */
const FACTS: MealFact[] = [
  fact({ elderId: 'E1', serviceDate: '2025-03-10', category: 'low-income', amountFen: 500, subsidised: true }),
  fact({ elderId: 'E1', serviceDate: '2025-03-11', category: 'low-income', amountFen: 500, subsidised: true }),
  fact({ elderId: 'E2', serviceDate: '2025-03-11', meal: 'breakfast', method: 'manual' }),
  fact({ elderId: 'E2', serviceDate: '2025-03-11', centreId: 'c2', meal: 'dinner', method: 'delivery' }),
  fact({ kind: 'void', elderId: 'E3', serviceDate: '2025-03-11' }),
  fact({ kind: 'duplicate', elderId: 'E1', serviceDate: '2025-03-10', category: 'low-income' }),
  fact({ elderId: 'E1', serviceDate: '2025-03-08', category: 'low-income', amountFen: 500, subsidised: true }),
  fact({ elderId: 'E4', serviceDate: '2025-03-09', centreId: 'c3' }),
];
const source = (from: string, to: string, visit: (f: MealFact) => void) => FACTS.filter((f) => f.serviceDate >= from && f.serviceDate <= to).forEach(visit);
const run = (groupBy: SummaryGroup) => summarise({ from: '2025-03-10', to: '2025-03-11', groupBy }, labels, source);

describe('summarise', () => {
  it('counts distinct elders over the whole period in the totals, not summed over rows', () => {
    const s = run('day');
    expect(s.rows.map((r) => [r.key, r.meals, r.distinctElders])).toEqual([
      ['2025-03-10', 1, 1],
      ['2025-03-11', 3, 2],
    ]);
    expect(s.totals).toMatchObject({ meals: 4, distinctElders: 2, subsidisedMeals: 2, amountFen: 1000, voids: 1, duplicates: 1 });
    expect(s.totals.previous).toEqual({ meals: 2, distinctElders: 2, subsidisedMeals: 1, amountFen: 500, voids: 0, duplicates: 0 });
    expect(s.totals.change).toEqual({ meals: 2, distinctElders: 0, subsidisedMeals: 1, amountFen: 500, voids: 1, duplicates: 1 });
    expect([s.previousFrom, s.previousTo]).toEqual(['2025-03-08', '2025-03-09']);
  });

  it('compares a day with the day one period length before', () => {
    const s = run('day');
    expect(s.rows.map((r) => [r.key, r.previous.meals, r.previous.amountFen])).toEqual([
      ['2025-03-10', 1, 500], // March 8
      ['2025-03-11', 1, 0], // March 9
    ]);
  });

  it('lists a centre seen only in the period before, at 0 now, labelled', () => {
    const s = run('centre');
    expect(s.rows.map((r) => [r.key, r.label, r.meals, r.previous.meals, r.change.meals])).toEqual([
      ['c1', '一中心', 3, 1, 2],
      ['c2', '二中心', 1, 0, 1],
      ['c3', null, 0, 1, -1],
    ]);
  });

  it('puts meals and methods in their order, no category and no district last', () => {
    expect(run('meal').rows.map((r) => r.key)).toEqual(['breakfast', 'lunch', 'dinner']);
    expect(run('method').rows.map((r) => r.key)).toEqual(['face', 'manual', 'delivery']);
    expect(run('category').rows.map((r) => [r.key, r.label, r.meals, r.amountFen, r.duplicates])).toEqual([
      ['low-income', '低保', 2, 1000, 1],
      [null, null, 2, 0, 0],
    ]);
    expect(run('district').rows.map((r) => [r.key, r.label, r.meals, r.previous.meals])).toEqual([
      ['north', '北区', 4, 1],
      [null, null, 0, 1],
    ]);
  });

  it('keys weeks and months by ISO week and YYYY-MM', () => {
    expect(run('isoWeek').rows.map((r) => [r.key, r.meals, r.previous.meals])).toEqual([['2025-W11', 4, 2]]);
    expect(run('month').rows.map((r) => r.key)).toEqual(['2025-03']);
  });
});

describe('centre health', () => {
  it.each([
    [[], 0],
    [[3], 3],
    [[0, 40, 38, 41], 39],
    [[5, 0, 9], 5],
  ])('median of %o is %d', (xs, m) => expect(median(xs)).toBe(m));

  const now = new Date('2025-03-10T04:00:00.000Z');
  it.each([
    ['online by its status, however long ago it sent events', { status: 'online' as const, lastSeen: '2025-03-09T04:00:00.000Z' }, true],
    ['offline by its last will, a minute after its last batch', { status: 'offline' as const, lastSeen: '2025-03-10T03:59:00.000Z' }, false],
    ['never said, heard from 14 min ago', { status: 'unknown' as const, lastSeen: '2025-03-10T03:46:00.000Z' }, true],
    ['never said, heard from 15 min ago', { status: 'unknown' as const, lastSeen: '2025-03-10T03:45:00.000Z' }, false],
    ['never said, never heard from', { status: 'unknown' as const, lastSeen: null }, false],
  ])('a box %s: online %s', (_name, d, online) => expect(boxOnline(d, now, 15)).toBe(online));

  const lunch = { meal: 'lunch' as const, start: 11 * 60, end: 13 * 60 + 30 };
  it.each([
    ['before the window', 10 * 60, 0, [40, 38, 41, 0], 'upcoming', false],
    ['in the window, none yet', 12 * 60, 0, [40, 38, 41, 0], 'open', false],
    ['within the grace after it', 13 * 60 + 59, 0, [40, 38, 41, 0], 'closed', false],
    ['past the grace, none', 14 * 60, 0, [40, 38, 41, 0], 'closed', true],
    ['past the grace, some', 14 * 60, 2, [40, 38, 41, 0], 'closed', false],
    ['past the grace, usually none', 14 * 60, 0, [0, 0, 3, 0], 'closed', false],
  ])('%s', (_name, minutes, today, weeks, state, silent) => {
    const h = mealHealth(lunch, minutes, today, weeks, 30);
    expect(h).toMatchObject({ meal: 'lunch', window: '11:00-13:30', state, today, silent });
  });
});
