/** The face-quality gate: pose from landmarks, brightness and sharpness of a crop, the verdicts. */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../edge/src/vision/face-engine.ts';
import { checkQuality, DEFAULT_QUALITY_OPTIONS, estimatePose, measureCrop } from '../../edge/src/recognition/quality.ts';

/**
 * 68 landmarks of a frontal face: eyes centred at (40, 50) and (80, 50), nose tip at (60 +
 * noseShift, 75), rotated by `roll` degrees about (60, 60).
 */
function landmarks(opts: { roll?: number; noseShift?: number } = {}): Point[] {
  const pts: Point[] = Array.from({ length: 68 }, () => ({ x: 60, y: 90 }));
  for (let i = 36; i <= 41; i++) pts[i] = { x: 40 + (i - 38.5), y: 50 };
  for (let i = 42; i <= 47; i++) pts[i] = { x: 80 + (i - 44.5), y: 50 };
  pts[30] = { x: 60 + (opts.noseShift ?? 0), y: 75 };
  const a = ((opts.roll ?? 0) * Math.PI) / 180;
  return pts.map((p) => ({ x: 60 + (p.x - 60) * Math.cos(a) - (p.y - 60) * Math.sin(a), y: 60 + (p.x - 60) * Math.sin(a) + (p.y - 60) * Math.cos(a) }));
}

const box = { x: 20, y: 20, width: 80, height: 90 };

describe('estimatePose', () => {
  it('reads a frontal face as yaw 0, roll 0', () => {
    const p = estimatePose(landmarks())!;
    expect(p.yaw).toBeCloseTo(0, 6);
    expect(p.roll).toBeCloseTo(0, 6);
  });

  it('reads roll in degrees and yaw as nose offset over eye distance, whatever the roll', () => {
    const p = estimatePose(landmarks({ roll: 20, noseShift: 10 }))!;
    expect(p.roll).toBeCloseTo(20, 6);
    expect(p.yaw).toBeCloseTo(0.25, 6);
    expect(estimatePose(landmarks({ noseShift: -20 }))!.yaw).toBeCloseTo(-0.5, 6);
  });

  it('gives nothing for landmarks that are not the 68-point layout', () => {
    expect(estimatePose([])).toBeUndefined();
  });
});

describe('checkQuality', () => {
  const good = { box, landmarks: landmarks(), quality: { brightness: 120, sharpness: 10 } };
  it.each([
    ['a good face', good, undefined],
    ['a small face', { ...good, box: { ...box, width: 30 } }, 'too-small'],
    ['a face turned away', { ...good, landmarks: landmarks({ noseShift: 30 }) }, 'turned'],
    ['a tilted head', { ...good, landmarks: landmarks({ roll: 70 }) }, 'tilted'],
    ['a dark face', { ...good, quality: { brightness: 10, sharpness: 10 } }, 'too-dark'],
    ['a washed-out face', { ...good, quality: { brightness: 250, sharpness: 10 } }, 'too-bright'],
    ['no measurements (an engine without them)', { box, landmarks: [] }, undefined],
  ])('%s', (_name, face, reason) => {
    const v = checkQuality(face);
    if (reason === undefined) expect(v).toEqual({ ok: true });
    else expect(v).toMatchObject({ ok: false, reason });
  });

  it('refuses a blurred face only when a sharpness floor is set', () => {
    const blurred = { ...good, quality: { brightness: 120, sharpness: 1 } };
    expect(checkQuality(blurred).ok).toBe(true);
    expect(checkQuality(blurred, { minSharpness: 2 })).toMatchObject({ ok: false, reason: 'blurred' });
  });

  it('uses the defaults for options given as undefined', () => {
    expect(checkQuality({ ...good, box: { ...box, width: 30 } }, { minFaceSize: undefined })).toMatchObject({ reason: 'too-small' });
    expect(DEFAULT_QUALITY_OPTIONS.minFaceSize).toBe(40);
  });
});

describe('measureCrop', () => {
  it('gives the luma of a flat crop and no sharpness', () => {
    const rgb = new Uint8Array(10 * 10 * 3).fill(100);
    expect(measureCrop(rgb, 10, 10)).toEqual({ brightness: expect.closeTo(100, 4) as number, sharpness: 0 });
  });

  it('finds a checkerboard sharp', () => {
    const rgb = new Uint8Array(10 * 10 * 3);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) rgb.fill((x + y) % 2 ? 200 : 0, (y * 10 + x) * 3, (y * 10 + x) * 3 + 3);
    const m = measureCrop(rgb, 10, 10);
    expect(m.brightness).toBeCloseTo(100, 3);
    // Every inner pixel differs by 200 from its 4 neighbours: |4 × ±200| = 800.
    expect(m.sharpness).toBeCloseTo(800, 3);
  });
});
