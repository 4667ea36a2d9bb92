/**
 * The matcher with faceres' 1024-d descriptors (eval only): same rule, same answers as with
 * 128-d ones, and a descriptor of the wrong length is refused.
 */
import { describe, expect, it } from 'vitest';
import { Matcher, packTemplates } from '../../edge/src/recognition/matcher.ts';

/** A random unit vector of `dim` values, deterministic per seed (random ones are nearly orthogonal: ~1.41 apart). */
function unit(dim: number, seed: number): Float32Array {
  let s = seed * 0x9e3779b1;
  const rand = (): number => {
    // mulberry32
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const v = Float32Array.from({ length: dim }, rand);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** `v` moved towards `towards` by `t` (0..1). */
function mix(v: Float32Array, towards: Float32Array, t: number): Float32Array {
  return v.map((x, i) => x * (1 - t) + towards[i]! * t);
}

describe('matcher with 1024-d descriptors', () => {
  for (const dim of [128, 1024]) {
    it(`decides the same way at ${dim} values`, () => {
      const a = unit(dim, 1);
      const b = unit(dim, 2);
      const c = unit(dim, 3);
      const set = packTemplates(
        [
          { elderId: 'a', descriptor: a },
          { elderId: 'b', descriptor: b },
          { elderId: 'c', descriptor: c },
        ],
        dim,
      );
      expect(set.descriptors).toHaveLength(3 * dim);
      const m = new Matcher(set, { threshold: 0.9, margin: 0.05, cohortRatio: 1, meanTemplates: false });
      expect(m.match(mix(a, unit(dim, 9), 0.2))).toMatchObject({ kind: 'recognised', elderId: 'a' });
      expect(m.match(unit(dim, 9))).toMatchObject({ kind: 'unknown', reason: 'above-threshold' });
      expect(m.match(mix(a, b, 0.5))).toMatchObject({ kind: 'unknown', reason: 'ambiguous' });
    });
  }

  it('refuses descriptors of another length than the gallery', () => {
    const m = new Matcher(packTemplates([{ elderId: 'a', descriptor: unit(1024, 1) }], 1024));
    expect(() => m.match(unit(128, 1))).toThrow(/1024-d.*128 values.*another model/);
    expect(() => packTemplates([{ elderId: 'a', descriptor: unit(1024, 1) }])).toThrow(/128 values, got 1024/);
  });

  it('mean templates work at 1024 values', () => {
    const a1 = unit(1024, 1);
    const a2 = mix(a1, unit(1024, 5), 0.3);
    const m = new Matcher(
      packTemplates(
        [
          { elderId: 'a', descriptor: a1 },
          { elderId: 'a', descriptor: a2 },
        ],
        1024,
      ),
      { threshold: 0.9, cohortRatio: 1 },
    );
    expect(m.size).toBe(2);
    expect(m.match(mix(a1, a2, 0.5))).toMatchObject({ kind: 'recognised', elderId: 'a' });
  });
});
