/**
 * The face model files on disk: the manifest that lists them and the check the engine runs at
 * start, so the edge refuses to run on missing or corrupt weights and says how to fix it.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from './face-engine.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `<repo>/models`, where `scripts/install-models.js` puts the weights. */
export const DEFAULT_MODELS_DIR = join(REPO_ROOT, 'models');
/** The manifest in git: the source of truth, whichever folder the weights are loaded from. */
export const DEFAULT_MANIFEST = join(REPO_ROOT, 'models', 'manifest.json');

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
