import { describe, expect, it } from 'vitest';
import { DEFAULT_MATCHER_OPTIONS, DESCRIPTOR_LENGTH, Matcher, packTemplates, type MatchResult } from '../../edge/src/recognition/matcher.ts';
import { descriptorAt, euclidean, rng, syntheticDescriptor } from '../helpers/fake-engine.ts';

const A = syntheticDescriptor(1);
const B = syntheticDescriptor(2);
const C = syntheticDescriptor(3);
/** The threshold-and-margin rule alone (no cohort check, no mean templates), as these tests were written for. */
const BASE = { threshold: 0.45, margin: 0.05, cohortRatio: 1, meanTemplates: false };

describe('Matcher', () => {
  it('defaults to the thresholds measured on East Asian faces', () => {
    expect(DEFAULT_MATCHER_OPTIONS).toEqual({ threshold: 0.48, margin: 0.05, cohortRatio: 0.75, cohortSize: 5, meanTemplates: true });
  });

  it('says no-templates on an empty gallery', () => {
    expect(new Matcher().match(A)).toEqual({ kind: 'unknown', reason: 'no-templates' });
  });

  // Gallery: elder a at A, elder b at B (far apart). Probes at known distances from A.
  const gallery = packTemplates([
    { elderId: 'a', descriptor: A },
    { elderId: 'b', descriptor: B },
  ]);
  const cases: { name: string; probe: Float32Array; expect: Partial<MatchResult> }[] = [
    { name: 'exact template', probe: A, expect: { kind: 'recognised', elderId: 'a' } },
    { name: 'well inside the threshold', probe: descriptorAt(A, 0.3, 10), expect: { kind: 'recognised', elderId: 'a' } },
    { name: 'just inside the threshold', probe: descriptorAt(A, 0.449, 11), expect: { kind: 'recognised', elderId: 'a' } },
    { name: 'just above the threshold', probe: descriptorAt(A, 0.451, 12), expect: { kind: 'unknown', reason: 'above-threshold', bestElderId: 'a' } },
    { name: 'a stranger', probe: C, expect: { kind: 'unknown', reason: 'above-threshold' } },
  ];
  it.each(cases)('$name', ({ probe, expect: want }) => {
    const m = new Matcher(gallery, BASE);
    expect(m.match(probe)).toMatchObject(want);
  });

  it('reports the distance and the second-best elder', () => {
    const m = new Matcher(gallery);
    const probe = descriptorAt(A, 0.2, 20);
    const r = m.match(probe);
    expect(r.kind).toBe('recognised');
    if (r.kind !== 'recognised') return;
    expect(r.distance).toBeCloseTo(0.2, 4);
    expect(r.secondElderId).toBe('b');
    expect(r.secondDistance).toBeCloseTo(euclidean(probe, B), 4);
  });

  it('recognises with one enrolled elder (no second to compare with)', () => {
    const m = new Matcher(packTemplates([{ elderId: 'a', descriptor: A }]));
    const r = m.match(descriptorAt(A, 0.1, 5));
    expect(r).toMatchObject({ kind: 'recognised', elderId: 'a' });
    expect(r).not.toHaveProperty('secondElderId');
  });

  describe('margin over the second-best other elder', () => {
    // Two elders whose templates are 0.4 apart; a probe on the segment between them.
    const b2 = descriptorAt(A, 0.4, 30);
    const between = (t: number): Float32Array => A.map((v, i) => v + (b2[i]! - v) * t);
    const m = new Matcher(
      packTemplates([
        { elderId: 'a', descriptor: A },
        { elderId: 'b', descriptor: b2 },
      ]),
      BASE,
    );
    it.each([
      // t along a→b: distances 0.4t and 0.4(1-t); gap 0.4(1-2t).
      { t: 0.1, want: { kind: 'recognised', elderId: 'a' } }, // gap 0.32
      { t: 0.4, want: { kind: 'recognised', elderId: 'a' } }, // gap 0.08
      { t: 0.45, want: { kind: 'unknown', reason: 'ambiguous', bestElderId: 'a' } }, // gap 0.04
      { t: 0.5, want: { kind: 'unknown', reason: 'ambiguous' } }, // gap 0
      { t: 0.9, want: { kind: 'recognised', elderId: 'b' } },
    ])('probe at $t between two elders', ({ t, want }) => {
      expect(m.match(between(t))).toMatchObject(want);
    });

    it('margin 0 turns the ambiguity check off', () => {
      const loose = new Matcher(
        packTemplates([
          { elderId: 'a', descriptor: A },
          { elderId: 'b', descriptor: b2 },
        ]),
        { ...BASE, margin: 0 },
      );
      expect(loose.match(between(0.45))).toMatchObject({ kind: 'recognised', elderId: 'a' });
    });
  });

  it('takes the best template per elder, and compares only other elders for the margin', () => {
    // Elder a has three templates close together; they must not make a ambiguous with itself.
    const m = new Matcher(
      packTemplates([
        { elderId: 'a', descriptor: descriptorAt(A, 0.3, 40) },
        { elderId: 'b', descriptor: B },
        { elderId: 'a', descriptor: A },
        { elderId: 'a', descriptor: descriptorAt(A, 0.05, 41) },
      ]),
      BASE,
    );
    const probe = descriptorAt(A, 0.02, 42);
    const r = m.match(probe);
    expect(r).toMatchObject({ kind: 'recognised', elderId: 'a', secondElderId: 'b' });
    if (r.kind === 'recognised') expect(r.distance).toBeCloseTo(Math.min(euclidean(probe, A), euclidean(probe, descriptorAt(A, 0.05, 41))), 5);
    expect(m.size).toBe(4);
    expect(m.elderCount).toBe(2);
  });

  it('keeps a default when an option is given as undefined', () => {
    expect(new Matcher(undefined, { threshold: undefined, margin: 0.1 }).settings).toEqual({ ...DEFAULT_MATCHER_OPTIONS, margin: 0.1 });
  });

  it('applies configured threshold', () => {
    const m = new Matcher(packTemplates([{ elderId: 'a', descriptor: A }]), { threshold: 0.6 });
    expect(m.match(descriptorAt(A, 0.55, 50))).toMatchObject({ kind: 'recognised', elderId: 'a' });
  });

  it('replace() swaps the gallery and copies it', () => {
    const set = packTemplates([{ elderId: 'a', descriptor: A }]);
    const m = new Matcher(set);
    set.descriptors.fill(0); // the caller reusing its buffer must not change the matcher
    expect(m.match(A)).toMatchObject({ kind: 'recognised', elderId: 'a' });
    m.replace(packTemplates([{ elderId: 'b', descriptor: B }]));
    expect(m.match(A)).toMatchObject({ kind: 'unknown', reason: 'above-threshold', bestElderId: 'b' });
    expect(m.match(B)).toMatchObject({ kind: 'recognised', elderId: 'b' });
    m.replace({ elderIds: [], descriptors: new Float32Array(0) });
    expect(m.match(A)).toEqual({ kind: 'unknown', reason: 'no-templates' });
  });

  it('rejects malformed input', () => {
    expect(() => new Matcher({ elderIds: ['a'], descriptors: new Float32Array(127) })).toThrow(RangeError);
    expect(() => new Matcher().match(new Float32Array(64))).toThrow(/128/);
    expect(() => new Matcher(undefined, { threshold: 0 })).toThrow(RangeError);
  });

  it('never compares across models: a descriptor of another length is refused, naming the model', () => {
    const m = new Matcher({ ...packTemplates([{ elderId: 'a', descriptor: A }]), model: 'face-api' });
    expect(m.model).toBe('face-api');
    expect(m.dimension).toBe(128);
    // A 512-d descriptor's first 128 values are not a face-api descriptor: no distance, an error.
    const longer = new Float32Array(512);
    longer.set(A);
    expect(() => m.match(longer)).toThrow(/128-d \(model face-api\).*512 values.*another model/);
    expect(() => m.match(A.subarray(0, 64))).toThrow(RangeError);
  });

  it('treats a NaN descriptor as unknown, never as a match', () => {
    const m = new Matcher(packTemplates([{ elderId: 'a', descriptor: A }]));
    expect(m.match(new Float32Array(DESCRIPTOR_LENGTH).fill(NaN))).toMatchObject({ kind: 'unknown', reason: 'above-threshold' });
  });

  it('agrees with brute force on a large gallery', () => {
    // 2,000 elders × 5 templates; probes near random templates and pure strangers.
    const r = rng(99);
    const entries: { elderId: string; descriptor: Float32Array }[] = [];
    for (let e = 0; e < 2000; e++) {
      const base = syntheticDescriptor(1000 + e);
      for (let t = 0; t < 5; t++) entries.push({ elderId: `e${e}`, descriptor: descriptorAt(base, 0.2 * r(), 50_000 + e * 5 + t) });
    }
    const m = new Matcher(packTemplates(entries), BASE);
    const options = m.settings;
    for (let p = 0; p < 40; p++) {
      const probe = p % 4 === 3 ? syntheticDescriptor(900_000 + p) : descriptorAt(entries[Math.floor(r() * entries.length)]!.descriptor, 0.4 * r(), 800_000 + p);
      // Brute force, the obvious way.
      const best = new Map<string, number>();
      for (const e of entries) best.set(e.elderId, Math.min(best.get(e.elderId) ?? Infinity, euclidean(probe, e.descriptor)));
      const ranked = [...best].sort((x, y) => x[1] - y[1]);
      const [first, second] = [ranked[0]!, ranked[1]!];
      const want = first[1] > options.threshold ? 'above-threshold' : second[1] - first[1] < options.margin ? 'ambiguous' : 'recognised';
      const got = m.match(probe);
      expect(got.kind === 'recognised' ? 'recognised' : got.reason).toBe(want);
      if (got.kind === 'recognised') {
        expect(got.elderId).toBe(first[0]);
        expect(got.distance).toBeCloseTo(first[1], 4);
        expect(got.secondElderId).toBe(second[0]);
        expect(got.secondDistance).toBeCloseTo(second[1], 4);
      } else {
        expect(got.bestElderId).toBe(first[0]);
        expect(got.distance).toBeCloseTo(first[1], 4);
      }
    }
  });

  it('finds the planted elder in a 100,000-template gallery', () => {
    // Speed at this size is measured by the benchmark, not asserted here.
    const n = 100_000;
    const descriptors = new Float32Array(n * DESCRIPTOR_LENGTH);
    const r = rng(7);
    for (let i = 0; i < descriptors.length; i++) descriptors[i] = r() - 0.5;
    const elderIds = Array.from({ length: n }, (_, i) => `e${Math.floor(i / 5)}`);
    const probe = syntheticDescriptor(5);
    const planted = 73_451;
    descriptors.set(descriptorAt(probe, 0.2, 99), planted * DESCRIPTOR_LENGTH);
    const m = new Matcher({ elderIds, descriptors });
    const result = m.match(probe);
    expect(result).toMatchObject({ kind: 'recognised', elderId: elderIds[planted] });
  });
});

describe('Matcher cohort check and mean templates', () => {
  /** A descriptor at `x` along axis `axis`: distances between two on one axis are |x1 - x2|. */
  const at = (x: number, axis = 0): Float32Array => {
    const d = new Float32Array(DESCRIPTOR_LENGTH);
    d[axis] = x;
    return d;
  };
  // Six elders on six axes, each at 0.6 from the origin, so any two are 0.85 apart.
  const six = packTemplates(Array.from({ length: 6 }, (_, e) => ({ elderId: `e${e}`, descriptor: at(0.6, e) })));

  it.each([
    // Near e0: 0.1 from it, ~0.7 from the others: ratio 0.14.
    { name: 'an elder clearly closer to their own templates', probe: [0.5, 0], cohortRatio: 0.75, want: { kind: 'recognised', elderId: 'e0' } },
    // 0.45 from e0, about 0.62 from every other elder: ratio about 0.73 (passes at 0.8, not at 0.7).
    { name: 'a face about as close to many elders (ratio 0.8 allows)', probe: [0.15, 0], cohortRatio: 0.8, want: { kind: 'recognised', elderId: 'e0' } },
    { name: 'a face about as close to many elders (ratio 0.7 refuses)', probe: [0.15, 0], cohortRatio: 0.7, want: { kind: 'unknown', reason: 'cohort', bestElderId: 'e0' } },
    { name: 'ratio 1 turns the check off', probe: [0.15, 0], cohortRatio: 1, want: { kind: 'recognised', elderId: 'e0' } },
  ])('$name', ({ probe, cohortRatio, want }) => {
    const m = new Matcher(six, { threshold: 0.5, margin: 0.05, cohortRatio, meanTemplates: false });
    expect(m.match(at(probe[0]!, probe[1]))).toMatchObject(want);
  });

  it('averages over at most cohortSize other elders, fewer when fewer are enrolled', () => {
    // e0 at 0.45, e1 at 0.6, e2 at 0.9 from the probe: with cohortSize 1 the cohort is e1
    // (ratio 0.75); with 2, e1 and e2 (mean 0.75, ratio 0.6); with 5, still both.
    const g = packTemplates([
      { elderId: 'e0', descriptor: at(0.45, 0) },
      { elderId: 'e1', descriptor: at(0.6, 1) },
      { elderId: 'e2', descriptor: at(0.9, 2) },
    ]);
    const opts = { threshold: 0.5, margin: 0.05, meanTemplates: false, cohortRatio: 0.7 };
    expect(new Matcher(g, { ...opts, cohortSize: 1 }).match(at(0))).toMatchObject({ kind: 'unknown', reason: 'cohort' });
    expect(new Matcher(g, { ...opts, cohortSize: 2 }).match(at(0))).toMatchObject({ kind: 'recognised', elderId: 'e0' });
    expect(new Matcher(g, { ...opts, cohortSize: 5 }).match(at(0))).toMatchObject({ kind: 'recognised', elderId: 'e0' });
  });

  it('matches against the mean of an elder\'s templates as well as each one', () => {
    // Templates at +0.4 and -0.4 on axis 1; the probe on axis 0 is 0.5 from each, 0.3 from their mean.
    const g = packTemplates([
      { elderId: 'a', descriptor: at(0.4, 1) },
      { elderId: 'a', descriptor: at(-0.4, 1) },
    ]);
    const probe = at(0.3, 0);
    expect(new Matcher(g, { threshold: 0.45, meanTemplates: false }).match(probe)).toMatchObject({ kind: 'unknown', reason: 'above-threshold' });
    const m = new Matcher(g, { threshold: 0.45, meanTemplates: true });
    const r = m.match(probe);
    expect(r).toMatchObject({ kind: 'recognised', elderId: 'a' });
    if (r.kind === 'recognised') expect(r.distance).toBeCloseTo(0.3, 5);
    // The mean is not counted as a template.
    expect(m.size).toBe(2);
  });

  it('rejects a cohort ratio or size that makes no sense', () => {
    expect(() => new Matcher(undefined, { cohortRatio: 0 })).toThrow(RangeError);
    expect(() => new Matcher(undefined, { cohortSize: 0 })).toThrow(RangeError);
    expect(() => new Matcher(undefined, { cohortSize: 1.5 })).toThrow(RangeError);
  });
});

describe('Matcher two-pass scan (int8 first pass, exact re-rank)', () => {
  /** The production rule the obvious way: every template in float64, mean templates, cohort. */
  function reference(entries: { elderId: string; descriptor: Float32Array }[], probe: Float32Array, o: typeof DEFAULT_MATCHER_OPTIONS): MatchResult {
    const byElder = new Map<string, Float32Array[]>();
    for (const e of entries) byElder.set(e.elderId, [...(byElder.get(e.elderId) ?? []), e.descriptor]);
    const ranked = [...byElder].map(([id, ts]) => {
      const all = [...ts];
      if (o.meanTemplates && ts.length >= 2) all.push(Float32Array.from({ length: probe.length }, (_, k) => ts.reduce((s, t) => s + t[k]!, 0) / ts.length));
      return [id, Math.min(...all.map((t) => euclidean(probe, t)))] as const;
    }).sort((x, y) => x[1] - y[1]);
    const [first, second] = [ranked[0]!, ranked[1]];
    if (first[1] > o.threshold) return { kind: 'unknown', reason: 'above-threshold', bestElderId: first[0], distance: first[1] };
    if (!second) return { kind: 'recognised', elderId: first[0], distance: first[1] };
    if (second[1] - first[1] < o.margin) return { kind: 'unknown', reason: 'ambiguous', bestElderId: first[0], distance: first[1] };
    const cohort = ranked.slice(1, 1 + o.cohortSize);
    if (o.cohortRatio < 1 && first[1] > o.cohortRatio * (cohort.reduce((s, c) => s + c[1], 0) / cohort.length)) return { kind: 'unknown', reason: 'cohort', bestElderId: first[0], distance: first[1] };
    return { kind: 'recognised', elderId: first[0], distance: first[1], secondElderId: second[0], secondDistance: second[1] };
  }

  function expectSame(got: MatchResult, want: MatchResult): void {
    expect(got.kind).toBe(want.kind);
    if (got.kind === 'recognised' && want.kind === 'recognised') {
      expect(got.elderId).toBe(want.elderId);
      expect(got.secondElderId).toBe(want.secondElderId);
      expect(got.distance).toBeCloseTo(want.distance, 6);
    } else if (got.kind === 'unknown' && want.kind === 'unknown') {
      expect(got.reason).toBe(want.reason);
      expect(got.bestElderId).toBe(want.bestElderId);
      expect(got.distance).toBeCloseTo(want.distance!, 6);
    }
  }

  it('decides as the exact rule does, cohort and mean templates included', () => {
    const r = rng(5);
    const entries: { elderId: string; descriptor: Float32Array }[] = [];
    for (let e = 0; e < 400; e++) {
      const base = syntheticDescriptor(20_000 + e);
      for (let t = 0; t < 1 + (e % 4); t++) entries.push({ elderId: `e${e}`, descriptor: descriptorAt(base, 0.25 * r(), 30_000 + e * 5 + t) });
    }
    const m = new Matcher(packTemplates(entries));
    const kinds = new Set<string>();
    for (let p = 0; p < 60; p++) {
      const probe = p % 3 === 2 ? syntheticDescriptor(700_000 + p) : descriptorAt(entries[Math.floor(r() * entries.length)]!.descriptor, 0.45 * r(), 710_000 + p);
      const want = reference(entries, probe, m.settings);
      kinds.add(want.kind === 'recognised' ? 'recognised' : want.reason);
      expectSame(m.match(probe), want);
    }
    // The probes exercised more than one branch of the rule.
    expect(kinds.size).toBeGreaterThanOrEqual(2);
  });

  it('decides as the exact rule does on 512-d templates too (the SIMD pass in chunks)', () => {
    const dim = 512;
    const unit = (seed: number): Float32Array => {
      const r = rng(seed);
      const v = Float32Array.from({ length: dim }, () => r() - 0.5);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const near = (base: Float32Array, d: number, seed: number): Float32Array => {
      const dir = unit(seed);
      return base.map((x, k) => x + dir[k]! * d);
    };
    const r = rng(6);
    const entries: { elderId: string; descriptor: Float32Array }[] = [];
    for (let e = 0; e < 300; e++) {
      const base = unit(40_000 + e);
      for (let t = 0; t < 1 + (e % 3); t++) entries.push({ elderId: `e${e}`, descriptor: near(base, 0.25 * r(), 50_000 + e * 5 + t) });
    }
    const m = new Matcher(packTemplates(entries, dim));
    for (let p = 0; p < 40; p++) {
      const probe = p % 3 === 2 ? unit(800_000 + p) : near(entries[Math.floor(r() * entries.length)]!.descriptor, 0.45 * r(), 810_000 + p);
      expectSame(m.match(probe), reference(entries, probe, m.settings));
    }
  });

  it('finds the exact best elder in a crowd closer together than the int8 error', () => {
    // 300 elders around the probe at 0.400000, 0.400002, 0.400004...: far below the first pass's
    // resolution, so its order is noise and the error bound must pull them all into the re-rank.
    const probe = syntheticDescriptor(77);
    const entries = Array.from({ length: 300 }, (_, i) => ({ elderId: `e${i}`, descriptor: descriptorAt(probe, 0.4 + i * 2e-6, 5000 + i) }));
    // Listed in reverse so the first-seen elder is the farthest.
    entries.reverse();
    const m = new Matcher(packTemplates(entries), { threshold: 0.5, margin: 0, cohortRatio: 1, meanTemplates: false });
    const got = m.match(probe);
    expect(got).toMatchObject({ kind: 'recognised', elderId: 'e0', secondElderId: 'e1' });
    expect(got.kind === 'recognised' && got.distance).toBeCloseTo(0.4, 5);
  });
});
