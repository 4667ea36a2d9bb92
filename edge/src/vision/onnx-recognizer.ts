/**
 * An ONNX embedding model (a `recognizers` entry of models/manifest.json with kind `onnx`),
 * run by onnxruntime: the native binding (onnxruntime-node) where it loads, else the wasm
 * build (onnxruntime-web), logged like the tfjs backend choice. Takes aligned crops
 * (alignment.ts), returns descriptors (L2-normalised for a `cosine` model). Runs in the model worker only.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlignedFace } from './face-engine.ts';
import { ModelError } from './face-engine.ts';
import type { RecognizerEntry } from './models.ts';

const require = createRequire(import.meta.url);

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

export interface OnnxRecognizer {
  /** `onnxruntime-node` or `onnxruntime-web (wasm)`. */
  runtime: string;
  /** The manifest's distance for it: `cosine` descriptors come back at unit length. */
  distance: RecognizerEntry['distance'];
  /** Descriptors of aligned crops (each `input.width` x `input.height`), unit length. */
  embed(faces: readonly AlignedFace[]): Promise<Float32Array[]>;
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** The first runtime that can open the model: the native binding, then wasm. */
async function openSession(bytes: Uint8Array, runtime: string, log: (msg: string, data?: Record<string, unknown>) => void): Promise<{ ort: Ort; session: Session; runtime: string }> {
  // One thread (the model worker is one). No CPU arena and no memory pattern: they keep
  // buffers sized for the largest run for the session's life, ~8 MB here for crops that are
  // always 112x112; the descriptors are the same bit for bit (README, "Memory on large photos").
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const, enableCpuMemArena: false, enableMemPattern: false };
  let nodeError: string | undefined;
  if (runtime !== 'wasm') {
    try {
      const ort = require('onnxruntime-node') as Ort;
      return { ort, session: await ort.InferenceSession.create(bytes, opts), runtime: 'onnxruntime-node' };
    } catch (err) {
      nodeError = reason(err);
      if (runtime === 'node') throw new ModelError(`onnxruntime-node cannot run the model: ${nodeError}`);
    }
  }
  try {
    const ort = require('onnxruntime-web') as Ort;
    // One thread, no proxy worker: we are already in the model worker.
    (ort.env as { wasm: { numThreads: number; proxy: boolean } }).wasm.numThreads = 1;
    (ort.env as { wasm: { numThreads: number; proxy: boolean } }).wasm.proxy = false;
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
    if (nodeError !== undefined) log('onnxruntime-node did not load; the recognizer runs on onnxruntime-web (wasm, slower)', { reason: nodeError });
    return { ort, session, runtime: 'onnxruntime-web (wasm)' };
  } catch (err) {
    throw new ModelError(`no ONNX runtime can run the model${nodeError ? ` (onnxruntime-node: ${nodeError})` : ''}: onnxruntime-web: ${reason(err)}`);
  }
}

/**
 * Opens the model of `entry` from `modelsDir` (its hash already checked by verifyModels).
 * `runtime`: `auto` (node, else wasm), `node` or `wasm` (tests and the benchmark name one).
 */
export async function loadOnnxRecognizer(
  entry: RecognizerEntry,
  modelsDir: string,
  log: (msg: string, data?: Record<string, unknown>) => void,
  runtime: 'auto' | 'node' | 'wasm' = 'auto',
): Promise<OnnxRecognizer> {
  const { input, output, file, dimension } = entry;
  if (entry.kind !== 'onnx' || !input || !output || !file) throw new ModelError(`recognizer ${entry.id} is not a complete ONNX entry`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(modelsDir, file));
  } catch (err) {
    throw new ModelError(`cannot read the ${entry.id} model ${join(modelsDir, file)}: ${reason(err)}`);
  }
  const { ort, session, runtime: used } = await openSession(bytes, runtime, log);
  if (!session.inputNames.includes(input.name)) throw new ModelError(`model ${file} has no input "${input.name}" (it has ${session.inputNames.join(', ')}): fix the manifest entry ${entry.id}`);
  if (!session.outputNames.includes(output.name)) throw new ModelError(`model ${file} has no output "${output.name}" (it has ${session.outputNames.join(', ')}): fix the manifest entry ${entry.id}`);
  const { width, height } = input;
  const plane = width * height;
  // Per output channel: which RGB byte feeds it, and its scale and shift.
  const src = input.channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const scale = input.std.map((s) => 1 / s);
  const shift = input.mean.map((m, c) => -m * scale[c]!);

  return {
    runtime: used,
    distance: entry.distance,
    async embed(faces) {
      if (faces.length === 0) return [];
      const n = faces.length;
      const x = new Float32Array(n * 3 * plane);
      faces.forEach((f, k) => {
        if (f.width !== width || f.height !== height || f.data.length !== plane * 3) throw new RangeError(`recognizer ${entry.id} takes ${width}x${height} aligned crops, got ${f.width}x${f.height}`);
        const base = k * 3 * plane;
        for (let c = 0; c < 3; c++) {
          const sc = scale[c]!;
          const sh = shift[c]!;
          const from = src[c]!;
          for (let i = 0; i < plane; i++) {
            const at = input.layout === 'NCHW' ? base + c * plane + i : base + i * 3 + c;
            x[at] = f.data[i * 3 + from]! * sc + sh;
          }
        }
      });
      const dims = input.layout === 'NCHW' ? [n, 3, height, width] : [n, height, width, 3];
      // The model may be exported for batch 1 only: run faces one by one then.
      const fixedBatch = session.inputMetadata?.find?.((m) => m.name === input.name);
      const batchOne = fixedBatch && 'shape' in fixedBatch && fixedBatch.shape[0] === 1;
      const out: Float32Array[] = [];
      const runs = batchOne ? faces.map((_, k) => k) : [-1];
      for (const k of runs) {
        const slice = k < 0 ? x : x.subarray(k * 3 * plane, (k + 1) * 3 * plane);
        const t = new ort.Tensor('float32', slice, k < 0 ? dims : [1, ...dims.slice(1)]);
        const result = await session.run({ [input.name]: t });
        const y = result[output.name]!.data as Float32Array;
        const count = k < 0 ? n : 1;
        if (y.length !== count * dimension) throw new ModelError(`model ${file} returned ${y.length / count} values a face, the manifest says ${dimension}`);
        for (let j = 0; j < count; j++) {
          const v = y.subarray(j * dimension, (j + 1) * dimension);
          out.push(entry.distance === 'cosine' ? unitLength(v) : Float32Array.from(v));
        }
      }
      return out;
    },
  };
}

/** A unit-length copy (cosine distance then orders pairs as Euclidean distance does). */
export function unitLength(v: Float32Array): Float32Array {
  let s = 0;
  for (const a of v) s += a * a;
  const k = s > 0 ? 1 / Math.sqrt(s) : 0;
  return v.map((a) => a * k);
}
