import { describe, expect, it } from 'vitest';
import { FaceTracker } from '../../edge/src/recognition/tracker.ts';
import { iou } from '../../edge/src/vision/face-engine.ts';
import { descriptorAt, syntheticDescriptor } from '../helpers/fake-engine.ts';
import type { FaceBox } from '../../edge/src/vision/face-engine.ts';

const box = (x: number, y: number, size = 100): FaceBox => ({ x, y, width: size, height: size });

describe('iou', () => {
  it.each([
    { a: box(0, 0), b: box(0, 0), want: 1 },
    { a: box(0, 0), b: box(200, 0), want: 0 },
    { a: box(0, 0), b: box(100, 0), want: 0 }, // touching edges
    { a: box(0, 0), b: box(50, 0), want: 5000 / 15000 },
    { a: box(0, 0, 100), b: box(25, 25, 50), want: 2500 / 10000 },
    { a: box(0, 0, 0), b: box(0, 0, 0), want: 0 },
  ])('$a.x,$a.y,$a.width vs $b.x,$b.y,$b.width → $want', ({ a, b, want }) => {
    expect(iou(a, b)).toBeCloseTo(want, 6);
    expect(iou(b, a)).toBeCloseTo(want, 6);
  });
});

describe('FaceTracker', () => {
  it('keeps the id of a face that moved a little, and gives a new face a new id', () => {
    const t = new FaceTracker();
    const f0 = t.update(0, [box(100, 100)]);
    expect(f0.assignments).toEqual([{ index: 0, trackId: 1, isNew: true }]);
    const f1 = t.update(1, [box(110, 105)]);
    expect(f1.assignments).toEqual([{ index: 0, trackId: 1, isNew: false }]);
    const f2 = t.update(2, [box(500, 100), box(115, 108)]);
    expect(f2.assignments).toEqual([
      { index: 0, trackId: 2, isNew: true },
      { index: 1, trackId: 1, isNew: false },
    ]);
    expect(t.get(1)).toMatchObject({ firstSeq: 0, lastSeq: 2, hits: 3, box: box(115, 108) });
  });

  it('a jump too far starts a new track', () => {
    const t = new FaceTracker({ minIou: 0.3 });
    t.update(0, [box(100, 100)]);
    expect(t.update(1, [box(170, 100)]).assignments[0]).toMatchObject({ trackId: 2, isNew: true });
  });

  it('gives each track at most one box, the best overlapping one', () => {
    const t = new FaceTracker();
    t.update(0, [box(100, 100)]);
    const u = t.update(1, [box(140, 100), box(105, 100)]);
    expect(u.assignments).toEqual([
      { index: 0, trackId: 2, isNew: true },
      { index: 1, trackId: 1, isNew: false },
    ]);
  });

  it('keeps two faces walking side by side apart', () => {
    const t = new FaceTracker();
    t.update(0, [box(0, 0), box(150, 0)]);
    for (let s = 1; s <= 5; s++) {
      const u = t.update(s, [box(150 + 10 * s, 0), box(10 * s, 0)]);
      expect(u.assignments.map((a) => a.trackId)).toEqual([2, 1]);
    }
  });

  it('survives a few missed frames, and ends a track unseen for maxMissedFrames', () => {
    const t = new FaceTracker({ maxMissedFrames: 3 });
    t.update(0, [box(100, 100)]);
    expect(t.update(1, []).ended).toEqual([]);
    expect(t.update(2, []).ended).toEqual([]);
    expect(t.update(3, [box(102, 100)]).assignments[0]).toMatchObject({ trackId: 1, isNew: false });
    expect(t.update(4, []).ended).toEqual([]);
    expect(t.update(5, []).ended).toEqual([]);
    const u = t.update(6, []);
    expect(u.ended.map((x) => x.id)).toEqual([1]);
    expect(u.ended[0]).toMatchObject({ firstSeq: 0, lastSeq: 3, hits: 2 });
    expect(t.open).toEqual([]);
    // The same place again is a new elder walking up.
    expect(t.update(7, [box(100, 100)]).assignments[0]).toMatchObject({ trackId: 2, isNew: true });
  });

  it('finish() ends every open track', () => {
    const t = new FaceTracker();
    t.update(0, [box(0, 0), box(300, 0)]);
    expect(
      t
        .finish()
        .map((x) => x.id)
        .sort(),
    ).toEqual([1, 2]);
    expect(t.open).toEqual([]);
  });

  it('does not keep a reference to the caller\'s boxes', () => {
    const t = new FaceTracker();
    const b = box(0, 0);
    t.update(0, [b]);
    b.x = 999;
    expect(t.get(1)!.box.x).toBe(0);
  });
});

describe('FaceTracker with descriptors (appearance gate)', () => {
  const alice = syntheticDescriptor(1);
  const bob = syntheticDescriptor(2);

  it.each([
    { name: 'the same face moving keeps its track', next: descriptorAt(alice, 0.15, 9), sameTrack: true },
    { name: 'another person stepping into the same spot starts a new track', next: bob, sameTrack: false },
    { name: 'just over the gate starts a new track', next: descriptorAt(alice, 0.41, 9), sameTrack: false },
  ])('$name', ({ next, sameTrack }) => {
    const t = new FaceTracker();
    const first = t.update(0, [box(100, 100)], [alice]).assignments[0]!;
    const second = t.update(1, [box(105, 100)], [next]).assignments[0]!;
    expect(second.trackId === first.trackId).toBe(sameTrack);
    expect(second.isNew).toBe(!sameTrack);
  });

  it('compares against the latest descriptor of the track, not the first', () => {
    const t = new FaceTracker();
    // A slow drift (head turning) of 0.3 per frame stays one track though it ends 0.9 from where it began.
    const d1 = descriptorAt(alice, 0.3, 11);
    const d2 = descriptorAt(d1, 0.3, 12);
    const ids = [alice, d1, d2].map((d, i) => t.update(i, [box(100 + i * 5, 100)], [d]).assignments[0]!.trackId);
    expect(new Set(ids).size).toBe(1);
  });

  it('without descriptors falls back to boxes alone', () => {
    const t = new FaceTracker();
    const a = t.update(0, [box(100, 100)], [alice]).assignments[0]!;
    const b = t.update(1, [box(105, 100)]).assignments[0]!;
    expect(b.trackId).toBe(a.trackId);
  });
});
