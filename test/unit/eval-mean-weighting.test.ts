/**
 * The quality-weighted mean template experiment of the split study (`--mean-weighting`): the
 * weighted mean itself, the decide() hook, and that weights come from enrolment photos only.
 */
import { describe, expect, it } from 'vitest';
import { splitProtocol, type Identity } from '../../scripts/eval/dataset.ts';
import { decide } from '../../scripts/eval/eval.ts';
import type { EvalFace } from '../../scripts/eval/metrics.ts';
import { MEAN_WEIGHTINGS, meanBuilder, STUDY_USAGE, weightedMeanTemplates, type PhotoFace } from '../../scripts/eval/split-study.ts';

function at(x: number, axis = 0): Float32Array {
  const d = new Float32Array(128);
  d[axis] = x;
  return d;
}

const ids = (spec: Record<string, number>): Identity[] => Object.entries(spec).map(([name, n]) => ({ name, photos: Array.from({ length: n }, (_, i) => `${name}/${i + 1}.jpg`) }));

const t = (elderId: string, photo: string, x: number): { elderId: string; descriptor: Float32Array; photo: string } => ({ elderId, descriptor: at(x), photo });

describe('weightedMeanTemplates', () => {
  const templates = [t('ann', 'a1', 0), t('ann', 'a2', 1), t('bob', 'b1', 5), t('cat', 'c1', 2), t('cat', 'c2', 4)];

  it('gives the plain mean with equal weights, only for elders with 2 templates or more', () => {
    const out = weightedMeanTemplates(templates, () => 1);
    expect(out.map((m) => [m.elderId, m.descriptor[0], m.dropped])).toEqual([
      ['ann', 0.5, 0],
      ['cat', 3, 0],
    ]);
  });

  it('weights each template by its photo', () => {
    const w: Record<string, number> = { a1: 1, a2: 3, c1: 0.5, c2: 0.5 };
    const out = weightedMeanTemplates(templates, (p) => w[p] ?? 1);
    expect(out[0]!.descriptor[0]).toBeCloseTo(0.75, 6);
    expect(out[1]!.descriptor[0]).toBeCloseTo(3, 6);
  });

  it('leaves a template far below the elder best out of the mean', () => {
    const w: Record<string, number> = { a1: 0.4, a2: 1, c1: 0.6, c2: 1 };
    const out = weightedMeanTemplates(templates, (p) => w[p] ?? 1, 0.5);
    expect(out.map((m) => [m.elderId, m.dropped])).toEqual([
      ['ann', 1],
      ['cat', 0],
    ]);
    // ann's mean is its better photo alone; cat's 0.6 is kept (>= 0.5 x 1).
    expect(out[0]!.descriptor[0]).toBe(1);
    expect(out[1]!.descriptor[0]).toBeCloseTo((2 * 0.6 + 4 * 1) / 1.6, 6);
  });

  it('falls back to the plain mean when no weight is a positive number', () => {
    const out = weightedMeanTemplates(templates, (p) => (p.startsWith('a') ? NaN : 0));
    expect(out.map((m) => m.descriptor[0])).toEqual([0.5, 3]);
  });
});

describe('the decide() hook', () => {
  // ann and cat enrol (2 photos each); dee is the impostor.
  const split = splitProtocol(ids({ ann: 4, cat: 4, dee: 3 }));
  const faces = new Map<string, EvalFace | null>([
    ['ann/1.jpg', { descriptor: at(0) }],
    ['ann/2.jpg', { descriptor: at(0.4) }],
    ['cat/1.jpg', { descriptor: at(1) }],
    ['cat/2.jpg', { descriptor: at(1.4) }],
    ['ann/3.jpg', { descriptor: Float32Array.from(at(0.2), (v, i) => (i === 1 ? 0.2 : v)) }], // 0.2 from ann's mean, 0.28 from each photo
    ['ann/4.jpg', { descriptor: at(0.1) }],
    ['cat/3.jpg', { descriptor: at(1.2, 0) }],
    ['cat/4.jpg', { descriptor: at(3) }],
    ['dee/1.jpg', { descriptor: at(2) }],
    ['dee/2.jpg', { descriptor: at(0.2, 7) }],
    ['dee/3.jpg', null],
  ]);
  const face = (sharpness: number): PhotoFace => ({ box: { x: 0, y: 0, width: 120, height: 120 }, score: 1, landmarks: [], quality: { brightness: 128, sharpness } });
  const rule = { threshold: 0.25, margin: 0.05, cohortRatio: 1 };
  const plain = MEAN_WEIGHTINGS.find((w) => w.name === 'plain')!;

  it('with equal weights decides exactly as the Matcher own mean templates', () => {
    const raw = new Map([...faces.keys()].map((p) => [p, face(10)]));
    const own = decide(split, faces, rule);
    const rebuilt = decide(split, faces, rule, meanBuilder(plain, raw));
    expect(rebuilt).toEqual(own);
    expect(own.outcomes.find((o) => o.probe.photo === 'ann/3.jpg')?.outcome).toBe('correct');
    // Without any mean template ann/3 is 0.28 from both of ann's photos: above the threshold.
    expect(decide(split, faces, { ...rule, meanTemplates: false }).outcomes.find((o) => o.probe.photo === 'ann/3.jpg')?.outcome).toBe('rejected');
    // meanTemplates off wins over the hook.
    expect(decide(split, faces, { ...rule, meanTemplates: false }, meanBuilder(plain, raw))).toEqual(decide(split, faces, { ...rule, meanTemplates: false }));
  });

  it('reads weights from enrolment photos only', () => {
    const sharpness = MEAN_WEIGHTINGS.find((w) => w.name === 'sharpness')!;
    const enrolOnly = new Map<string, PhotoFace>([
      ['ann/1.jpg', face(4)],
      ['ann/2.jpg', face(8)],
      ['cat/1.jpg', face(8)],
      ['cat/2.jpg', face(8)],
    ]);
    // Probes with wild sharpness must not move the median the weights are normalised by.
    const withProbes = new Map([...enrolOnly, ['ann/3.jpg', face(1000)], ['dee/1.jpg', face(0.1)], ['cat/4.jpg', face(1000)]]);
    const a = decide(split, faces, rule, meanBuilder(sharpness, enrolOnly));
    const b = decide(split, faces, rule, meanBuilder(sharpness, withProbes));
    expect(b).toEqual(a);
    const templates = [t('ann', 'ann/1.jpg', 0), t('ann', 'ann/2.jpg', 0.4), t('cat', 'cat/1.jpg', 1), t('cat', 'cat/2.jpg', 1.4)];
    // Median enrolment sharpness 8: ann's weights 0.5 and 1, so its mean is (0.5 x 0 + 1 x 0.4) / 1.5.
    expect(meanBuilder(sharpness, withProbes)(templates)[0]!.descriptor[0]).toBeCloseTo(0.4 / 1.5, 6);
  });

  it('names every weighting in the usage', () => {
    for (const w of MEAN_WEIGHTINGS) expect(STUDY_USAGE).toContain(w.name);
  });
});
