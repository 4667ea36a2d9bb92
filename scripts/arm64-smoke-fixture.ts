/**
 * The photo and the camera frames of scripts/arm64-smoke.sh: the first face of
 * @vladmandic/face-api's demo/sample1.jpg cut out as the tests do (the enrolment photo), and a
 * folder camera's frames of that elder walking up to the door (scripts/demo/demo-scene.ts).
 *
 *   node scripts/run.js scripts/arm64-smoke-fixture.ts DIR   writes DIR/photo.jpg and DIR/frames/
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderScene } from './demo/demo-scene.ts';
import { cropAround, sampleBytes } from '../test/helpers/vision-samples.ts';

// The first face of sample1.jpg as the SSD detector finds it (as in the e2e tests).
const FACE = { x: 414, y: 355, width: 177, height: 240 };

const dir = process.argv[2];
if (!dir || process.argv.length > 3) {
  process.stderr.write('usage: node scripts/run.js scripts/arm64-smoke-fixture.ts DIR\n');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const photo = join(dir, 'photo.jpg');
writeFileSync(photo, await cropAround(sampleBytes(1), FACE, { margin: 0.7 }));
const jpeg = readFileSync(photo);
await renderScene([{ id: 'E1', name: '王秀英', enrolled: true, portrait: jpeg, enrolPhotos: [jpeg], source: photo }], join(dir, 'frames'), {
  framesPerVisit: 4,
  gapFrames: 4,
  repeatVisits: 0,
});
process.stdout.write(`${photo} and ${join(dir, 'frames')}\n`);
