/**
 * The evaluation's arithmetic on canned descriptors with known answers: the README's split,
 * open-set outcomes and rates, per-group counts, pairwise TAR at FAR, the sweep.
 */
import { describe, expect, it } from 'vitest';
import { Matcher, packTemplates } from '../../edge/src/recognition/matcher.ts';
import { parseCsv, splitProtocol, type Identity } from '../../scripts/eval/dataset.ts';
import { decide, groupsOfPhoto, sweep } from '../../scripts/eval/eval.ts';
import { countByGroup, countOutcomes, decideProbes, enrolmentTemplates, farKey, pairwise, type EvalFace } from '../../scripts/eval/metrics.ts';

/** A descriptor at `x` along axis `axis` (distances between two on one axis are |x1 - x2|). */
function at(x: number, axis = 0): Float32Array {
  const d = new Float32Array(128);
  d[axis] = x;
  return d;
}

const ids = (spec: Record<string, number>): Identity[] => Object.entries(spec).map(([name, n]) => ({ name, photos: Array.from({ length: n }, (_, i) => `${name}/${i + 1}.jpg`) }));

describe('splitProtocol', () => {
  it('follows the README: every third eligible identity is an impostor, the first two photos enrol', () => {
    const split = splitProtocol(ids({ dee: 4, ann: 3, cat: 5, bob: 2, eve: 3, fay: 3 }));
    // Eligible, sorted: ann, cat, dee, eve, fay (bob has 2 photos). Index 2 (dee) is an impostor.
    expect([...split.enrol.keys()]).toEqual(['ann', 'cat', 'eve', 'fay']);
    expect(split.enrol.get('cat')).toEqual(['cat/1.jpg', 'cat/2.jpg']);
    expect(split.unused).toEqual(['bob']);
    expect(split.probes.filter((p) => p.impostor).map((p) => p.photo)).toEqual(['dee/1.jpg', 'dee/2.jpg', 'dee/3.jpg', 'dee/4.jpg']);
    expect(split.probes.filter((p) => !p.impostor).map((p) => p.photo)).toEqual(['ann/3.jpg', 'cat/3.jpg', 'cat/4.jpg', 'cat/5.jpg', 'eve/3.jpg', 'fay/3.jpg']);
  });

  it('sorts photos by name, not by the order given', () => {
    const split = splitProtocol([{ name: 'a', photos: ['a/3.jpg', 'a/1.jpg', 'a/2.jpg'] }]);
    expect(split.enrol.get('a')).toEqual(['a/1.jpg', 'a/2.jpg']);
    expect(split.probes.map((p) => p.photo)).toEqual(['a/3.jpg']);
  });
});

describe('open-set outcomes', () => {
  // ann and cat enrol; dee (index 2) is the impostor. ann sits at 0, cat at 1 on axis 0.
  const split = splitProtocol(ids({ ann: 5, cat: 4, dee: 3 }));
  const faces = new Map<string, EvalFace | null>([
    ['ann/1.jpg', { descriptor: at(0) }],
    ['ann/2.jpg', { descriptor: at(0.05) }],
    ['cat/1.jpg', { descriptor: at(1) }],
    ['cat/2.jpg', { descriptor: at(1.05) }],
    ['ann/3.jpg', { descriptor: at(0.1) }], // correct
    ['ann/4.jpg', { descriptor: at(0.9) }], // given to cat: wrong elder
    ['ann/5.jpg', { descriptor: at(0.1), refused: 'too-small' }], // low quality
    ['cat/3.jpg', null], // no face
    ['cat/4.jpg', { descriptor: at(0.5) }], // between both: above threshold
    ['dee/1.jpg', { descriptor: at(1.1) }], // impostor accepted as cat
    ['dee/2.jpg', { descriptor: at(3) }], // impostor rejected
    ['dee/3.jpg', { descriptor: at(0.2, 5) }], // impostor ~0.2 from ann: accepted
  ]);
  const matcher = new Matcher(packTemplates(enrolmentTemplates(split, faces)), { threshold: 0.3, margin: 0.05, cohortRatio: 1, meanTemplates: false });
  const outcomes = decideProbes(split.probes, faces, matcher);

  it('classifies every probe', () => {
    expect(Object.fromEntries(outcomes.map((o) => [o.probe.photo, o.outcome]))).toEqual({
      'ann/3.jpg': 'correct',
      'ann/4.jpg': 'wrong-elder',
      'ann/5.jpg': 'low-quality',
      'cat/3.jpg': 'no-face',
      'cat/4.jpg': 'rejected',
      'dee/1.jpg': 'impostor-accept',
      'dee/2.jpg': 'rejected',
      'dee/3.jpg': 'impostor-accept',
    });
  });

  it('counts TAR over genuine probes and FAR over all probes', () => {
    const c = countOutcomes(outcomes);
    expect(c).toEqual({ genuine: 5, impostors: 3, correct: 1, wrongElder: 1, impostorAccepts: 2, rejected: 4, noFace: 1, lowQuality: 1, TAR: 1 / 5, FAR: 3 / 8 });
  });

  it('skips refused and face-less enrolment photos', () => {
    const f = new Map(faces);
    f.set('ann/2.jpg', null);
    f.set('cat/2.jpg', { descriptor: at(1), refused: 'blurred' });
    expect(enrolmentTemplates(split, f).map((t) => t.photo)).toEqual(['ann/1.jpg', 'cat/1.jpg']);
  });

  it('counts per group, a probe in every group it belongs to', () => {
    const groups = new Map([
      ['ann/3.jpg', 'east_asian_chinese'],
      ['ann/4.jpg', 'east_asian_korean'],
      ['dee/1.jpg', 'other'],
    ]);
    const by = countByGroup(outcomes, groupsOfPhoto(groups));
    expect([...by.keys()]).toEqual(['east_asian', 'east_asian_chinese', 'east_asian_korean', 'other', 'unlabelled']);
    expect(by.get('east_asian')).toMatchObject({ genuine: 2, correct: 1, wrongElder: 1, TAR: 0.5, FAR: 0.5 });
    expect(by.get('other')).toMatchObject({ impostors: 1, impostorAccepts: 1, FAR: 1 });
    expect(by.get('unlabelled')).toMatchObject({ genuine: 3, impostors: 2 });
  });

  it('re-decides from the same descriptors in a sweep', () => {
    const rows = sweep(split, faces, () => [], { thresholds: [0.3, 2], margins: [0.05], cohortRatios: [1] }, { meanTemplates: false });
    expect(rows.map((r) => [r.threshold, r.TAR, r.FAR])).toEqual([
      [0.3, 1 / 5, 3 / 8],
      // Everything in range: cat/4 (0.45 from ann, 0.5 from cat) is accepted, dee/2 (2 from cat) too.
      [2, 1 / 5, 5 / 8],
    ]);
    expect(decide(split, faces, { threshold: 0.3, margin: 0.05 }).templates).toBe(4);
  });
});

describe('pairwise', () => {
  // ann at 0 and 0.125, bob at 0.5 and 1: genuine 0.125, 0.5; impostor 0.375, 0.5, 0.875, 1.
  const items = [
    { identity: 'ann', descriptor: at(0) },
    { identity: 'ann', descriptor: at(0.125) },
    { identity: 'bob', descriptor: at(0.5) },
    { identity: 'bob', descriptor: at(1) },
  ];

  it('gives TAR at the threshold that accepts at most floor(FAR x impostor pairs) impostors', () => {
    const s = pairwise(items, [0, 0.25, 0.5]);
    expect(s.genuinePairs).toBe(2);
    expect(s.impostorPairs).toBe(4);
    expect(s.points).toEqual([
      { far: 0, threshold: 0.375, tar: 0.5 },
      // Strictly below 0.5: the genuine pair at exactly 0.5 ties the impostor and is not accepted.
      { far: 0.25, threshold: 0.5, tar: 0.5 },
      { far: 0.5, threshold: 0.875, tar: 1 },
    ]);
  });

  it('names the keys as the report does', () => {
    expect(farKey(1e-2)).toBe('TARatFAR1e2');
    expect(farKey(1e-3)).toBe('TARatFAR1e3');
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, quotes and CRLF', () => {
    expect(parseCsv('path,group,note\r\na/1.jpg,east_asian_chinese,"copied, as is"\r\nb/1.jpg,other,"say ""hi"""\n')).toEqual([
      ['path', 'group', 'note'],
      ['a/1.jpg', 'east_asian_chinese', 'copied, as is'],
      ['b/1.jpg', 'other', 'say "hi"'],
    ]);
  });
});
