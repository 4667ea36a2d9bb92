/**
 * The antispoof model's scores on real faces and on crude, synthetic "spoofs" made from them:
 *
 *   npx tsx scripts/eval/antispoof-check.ts [--faces DIR] [--every N] [--json]
 *
 * Sources: every face of the face-api demo group photos (sample1..6, cut out with context), and
 * every N-th photo (default 4) of the identity folders of DIR (e.g. ../shared/faces-dev). Each
 * source is scored as it is (genuine) and as three re-renderings that imitate a photo held up
 * to the camera. They are not real presentation attacks (no paper, no screen, no camera in the
 * loop): a real spoof set must come from a centre's door camera. What each does:
 *
 * - `print`: shrunk to 30% and blown back up (lost detail, as a print re-photographed from a
 *   distance), saturation 0.7, warm cast, contrast flattened, JPEG q60.
 * - `screen`: a diagonal moire grating (period ~3.4 px, ±18%), a blue cast, raised black level,
 *   JPEG q70, as a phone or tablet screen filmed by a camera.
 * - `framed`: the photo shrunk to 50% on a white paper border, on a grey table-like background:
 *   the face inside a visible printed photo.
 *
 * Prints per variant the faces scored, min / p5 / p50 / max, and the share under each
 * threshold tried; with --json one JSON object last. Photos are read in place, nothing written.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { parseOptions, runTool, type CommandSpec } from '../../common/config.ts';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import type { FaceBox } from '../../edge/src/vision/face-engine.ts';
import { listIdentities } from './dataset.ts';
import { percentile } from './eval.ts';

const VARIANTS = ['genuine', 'print', 'screen', 'framed'] as const;
type Variant = (typeof VARIANTS)[number];

async function print(jpeg: Buffer): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(jpeg).metadata();
  const small = await sharp(jpeg).resize(Math.max(16, Math.round(width * 0.3))).toBuffer();
  return sharp(small)
    .resize(width, height, { kernel: 'linear' })
    .modulate({ saturation: 0.7 })
    .tint({ r: 255, g: 235, b: 200 })
    .linear(0.75, 30)
    .jpeg({ quality: 60 })
    .toBuffer();
}

async function screen(jpeg: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const out = Buffer.alloc(data.length);
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      // Diagonal grating: what the camera's sensor makes of the screen's pixel grid.
      const m = 1 + 0.18 * Math.sin(((x + 0.6 * y) * 2 * Math.PI) / 3.4);
      const i = (y * info.width + x) * 3;
      out[i] = Math.min(255, 25 + 0.85 * data[i]! * m * 0.92);
      out[i + 1] = Math.min(255, 25 + 0.85 * data[i + 1]! * m);
      out[i + 2] = Math.min(255, 25 + 0.85 * data[i + 2]! * m * 1.12);
    }
  }
  return sharp(out, { raw: { width: info.width, height: info.height, channels: 3 } }).jpeg({ quality: 70 }).toBuffer();
}

async function framed(jpeg: Buffer): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(jpeg).metadata();
  const w = Math.max(16, Math.round(width * 0.5));
  const photo = await sharp(jpeg).resize(w).extend({ top: 12, bottom: 28, left: 12, right: 12, background: { r: 245, g: 245, b: 240 } }).toBuffer();
  return sharp({ create: { width, height, channels: 3, background: { r: 110, g: 105, b: 100 } } })
    .composite([{ input: photo, gravity: 'centre' }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

const MAKE: Record<Exclude<Variant, 'genuine'>, (jpeg: Buffer) => Promise<Buffer>> = { print, screen, framed };

/** A JPEG of `box` with `margin` of context per side, clipped to the photo. */
async function cut(photo: Buffer, box: FaceBox, margin: number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(photo).metadata();
  const x0 = Math.max(0, Math.round(box.x - box.width * margin));
  const y0 = Math.max(0, Math.round(box.y - box.height * margin));
  const x1 = Math.min(width, Math.round(box.x + box.width * (1 + margin)));
  const y1 = Math.min(height, Math.round(box.y + box.height * (1 + margin)));
  return sharp(photo).extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 }).jpeg({ quality: 92 }).toBuffer();
}

interface Row {
  variant: Variant;
  faces: number;
  missed: number;
  min: number;
  p5: number;
  p50: number;
  max: number;
  below: Record<string, number>;
  /** Every score, lowest first. */
  scores: number[];
}

const ANTISPOOF_CHECK = {
  usage: 'node scripts/run.js scripts/eval/antispoof-check.ts [--faces DIR] [--every N] [--json]',
  about: 'The antispoof model\'s scores on real faces (the face-api demo photos, and every N-th photo of DIR)\nand on synthetic print, screen and framed re-renderings of them.',
  options: {
    faces: { flag: 'faces', type: 'string', default: undefined, arg: 'DIR', doc: 'also a folder laid out like faces-dev (read in place)' },
    every: { flag: 'every', type: 'int', default: 4, min: 1, doc: 'take every N-th photo of --faces' },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'also print one JSON object (last line)' },
  },
} as const satisfies CommandSpec;

async function main(argv: string[]): Promise<number> {
  const p = parseOptions(argv, ANTISPOOF_CHECK);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { faces, every, json } = p.options;
  const engine = new FaceApiEngine({ padRetry: true, antispoof: true, logger: pino({ level: 'warn' }) });
  await engine.start();
  const scores = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const missed = new Map<Variant, number>(VARIANTS.map((v) => [v, 0]));
  let antispoofMs = 0;
  let antispoofFaces = 0;
  const score = async (v: Variant, bytes: Buffer): Promise<void> => {
    const r = await engine.detectWithStats({ kind: 'encoded', bytes });
    antispoofMs += r.antispoofMs;
    antispoofFaces += r.antispoofFaces;
    const s = r.faces[0]?.antispoof;
    if (s === undefined) missed.set(v, missed.get(v)! + 1);
    else scores.get(v)!.push(s);
  };
  try {
    const sources: Buffer[] = [];
    const demo = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
    for (let n = 1; n <= 6; n++) {
      const photo = readFileSync(join(demo, `sample${n}.jpg`));
      for (const f of await engine.detect({ kind: 'encoded', bytes: photo })) sources.push(await cut(photo, f.box, 0.6));
    }
    if (faces !== undefined) {
      const photos = listIdentities(faces).flatMap((i) => i.photos);
      photos.forEach((p, i) => {
        if (i % every === 0) sources.push(readFileSync(join(faces, p)));
      });
    }
    let n = 0;
    for (const src of sources) {
      await score('genuine', src);
      for (const [v, make] of Object.entries(MAKE) as [Exclude<Variant, 'genuine'>, (b: Buffer) => Promise<Buffer>][]) await score(v, await make(src));
      if (++n % 20 === 0) console.error(`antispoof-check: ${n}/${sources.length} sources`);
    }
  } finally {
    await engine.stop();
  }
  const thresholds = [0.2, 0.3, 0.33, 0.4, 0.5];
  const rows: Row[] = VARIANTS.map((variant) => {
    const s = scores.get(variant)!.sort((a, b) => a - b);
    const below = Object.fromEntries(thresholds.map((t) => [String(t), s.length ? s.filter((x) => x < t).length / s.length : 0]));
    return { variant, faces: s.length, missed: missed.get(variant)!, min: s[0] ?? NaN, p5: percentile(s, 5), p50: percentile(s, 50), max: s[s.length - 1] ?? NaN, below, scores: s };
  });
  const msPerFace = antispoofFaces ? antispoofMs / antispoofFaces : 0;
  console.log(`${'variant'.padEnd(8)} ${'faces'.padStart(5)} ${'missed'.padStart(6)} ${'min'.padStart(6)} ${'p5'.padStart(6)} ${'p50'.padStart(6)} ${'max'.padStart(6)}  ${thresholds.map((t) => `<${t}`.padStart(6)).join(' ')}`);
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(8)} ${String(r.faces).padStart(5)} ${String(r.missed).padStart(6)} ${r.min.toFixed(3).padStart(6)} ${r.p5.toFixed(3).padStart(6)} ${r.p50.toFixed(3).padStart(6)} ${r.max.toFixed(3).padStart(6)}  ${thresholds.map((t) => `${(r.below[String(t)]! * 100).toFixed(0)}%`.padStart(6)).join(' ')}`,
    );
  }
  console.log(`antispoof: ${msPerFace.toFixed(1)} ms per face over ${antispoofFaces} runs`);
  if (json) console.log(JSON.stringify({ rows, msPerFace: Math.round(msPerFace * 10) / 10, runs: antispoofFaces }));
  return 0;
}

runTool('antispoof-check', () => main(process.argv.slice(2)));
