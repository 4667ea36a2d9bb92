/**
 * Child process for the decode memory test: the enrolment engine (as `mealcheck enrol` builds
 * it) detects faces in each photo given, then prints one JSON line with the faces found and the
 * process's own peak resident memory (the model worker is a thread of this process).
 *
 *   node scripts/run.js test/helpers/decode-memory-child.ts PHOTO...
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { ENROLMENT_TINY_FIRST, FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';

const engine = new FaceApiEngine({ logger: pino({ level: 'silent' }), antispoof: false, tinyFirst: ENROLMENT_TINY_FIRST });
await engine.start();
const model = engine.info().model.id;
const photos: { photo: string; faces: { box: { x: number; y: number; width: number; height: number }; descriptor: number[] }[] }[] = [];
try {
  for (const photo of process.argv.slice(2)) {
    const faces = await engine.detect({ kind: 'encoded', bytes: readFileSync(photo) });
    photos.push({ photo, faces: faces.map((f) => ({ box: f.box, descriptor: [...f.descriptor] })) });
  }
} finally {
  await engine.stop();
}
console.log(JSON.stringify({ photos, model, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
