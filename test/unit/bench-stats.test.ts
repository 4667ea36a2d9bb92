import { describe, expect, it } from 'vitest';
import { pairFaces, percentile } from '../../scripts/bench/bench-stats.ts';

describe('percentile', () => {
  it.each([
    { values: [], p: 50, want: NaN },
    { values: [7], p: 95, want: 7 },
    { values: [5, 1, 4, 2, 3], p: 50, want: 3 },
    { values: [5, 1, 4, 2, 3], p: 0, want: 1 },
    { values: [5, 1, 4, 2, 3], p: 100, want: 5 },
    { values: Array.from({ length: 100 }, (_, i) => 100 - i), p: 95, want: 95 },
  ])('p$p of $values.length values', ({ values, p, want }) => {
    expect(percentile(values, p)).toBe(want);
  });
});

describe('pairFaces', () => {
  const f = (x: number, size = 100) => ({ box: { x, y: 0, width: size, height: size } });
  it('pairs each face with the most overlapping one, once', () => {
    const a = [f(0), f(300)];
    const b = [f(310), f(5), f(10)];
    expect(pairFaces(a, b)).toEqual([
      [a[0], b[1]],
      [a[1], b[0]],
    ]);
  });
  it('leaves faces without enough overlap unpaired', () => {
    expect(pairFaces([f(0)], [f(70)])).toEqual([]);
    expect(pairFaces([f(0)], [])).toEqual([]);
  });
});
