/**
 * The SSD MobileNet forward pass that frees each layer's input once used (ssd-forward.ts)
 * against face-api's own, on the real weights and the demo photos, on the wasm backend the
 * model worker uses: the same numbers bit for bit, and a fraction of the peak tensor memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, type LoadedBackend } from '../../edge/src/vision/backend.ts';
import { decodeImage } from '../../edge/src/vision/image.ts';
import { DEFAULT_MODELS_DIR } from '../../edge/src/vision/models.ts';
import { ssdForward } from '../../edge/src/vision/ssd-forward.ts';
import { sampleBytes } from '../helpers/vision-samples.ts';

let loaded: LoadedBackend;
type Net = LoadedBackend['faceapi']['nets']['ssdMobilenetv1'];
type Tensor = ReturnType<LoadedBackend['tf']['tensor']>;
type Tensor3D = ReturnType<LoadedBackend['tf']['tensor3d']>;
type Out = { boxes: Tensor[]; scores: Tensor[] };

beforeAll(async () => {
  loaded = await loadBackend('wasm', () => {});
  await loaded.faceapi.nets.ssdMobilenetv1.loadFromDisk(DEFAULT_MODELS_DIR);
}, 60_000);

afterAll(() => {
  loaded?.faceapi.nets.ssdMobilenetv1.dispose();
});

/** One photo as the worker hands it to the detector (decoded, at most 640 px). */
async function photo(n: number): Promise<Tensor3D> {
  const img = await decodeImage(sampleBytes(n), { maxSide: 640 });
  return loaded.tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
}

/** The boxes and scores of `forward` as plain arrays, and the peak tensor bytes it took. */
async function run(forward: (input: InstanceType<LoadedBackend['faceapi']['NetInput']>) => Out, image: Tensor3D): Promise<{ boxes: Float32Array; scores: Float32Array; peakMb: number }> {
  const { tf, faceapi } = loaded;
  const input = await faceapi.toNetInput(image);
  const before = tf.memory().numBytes;
  let boxes = new Float32Array(0);
  let scores = new Float32Array(0);
  const profile = await tf.profile(() => {
    const out = forward(input);
    boxes = Float32Array.from(out.boxes[0]!.dataSync() as Float32Array);
    scores = Float32Array.from(out.scores[0]!.dataSync() as Float32Array);
    for (const t of [...out.boxes, ...out.scores]) t.dispose();
  });
  return { boxes, scores, peakMb: (profile.peakBytes - before) / 2 ** 20 };
}

describe('ssdForward', () => {
  it('gives face-api\'s boxes and scores exactly, at under half its peak memory, leaking nothing', async () => {
    const { tf } = loaded;
    const net: Net = loaded.faceapi.nets.ssdMobilenetv1;
    const params = (net as unknown as { params: Parameters<typeof ssdForward>[1] }).params;
    for (const n of [1, 3, 5]) {
      const image = await photo(n);
      try {
        const tensors = tf.memory().numTensors;
        const theirs = await run((input) => net.forwardInput(input) as unknown as Out, image);
        const ours = await run((input) => ssdForward(tf, params, input), image);
        expect(tf.memory().numTensors).toBe(tensors);
        expect(ours.boxes.length).toBe(theirs.boxes.length);
        expect(ours.boxes).toEqual(theirs.boxes);
        expect(ours.scores).toEqual(theirs.scores);
        console.log(`sample${n}: peak tensor memory ${theirs.peakMb.toFixed(0)} MB (face-api) -> ${ours.peakMb.toFixed(0)} MB`);
        expect(ours.peakMb).toBeLessThan(theirs.peakMb / 2);
      } finally {
        image.dispose();
      }
    }
  }, 120_000);
});
