/**
 * `mealcheck camera-check --camera SOURCE [--seconds N] [--json] [--data DIR]`: the
 * installer's check. Reads one camera for N seconds through the same source and engine as the
 * edge, and prints what recognition will get: fps, resolution, faces, face sizes and quality,
 * and with --data the elders recognised. With --json the last line is one JSON object.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { ConfigError, parseArgs } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { createCameraSource } from '../../edge/src/capture/camera-sources.ts';
import { CameraSpecError, parseCameraList, parseFrameSize } from '../../edge/src/capture/camera-spec.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { openEdgeDatabase } from '../../edge/src/main.ts';
import { Matcher } from '../../edge/src/recognition/matcher.ts';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';

const USAGE = `mealcheck camera-check --camera SOURCE [--seconds N] [--fps N] [--camera-size WxH] [--camera-loop] [--data DIR] [--json]

Reads SOURCE (as the edge's --camera: /dev/videoN, rtsp://..., http(s)://..., snapshot+http(s)://...,
a video file or a folder) for N seconds (default 10) and reports fps, resolution, faces and their
size and quality; with --data DIR (an edge data folder) also the elders recognised.`;

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function cameraCheckCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const args = parseArgs(argv, new Set(['json', 'camera-loop']));
  const get = (f: string) => {
    const v = args.flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  for (const f of args.flags.keys()) if (!['camera', 'seconds', 'fps', 'camera-size', 'camera-loop', 'data', 'json', 'models', 'backend'].includes(f)) problems.push(`unknown option --${f}`);
  const cameraArg = get('camera') ?? process.env.MEALCHECK_CAMERA;
  let spec;
  if (!cameraArg) problems.push('--camera SOURCE is required');
  else {
    try {
      const specs = parseCameraList(cameraArg);
      if (specs.length > 1) problems.push('--camera: check one camera at a time');
      spec = specs[0];
    } catch (err) {
      if (!(err instanceof CameraSpecError)) throw err;
      problems.push(...err.problems.map((p) => `--camera: ${p}`));
    }
  }
  const seconds = Number(get('seconds') ?? 10);
  if (!(seconds > 0 && seconds <= 3600)) problems.push(`--seconds: expected 1..3600, got "${get('seconds')}"`);
  const fps = Number(get('fps') ?? 5);
  if (!(fps > 0 && fps <= 30)) problems.push(`--fps: expected 0.1..30, got "${get('fps')}"`);
  const size = parseFrameSize(get('camera-size') ?? '640x480');
  if (!size) problems.push(`--camera-size: expected WIDTHxHEIGHT, e.g. 640x480`);
  if (problems.length || !spec || !size) throw new ConfigError(problems);
  const json = args.flags.has('json');

  const logger = createLogger('camera-check');
  const dataDir = get('data');
  const db = dataDir ? openEdgeDatabase(join(dataDir, 'edge.db')) : null;
  // The production decision rule's defaults.
  const matcher = db ? new Matcher(createElderRepository(db).loadTemplates()) : null;
  const engine = new FaceApiEngine({ modelsDir: get('models') ?? process.env.MEALCHECK_MODELS, backend: (get('backend') ?? 'auto') as 'auto', logger, padRetry: false });
  const source = createCameraSource(spec, { fps, ...size, loop: args.flags.has('camera-loop'), realtime: true, logger });
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
