/**
 * The real face engine on real photos: face-api models in a worker thread on the backend this
 * machine has. One engine for the file (start-up and warm-up take seconds on wasm).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import { iou, ImageError, ModelError, type DetectedFace } from '../../edge/src/vision/face-engine.ts';
import { decisionDefaults, DEFAULT_MODELS_DIR, DEFAULT_RECOGNIZER } from '../../edge/src/vision/models.ts';
import { brightness, cropAround, distance, largest, recompressed, sampleBytes, SAMPLE_FACES, scaled } from '../helpers/vision-samples.ts';

const RUN = fileURLToPath(new URL('../../scripts/run.js', import.meta.url));
const CHILD = fileURLToPath(new URL('../helpers/decode-memory-child.ts', import.meta.url));
const quiet = pino({ level: 'silent' });
// This file tests face-api's 128-d net (thresholds on its distance scale); the ONNX recognizer
// has its own file (onnx-recognizer.test.ts).
const engine = new FaceApiEngine({ logger: quiet, recognizer: 'face-api' });
/** Faces found in sample1..6, by sample number. */
const group = new Map<number, DetectedFace[]>();

/** tfjs-node with its native binding (its install script fetched libtensorflow); a package without one falls back to wasm. */
function hasTfjsNode(): boolean {
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json'));
    const lib = join(dir, 'lib');
    return existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

async function imageErrorOf(bytes: Uint8Array): Promise<ImageError> {
  const err: unknown = await engine.detect({ kind: 'encoded', bytes }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  return err as ImageError;
}

beforeAll(async () => {
  await engine.start();
  for (let n = 1; n <= SAMPLE_FACES.length; n++) group.set(n, await engine.detect({ kind: 'encoded', bytes: sampleBytes(n) }));
});

afterAll(async () => {
  await engine.stop();
});

describe('face engine (face-api in a worker)', () => {
  it('runs on the native backend when tfjs-node is installed, else wasm, and says so', () => {
    expect(engine.info().backend).toBe(hasTfjsNode() ? 'tensorflow' : 'wasm');
    expect(engine.info().detector).toBe('ssdMobilenetv1');
  });

  it('finds every face in each sample photo, largest first, in image coordinates', async () => {
    for (const [n, faces] of group) {
      expect(faces.length, `sample${n}`).toBe(SAMPLE_FACES[n - 1]);
      const { width = 0, height = 0 } = await sharp(sampleBytes(n)).metadata();
      const areas = faces.map((f) => f.box.width * f.box.height);
      expect(areas).toEqual([...areas].sort((a, b) => b - a));
      for (const f of faces) {
        expect(f.score).toBeGreaterThan(0.5);
        expect(f.box.x).toBeGreaterThanOrEqual(0);
        expect(f.box.x + f.box.width).toBeLessThanOrEqual(width);
        expect(f.box.y + f.box.height).toBeLessThanOrEqual(height);
        expect(f.box.width).toBeGreaterThan(100); // faces in these photos are 150-300 px
        expect(f.landmarks).toHaveLength(68);
        expect(f.descriptor).toBeInstanceOf(Float32Array);
        expect(f.descriptor).toHaveLength(128);
        // Landmarks lie on the face: the nose tip is in the box, give or take a margin for
        // the profile face in sample2.
        const nose = f.landmarks[30]!;
        expect(nose.x).toBeGreaterThan(f.box.x - f.box.width * 0.25);
        expect(nose.x).toBeLessThan(f.box.x + f.box.width * 1.25);
        expect(nose.y).toBeGreaterThan(f.box.y);
        expect(nose.y).toBeLessThan(f.box.y + f.box.height);
      }
    }
  });

  it('keeps different people apart', () => {
    const all = [...group.values()].flat();
    const d: number[] = [];
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) d.push(distance(all[i]!.descriptor, all[j]!.descriptor));
    d.sort((a, b) => a - b);
    console.log(`different people: ${d.length} pairs, min ${d[0]!.toFixed(3)}, median ${d[d.length >> 1]!.toFixed(3)}`);
    // Seen: min 0.457 (two smiling blonde women, heads tilted), median ~0.71.
    expect(d[0]).toBeGreaterThan(0.42);
    expect(d[d.length >> 1]).toBeGreaterThan(0.6);
  });

  it('gives nearly the same descriptor for the same face cut out, moved, scaled, lit and compressed differently', async () => {
    const all = [...group.entries()].flatMap(([n, faces]) => faces.map((f, k) => ({ id: `${n}.${k}`, f })));
    const seen: string[] = [];
    for (const [n, k] of [
      [1, 0],
      [3, 0],
      [6, 1],
    ] as const) {
      const source = group.get(n)![k]!;
      const photo = sampleBytes(n);
      const crop = await cropAround(photo, source.box);
      const base = largest(await engine.detect({ kind: 'encoded', bytes: crop })).descriptor;
      const variants: Record<string, Buffer> = {
        shifted: await cropAround(photo, source.box, { shiftX: 0.2, shiftY: -0.15 }),
        'scaled 0.6x': await scaled(crop, 0.6),
        brighter: await brightness(crop, 1.4),
        darker: await brightness(crop, 0.6),
        'jpeg q40': await recompressed(crop, 40),
      };
      const row = [`in group ${distance(base, source.descriptor).toFixed(3)}`];
      for (const [name, bytes] of Object.entries(variants)) {
        const probe = largest(await engine.detect({ kind: 'encoded', bytes })).descriptor;
        const d = distance(base, probe);
        row.push(`${name} ${d.toFixed(3)}`);
        expect(d, `${n}.${k} ${name}`).toBeLessThan(0.4);
        // 1:N: the nearest of all faces in the samples is the one the probe was cut from.
        const nearest = all.reduce((best, c) => (distance(probe, c.f.descriptor) < distance(probe, best.f.descriptor) ? c : best));
        expect(nearest.id, `${n}.${k} ${name}`).toBe(`${n}.${k}`);
      }
      seen.push(`${n}.${k}: ${row.join(', ')}`);
    }
    console.log(`same face:\n  ${seen.join('\n  ')}`);
  });

  it('finds faces in tight, ID-photo style crops by padding them', async () => {
    const seen: string[] = [];
    for (const [n, k] of [
      [3, 0],
      [4, 0],
      [5, 3],
    ] as const) {
      const source = group.get(n)![k]!;
      const b = source.box;
      // The detector's own box, cut 10% tighter: the face fills the picture.
      const tight = await cropAround(sampleBytes(n), { x: b.x + b.width * 0.05, y: b.y + b.height * 0.05, width: b.width * 0.9, height: b.height * 0.9 }, { margin: 0 });
      const { width = 0, height = 0 } = await sharp(tight).metadata();
      const r = await engine.detectWithStats({ kind: 'encoded', bytes: tight });
      expect(r.faces.length, `${n}.${k}`).toBe(1);
      expect(r.padded).toBe(true);
      const f = r.faces[0]!;
      expect(f.box.x).toBeGreaterThanOrEqual(0);
      expect(f.box.y).toBeGreaterThanOrEqual(0);
      expect(f.box.x + f.box.width).toBeLessThanOrEqual(width);
      expect(f.box.y + f.box.height).toBeLessThanOrEqual(height);
      const d = distance(f.descriptor, source.descriptor);
      seen.push(`${n}.${k} ${d.toFixed(3)}`);
      expect(d).toBeLessThan(0.4);
    }
    console.log(`tight crops vs the group photo: ${seen.join(', ')}`);
  });

  it('shrinks huge photos while decoding: faces in the photo\'s coordinates, peak memory bounded', async () => {
    // ~155 KB files of 6300 px (~40 MP, under the pixel limit): a tight face crop blown up,
    // found only by the padded retry, and a bare wall, on which every pass runs. Decoded at
    // full size and padded, they took 2.1-2.6 GB; a Pi has 1-4 GB.
    const source = group.get(3)![0]!;
    const b = source.box;
    const tight = await cropAround(sampleBytes(3), { x: b.x + b.width * 0.05, y: b.y + b.height * 0.05, width: b.width * 0.9, height: b.height * 0.9 }, { margin: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'mealcheck-huge-'));
    try {
      const face = join(dir, 'face.jpg');
      const wall = join(dir, 'wall.jpg');
      writeFileSync(face, await sharp(tight).resize(6300, 6300, { fit: 'inside' }).jpeg({ quality: 30, mozjpeg: true }).toBuffer());
      writeFileSync(wall, await sharp({ create: { width: 6300, height: 6300, channels: 3, background: { r: 200, g: 190, b: 170 } } }).jpeg({ mozjpeg: true }).toBuffer());
      const group3 = join(dir, 'group.jpg');
      writeFileSync(group3, sampleBytes(3));
      // Its own process, so its peak memory is its own: the engine as `mealcheck enrol` runs it
      // (the default recognizer); the group photo gives the same face at its own size to compare.
      const out = execFileSync(process.execPath, [RUN, CHILD, face, wall, group3], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as { photos: { faces: { box: DetectedFace['box']; descriptor: number[] }[] }[]; maxRssMb: number; model: string };
      console.log(`huge photos: peak RSS ${r.maxRssMb} MB`);
      // The models take ~320 MB on wasm and these progressive JPEGs' decoder ~140 MB on top when
      // the engine decodes them itself, ~470 MB in all (README, "Memory on large photos";
      // `mealcheck enrol` decodes them before the models load, frames refuse them). Decoding at
      // full size added 1.6-2.1 GB.
      expect(r.maxRssMb).toBeLessThan(600);
      const [onFace, onWall, onGroup] = r.photos;
      expect(onFace!.faces).toHaveLength(1);
      const f = onFace!.faces[0]!;
      // In the 6300 px photo's coordinates, not the decoded copy's.
      expect(f.box.width).toBeGreaterThan(4000);
      expect(f.box.x + f.box.width).toBeLessThanOrEqual(6300);
      expect(f.box.y + f.box.height).toBeLessThanOrEqual(6300);
      // Still the same person at the door's accept distance (a 150 px crop blown up 40x is blurred).
      const inGroup = onGroup!.faces.reduce((a, g) => (iou(g.box, b) > iou(a.box, b) ? g : a));
      expect(iou(inGroup.box, b)).toBeGreaterThan(0.7);
      const d = distance(Float32Array.from(f.descriptor), Float32Array.from(inGroup.descriptor));
      console.log(`huge photos: descriptor ${d.toFixed(3)} from the group photo's (${r.model})`);
      expect(r.model).toBe(DEFAULT_RECOGNIZER);
      expect(d).toBeLessThan(decisionDefaults(r.model).threshold);
      expect(onWall!.faces).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds landmarks and descriptor of a face larger than the nets need on a shrunk crop, in place', async () => {
    // The same face at ~1500 px (its crops shrunk to MAX_FACE_CROP_SIDE before they become
    // tensors) and at its own size (crops as they are): landmarks where they were, scaled.
    const face = largest(group.get(3)!);
    const crop = await cropAround(sampleBytes(3), face.box, { margin: 0.3 });
    const k = 1500 / face.box.width;
    const [small] = await engine.detect({ kind: 'encoded', bytes: crop });
    const [big] = await engine.detect({ kind: 'encoded', bytes: await scaled(crop, k) });
    expect(small && big).toBeTruthy();
    expect(big!.box.width).toBeGreaterThan(1000);
    const err = big!.landmarks.reduce((sum, p, i) => sum + Math.hypot(p.x / k - small!.landmarks[i]!.x, p.y / k - small!.landmarks[i]!.y), 0) / big!.landmarks.length;
    console.log(`shrunk face crop: landmarks ${((100 * err) / small!.box.width).toFixed(1)}% of the face apart, descriptor ${distance(big!.descriptor, small!.descriptor).toFixed(3)}`);
    expect(err).toBeLessThan(0.03 * small!.box.width);
    expect(distance(big!.descriptor, small!.descriptor)).toBeLessThan(0.2);
  });

  it('accepts raw RGB frames', async () => {
    const { data, info } = await sharp(sampleBytes(1)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const faces = await engine.detect({ kind: 'rgb', data, width: info.width, height: info.height });
    expect(faces).toHaveLength(SAMPLE_FACES[0]);
    expect(distance(faces[0]!.descriptor, group.get(1)![0]!.descriptor)).toBeLessThan(0.05);
    // The caller's buffer is copied, not transferred away.
    expect(data.length).toBe(info.width * info.height * 3);
  });

  it('rejects bad images with ImageError codes and keeps working', async () => {
    const jpeg = sampleBytes(2);
    const small = await sharp(jpeg).resize(64).toBuffer();
    expect((await imageErrorOf(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).code).toBe('corrupt');
    const gif = await imageErrorOf(await sharp(small).gif().toBuffer());
    expect(gif.code).toBe('unsupported-format');
    expect(gif.message).toMatch(/GIF/);
    const webp = await imageErrorOf(await sharp(small).webp().toBuffer());
    expect(webp.code).toBe('unsupported-format');
    expect(webp.message).toMatch(/WEBP/);
    const noise = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    expect((await imageErrorOf(noise)).code).toBe('unsupported-format');
    expect((await imageErrorOf(new Uint8Array(0))).code).toBe('empty');
    // 42 MP of one colour: a 137 kB PNG, over the 40 MP default limit, refused from its header.
    const huge = await sharp({ create: { width: 7000, height: 6000, channels: 3, background: '#808080' } }).png().toBuffer();
    expect((await imageErrorOf(huge)).code).toBe('too-large');
    const badRaw: unknown = await engine.detect({ kind: 'rgb', data: new Uint8Array(10), width: 4, height: 4 }).catch((e: unknown) => e);
    expect(badRaw).toBeInstanceOf(ImageError);
    expect((badRaw as ImageError).code).toBe('corrupt');

    expect(await engine.detect({ kind: 'encoded', bytes: jpeg })).toHaveLength(SAMPLE_FACES[1]);
  });

  it('leaves the event loop free while a detection runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const ticksAtStart = ticks;
    const faces = await engine.detect({ kind: 'encoded', bytes: sampleBytes(6) });
    clearInterval(timer);
    expect(faces).toHaveLength(SAMPLE_FACES[5]);
    // On the main thread a detection would block the timer completely: 0 ticks.
    expect(ticks - ticksAtStart).toBeGreaterThanOrEqual(5);
  });

  it('rejects pending calls when the worker dies, and can be started again', async () => {
    const pending = engine.detect({ kind: 'encoded', bytes: sampleBytes(5) });
    // Simulates a crash (e.g. out of memory in the worker), not a stop().
    await (engine as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(pending).rejects.toThrow(/worker exited unexpectedly/);
    await expect(engine.detect({ kind: 'encoded', bytes: sampleBytes(5) })).rejects.toThrow(/not started/);
    await engine.start();
    expect(await engine.detect({ kind: 'encoded', bytes: sampleBytes(5) })).toHaveLength(SAMPLE_FACES[4]);
  });
});

describe('face engine model checks', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-models-'));
    for (const f of readdirSync(DEFAULT_MODELS_DIR)) copyFileSync(join(DEFAULT_MODELS_DIR, f), join(dir, f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['face-api', 'face_recognition_model.bin'],
    ['fr-feature', 'fr_feature.onnx'],
  ])('refuses to start on a corrupt model file, naming it (%s recognizer)', async (recognizer, file) => {
    const good = join(dir, `${file}.good`);
    copyFileSync(join(dir, file), good);
    // Same size, one byte changed: only the hash can tell.
    const bytes = readFileSync(good);
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(join(dir, file), bytes);
    const e = new FaceApiEngine({ modelsDir: dir, logger: quiet, recognizer });
    const err: unknown = await e.start().catch((x: unknown) => x);
    copyFileSync(good, join(dir, file));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/corrupt/);
    expect((err as Error).message).toMatch(/npm install|install-models/);
  });

  it('checks only the models it loads: the door engine starts without faceres or SSD, and refuses without its own', async () => {
    for (const f of ['faceres.bin', 'ssd_mobilenetv1_model.bin']) rmSync(join(dir, f));
    const door = new FaceApiEngine({ modelsDir: dir, logger: quiet, detector: 'tinyFaceDetector', antispoof: false });
    await door.start();
    try {
      expect(await door.detect({ kind: 'encoded', bytes: sampleBytes(5) })).not.toHaveLength(0);
    } finally {
      await door.stop();
    }
    for (const f of ['faceres.bin', 'ssd_mobilenetv1_model.bin']) copyFileSync(join(DEFAULT_MODELS_DIR, f), join(dir, f));
    rmSync(join(dir, 'tiny_face_detector_model.bin'));
    const err: unknown = await new FaceApiEngine({ modelsDir: dir, logger: quiet, detector: 'tinyFaceDetector' }).start().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toContain('tiny_face_detector_model.bin is missing');
    copyFileSync(join(DEFAULT_MODELS_DIR, 'tiny_face_detector_model.bin'), join(dir, 'tiny_face_detector_model.bin'));
  });

  it('with tinyFirst keeps the tiny detector\'s face and loads SSD only for a photo tiny finds none in', async () => {
    const b = group.get(3)![0]!.box;
    const portrait = await cropAround(sampleBytes(3), b, { margin: 1 });
    const wall = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 190, b: 170 } } }).jpeg().toBuffer();
    const ssd = join(dir, 'ssd_mobilenetv1_model.bin');
    const e = new FaceApiEngine({ modelsDir: dir, logger: quiet, antispoof: false, tinyFirst: { inputSize: 416, minConfidence: 0.4, exactlyOne: false, minScore: 0 } });
    await e.start();
    try {
      // Gone after the start-up check: only the tiny detector's weights may be read from here on.
      rmSync(ssd);
      const found = await e.detectWithStats({ kind: 'encoded', bytes: portrait });
      expect(found.detector).toBe('tinyFaceDetector');
      expect(found.faces).toHaveLength(1);
      const missing: unknown = await e.detect({ kind: 'encoded', bytes: wall }).catch((x: unknown) => x);
      expect(missing).toBeInstanceOf(ModelError);
      expect((missing as Error).message).toMatch(/SsdMobilenetv1/);
      copyFileSync(join(DEFAULT_MODELS_DIR, 'ssd_mobilenetv1_model.bin'), ssd);
      const none = await e.detectWithStats({ kind: 'encoded', bytes: wall });
      expect(none.detector).toBe('ssdMobilenetv1');
      expect(none.faces).toHaveLength(0);
    } finally {
      await e.stop();
      copyFileSync(join(DEFAULT_MODELS_DIR, 'ssd_mobilenetv1_model.bin'), ssd);
    }
  });

  it('refuses to start on a missing model file, naming it', async () => {
    rmSync(join(dir, 'ssd_mobilenetv1_model.bin'));
    const err: unknown = await new FaceApiEngine({ modelsDir: dir, logger: quiet }).start().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toContain('ssd_mobilenetv1_model.bin is missing');
  });
});
