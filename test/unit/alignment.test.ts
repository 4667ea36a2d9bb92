import { describe, expect, it } from 'vitest';
import { alignFace, ARCFACE_112, fitSimilarity, fivePoints } from '../../edge/src/vision/alignment.ts';
import type { Point } from '../../edge/src/vision/face-engine.ts';

/** 68 landmarks whose five alignment points are `five` (eyes as 6 equal points each). */
function landmarksFor(five: readonly Point[]): Point[] {
  const l: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  for (let i = 36; i <= 41; i++) l[i] = five[0]!;
  for (let i = 42; i <= 47; i++) l[i] = five[1]!;
  l[30] = five[2]!;
  l[48] = five[3]!;
  l[54] = five[4]!;
  return l;
}

/** `p` rotated by `angle` about the origin, scaled by `s`, shifted. */
function move(p: Point, angle: number, s: number, dx: number, dy: number): Point {
  return { x: s * (Math.cos(angle) * p.x - Math.sin(angle) * p.y) + dx, y: s * (Math.sin(angle) * p.x + Math.cos(angle) * p.y) + dy };
}

describe('5-point alignment', () => {
  it('takes the eye centres as the means of their six landmarks, then nose tip and mouth corners', () => {
    const l = Array.from({ length: 68 }, (_, i) => ({ x: i, y: 2 * i }));
    expect(fivePoints(l)).toEqual([
      { x: 38.5, y: 77 },
      { x: 44.5, y: 89 },
      { x: 30, y: 60 },
      { x: 48, y: 96 },
      { x: 54, y: 108 },
    ]);
    expect(() => fivePoints(l.slice(0, 5))).toThrow(/68 landmarks/);
  });

  it('recovers a known rotation, scale and shift exactly', () => {
    const src = ARCFACE_112.map((p) => move(p, 0.3, 2.5, 140, -20));
    const t = fitSimilarity(src, ARCFACE_112);
    for (let i = 0; i < 5; i++) {
      const s = src[i]!;
      expect(t.a * s.x - t.b * s.y + t.tx).toBeCloseTo(ARCFACE_112[i]!.x, 6);
      expect(t.b * s.x + t.a * s.y + t.ty).toBeCloseTo(ARCFACE_112[i]!.y, 6);
    }
    // Scale 1/2.5, angle -0.3.
    expect(Math.hypot(t.a, t.b)).toBeCloseTo(0.4, 6);
    expect(Math.atan2(t.b, t.a)).toBeCloseTo(-0.3, 6);
  });

  it('never reflects: mirrored points give a rotation, not a flip', () => {
    const mirrored = ARCFACE_112.map((p) => ({ x: 112 - p.x, y: p.y }));
    const t = fitSimilarity(mirrored, ARCFACE_112);
    // A reflection would map them back exactly; the best rotation leaves the eyes swapped-ish, pixels off.
    const worst = Math.max(...mirrored.map((s, i) => Math.hypot(t.a * s.x - t.b * s.y + t.tx - ARCFACE_112[i]!.x, t.b * s.x + t.a * s.y + t.ty - ARCFACE_112[i]!.y)));
    expect(worst).toBeGreaterThan(5);
    expect(() => fitSimilarity([ARCFACE_112[0]!, ARCFACE_112[0]!], [ARCFACE_112[0]!, ARCFACE_112[1]!])).toThrow(/coincide/);
  });

  it('warps the face so its five points land on the template', () => {
    // A 400x300 image, black, with a white 3x3 dot at each of five points of a tilted, enlarged face.
    const w = 400;
    const h = 300;
    const five = ARCFACE_112.map((p) => move(p, -0.25, 2, 150, 60));
    const data = new Uint8Array(w * h * 3);
    for (const p of five) {
      for (let y = Math.round(p.y) - 1; y <= Math.round(p.y) + 1; y++) for (let x = Math.round(p.x) - 1; x <= Math.round(p.x) + 1; x++) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
    const aligned = alignFace({ data, width: w, height: h }, landmarksFor(five));
    expect(aligned).toMatchObject({ alignment: 'arcface-112', width: 112, height: 112 });
    expect(aligned.data.length).toBe(112 * 112 * 3);
    const at = (x: number, y: number) => aligned.data[(Math.round(y) * 112 + Math.round(x)) * 3]!;
    for (const p of ARCFACE_112) expect(at(p.x - 0.5, p.y - 0.5)).toBeGreaterThan(100);
    // Away from the dots the crop stays black, and outside the image is black.
    expect(at(10, 10)).toBe(0);
    expect(at(56, 30)).toBe(0);
  });
});
