/**
 * Small faces at the door: which detector and input size keep recognising an elder whose face
 * is only 40-140 px wide in a 640x480 frame (someone further from the camera, a wide lens)?
 *
 *   node scripts/run.js scripts/bench/small-faces.ts --faces ../shared/faces-dev [--sizes 40,60,80,120] [--json]
 *
 * For every identity with at least 2 photos: the first photo enrols (the enrolment engine, as
 * staff enrol), the second is shrunk so its face is N px wide and pasted at a random spot of a
 * plain 640x480 frame; each frame-engine configuration then detects and matches it with the
 * production decision rule against every enrolled identity. Reports per configuration and face
 * size: found (a face over the pasted one), correct, wrong elder, and ms per frame.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseOptions, runTool, type CommandSpec } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { DEFAULT_MATCHER_OPTIONS, Matcher, packTemplates } from '../../edge/src/recognition/matcher.ts';
import { iou } from '../../edge/src/vision/face-engine.ts';
import { FaceApiEngine, type DetectorName } from '../../edge/src/vision/face-api-engine.ts';
import { listIdentities } from '../eval/dataset.ts';
import { FRAME_HEIGHT, FRAME_WIDTH, seededRandom } from '../demo/demo-scene.ts';
import { percentile } from './bench-stats.ts';

interface Config {
  name: string;
  detector: DetectorName;
  inputSize: number;
}

const CONFIGS: Config[] = [
  { name: 'tiny@224', detector: 'tinyFaceDetector', inputSize: 224 },
  { name: 'tiny@320', detector: 'tinyFaceDetector', inputSize: 320 },
  { name: 'tiny@416', detector: 'tinyFaceDetector', inputSize: 416 },
  { name: 'tiny@512', detector: 'tinyFaceDetector', inputSize: 512 },
  { name: 'ssd@640', detector: 'ssdMobilenetv1', inputSize: 640 },
];

interface Cell {
  config: string;
  faceSize: number;
  probes: number;
  found: number;
  correct: number;
  wrongElder: number;
  msP50: number;
}

async function frameWithFace(photo: Buffer, faceWidth: number, box: { x: number; y: number; width: number; height: number }, rand: () => number): Promise<{ bytes: Uint8Array; at: { x: number; y: number; width: number; height: number } }> {
  const meta = await sharp(photo).metadata();
  const scale = faceWidth / box.width;
  const w = Math.max(1, Math.round(meta.width! * scale));
  const h = Math.max(1, Math.round(meta.height! * scale));
  // A large face's photo may outgrow the frame: keep the frame-sized part around the face.
  const cw = Math.min(w, FRAME_WIDTH);
  const ch = Math.min(h, FRAME_HEIGHT);
  const cx = Math.round(Math.min(Math.max(0, (box.x + box.width / 2) * scale - cw / 2), w - cw));
  const cy = Math.round(Math.min(Math.max(0, (box.y + box.height / 2) * scale - ch / 2), h - ch));
  const small = await sharp(photo).resize(w, h).extract({ left: cx, top: cy, width: cw, height: ch }).removeAlpha().toBuffer();
  const left = Math.round(rand() * (FRAME_WIDTH - cw)) - cx;
  const top = Math.round(rand() * (FRAME_HEIGHT - ch)) - cy;
  const grey = 90 + Math.round(rand() * 80);
  const bytes = await sharp({ create: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3, background: { r: grey, g: grey, b: grey - 10 } } })
    .composite([{ input: small, left: left + cx, top: top + cy }])
    .jpeg({ quality: 85 })
    .toBuffer();
  return { bytes: new Uint8Array(bytes), at: { x: left + box.x * scale, y: top + box.y * scale, width: box.width * scale, height: box.height * scale } };
}

const SMALL_FACES = {
  usage: 'node scripts/run.js scripts/bench/small-faces.ts --faces DIR [--sizes 40,60,80,120] [--json]',
  about: 'Per frame-engine configuration (detector, input size) and face width in a 640x480 frame: faces found,\nrecognised correctly, given to the wrong elder, and ms per frame.',
  options: {
    faces: { flag: 'faces', type: 'string', required: true, arg: 'DIR', doc: 'a folder laid out like faces-dev (read in place)' },
    sizes: {
      flag: 'sizes',
      type: 'list',
      default: ['40', '50', '60', '80', '120'],
      check: (v: string[]) => (v.length && v.every((x) => Number.isInteger(Number(x)) && Number(x) > 0) ? undefined : `expected face widths in pixels, e.g. 40,60,80, got "${v.join(',')}"`),
      doc: 'face widths in pixels',
    },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'print one JSON object instead of the table' },
  },
} as const satisfies CommandSpec;

async function main(): Promise<number> {
  const p = parseOptions(process.argv.slice(2), SMALL_FACES);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { faces, json } = p.options;
  const sizes = p.options.sizes.map(Number);
  const logger = createLogger('small-faces', process.env.MEALCHECK_LOG_LEVEL ?? 'warn');
  const ids = listIdentities(faces).filter((i) => i.photos.length >= 2);

  // Enrol the first photo of each identity; keep the second photo's face box for pasting.
  const enrol = new FaceApiEngine({ logger, antispoof: false });
  await enrol.start();
  const templates: Array<{ elderId: string; descriptor: Float32Array }> = [];
  const probes: Array<{ identity: string; photo: Buffer; box: { x: number; y: number; width: number; height: number } }> = [];
  try {
    for (const id of ids) {
      const [a, b] = [readFileSync(join(faces, id.photos[0]!)), readFileSync(join(faces, id.photos[1]!))];
      const fa = (await enrol.detect({ kind: 'encoded', bytes: a }))[0];
      const fb = (await enrol.detect({ kind: 'encoded', bytes: b }))[0];
      if (!fa || !fb) continue;
      templates.push({ elderId: id.name, descriptor: fa.descriptor });
      probes.push({ identity: id.name, photo: b, box: fb.box });
    }
  } finally {
    await enrol.stop();
  }
  const matcher = new Matcher(packTemplates(templates), DEFAULT_MATCHER_OPTIONS);

  const cells: Cell[] = [];
  for (const c of CONFIGS) {
    const tiny = c.detector === 'tinyFaceDetector';
    // As createFrameEngine builds the door's engine.
    const engine = new FaceApiEngine({ logger, detector: c.detector, antispoof: false, padRetry: false, ...(tiny ? { tinyInputSize: c.inputSize, maxInputSide: c.inputSize, minConfidence: 0.4 } : { maxInputSide: c.inputSize }) });
    await engine.start();
    try {
      for (const size of sizes) {
        const rand = seededRandom(size);
        const cell: Cell = { config: c.name, faceSize: size, probes: 0, found: 0, correct: 0, wrongElder: 0, msP50: 0 };
        const ms: number[] = [];
        for (const p of probes) {
          const { bytes, at } = await frameWithFace(p.photo, size, p.box, rand);
          const t0 = performance.now();
          const found = await engine.detect({ kind: 'encoded', bytes });
          ms.push(performance.now() - t0);
          cell.probes++;
          const face = found.find((f) => iou(f.box, at) >= 0.3);
          if (!face) continue;
          cell.found++;
          const m = matcher.match(face.descriptor);
          if (m.kind === 'recognised' && m.elderId === p.identity) cell.correct++;
          else if (m.kind === 'recognised') cell.wrongElder++;
        }
        cell.msP50 = Math.round(percentile(ms, 50));
        cells.push(cell);
        if (!json) console.log(`${c.name.padEnd(9)} face ${String(size).padStart(3)} px: found ${cell.found}/${cell.probes}, correct ${cell.correct}, wrong elder ${cell.wrongElder}, ${cell.msP50} ms/frame`);
      }
    } finally {
      await engine.stop();
    }
  }
  if (json) console.log(JSON.stringify({ identities: probes.length, sizes, cells }));
  return 0;
}

runTool('small-faces', main);
