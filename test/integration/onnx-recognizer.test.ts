/**
 * The ONNX recognizer (fr-feature, 512-d) in the real engine on the sample photos: 5-point
 * aligned crops, unit-length descriptors, kept crops that re-embed to the same descriptor, the
 * wasm runtime as the fallback, and a broken manifest entry refused by name.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENROLMENT_TINY_FIRST, FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import { ModelError, type DetectedFace } from '../../edge/src/vision/face-engine.ts';
import { DEFAULT_MANIFEST, recognizersOf } from '../../edge/src/vision/models.ts';
import { cropAround, distance, largest, sampleBytes, scaled } from '../helpers/vision-samples.ts';

const quiet = pino({ level: 'silent' });
const engine = new FaceApiEngine({ logger: quiet, recognizer: 'fr-feature' });
let faces: DetectedFace[] = [];

beforeAll(async () => {
  await engine.start();
  faces = await engine.detect({ kind: 'encoded', bytes: sampleBytes(1) }, { keepAligned: true });
});
afterAll(async () => {
  await engine.stop();
});

const norm = (v: Float32Array) => Math.hypot(...v);

describe('ONNX recognizer fr-feature', () => {
  it('reports its model and runtime, and gives unit-length 512-d descriptors with aligned crops', () => {
    expect(engine.info().model).toEqual({ id: 'fr-feature', dimension: 512, alignment: 'arcface-112' });
    expect(engine.info().onnxRuntime).toBe('onnxruntime-node');
    expect(faces.length).toBeGreaterThanOrEqual(3);
    for (const f of faces) {
      expect(f.descriptor.length).toBe(512);
      expect(norm(f.descriptor)).toBeCloseTo(1, 4);
      expect(f.aligned).toMatchObject({ alignment: 'arcface-112', width: 112, height: 112 });
      expect(f.aligned!.data.length).toBe(112 * 112 * 3);
    }
  });

  it('gives no aligned crop unless asked (frames never carry one)', async () => {
    const again = await engine.detect({ kind: 'encoded', bytes: sampleBytes(1) });
    expect(again.every((f) => f.aligned === undefined)).toBe(true);
  });

  it('finds the same person in a re-cut, rescaled photo and keeps the others apart', async () => {
    const photo = sampleBytes(1);
    const source = largest(faces);
    const probe = largest(await engine.detect({ kind: 'encoded', bytes: await scaled(await cropAround(photo, source.box), 0.7) }));
    const own = distance(probe.descriptor, source.descriptor);
    const others = faces.filter((f) => f !== source).map((f) => distance(probe.descriptor, f.descriptor));
    expect(own).toBeLessThan(0.8);
    for (const d of others) expect(d).toBeGreaterThan(1.1);
  });

  it('re-embeds a kept aligned crop to the descriptor it came with', async () => {
    const [d] = await engine.embedAligned(faces.map((f) => f.aligned!).slice(0, 1));
    expect(distance(d!, faces[0]!.descriptor)).toBeLessThan(1e-4);
    await expect(engine.embedAligned([{ alignment: 'arcface-112', width: 100, height: 100, data: new Uint8Array(30000) }])).rejects.toThrow(/112x112/);
  });

  it('runs on onnxruntime-web (wasm) with the same descriptors', async () => {
    const wasm = new FaceApiEngine({ logger: quiet, recognizer: 'fr-feature', onnxRuntime: 'wasm' });
    await wasm.start();
    try {
      expect(wasm.info().onnxRuntime).toBe('onnxruntime-web (wasm)');
      const w = await wasm.detect({ kind: 'encoded', bytes: sampleBytes(1) });
      expect(w.length).toBe(faces.length);
      for (let i = 0; i < w.length; i++) expect(distance(w[i]!.descriptor, faces[i]!.descriptor)).toBeLessThan(0.01);
    } finally {
      await wasm.stop();
    }
  });

  it('defers recognition: detection gives aligned crops and no descriptor, describeDeferred the same descriptors with the detectors stopped', async () => {
    const deferred = new FaceApiEngine({ logger: quiet, antispoof: false, recognizer: 'fr-feature', deferRecognition: true });
    await deferred.start();
    try {
      const found = await deferred.detect({ kind: 'encoded', bytes: sampleBytes(1) });
      expect(found.map((f) => f.box)).toEqual(faces.map((f) => f.box));
      for (const f of found) {
        expect(f.descriptor.length).toBe(0);
        expect(f.aligned).toMatchObject({ alignment: 'arcface-112', width: 112, height: 112 });
      }
      const described = await deferred.describeDeferred(found);
      expect(() => deferred.info()).toThrow(/not started/);
      expect(described.map((f) => Array.from(f.descriptor))).toEqual(faces.map((f) => Array.from(f.descriptor)));
      // Started again, it detects (and defers) as before.
      await deferred.start();
      expect((await deferred.detect({ kind: 'encoded', bytes: sampleBytes(1) })).map((f) => f.descriptor.length)).toEqual(faces.map(() => 0));
    } finally {
      await deferred.stop();
    }
  });

  it('defers recognition behind the enrolment detectors (tiny first) too, with the descriptors of an engine that does not', async () => {
    const portrait = await cropAround(sampleBytes(1), largest(faces).box);
    const opts = { logger: quiet, antispoof: false, recognizer: 'fr-feature' as const, tinyFirst: ENROLMENT_TINY_FIRST };
    const direct = new FaceApiEngine(opts);
    await direct.start();
    const expected = await direct.detect({ kind: 'encoded', bytes: portrait }, { keepAligned: true }).finally(() => direct.stop());
    expect(expected).toHaveLength(1);
    const deferred = new FaceApiEngine({ ...opts, deferRecognition: true });
    await deferred.start();
    try {
      const found = await deferred.detect({ kind: 'encoded', bytes: portrait });
      expect(found[0]!.descriptor.length).toBe(0);
      const [face] = await deferred.describeDeferred(found);
      expect(Array.from(face!.descriptor)).toEqual(Array.from(expected[0]!.descriptor));
      expect(face!.box).toEqual(expected[0]!.box);
    } finally {
      await deferred.stop();
    }
  });

  it('refuses a face-api engine asked to embed aligned crops', async () => {
    const plain = new FaceApiEngine({ logger: quiet, antispoof: false, recognizer: 'face-api' });
    await plain.start();
    try {
      expect(plain.info().model).toEqual({ id: 'face-api', dimension: 128, alignment: 'dlib-150' });
      await expect(plain.embedAligned([faces[0]!.aligned!])).rejects.toThrow(/re-enrol/);
    } finally {
      await plain.stop();
    }
  });
});

describe('recognizer entries of the manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mealcheck-manifest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = JSON.parse(readFileSync(DEFAULT_MANIFEST, 'utf8')) as { recognizers: Record<string, unknown>[] };

  function withEntry(change: (e: Record<string, unknown>) => void): string {
    const m = structuredClone(manifest);
    change(m.recognizers.find((r) => r.id === 'fr-feature')!);
    const file = join(dir, `m-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(m));
    return file;
  }

  it('lists face-api and fr-feature, each with its dimension and decision defaults', async () => {
    const all = recognizersOf();
    expect(all.map((r) => [r.id, r.kind, r.dimension])).toEqual([
      ['face-api', 'face-api', 128],
      ['fr-feature', 'onnx', 512],
    ]);
  });

  it('refuses an incomplete entry, naming what is wrong', async () => {
    const file = withEntry((e) => {
      delete e.decision;
      e.dimension = 500.5;
    });
    expect(() => recognizersOf(file)).toThrow(/recognizer fr-feature: dimension.*decision\.threshold/s);
  });

  it('refuses at start a model whose input name the manifest gets wrong', async () => {
    const file = withEntry((e) => {
      (e.input as { name: string }).name = 'data';
    });
    const bad = new FaceApiEngine({ logger: quiet, recognizer: 'fr-feature', manifestPath: file });
    const err: unknown = await bad.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/no input "data" \(it has input\)/);
  });

  it('refuses an unknown recognizer id, naming the ones there are', async () => {
    const bad = new FaceApiEngine({ logger: quiet, recognizer: 'nope' });
    await expect(bad.start()).rejects.toThrow(/no recognizer "nope".*face-api, fr-feature/);
  });
});
