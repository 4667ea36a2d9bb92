import { describe, expect, it } from 'vitest';
import { SimdScanner } from '../../edge/src/recognition/simd-scan.ts';
import { euclidean, syntheticDescriptor } from '../helpers/fake-engine.ts';

function gallery(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * 128);
  for (let i = 0; i < n; i++) out.set(syntheticDescriptor(seed + i), i * 128);
  return out;
}

describe('SimdScanner', () => {
  const scanner = SimdScanner.create();

  it('is available on the supported Node versions', () => {
    expect(scanner).not.toBeNull();
  });

  it('gives the squared distances the scalar formula gives', () => {
    const g = gallery(37, 100);
    scanner!.load(g);
    const q = syntheticDescriptor(5);
    const d2 = scanner!.scan(q);
    expect(d2.length).toBe(37);
    for (let i = 0; i < 37; i++) expect(d2[i]).toBeCloseTo(euclidean(q, g.subarray(i * 128, (i + 1) * 128)) ** 2, 5);
  });

  it('grows for a larger gallery and shrinks back to a smaller one', () => {
    const big = gallery(3000, 1);
    scanner!.load(big);
    const q = big.slice(2999 * 128);
    expect(scanner!.scan(q)[2999]).toBe(0);
    scanner!.load(gallery(2, 9));
    expect(scanner!.scan(q).length).toBe(2);
  });

  it('takes an empty gallery', () => {
    scanner!.load(new Float32Array(0));
    expect(scanner!.scan(syntheticDescriptor(1)).length).toBe(0);
  });

  it('refuses a descriptor of the wrong length', () => {
    expect(() => scanner!.scan(new Float32Array(64))).toThrow(RangeError);
  });
});
