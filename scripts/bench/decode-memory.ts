/**
 * Peak memory of decoding hostile photos: small files that decode to tens of megapixels.
 *
 *   node scripts/run.js scripts/bench/decode-memory.ts [--json] [--keep DIR] [--only NAME,...]
 *
 * Makes the photos in a temp folder from a face in @vladmandic/face-api's demo photos (so it
 * runs on any machine after `npm install`), then for each one runs, as its own process under
 * `/usr/bin/time -v`:
 * - `mealcheck enrol --data TMP --elder E1 --name 测试 --signed-by elder ... PHOTO` (the enrolment engine, padded retry);
 * - a camera frame: the edge's frame engine (createFrameEngine) and motion gate on the photo as
 *   a folder or snapshot camera hands it over (encoded bytes).
 * Reports "Maximum resident set size" per photo and path; a small portrait is the baseline
 * (the models alone cost most of it).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { parseOptions, runTool, type CommandSpec } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { samplePhotoPaths } from '../demo/demo-scene.ts';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

interface Photo {
  name: string;
  what: string;
  file: string;
}

interface Row {
  photo: string;
  what: string;
  bytes: number;
  width: number;
  height: number;
  path: 'enrol' | 'frame';
  peakRssMb: number;
  exitCode: number;
  /** The command's last line: what it made of the photo. */
  outcome: string;
}

/** A portrait of the largest face of a demo photo, about 3 face widths across, and a tight crop of the face (ID-card style). */
async function portrait(): Promise<{ portrait: Buffer; tight: Buffer }> {
  const { FaceApiEngine } = await import('../../edge/src/vision/face-api-engine.ts');
  const engine = new FaceApiEngine({ logger: createLogger('bench', 'warn'), antispoof: false });
  await engine.start();
  try {
    const photo = readFileSync(samplePhotoPaths()[1]!);
    const face = (await engine.detect({ kind: 'encoded', bytes: photo }))[0];
    if (!face) throw new Error('no face in the demo photo');
    const meta = await sharp(photo).metadata();
    const { x, y, width: w, height: h } = face.box;
    const left = Math.max(0, Math.round(x - w));
    const top = Math.max(0, Math.round(y - 0.8 * h));
    const right = Math.min(meta.width!, Math.round(x + 2 * w));
    const bottom = Math.min(meta.height!, Math.round(y + 2 * h));
    const tight = await sharp(photo)
      .extract({ left: Math.round(x + 0.05 * w), top: Math.round(y + 0.05 * h), width: Math.round(0.9 * w), height: Math.round(0.95 * h) })
      .jpeg({ quality: 92 })
      .toBuffer();
    return { portrait: await sharp(photo).extract({ left, top, width: right - left, height: bottom - top }).jpeg({ quality: 92 }).toBuffer(), tight };
  } finally {
    await engine.stop();
  }
}

/** The portrait scaled to `faceSide` px tall, in the middle of a flat `width` x `height` background. */
function onBackground(face: Buffer, width: number, height: number, faceSide: number): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: 128, g: 122, b: 116 } } }).composite([
    { input: face, top: Math.round((height - faceSide) / 2), left: Math.round((width - faceSide * 0.9) / 2) },
  ]);
}

/** The JPEG quality (1-100) whose file is nearest `target` bytes. */
async function jpegNear(make: () => sharp.Sharp, target: number, opts: sharp.JpegOptions = {}): Promise<Buffer> {
  let lo = 1;
  let hi = 100;
  let best: Buffer | undefined;
  while (lo <= hi) {
    const q = Math.floor((lo + hi) / 2);
    // mozjpeg's coding: a flat 6300x6300 background alone is 230 KB with libjpeg's.
    const out = await make().jpeg({ mozjpeg: true, ...opts, quality: q }).toBuffer();
    if (!best || Math.abs(out.length - target) < Math.abs(best.length - target)) best = out;
    if (out.length < target) lo = q + 1;
    else hi = q - 1;
  }
  return best!;
}

async function makePhotos(dir: string): Promise<Photo[]> {
  const { portrait: face, tight } = await portrait();
  const faceAt = async (side: number) => sharp(face).resize({ height: side }).toBuffer();
  const big = await faceAt(2000);
  const mid = await faceAt(1500);
  const photos: Photo[] = [];
  const add = (name: string, what: string, bytes: Buffer) => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    photos.push({ name, what, file });
  };
  add('small.jpg', 'baseline: the portrait as it is', face);
  add('phone-12mp.jpg', '4000x3000 JPEG, q85 (a phone photo)', await onBackground(mid, 4000, 3000, 1500).jpeg({ quality: 85 }).toBuffer());
  add('jpeg-20mp.jpg', '5472x3648 progressive JPEG, ~155 KB (20 MP)', await jpegNear(() => onBackground(mid, 5472, 3648, 1500), 155_000));
  // mozjpeg's ~155 KB files are progressive: the hostile photo of the issue.
  add('jpeg-40mp.jpg', '6300x6300 baseline JPEG, q30 (39.7 MP)', await onBackground(big, 6300, 6300, 2000).jpeg({ quality: 30 }).toBuffer());
  add('jpeg-40mp-progressive.jpg', '6300x6300 progressive JPEG, ~155 KB', await jpegNear(() => onBackground(big, 6300, 6300, 2000), 155_000));
  // A face filling the photo to its edges: found only by the padded retry (an enlarged image).
  add('jpeg-40mp-tight.jpg', '6300x6300 JPEG, ~155 KB, an ID-card crop upscaled', await jpegNear(() => sharp(tight).resize(6300, 6300, { fit: 'fill' }), 155_000));
  // No face: every pass runs, the padded ones on a 4x and a 9x enlarged image.
  add('jpeg-40mp-noface.jpg', '6300x6300 JPEG, no face (a wall)', await jpegNear(() => sharp({ create: { width: 6300, height: 6300, channels: 3, background: { r: 200, g: 190, b: 170 } } }), 155_000));
  // Stored sideways with EXIF orientation 6 (phones do this): the decoder must turn it upright.
  const upright = await onBackground(big, 5400, 7200, 2000).png().toBuffer();
  add('jpeg-39mp-exif6.jpg', '7200x5400 JPEG, EXIF orientation 6 (5400x7200 upright)', await sharp(upright).rotate(-90).jpeg({ quality: 40 }).withMetadata({ orientation: 6 }).toBuffer());
  add('png-40mp.png', '6300x6300 PNG (39.7 MP)', await onBackground(big, 6300, 6300, 2000).png({ compressionLevel: 9 }).toBuffer());
  return photos;
}

function timeV(args: string[]): { peakRssMb: number; exitCode: number; outcome: string } {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, MEALCHECK_LOG_LEVEL: 'warn' } });
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const exit = /Exit status: (\d+)/.exec(r.stderr);
  if (!kb) throw new Error(`/usr/bin/time gave no figure: ${r.error?.message ?? r.stderr}`);
  const lines = `${r.stdout}\n${r.stderr.split('\tCommand being timed')[0]}`.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('{') && !l.startsWith('Command exited'));
  const enrolled = lines.find((l) => l.startsWith('- ')) ?? lines.find((l) => l.startsWith('enrolled') || l.startsWith('frame:'));
  const face = lines.find((l) => / face \d+x\d+ px/.test(l));
  return { peakRssMb: Math.round(Number(kb[1]) / 1024), exitCode: Number(exit?.[1] ?? -1), outcome: (face ?? enrolled ?? lines.at(-1) ?? '').slice(0, 160) };
}

/** Child mode: one camera frame through the motion gate and the edge's frame engine. */
async function frameChild(file: string): Promise<void> {
  const { createFrameEngine } = await import('../../edge/src/main.ts');
  const { loadEdgeConfig } = await import('../../edge/src/config.ts');
  const { MotionGate } = await import('../../edge/src/capture/motion-gate.ts');
  const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', mkdtempSync(join(tmpdir(), 'decode-memory-'))]);
  const engine = createFrameEngine(config, createLogger('bench', 'warn'));
  await engine.start();
  try {
    const bytes = new Uint8Array(readFileSync(file));
    const gate = new MotionGate();
    await gate.changed({ kind: 'encoded', bytes });
    const faces = await engine.detect({ kind: 'encoded', bytes });
    const f = faces[0];
    console.log(`frame: ${faces.length} face(s)${f ? `, face ${Math.round(f.box.width)}x${Math.round(f.box.height)} px at ${Math.round(f.box.x)},${Math.round(f.box.y)}` : ''}`);
  } catch (err) {
    console.log(`frame: ${(err as Error).message}`);
  } finally {
    await engine.stop();
  }
}

const DECODE_MEMORY = {
  usage: 'node scripts/run.js scripts/bench/decode-memory.ts [--json] [--only NAME,...] [--keep DIR]',
  about: 'Peak RSS (/usr/bin/time -v) of mealcheck enrol and of the camera-frame engine on hostile large photos, one process per photo.',
  options: {
    json: { flag: 'json', type: 'boolean', default: false, doc: 'print one JSON object instead of the table' },
    only: { flag: 'only', type: 'list', default: undefined, arg: 'NAME,...', doc: 'only these photos (names without extension)' },
    keep: { flag: 'keep', type: 'string', default: undefined, arg: 'DIR', doc: 'make the photos in DIR and keep them' },
    frameChild: { flag: 'frame-child', type: 'string', default: undefined, arg: 'PHOTO', doc: '(internal) run the frame engine on one photo in this process' },
  },
} as const satisfies CommandSpec;

async function main(): Promise<number> {
  const p = parseOptions(process.argv.slice(2), DECODE_MEMORY);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { json, only, keep, frameChild: child } = p.options;
  if (child !== undefined) {
    await frameChild(child);
    return 0;
  }
  const dir = typeof keep === 'string' ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), 'decode-memory-'));
  try {
    const photos = (await makePhotos(dir)).filter((p) => !only || only.includes(p.name.replace(/\.\w+$/, '')));
    const rows: Row[] = [];
    for (const p of photos) {
      const meta = await sharp(p.file).metadata();
      const base = { photo: p.name, what: p.what, bytes: statSync(p.file).size, width: meta.width!, height: meta.height! };
      const data = mkdtempSync(join(dir, 'data-'));
      const enrol = timeV(['scripts/mealcheck.js', 'enrol', '--data', data, '--elder', 'E1', '--name', '测试', '--signed-by', 'elder', '--centre', 'c1', '--device', 'd1', '--staff', 'S1', p.file]);
      rows.push({ ...base, path: 'enrol', ...enrol });
      const frame = timeV(['scripts/run.js', 'scripts/bench/decode-memory.ts', '--frame-child', p.file]);
      rows.push({ ...base, path: 'frame', ...frame });
      if (!json) {
        for (const r of rows.slice(-2)) console.log(`${r.photo.padEnd(26)} ${`${(r.bytes / 1024).toFixed(0)} KB`.padStart(8)} ${`${r.width}x${r.height}`.padStart(10)}  ${r.path.padEnd(5)} ${`${r.peakRssMb} MB`.padStart(8)}  exit ${r.exitCode}  ${r.outcome}`);
      }
    }
    if (json) console.log(JSON.stringify({ rows }));
  } finally {
    if (typeof keep !== 'string') rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

runTool('decode-memory', main);
