/**
 * 5-point face alignment for ArcFace-style embedding models: the eye centres, the nose tip and
 * the mouth corners (from face-api's 68 landmarks) are mapped by the least-squares similarity
 * transform (rotation, uniform scale, shift; no reflection) onto the standard 112x112 ArcFace
 * template, and the face is resampled bilinearly into that square. Pure functions on RGB
 * buffers, run in the model worker once per face.
 */
import type { AlignedFace, Point } from './face-engine.ts';
import { ALIGNED_TEMPLATE } from './face-engine.ts';
import type { RgbImage } from './image.ts';

/** The ArcFace (insightface) reference points for a 112x112 crop: eyes, nose tip, mouth corners. */
export const ARCFACE_112: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

export const ALIGNED_SIZE = 112;

function mean(points: readonly Point[], from: number, to: number): Point {
  let x = 0;
  let y = 0;
  for (let i = from; i <= to; i++) {
    x += points[i]!.x;
    y += points[i]!.y;
  }
  const n = to - from + 1;
  return { x: x / n, y: y / n };
}

/**
 * The five points of the ArcFace template from 68 landmarks (iBUG order): left eye centre
 * (mean of 36-41), right eye centre (42-47), nose tip (30), mouth corners (48, 54). "Left" is
 * the image's left, as in the template.
 */
export function fivePoints(landmarks: readonly Point[]): Point[] {
  if (landmarks.length !== 68) throw new RangeError(`5-point alignment needs the 68 landmarks, got ${landmarks.length}`);
  return [mean(landmarks, 36, 41), mean(landmarks, 42, 47), landmarks[30]!, landmarks[48]!, landmarks[54]!];
}

/**
 * A similarity transform `dst = [a -b; b a] src + [tx ty]`: the closed-form least-squares fit
 * of `src` onto `dst` (Umeyama's method restricted to 2-D, which never reflects).
 */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function fitSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) throw new RangeError('a similarity fit needs two lists of at least 2 matching points');
  const n = src.length;
  const ms = mean(src, 0, n - 1);
  const md = mean(dst, 0, n - 1);
  let sxx = 0; // Σ |s|²
  let dot = 0; // Σ s·d
  let cross = 0; // Σ s×d
  for (let i = 0; i < n; i++) {
    const sx = src[i]!.x - ms.x;
    const sy = src[i]!.y - ms.y;
    const dx = dst[i]!.x - md.x;
    const dy = dst[i]!.y - md.y;
    sxx += sx * sx + sy * sy;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
  }
  if (!(sxx > 0)) throw new RangeError('the face points coincide: cannot align');
  const a = dot / sxx;
  const b = cross / sxx;
  return { a, b, tx: md.x - (a * ms.x - b * ms.y), ty: md.y - (b * ms.x + a * ms.y) };
}

/**
 * The face in `img` warped onto the ArcFace template (`size` x `size`, the template scaled
 * from 112). Each output pixel is sampled bilinearly at the inverse-transformed position;
 * outside the image is black (the detector's padding colour).
 */
export function alignFace(img: RgbImage, landmarks: readonly Point[], size = ALIGNED_SIZE): AlignedFace {
  const k = size / ALIGNED_SIZE;
  const dst = ARCFACE_112.map((p) => ({ x: p.x * k, y: p.y * k }));
  const t = fitSimilarity(fivePoints(landmarks), dst);
  // Inverse of [a -b; b a]: [a b; -b a] / (a² + b²).
  const det = t.a * t.a + t.b * t.b;
  const ia = t.a / det;
  const ib = t.b / det;
  const out = new Uint8Array(size * size * 3);
  const { data, width: w, height: h } = img;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      // Pixel centres: output (u + 0.5, v + 0.5) ↔ source (x + 0.5, y + 0.5).
      const px = u + 0.5 - t.tx;
      const py = v + 0.5 - t.ty;
      const x = ia * px + ib * py - 0.5;
      const y = -ib * px + ia * py - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const o = (v * size + u) * 3;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let j = 0; j < 2; j++) {
          const yy = y0 + j;
          if (yy < 0 || yy >= h) continue;
          const wy = j === 0 ? 1 - fy : fy;
          for (let i = 0; i < 2; i++) {
            const xx = x0 + i;
            if (xx < 0 || xx >= w) continue;
            acc += (i === 0 ? 1 - fx : fx) * wy * data[(yy * w + xx) * 3 + c]!;
          }
        }
        out[o + c] = Math.round(acc);
      }
    }
  }
  return { alignment: ALIGNED_TEMPLATE, width: size, height: size, data: out };
}
