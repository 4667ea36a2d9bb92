/**
 * `mealcheck camera-check --camera SOURCE [--seconds N] [--json] [--data DIR]`: the
 * installer's check. Reads one camera for N seconds through the same source and engine as the
 * edge, and prints what recognition will get: fps, resolution, faces, face sizes and quality,
 * and with --data the elders recognised. With --json the last line is one JSON object.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { parseOptions, type CommandSpec } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { createCameraSource } from '../../edge/src/capture/camera-sources.ts';
import { CameraSpecError, parseCameraList, parseFrameSize } from '../../edge/src/capture/camera-spec.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { openEdgeDatabase } from '../../edge/src/edge-database.ts';
import { Matcher } from '../../edge/src/recognition/matcher.ts';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';

/** What is wrong with a --camera value for this check, if anything. */
function cameraProblem(v: string): string | undefined {
  try {
    return parseCameraList(v).length > 1 ? 'check one camera at a time' : undefined;
  } catch (err) {
    if (!(err instanceof CameraSpecError)) throw err;
    return err.problems.join('; ');
  }
}

const CAMERA_CHECK = {
  usage: 'mealcheck camera-check --camera SOURCE [--seconds N] [--fps N] [--camera-size WxH] [--camera-loop] [--data DIR] [--json]',
  about: `Reads SOURCE (as the edge's --camera: /dev/videoN, rtsp://..., http(s)://..., snapshot+http(s)://...,
a video file or a folder) for N seconds and reports fps, resolution, faces and their size and
quality; with --data DIR (an edge data folder) also the elders recognised.`,
  options: {
    camera: { flag: 'camera', env: 'MEALCHECK_CAMERA', type: 'string', required: true, arg: 'SOURCE', check: cameraProblem, doc: 'the camera to check' },
    seconds: { flag: 'seconds', type: 'number', default: 10, check: (v: number) => (v > 0 && v <= 3600 ? undefined : `expected more than 0, at most 3600, got ${v}`), doc: 'how long to read it' },
    fps: { flag: 'fps', type: 'number', default: 5, check: (v: number) => (v > 0 && v <= 30 ? undefined : `expected more than 0, at most 30, got ${v}`), doc: 'frames per second to take' },
    cameraSize: { flag: 'camera-size', type: 'string', default: '640x480', arg: 'WxH', check: (v: string) => (parseFrameSize(v) ? undefined : `expected WIDTHxHEIGHT, e.g. 640x480, got "${v}"`), doc: 'frame size asked of the camera' },
    cameraLoop: { flag: 'camera-loop', type: 'boolean', default: false, doc: 'play a video file or folder again from the start when it ends' },
    data: { flag: 'data', type: 'string', default: undefined, arg: 'DIR', doc: 'an edge data folder: also report the elders recognised' },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'the last line is one JSON object' },
    models: { flag: 'models', env: 'MEALCHECK_MODELS', type: 'string', default: undefined, arg: 'DIR', doc: 'face model folder, by default models/' },
    backend: { flag: 'backend', type: 'string', default: 'auto', choices: ['auto', 'tensorflow', 'wasm', 'cpu'], doc: 'tfjs backend' },
  },
} as const satisfies CommandSpec;

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function cameraCheckCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, CAMERA_CHECK);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { seconds, fps, json, data: dataDir, models, backend } = p.options;
  // Both checked by parseOptions.
  const spec = parseCameraList(p.options.camera)[0]!;
  const size = parseFrameSize(p.options.cameraSize)!;

  const logger = createLogger('camera-check');
  const db = dataDir ? openEdgeDatabase(join(dataDir, 'edge.db')) : null;
  // The production decision rule's defaults, over the engine's model's templates (set once it started).
  let matcher: Matcher | null = null;
  const engine = new FaceApiEngine({ modelsDir: models, backend, logger, padRetry: false });
  const source = createCameraSource(spec, { fps, ...size, loop: p.options.cameraLoop, realtime: true, logger });
  const faceHeights: number[] = [];
  const scores: number[] = [];
  const sharpness: number[] = [];
  const brightness: number[] = [];
  const elders = new Map<string, number>();
  let analysed = 0;
  let width = 0;
  let height = 0;
  try {
    await engine.start();
    if (db) matcher = new Matcher(createElderRepository(db).loadTemplates(engine.info().model.id));
    await source.start();
    const until = Date.now() + seconds * 1000;
    const timer = setTimeout(() => void source.stop(), seconds * 1000);
    while (Date.now() < until) {
      const frame = await source.next();
      if (!frame) break;
      analysed++;
      if (frame.image.kind === 'rgb') [width, height] = [frame.image.width, frame.image.height];
      else if (width === 0) {
        // A folder or snapshot source hands over encoded images: read the size from the first.
        const meta = await sharp(frame.image.bytes).metadata();
        [width, height] = [meta.width ?? 0, meta.height ?? 0];
      }
      const faces = await engine.detect(frame.image);
      for (const f of faces) {
        faceHeights.push(Math.round(f.box.height));
        scores.push(f.score);
        if (f.quality) {
          sharpness.push(f.quality.sharpness);
          brightness.push(f.quality.brightness);
        }
        if (matcher && f.descriptor.length) {
          const m = matcher.match(f.descriptor);
          if (m.kind === 'recognised') elders.set(m.elderId, (elders.get(m.elderId) ?? 0) + 1);
        }
      }
    }
    clearTimeout(timer);
    const h = source.health();
    width = h.width || width;
    height = h.height || height;
    const result = {
      camera: h.source,
      kind: h.kind,
      state: h.state,
      seconds,
      frames: h.received,
      analysed,
      fps: Math.round((h.received / seconds) * 10) / 10,
      width,
      height,
      restarts: h.restarts,
      ...(h.error ? { error: h.error } : {}),
      faces: faceHeights.length,
      facePxMin: faceHeights.length ? Math.min(...faceHeights) : null,
      facePxP50: median(faceHeights),
      facePxMax: faceHeights.length ? Math.max(...faceHeights) : null,
      detectionScoreP50: median(scores),
      sharpnessP50: median(sharpness),
      brightnessP50: median(brightness),
      ...(matcher ? { elders: Object.fromEntries(elders) } : {}),
    };
    if (!json || process.stdout.isTTY) {
      console.log(`camera ${result.camera} (${result.kind}): ${result.state}${result.error ? ` (${result.error})` : ''}`);
      console.log(`  ${result.frames} frames in ${seconds} s = ${result.fps} fps, ${width}x${height}, ${analysed} analysed`);
      console.log(`  faces seen: ${result.faces}; face height px min/median/max: ${result.facePxMin ?? '-'}/${result.facePxP50 ?? '-'}/${result.facePxMax ?? '-'} (recognition wants >= 40, better >= 80)`);
      console.log(`  quality (median): detection score ${result.detectionScoreP50?.toFixed(2) ?? '-'}, sharpness ${result.sharpnessP50?.toFixed(1) ?? '-'}, brightness ${result.brightnessP50?.toFixed(0) ?? '-'}`);
      if (matcher) console.log(`  elders recognised (frames): ${elders.size ? [...elders].map(([e, n]) => `${e} (${n})`).join(', ') : 'none'}`);
    }
    if (json) console.log(JSON.stringify(result));
    // The edge would wait for such a camera; a check has to say it got nothing, and why.
    if (result.frames === 0) console.error(`mealcheck camera-check: no frame from ${result.camera} in ${seconds} s${result.error ? `: ${result.error}` : ''}`);
    return result.frames > 0 ? 0 : 1;
  } finally {
    await source.stop();
    await engine.stop();
    db?.close();
  }
}
