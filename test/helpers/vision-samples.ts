/**
 * Real photos for face engine tests: the group photos shipped in @vladmandic/face-api's demo
 * folder (3-5 faces each, 1920 px wide), and probes cut and altered from them with sharp.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { DetectedFace, FaceBox } from '../../edge/src/vision/face-engine.ts';
import { euclideanDistance } from '../../edge/src/recognition/matcher.ts';

export { euclideanDistance as distance };

const require = createRequire(import.meta.url);
const demoDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');

/** Faces in each sample, counted by eye: sample1..sample6. */
export const SAMPLE_FACES = [3, 3, 3, 4, 5, 4] as const;

export function sampleBytes(n: number): Buffer {
  return readFileSync(join(demoDir, `sample${n}.jpg`));
}

export interface CropOptions {
  /** Context around the box, as a fraction of its width/height per side (default 0.5). */
  margin?: number;
  /** Moves the crop window by this fraction of the box width/height. */
  shiftX?: number;
  shiftY?: number;
}

/** A JPEG (quality 92) of the region around `box`, clipped to the photo. */
export async function cropAround(photo: Buffer, box: FaceBox, opts: CropOptions = {}): Promise<Buffer> {
  const margin = opts.margin ?? 0.5;
  const img = sharp(photo).rotate();
  const { width = 0, height = 0 } = await sharp(await img.clone().toBuffer()).metadata();
  const x0 = Math.max(0, Math.round(box.x - box.width * margin + box.width * (opts.shiftX ?? 0)));
  const y0 = Math.max(0, Math.round(box.y - box.height * margin + box.height * (opts.shiftY ?? 0)));
  const x1 = Math.min(width, Math.round(box.x + box.width * (1 + margin) + box.width * (opts.shiftX ?? 0)));
  const y1 = Math.min(height, Math.round(box.y + box.height * (1 + margin) + box.height * (opts.shiftY ?? 0)));
  return img.extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 }).jpeg({ quality: 92 }).toBuffer();
}

export async function scaled(jpeg: Buffer, factor: number): Promise<Buffer> {
  const { width = 0 } = await sharp(jpeg).metadata();
  return sharp(jpeg).resize(Math.round(width * factor)).jpeg({ quality: 92 }).toBuffer();
}

export async function brightness(jpeg: Buffer, factor: number): Promise<Buffer> {
  return sharp(jpeg).modulate({ brightness: factor }).jpeg({ quality: 92 }).toBuffer();
}

export async function recompressed(jpeg: Buffer, quality: number): Promise<Buffer> {
  return sharp(jpeg).jpeg({ quality }).toBuffer();
}

export function largest(faces: DetectedFace[]): DetectedFace {
  const f = faces[0];
  if (!f) throw new Error('no face found');
  return f;
}

/**
 * An identity folder for the eval tool (faces-dev layout): `dir/name/{1,2,3}.jpg`, the face in
 * `box` cropped with context, then scaled, then darkened and recompressed.
 */
export async function writeEvalIdentity(dir: string, name: string, photo: Buffer, box: FaceBox): Promise<void> {
  const id = join(dir, name);
  mkdirSync(id);
  const crop = await cropAround(photo, box, { margin: 0.6 });
  writeFileSync(join(id, '1.jpg'), crop);
  writeFileSync(join(id, '2.jpg'), await scaled(crop, 0.8));
  writeFileSync(join(id, '3.jpg'), await recompressed(await brightness(crop, 0.8), 70));
}
