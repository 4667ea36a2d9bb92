/**
 * Two tfjs graph models shipped in @vladmandic/human, run with face-api's own tfjs instance
 * (loading Human's runtime would bring a second tfjs copy: too much memory for the box):
 *
 * - `antispoof` (128x128 RGB in 0..1 → one score, higher = live face; Human reports it as
 *   `real`), on the detection box enlarged 1.4x and squared, as Human crops it.
 * - `faceres` (HSE-FaceRes: 224x224 RGB in 0..255 → 1024-d descriptor, plus age and gender
 *   heads we do not read), for `mealcheck eval --model faceres` only, on the same region.
 *
 * Preprocessing follows Human 3.3.6 (src/face/antispoof.ts, faceres.ts, facemeshutil.ts): its
 * face tensor is the box cut and resized to 192x192 and divided by 255; antispoof resizes that
 * to its 128x128 input, faceres resizes it to 224x224 and multiplies by 255 again. Runs in the
 * model worker only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphModel, Tensor, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import { ModelError } from './face-engine.ts';
import type { Tf } from './backend.ts';

/** What Human's face tensor is resized to first (facemesh's input size). */
const HUMAN_FACE_SIZE = 192;
/** Human enlarges the detector box by this before cutting the face (config.face.detector.scale). */
export const ANTISPOOF_BOX_SCALE = 1.4;
/** faceres' descriptor output, by name: the graph also has age and gender heads. */
const FACERES_DESCRIPTOR = 'global_pooling/Mean';

interface GraphModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: object[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: object;
}

/**
 * Loads `<dir>/<name>.json` and the weight files it names, from disk (tfjs's own loaders
 * would fetch() a file path in Node). Any failure is a ModelError naming the file.
 */
export async function loadGraphModel(tf: Tf, dir: string, name: string): Promise<GraphModel> {
  const file = join(dir, `${name}.json`);
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as GraphModelJson;
    const weightSpecs: object[] = [];
    const parts: Uint8Array[] = [];
    for (const group of json.weightsManifest) {
      weightSpecs.push(...group.weights);
      for (const p of group.paths) parts.push(await readFile(join(dir, p)));
    }
    const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      weightData.set(p, at);
      at += p.byteLength;
    }
    const artifacts = {
      modelTopology: json.modelTopology,
      weightSpecs,
      weightData: weightData.buffer,
      ...(json.format ? { format: json.format } : {}),
      ...(json.generatedBy ? { generatedBy: json.generatedBy } : {}),
      ...(json.convertedBy ? { convertedBy: json.convertedBy } : {}),
      ...(json.signature ? { signature: json.signature } : {}),
    } as Parameters<Tf['io']['fromMemory']>[0];
    return await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new ModelError(`cannot load the ${name} model from ${file}: ${(err as Error).message}`);
  }
}

/** Input side of a graph model with an NHWC square input. */
function inputSide(model: GraphModel): number {
  const side = model.inputs[0]?.shape?.[1];
  if (!side || side <= 0) throw new ModelError(`model input ${model.inputs[0]?.name ?? '?'} has no fixed size`);
  return side;
}

/** The region Human cuts for its face models: the box enlarged `scale` times, squared on its longer side. */
export function humanFaceRegion(box: { x: number; y: number; width: number; height: number }, scale = ANTISPOOF_BOX_SCALE): { x: number; y: number; width: number; height: number } {
  const side = Math.round(Math.max(box.width, box.height) * scale);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { x: Math.round(cx - side / 2), y: Math.round(cy - side / 2), width: side, height: side };
}

/**
 * Anti-spoof score, 0..1 (higher = live), of a face crop given as int32 RGB 0..255 (H x W x 3).
 * Resized through 192x192 as in Human, so scores compare with Human's `real`.
 */
export async function antispoofScore(tf: Tf, model: GraphModel, crop: Tensor3D): Promise<number> {
  const side = inputSide(model);
  const out = tf.tidy(() => {
    const face = tf.image.resizeBilinear(tf.div(tf.expandDims(tf.cast(crop, 'float32'), 0), 255) as Tensor4D, [HUMAN_FACE_SIZE, HUMAN_FACE_SIZE], false);
    return model.execute(tf.image.resizeBilinear(face, [side, side], false)) as Tensor;
  });
  try {
    const v = (await out.data())[0] ?? NaN;
    // A sigmoid output; clamp only guards float edges.
    return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  } finally {
    out.dispose();
  }
}

/**
 * faceres descriptor (1024 values) of a face crop given as int32 RGB 0..255,
 * scaled to unit length: Euclidean distance between two is then a function of their cosine
 * similarity, in 0..2 like the thresholds of the eval tool (the raw vectors' length varies
 * with the image; see scripts/eval/CALIBRATION.md).
 */
export async function faceresDescriptor(tf: Tf, model: GraphModel, crop: Tensor3D): Promise<Float32Array> {
  const side = inputSide(model);
  const out = tf.tidy(() => {
    const face = tf.image.resizeBilinear(tf.div(tf.expandDims(tf.cast(crop, 'float32'), 0), 255) as Tensor4D, [HUMAN_FACE_SIZE, HUMAN_FACE_SIZE], false);
    const input = tf.mul(tf.image.resizeBilinear(face, [side, side], false), 255);
    const d = model.execute(input, FACERES_DESCRIPTOR) as Tensor;
    return tf.div(d, tf.maximum(tf.norm(d), 1e-12));
  });
  try {
    return Float32Array.from(await out.data());
  } finally {
    out.dispose();
  }
}
