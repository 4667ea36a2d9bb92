/**
 * The split study's pure parts: the split variants of the README's protocol, where the cohort
 * ratio starts to admit false accepts, and the pooling / spread over splits.
 */
import { describe, expect, it } from 'vitest';
import { splitProtocol, type Identity } from '../../scripts/eval/dataset.ts';
import type { SweepRow } from '../../scripts/eval/eval.ts';
import { cohortEdge, eastAsianIdentities, pool, SPLITS, spread } from '../../scripts/eval/split-study.ts';
import { countOutcomes } from '../../scripts/eval/metrics.ts';

const ids = (spec: Record<string, number>): Identity[] => Object.entries(spec).map(([name, n]) => ({ name, photos: Array.from({ length: n }, (_, i) => `${name}/${i + 1}.jpg`) }));

describe('splitProtocol variants', () => {
  // Eligible, sorted: ann, cat, dee, eve, fay (bob has 2 photos).
  const people = ids({ dee: 4, ann: 3, cat: 5, bob: 2, eve: 3, fay: 3 });

  it('defaults to the README split', () => {
    expect(splitProtocol(people, 2, { impostorFold: 2, enrolFrom: 'first' })).toEqual(splitProtocol(people));
  });

  it('rotates the impostor fold', () => {
    const impostors = (fold: 0 | 1 | 2): string[] => [...new Set(splitProtocol(people, 2, { impostorFold: fold }).probes.filter((p) => p.impostor).map((p) => p.identity))];
    expect(impostors(0)).toEqual(['ann', 'eve']);
    expect(impostors(1)).toEqual(['cat', 'fay']);
    expect(impostors(2)).toEqual(['dee']);
  });

  it('enrols the last photos and probes the first ones', () => {
    const split = splitProtocol(people, 2, { enrolFrom: 'last' });
    expect(split.enrol.get('cat')).toEqual(['cat/4.jpg', 'cat/5.jpg']);
    expect(split.enrol.get('ann')).toEqual(['ann/2.jpg', 'ann/3.jpg']);
    expect(split.probes.filter((p) => !p.impostor).map((p) => p.photo)).toEqual(['ann/1.jpg', 'cat/1.jpg', 'cat/2.jpg', 'cat/3.jpg', 'eve/1.jpg', 'fay/1.jpg']);
    expect(split.unused).toEqual(['bob']);
  });

  it('studies 6 distinct splits, the README one first', () => {
    expect(SPLITS).toHaveLength(6);
    expect(SPLITS[0]).toMatchObject({ impostorFold: 2, enrolFrom: 'first' });
    expect(new Set(SPLITS.map((s) => `${s.impostorFold}${s.enrolFrom}`)).size).toBe(6);
  });
});

const row = (cohortRatio: number, TAR: number, wrongElder: number, impostorAccepts: number): SweepRow => ({
  threshold: 0.48,
  margin: 0.05,
  cohortRatio,
  TAR,
  FAR: (wrongElder + impostorAccepts) / 100,
  wrongElder,
  impostorAccepts,
  eastAsianTAR: TAR - 0.01,
});

describe('cohortEdge', () => {
  it('finds the last safe ratio and the first unsafe one, whatever the row order', () => {
    expect(cohortEdge([row(0.8, 0.95, 0, 1), row(0.7, 0.85, 0, 0), row(0.75, 0.9, 0, 0), row(0.85, 0.96, 1, 2)])).toEqual({
      safeRatio: 0.75,
      safeTAR: 0.9,
      safeEastAsianTAR: 0.89,
      firstUnsafeRatio: 0.8,
      firstUnsafeFAR: 0.01,
    });
  });

  it('counts a wrong elder as unsafe, and stops at the first unsafe ratio', () => {
    expect(cohortEdge([row(0.6, 0.5, 1, 0), row(0.65, 0.6, 0, 0)])).toEqual({ firstUnsafeRatio: 0.6, firstUnsafeFAR: 0.01 });
  });

  it('has no unsafe ratio when no row has a false accept', () => {
    expect(cohortEdge([row(0.6, 0.5, 0, 0), row(0.9, 0.7, 0, 0)])).toMatchObject({ safeRatio: 0.9, safeTAR: 0.7 });
    expect(cohortEdge([row(0.6, 0.5, 0, 0)]).firstUnsafeRatio).toBeUndefined();
  });
});

describe('pool and spread', () => {
  it('adds counts and recomputes the rates over the sums', () => {
    const a = { ...countOutcomes([]), genuine: 10, impostors: 10, correct: 9, impostorAccepts: 1, rejected: 10 };
    const b = { ...countOutcomes([]), genuine: 30, impostors: 10, correct: 21, wrongElder: 1, rejected: 18 };
    expect(pool([a, b])).toMatchObject({ genuine: 40, impostors: 20, correct: 30, wrongElder: 1, impostorAccepts: 1, rejected: 28, TAR: 0.75, FAR: 2 / 60 });
  });

  it('gives min, mean and max', () => {
    expect(spread([0.9, 0.8, 1])).toEqual({ min: 0.8, mean: 0.9, max: 1 });
    expect(spread([]).mean).toBeNaN();
  });
});

describe('eastAsianIdentities', () => {
  it('keeps identities whose every photo is in the east_asian group', () => {
    const groups = (p: string): string[] => (p.startsWith('li/') || p === 'mix/1.jpg' ? ['east_asian_chinese', 'east_asian'] : ['other']);
    expect(eastAsianIdentities(ids({ li: 3, mix: 2, tom: 3 }), groups).map((i) => i.name)).toEqual(['li']);
  });
});
