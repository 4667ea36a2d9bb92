/** Pure helpers of the benchmark, kept apart so tests can import them without running it. */
import { iou } from '../../edge/src/vision/face-engine.ts';
import type { FaceBox } from '../../edge/src/vision/face-engine.ts';

/** Nearest-rank percentile (p in 0..100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** Faces of `a` paired with the face of `b` over them (best IoU, at least 0.4), each used once. */
export function pairFaces<A extends { box: FaceBox }, B extends { box: FaceBox }>(a: readonly A[], b: readonly B[]): Array<[A, B]> {
  const out: Array<[A, B]> = [];
  const used = new Set<number>();
  for (const fa of a) {
    let best = -1;
    let bestIou = 0.4;
    b.forEach((fb, j) => {
      const v = iou(fa.box, fb.box);
      if (!used.has(j) && v >= bestIou) {
        best = j;
        bestIou = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      out.push([fa, b[best]!]);
    }
  }
  return out;
}

