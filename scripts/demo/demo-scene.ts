/**
 * The demo's people and frames, made from the group photos shipped in @vladmandic/face-api
 * (demo/sample1..6.jpg), so the demo needs no camera and no data outside npm packages.
 *
 * Faces are found with the production engine, cut out as portraits, and the distinct ones
 * are split into enrolled elders and strangers. Each visit to the "door" is a few frames of
 * one portrait on a 640x480 background: moved, scaled, re-lit and re-compressed differently
 * in every frame, the way a person approaching a cheap camera looks.
 */
import sharp from 'sharp';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DetectedFace, FaceEngine } from '../../edge/src/vision/face-engine.ts';
import { euclideanDistance as distance } from '../../edge/src/recognition/matcher.ts';
import { decisionDefaults } from '../../edge/src/vision/models.ts';

const require = createRequire(import.meta.url);

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 480;

export function samplePhotoPaths(): string[] {
  const dir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  return [1, 2, 3, 4, 5, 6].map((n) => join(dir, `sample${n}.jpg`));
}

export interface DemoPerson {
  /** `E001`.. for elders, `X01`.. for strangers (never enrolled). */
  id: string;
  name: string;
  enrolled: boolean;
  /** Portrait cut from the sample photo (JPEG), about 3 face-widths across. */
  portrait: Buffer;
  /** Enrolment photos (JPEG): the portrait and a tighter crop of it. */
  enrolPhotos: Buffer[];
  source: string;
}

const ELDER_NAMES = ['王秀英', '李桂兰', '张建国', '刘淑珍', '陈德明', '杨玉兰', '赵志刚', '黄秀珍', '周福海', '吴凤英', '徐国强', '孙美华'];

/**
 * Two sample faces closer than this would be a confusable pair in the demo: the engine's
 * model's decision threshold plus its margin (distances are on each model's own scale).
 */
function distinctDistance(engine: FaceEngine): number {
  const { threshold, margin } = decisionDefaults(engine.info().model.id);
  return threshold + margin;
}

/** Whether the engine finds a face in every enrolment photo (a tight crop can cut one off). */
async function enrolable(engine: FaceEngine, photos: readonly Buffer[]): Promise<boolean> {
  for (const bytes of photos) {
    if ((await engine.detect({ kind: 'encoded', bytes })).length === 0) return false;
  }
  return true;
}

async function cutPortrait(photo: Buffer, face: DetectedFace, width: number, height: number): Promise<{ portrait: Buffer; tight: Buffer }> {
  const { x, y, width: w, height: h } = face.box;
  const crop = (fx: number, fy: number) => {
    const left = Math.max(0, Math.round(x - fx * w));
    const top = Math.max(0, Math.round(y - fy * h));
    const right = Math.min(width, Math.round(x + w + fx * w));
    const bottom = Math.min(height, Math.round(y + h + fy * h * 0.8));
    return { left, top, width: right - left, height: bottom - top };
  };
  const portrait = await sharp(photo).extract(crop(0.8, 0.6)).resize({ height: 420 }).jpeg({ quality: 92 }).toBuffer();
  const tight = await sharp(photo).extract(crop(0.35, 0.3)).resize({ height: 300 }).jpeg({ quality: 90 }).toBuffer();
  return { portrait, tight };
}

/** Finds the faces in the sample photos and picks `elders` enrolled people and `strangers` others, all mutually distinct. */
export async function pickDemoPeople(engine: FaceEngine, elders: number, strangers: number): Promise<DemoPerson[]> {
  const candidates: Array<{ face: DetectedFace; photo: Buffer; width: number; height: number; source: string }> = [];
  for (const path of samplePhotoPaths()) {
    const photo = await sharp(path).jpeg({ quality: 95 }).toBuffer();
    const meta = await sharp(photo).metadata();
    const faces = await engine.detect({ kind: 'encoded', bytes: photo });
    faces
      .filter((f) => f.score >= 0.85 && f.box.width >= 120)
      .sort((a, b) => a.box.x - b.box.x)
      .forEach((face, i) => candidates.push({ face, photo, width: meta.width!, height: meta.height!, source: `${path.split('/').pop()}#${i}` }));
  }
  const distinct = distinctDistance(engine);
  const chosen: typeof candidates = [];
  for (const c of candidates) {
    if (chosen.every((o) => distance(o.face.descriptor, c.face.descriptor) >= distinct)) chosen.push(c);
  }
  // Elders come from the front, strangers from the end (so mostly from other photos than the
  // elders); a face whose portrait or tight crop the engine cannot find again is passed over.
  const pick = async (order: typeof candidates, count: number, taken: ReadonlySet<(typeof candidates)[number]>) => {
    const out: Array<{ c: (typeof candidates)[number]; portrait: Buffer; tight: Buffer }> = [];
    for (const c of order) {
      if (out.length === count) break;
      if (taken.has(c)) continue;
      const { portrait, tight } = await cutPortrait(c.photo, c.face, c.width, c.height);
      if (await enrolable(engine, [portrait, tight])) out.push({ c, portrait, tight });
    }
    return out;
  };
  const strangerPicks = await pick([...chosen].reverse(), strangers, new Set());
  const elderPicks = await pick(chosen, elders, new Set(strangerPicks.map((p) => p.c)));
  if (elderPicks.length < elders || strangerPicks.length < strangers) {
    throw new Error(`the sample photos gave ${elderPicks.length + strangerPicks.length} distinct, enrolable faces; the demo needs ${elders + strangers}`);
  }
  const people: DemoPerson[] = [];
  [...elderPicks, ...strangerPicks].forEach(({ c, portrait, tight }, i) => {
    const enrolled = i < elders;
    people.push({
      id: enrolled ? `E${String(i + 1).padStart(3, '0')}` : `X${String(i - elders + 1).padStart(2, '0')}`,
      name: enrolled ? ELDER_NAMES[i % ELDER_NAMES.length]! : '(未登记)',
      enrolled,
      portrait,
      enrolPhotos: [portrait, tight],
      source: c.source,
    });
  });
  return people;
}

/** Small deterministic PRNG (mulberry32), so every demo run shows the same scene. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Visit {
  personId: string;
  firstFrame: number;
  frames: number;
}

export interface SceneOptions {
  framesPerVisit?: number;
  gapFrames?: number;
  seed?: number;
  /** Elders who come back a second time in the same meal (they must not get a second meal). */
  repeatVisits?: number;
}

/** Writes `frame-NNNNN.jpg` files into `outDir`: each person visits once, a few elders twice. */
export async function renderScene(people: DemoPerson[], outDir: string, opts: SceneOptions = {}): Promise<{ frames: number; visits: Visit[] }> {
  const framesPerVisit = opts.framesPerVisit ?? 5;
  const gap = opts.gapFrames ?? 2;
  const rand = seededRandom(opts.seed ?? 2026);
  mkdirSync(outDir, { recursive: true });
  const background = await sharp({
    create: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3, background: { r: 118, g: 112, b: 104 } },
  })
    .jpeg()
    .toBuffer();

  const order = [...people];
  const elders = people.filter((p) => p.enrolled);
  for (let i = 0; i < (opts.repeatVisits ?? 1) && i < elders.length; i++) order.push(elders[i]!);

  const visits: Visit[] = [];
  let n = 0;
  const write = (jpeg: Buffer) => writeFileSync(join(outDir, `frame-${String(n++).padStart(5, '0')}.jpg`), jpeg);
  for (let g = 0; g < gap; g++) write(background);
  for (const person of order) {
    visits.push({ personId: person.id, firstFrame: n, frames: framesPerVisit });
    const startX = 40 + rand() * 220;
    const baseScale = 0.75 + rand() * 0.25;
    for (let f = 0; f < framesPerVisit; f++) {
      // Walking towards the camera: a little bigger and further across each frame.
      const scale = baseScale * (1 + 0.04 * f);
      const h = Math.round(FRAME_HEIGHT * 0.8 * scale);
      const brightness = 0.65 + rand() * 0.6;
      const face = await sharp(person.portrait).resize({ width: FRAME_WIDTH - 40, height: Math.min(h, FRAME_HEIGHT), fit: 'inside' }).modulate({ brightness }).toBuffer({ resolveWithObject: true });
      const left = Math.max(0, Math.min(FRAME_WIDTH - face.info.width, Math.round(startX + f * 12)));
      const top = Math.max(0, FRAME_HEIGHT - face.info.height);
      const quality = 45 + Math.floor(rand() * 45);
      write(await sharp(background).composite([{ input: face.data, left, top }]).jpeg({ quality }).toBuffer());
    }
    for (let g = 0; g < gap; g++) write(background);
  }
  return { frames: n, visits };
}
