import { describe, expect, it } from 'vitest';
import { SIMD_MAX_DIM, SimdScanner, simdScans } from '../../edge/src/recognition/simd-scan.ts';
import { euclidean, rng, syntheticDescriptor } from '../helpers/fake-engine.ts';

/** n unit vectors of `dim` values. */
function unitGallery(n: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (out[i * dim + k] = r() - 0.5) ** 2;
    for (let k = 0; k < dim; k++) out[i * dim + k]! /= Math.sqrt(s);
  }
  return out;
}

function gallery(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * 128);
  for (let i = 0; i < n; i++) out.set(syntheticDescriptor(seed + i), i * 128);
  return out;
}

describe('SimdScanner (int8 first pass)', () => {
  const scanner = SimdScanner.create();

  it('is available on the supported Node versions', () => {
    expect(scanner).not.toBeNull();
  });

  it('gives the squared distance between the rounded vectors, exactly', () => {
    const g = gallery(37, 100);
    scanner!.load(g);
    const q = syntheticDescriptor(5);
    const { d2, scale } = scanner!.scan(q);
    expect(d2.length).toBe(37);
    let max = 0;
    for (const v of g) max = Math.max(max, Math.abs(v));
    expect(scale).toBeCloseTo(max / 127, 12);
    for (let i = 0; i < 37; i++) {
      let want = 0;
      for (let k = 0; k < 128; k++) want += (Math.round(g[i * 128 + k]! / scale) - Math.round(q[k]! / scale)) ** 2;
      expect(d2[i]).toBe(want);
    }
  });

  it('stays within its error bound of the exact distance, and the bound is small', () => {
    const g = gallery(500, 7);
    scanner!.load(g);
    for (let p = 0; p < 20; p++) {
      const q = syntheticDescriptor(9000 + p);
      const { d2, scale, error } = scanner!.scan(q);
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThan(0.05);
      for (let i = 0; i < 500; i++) {
        const exact = euclidean(q, g.subarray(i * 128, (i + 1) * 128));
        expect(Math.abs(scale * Math.sqrt(d2[i]!) - exact)).toBeLessThanOrEqual(error);
      }
    }
  });

  it('clamps a query far outside the gallery\'s range and widens the bound to match', () => {
    const g = gallery(10, 3);
    scanner!.load(g);
    const q = syntheticDescriptor(4).map((v) => v * 1000);
    const { d2, scale, error } = scanner!.scan(q);
    for (let i = 0; i < 10; i++) {
      const exact = euclidean(q, g.subarray(i * 128, (i + 1) * 128));
      expect(d2[i]).toBeGreaterThan(0); // no int32 overflow into negatives
      expect(Math.abs(scale * Math.sqrt(d2[i]!) - exact)).toBeLessThanOrEqual(error);
    }
  });

  it('grows for a larger gallery and shrinks back to a smaller one', () => {
    const big = gallery(3000, 1);
    scanner!.load(big);
    const q = big.slice(2999 * 128);
    expect(scanner!.scan(q).d2[2999]).toBe(0);
    scanner!.load(gallery(2, 9));
    expect(scanner!.scan(q).d2.length).toBe(2);
  });

  it('scans any length that is a multiple of 16 up to its overflow bound, exactly as the rounded vectors', () => {
    expect([128, 144, 512, 1024, SIMD_MAX_DIM].every(simdScans)).toBe(true);
    expect([0, 100, 1552, 1664].some(simdScans)).toBe(false);
    for (const dim of [512, 144, 1024, 128]) {
      const g = unitGallery(41, dim, dim);
      scanner!.load(g, dim);
      const q = unitGallery(1, dim, 99)!;
      const { d2, scale, error } = scanner!.scan(q);
      expect(d2.length).toBe(41);
      for (let i = 0; i < 41; i++) {
        let want = 0;
        for (let k = 0; k < dim; k++) want += (Math.round(g[i * dim + k]! / scale) - Math.round(q[k]! / scale)) ** 2;
        expect(d2[i]).toBe(want);
        expect(Math.abs(scale * Math.sqrt(d2[i]!) - euclidean(q, g.subarray(i * dim, (i + 1) * dim)))).toBeLessThanOrEqual(error);
      }
      expect(() => scanner!.scan(new Float32Array(dim + 16))).toThrow(RangeError);
    }
    expect(() => scanner!.load(new Float32Array(100), 100)).toThrow(/multiple of 16/);
  });

  it('does not overflow at its longest descriptor with the query clamped far out', () => {
    const g = new Float32Array(SIMD_MAX_DIM).fill(-1);
    scanner!.load(g, SIMD_MAX_DIM);
    const { d2 } = scanner!.scan(new Float32Array(SIMD_MAX_DIM).fill(1e6));
    // Every value clamped to +1024 steps against -127: the largest sum there is.
    expect(d2[0]).toBe(SIMD_MAX_DIM * (1024 + 127) ** 2);
  });

  it('takes an empty gallery', () => {
    scanner!.load(new Float32Array(0));
    expect(scanner!.scan(syntheticDescriptor(1)).d2.length).toBe(0);
  });

  it('refuses a descriptor of the wrong length, and values that are not finite', () => {
    scanner!.load(gallery(2, 9));
    expect(() => scanner!.scan(new Float32Array(64))).toThrow(RangeError);
    expect(() => scanner!.scan(new Float32Array(128).fill(NaN))).toThrow(/finite/);
    expect(() => scanner!.load(new Float32Array(128).fill(Infinity))).toThrow(/finite/);
  });
});
