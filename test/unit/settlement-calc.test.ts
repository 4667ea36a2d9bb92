import { describe, expect, it } from 'vitest';
import type { Meal } from '../../common/contract.ts';
import { fenOf, rulesOverlap, settle, yuan, type SettlementInput, type SettlementMeal, type SubsidyRule } from '../../server/src/modules/settlement/settlement-calc.ts';

const CATEGORIES = [
  { code: 'low-income', name: '低保' },
  { code: 'over-80', name: '高龄' },
];

let n = 0;
function meal(elderId: string, serviceDate: string, m: Meal = 'lunch', method: SettlementMeal['method'] = 'face'): SettlementMeal {
  n++;
  return { eventId: `ev-${String(n).padStart(4, '0')}`, elderId, serviceDate, meal: m, method, at: `${serviceDate}T12:00:00+08:00` };
}

function rule(r: Partial<SubsidyRule> & Pick<SubsidyRule, 'id' | 'category' | 'amountFen'>): SubsidyRule {
  return { meal: 'any', maxPerDay: null, maxMealsPerMonth: null, maxFenPerMonth: null, effectiveFrom: '2025-01-01', effectiveTo: null, ...r };
}

function input(over: Partial<SettlementInput>, categoryOfElder: Record<string, string | null> = { A: 'low-income', B: 'over-80' }): SettlementInput {
  return {
    centreId: 'c1',
    month: '2025-03',
    meals: [],
    voided: [],
    duplicates: new Map(),
    inReview: new Map(),
    adjustments: [],
    names: new Map([
      ['A', '王秀英'],
      ['B', '李建国'],
      ['C', '张桂兰'],
    ]),
    categoryOf: (elderId) => categoryOfElder[elderId] ?? null,
    categories: CATEGORIES,
    rules: [rule({ id: 1, category: 'low-income', amountFen: 500 }), rule({ id: 2, category: 'over-80', amountFen: 300 })],
    ...over,
  };
}

const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `2025-03-${String(from + i).padStart(2, '0')}`);

describe('settle', () => {
  it.each([
    {
      name: 'two categories, one meal a day each',
      over: { meals: [...days(1, 3).map((d) => meal('A', d)), ...days(1, 2).map((d) => meal('B', d))] },
      A: { meals: 3, subsidised: 3, amountFen: 1500 },
      B: { meals: 2, subsidised: 2, amountFen: 600 },
      totalFen: 2100,
    },
    {
      name: 'a day cap of 1 cuts the second meal of the day',
      over: { meals: [meal('A', '2025-03-01', 'breakfast'), meal('A', '2025-03-01', 'lunch'), meal('A', '2025-03-02', 'dinner')], rules: [rule({ id: 1, category: 'low-income', amountFen: 500, maxPerDay: 1 })] },
      A: { meals: 3, subsidised: 2, amountFen: 1000, cut: ['day-cap'] },
      totalFen: 1000,
    },
    {
      name: 'lunch and dinner rules do not share one day cap',
      over: {
        meals: [meal('A', '2025-03-01', 'lunch'), meal('A', '2025-03-01', 'dinner'), meal('A', '2025-03-01', 'breakfast')],
        rules: [rule({ id: 1, category: 'low-income', meal: 'lunch', amountFen: 500, maxPerDay: 1 }), rule({ id: 3, category: 'low-income', meal: 'dinner', amountFen: 400, maxPerDay: 1 })],
      },
      A: { meals: 3, subsidised: 2, amountFen: 900, cut: ['no-rule'], flags: ['no-rule'] },
      totalFen: 900,
    },
    {
      name: 'a monthly meal cap cuts the month\'s latest meals',
      over: { meals: days(1, 5).map((d) => meal('A', d)).reverse(), rules: [rule({ id: 1, category: 'low-income', amountFen: 500, maxMealsPerMonth: 3 })] },
      A: { meals: 5, subsidised: 3, amountFen: 1500, cut: ['month-meal-cap', 'month-meal-cap'], cutDates: ['2025-03-04', '2025-03-05'] },
      totalFen: 1500,
    },
    {
      name: 'a monthly fen cap: a meal going over it is not paid',
      over: { meals: days(1, 4).map((d) => meal('A', d)), rules: [rule({ id: 1, category: 'low-income', amountFen: 500, maxFenPerMonth: 1200 })] },
      A: { meals: 4, subsidised: 2, amountFen: 1000, cut: ['month-fen-cap', 'month-fen-cap'] },
      totalFen: 1000,
    },
    {
      name: 'the amount changes mid-month: each day its own rule',
      over: {
        meals: days(13, 17).map((d) => meal('A', d)),
        rules: [rule({ id: 1, category: 'low-income', amountFen: 500, effectiveTo: '2025-03-15' }), rule({ id: 4, category: 'low-income', amountFen: 600, effectiveFrom: '2025-03-16' })],
      },
      A: { meals: 5, subsidised: 5, amountFen: 3 * 500 + 2 * 600 },
      totalFen: 2700,
    },
    {
      name: 'a rule starting mid-month: the days before have no rule',
      over: { meals: days(9, 12).map((d) => meal('A', d)), rules: [rule({ id: 1, category: 'low-income', amountFen: 500, effectiveFrom: '2025-03-11' })] },
      A: { meals: 4, subsidised: 2, amountFen: 1000, cut: ['no-rule', 'no-rule'], flags: ['no-rule'] },
      totalFen: 1000,
    },
    {
      name: 'no category: counted, amount 0, flagged',
      over: { meals: [meal('C', '2025-03-01'), meal('C', '2025-03-02', 'dinner', 'delivery')] },
      C: { meals: 2, subsidised: 0, amountFen: 0, cut: ['no-category', 'no-category'], flags: ['no-category'] },
      totalFen: 0,
    },
  ])('$name', ({ over, totalFen, ...expected }) => {
    const s = settle(input(over));
    for (const id of ['A', 'B', 'C'] as const) {
      const want = (expected as unknown as Record<string, { meals: number; subsidised: number; amountFen: number; cut?: string[]; cutDates?: string[]; flags?: string[] } | undefined>)[id];
      const row = s.elders.find((e) => e.elderId === id);
      if (!want) {
        expect(row).toBeUndefined();
        continue;
      }
      expect(row).toMatchObject({ meals: want.meals, subsidised: want.subsidised, amountFen: want.amountFen, totalFen: want.amountFen });
      expect(row!.unsubsidised.map((u) => u.reason)).toEqual(want.cut ?? []);
      if (want.cutDates) expect(row!.unsubsidised.map((u) => u.serviceDate)).toEqual(want.cutDates);
      expect(row!.flags).toEqual(want.flags ?? []);
      expect(row!.subsidised + row!.unsubsidised.length).toBe(row!.meals);
    }
    expect(s.totals.totalFen).toBe(totalFen);
    expect(s.categories.reduce((a, c) => a + c.amountFen, 0)).toBe(s.totals.amountFen);
  });

  it('lists voids without counting them, counts duplicates and meals in review, by method', () => {
    const s = settle(
      input({
        meals: [meal('A', '2025-03-01'), meal('A', '2025-03-02', 'lunch', 'manual'), meal('B', '2025-03-01', 'lunch', 'proxy')],
        voided: [meal('A', '2025-03-03'), meal('B', '2025-03-02')],
        duplicates: new Map([['A', 2]]),
        inReview: new Map([['C', 1]]),
      }),
    );
    const a = s.elders.find((e) => e.elderId === 'A')!;
    expect(a).toMatchObject({ meals: 2, amountFen: 1000, duplicates: 2, byMethod: { face: 1, manual: 1, delivery: 0, proxy: 0 } });
    expect(a.voided.map((v) => v.serviceDate)).toEqual(['2025-03-03']);
    const c = s.elders.find((e) => e.elderId === 'C')!;
    expect(c).toMatchObject({ meals: 0, inReview: 1, amountFen: 0 });
    expect(s.totals).toMatchObject({ elders: 3, meals: 3, voided: 2, duplicates: 2, inReview: 1, amountFen: 1300, byMethod: { face: 1, manual: 1, delivery: 0, proxy: 1 } });
  });

  it('adds adjustments to the elder, the category and the centre', () => {
    const adj = (id: number, elderId: string | null, amountFen: number) => ({ id, centreId: 'c1', month: '2025-03', elderId, amountFen, reason: '补录', createdAt: '2025-04-01T00:00:00Z', createdBy: 'admin' });
    const s = settle(input({ meals: [meal('A', '2025-03-01')], adjustments: [adj(1, 'A', 250), adj(2, null, -100), adj(3, 'B', 300)] }));
    expect(s.elders.find((e) => e.elderId === 'A')).toMatchObject({ amountFen: 500, adjustmentFen: 250, totalFen: 750 });
    // B ate nothing this month but is paid an adjustment: a row, under the category of their registry entry.
    expect(s.elders.find((e) => e.elderId === 'B')).toMatchObject({ meals: 0, category: 'over-80', adjustmentFen: 300, totalFen: 300 });
    expect(s.categories.find((c) => c.category === 'over-80')).toMatchObject({ elders: 1, amountFen: 0, adjustmentFen: 300, totalFen: 300 });
    expect(s.totals).toMatchObject({ amountFen: 500, adjustmentFen: 450, totalFen: 950 });
  });

  it('flags an elder missing from the registry, and hashes the rows', () => {
    const s = settle(input({ meals: [meal('Z', '2025-03-01')] }));
    expect(s.elders[0]).toMatchObject({ elderId: 'Z', name: null, flags: ['not-in-registry', 'no-category'] });
    const again = settle(input({ meals: [{ ...meal('Z', '2025-03-01'), eventId: s.elders[0]!.unsubsidised[0]!.eventId }] }));
    expect(again.rowsHash).toBe(s.rowsHash);
    const other = settle(input({ meals: [meal('A', '2025-03-01')] }));
    expect(other.rowsHash).not.toBe(s.rowsHash);
  });

  it('is the same whatever order the meals arrive in', () => {
    const meals = [...days(1, 6).map((d) => meal('A', d)), ...days(1, 6).map((d) => meal('A', d, 'dinner'))];
    const rules = [rule({ id: 1, category: 'low-income', amountFen: 500, maxMealsPerMonth: 7 })];
    const a = settle(input({ meals, rules }));
    const b = settle(input({ meals: [...meals].reverse(), rules }));
    expect(b.rowsHash).toBe(a.rowsHash);
    expect(a.elders[0]!.unsubsidised.map((u) => `${u.serviceDate} ${u.meal}`)).toEqual(['2025-03-04 dinner', '2025-03-05 lunch', '2025-03-05 dinner', '2025-03-06 lunch', '2025-03-06 dinner']);
  });
});

describe('rulesOverlap', () => {
  const r = (meal: SubsidyRule['meal'], effectiveFrom: string, effectiveTo: string | null, category = 'low-income') => ({ category, meal, effectiveFrom, effectiveTo });
  it.each([
    [r('lunch', '2025-01-01', null), r('lunch', '2025-06-01', null), true],
    [r('lunch', '2025-01-01', '2025-05-31'), r('lunch', '2025-06-01', null), false],
    [r('lunch', '2025-01-01', '2025-06-01'), r('lunch', '2025-06-01', null), true],
    [r('lunch', '2025-01-01', null), r('dinner', '2025-01-01', null), false],
    [r('any', '2025-01-01', null), r('dinner', '2025-03-01', '2025-03-31'), true],
    [r('lunch', '2025-01-01', null), r('lunch', '2025-01-01', null, 'over-80'), false],
  ])('%o and %o: %s', (a, b, want) => {
    expect(rulesOverlap(a, b)).toBe(want);
    expect(rulesOverlap(b, a)).toBe(want);
  });
});

describe('money', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [500, '5.00'],
    [123456, '1234.56'],
    [-250, '-2.50'],
  ])('%i fen is %s yuan', (fen, text) => {
    expect(yuan(fen)).toBe(text);
    expect(fenOf(text)).toBe(fen);
  });
  it.each(['5.001', 'abc', '', '1e3', '5.'])('"%s" is not an amount', (t) => expect(fenOf(t)).toBeUndefined());
  it('reads whole yuan and one decimal', () => {
    expect(fenOf('5')).toBe(500);
    expect(fenOf('3.5')).toBe(350);
  });
});
