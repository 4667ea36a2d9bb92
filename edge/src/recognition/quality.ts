/**
 * Face-quality gate before matching: a face too small, turned too far, too dark, too bright or
 * too blurred gives a descriptor the threshold was not calibrated for, so it is not matched
 * (the door waits for a better frame; enrolment asks for a better photo). Pure: the engine
 * supplies the measurements (box, landmarks, and optionally brightness and sharpness).
 */
import type { DetectedFace, Point } from '../vision/face-engine.ts';
import { withDefaults } from './defaults.ts';

export interface QualityOptions {
  /** Shorter box side below this (px) is too small. */
  minFaceSize: number;
  /**
   * Largest |yaw| proxy: how far the nose tip sits from the eyes' midpoint, over the distance
   * between the eyes (0 frontal, about 0.5 at 45°).
   */
  maxYaw: number;
  /** Largest head roll (degrees) from the line between the eyes. */
  maxRoll: number;
  /** Mean luma (0-255) of the aligned face below this is too dark, above `maxBrightness` too bright. */
  minBrightness: number;
  maxBrightness: number;
  /** Sharpness (mean absolute Laplacian of the aligned face's luma) below this is blurred. */
  minSharpness: number;
}

export const DEFAULT_QUALITY_OPTIONS: Readonly<QualityOptions> = {
  minFaceSize: 40,
  maxYaw: 0.6,
  maxRoll: 60,
  minBrightness: 25,
  maxBrightness: 235,
  minSharpness: 0,
};

export type QualityReason = 'too-small' | 'turned' | 'tilted' | 'too-dark' | 'too-bright' | 'blurred';

export type QualityVerdict = { ok: true } | { ok: false; reason: QualityReason; detail: string };

export interface Pose {
  /** Signed yaw proxy (see QualityOptions.maxYaw). */
  yaw: number;
  /** Roll in degrees. */
  roll: number;
}

function mean(points: readonly Point[], from: number, to: number): Point | undefined {
  let x = 0;
  let y = 0;
  let n = 0;
  for (let i = from; i <= to; i++) {
    const p = points[i];
    if (!p) return undefined;
    x += p.x;
    y += p.y;
    n++;
  }
  return n ? { x: x / n, y: y / n } : undefined;
}

/**
 * Yaw and roll from the 68 landmarks (iBUG layout: eyes 36-41 and 42-47, nose tip 30). Yaw is
 * the nose tip's offset from the eyes' midpoint along the eye line, over the eye distance.
 * Undefined when the landmarks are not the 68-point layout.
 */
export function estimatePose(landmarks: readonly Point[]): Pose | undefined {
  if (landmarks.length < 68) return undefined;
  const l = mean(landmarks, 36, 41);
  const r = mean(landmarks, 42, 47);
  const nose = landmarks[30];
  if (!l || !r || !nose) return undefined;
  const ex = r.x - l.x;
  const ey = r.y - l.y;
  const eyeDist = Math.hypot(ex, ey);
  if (eyeDist === 0) return undefined;
  const mx = (l.x + r.x) / 2;
  const my = (l.y + r.y) / 2;
  const along = ((nose.x - mx) * ex + (nose.y - my) * ey) / eyeDist;
  return { yaw: along / eyeDist, roll: (Math.atan2(ey, ex) * 180) / Math.PI };
}

/** The gate. Measurements the engine did not supply are not checked. */
export function checkQuality(face: Pick<DetectedFace, 'box' | 'landmarks' | 'quality'>, options: Partial<QualityOptions> = {}): QualityVerdict {
  const o = withDefaults(DEFAULT_QUALITY_OPTIONS, options);
  const size = Math.min(face.box.width, face.box.height);
  if (size < o.minFaceSize) return { ok: false, reason: 'too-small', detail: `face ${Math.round(size)} px, at least ${o.minFaceSize} px` };
  const pose = estimatePose(face.landmarks);
  if (pose) {
    if (Math.abs(pose.yaw) > o.maxYaw) return { ok: false, reason: 'turned', detail: `head turned (yaw ${pose.yaw.toFixed(2)}, at most ${o.maxYaw})` };
    if (Math.abs(pose.roll) > o.maxRoll) return { ok: false, reason: 'tilted', detail: `head tilted ${Math.round(pose.roll)}°, at most ${o.maxRoll}°` };
  }
  const q = face.quality;
  if (q) {
    if (q.brightness < o.minBrightness) return { ok: false, reason: 'too-dark', detail: `face too dark (${Math.round(q.brightness)}, at least ${o.minBrightness})` };
    if (q.brightness > o.maxBrightness) return { ok: false, reason: 'too-bright', detail: `face too bright (${Math.round(q.brightness)}, at most ${o.maxBrightness})` };
    if (q.sharpness < o.minSharpness) return { ok: false, reason: 'blurred', detail: `face blurred (sharpness ${q.sharpness.toFixed(1)}, at least ${o.minSharpness})` };
  }
  return { ok: true };
}

/**
 * Brightness and sharpness of a face crop (RGB, row-major, 3 values per pixel): mean luma, and
 * mean absolute 4-neighbour Laplacian of the luma over the inner pixels. Used by the engine's
 * worker on the aligned face; here so it is tested without the models.
 */
export function measureCrop(rgb: ArrayLike<number>, width: number, height: number): { brightness: number; sharpness: number } {
  const luma = new Float32Array(width * height);
  let sum = 0;
  for (let i = 0, p = 0; i < luma.length; i++, p += 3) {
    const v = 0.299 * rgb[p]! + 0.587 * rgb[p + 1]! + 0.114 * rgb[p + 2]!;
    luma[i] = v;
    sum += v;
  }
  let lap = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      lap += Math.abs(4 * luma[i]! - luma[i - 1]! - luma[i + 1]! - luma[i - width]! - luma[i + width]!);
      n++;
    }
  }
  return { brightness: luma.length ? sum / luma.length : 0, sharpness: n ? lap / n : 0 };
}
