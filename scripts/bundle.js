// Runs the TypeScript sources as plain JavaScript, without a build step. tsx's loader costs
// every process (and every worker thread) ~45 MB of resident memory, a real share of an edge
// box's 400 MB budget, so the entry points (the `mealcheck` command, the model worker, the
// benchmark) are bundled with esbuild (the compiler tsx itself uses) into
// node_modules/.cache/mealcheck/ on first use and run from there.
//
// - Packages stay imports: a bundle holds only this repo's own code.
// - Code splitting: a dynamic import() of a source is its own chunk, loaded (with the packages
//   it imports) only when reached. Without it esbuild hoists every package import of the whole
//   graph to the top of the bundle, so `mealcheck enrol` loaded the server's and the edge's
//   (Fastify, aedes, MQTT: ~20 MB of resident memory) for nothing. A bundle is a folder: the
//   entry's .mjs and its chunks.
// - `import.meta.url` of each source module is replaced by that module's own file URL, so
//   paths relative to a source file (migrations, models, the worker) mean what they mean in
//   the source.
// - A bundle is reused while none of its source files has changed (size and mtime of every
//   input, recorded next to it); otherwise it is rebuilt. Files are written aside and renamed,
//   so two processes starting at once never run a half-written bundle.
// - If esbuild or the cache folder is unavailable, or MEALCHECK_NO_BUNDLE=1, the sources run
//   through tsx as before (the caller logs why).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'mealcheck');

/** @param {string} path */
function stamp(path) {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}`;
}

/** @param {string} file @param {string} text */
function writeAtomically(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Replaces `import.meta.url` in each .ts source with the source's own file URL. */
const sourceUrlPlugin = {
  name: 'source-import-meta-url',
  /** @param {import('esbuild').PluginBuild} build */
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/**
 * The path of an up-to-date bundle of `entry` (an absolute .ts path), building it if needed.
 * Throws when it cannot (the caller falls back to tsx).
 * @param {string} entry
 * @returns {Promise<string>}
 */
export async function bundleFile(entry) {
  if (process.env.MEALCHECK_NO_BUNDLE === '1') throw new Error('MEALCHECK_NO_BUNDLE=1');
  const key = createHash('sha256').update(entry).digest('hex').slice(0, 12);
  const name = `${basename(entry, '.ts')}-${key}`;
  const stampFile = join(BUNDLE_CACHE_DIR, `${name}.json`);
  try {
    /** @type {{ bundle: string, inputs: Record<string, string> }} */
    const prev = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (Object.entries(prev.inputs).every(([p, s]) => stamp(p) === s)) {
      statSync(prev.bundle);
      return prev.bundle;
    }
  } catch {
    // No bundle yet, or a source changed or vanished: build.
  }
  const esbuild = await import('esbuild');
  const outdir = join(BUNDLE_CACHE_DIR, name);
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    outdir,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    metafile: true,
    keepNames: true,
    logLevel: 'silent',
    plugins: [sourceUrlPlugin],
    banner: { js: `// Bundled from ${entry} by scripts/bundle.js; regenerated when a source changes. Do not edit.` },
  });
  const entryOut = join(outdir, `${basename(entry, '.ts')}.mjs`);
  if (!result.outputFiles.some((f) => f.path === entryOut)) throw new Error('esbuild produced no output');
  const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map((p) => resolve(p)).map((p) => [p, stamp(p)]));
  const digest = createHash('sha256');
  for (const f of [...result.outputFiles].sort((a, b) => a.path.localeCompare(b.path))) digest.update(f.path).update(f.text);
  const folder = `${outdir}-${digest.digest('hex').slice(0, 16)}`;
  mkdirSync(BUNDLE_CACHE_DIR, { recursive: true });
  // Written aside and renamed into place whole; a process that got there first wrote the same.
  if (!existsSync(folder)) {
    const tmp = `${folder}.${process.pid}.tmp`;
    mkdirSync(tmp, { recursive: true });
    for (const f of result.outputFiles) writeFileSync(join(tmp, relative(outdir, f.path)), f.text);
    try {
      renameSync(tmp, folder);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(folder)) throw err;
    }
  }
  const bundle = join(folder, basename(entryOut));
  writeAtomically(stampFile, JSON.stringify({ entry, bundle, inputs }));
  // Earlier bundles of this entry (folders, or single files from before code splitting), if
  // idle for an hour (a process may still be starting one).
  for (const f of readdirSync(BUNDLE_CACHE_DIR)) {
    const old = join(BUNDLE_CACHE_DIR, f);
    if (f.startsWith(`${name}-`) && !f.endsWith('.json') && old !== folder && Date.now() - statSync(old).mtimeMs > 3_600_000) rmSync(old, { recursive: true, force: true });
  }
  return bundle;
}

/**
 * Imports `entry` (a URL or absolute path of a .ts module) from its bundle, or through tsx
 * when it cannot be bundled. `onFallback` hears why.
 * @param {string | URL} entry
 * @param {(reason: string) => void} [onFallback]
 * @returns {Promise<any>}
 */
export async function importEntry(entry, onFallback) {
  const path = entry instanceof URL ? fileURLToPath(entry) : entry;
  let file;
  try {
    file = await bundleFile(path);
  } catch (err) {
    onFallback?.(err instanceof Error ? err.message : String(err));
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(path).href);
  }
  return import(pathToFileURL(file).href);
}
