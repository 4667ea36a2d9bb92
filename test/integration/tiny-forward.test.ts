/**
 * The tiny face detector's forward pass that frees each layer's input once used
 * (tiny-forward.ts) against face-api's own, on the real weights and the demo photos, on the
 * wasm backend the model worker uses, at the camera engine's input size and face-api's default:
 * the same numbers bit for bit, and a fraction of the peak tensor memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, type LoadedBackend } from '../../edge/src/vision/backend.ts';
import { decodeImage } from '../../edge/src/vision/image.ts';
import { DEFAULT_MODELS_DIR } from '../../edge/src/vision/models.ts';
import { tinyForward } from '../../edge/src/vision/tiny-forward.ts';
import { sampleBytes } from '../helpers/vision-samples.ts';

let loaded: LoadedBackend;
type Net = LoadedBackend['faceapi']['nets']['tinyFaceDetector'];
type NetInput = InstanceType<LoadedBackend['faceapi']['NetInput']>;
type Tensor = ReturnType<LoadedBackend['tf']['tensor']>;
type Tensor3D = ReturnType<LoadedBackend['tf']['tensor3d']>;

beforeAll(async () => {
  loaded = await loadBackend('wasm', () => {});
  await loaded.faceapi.nets.tinyFaceDetector.loadFromDisk(DEFAULT_MODELS_DIR);
}, 60_000);

afterAll(() => {
  loaded?.faceapi.nets.tinyFaceDetector.dispose();
});

/** One photo as the worker hands it to the detector (decoded, at most `side` px). */
async function photo(n: number, side: number): Promise<Tensor3D> {
  const img = await decodeImage(sampleBytes(n), { maxSide: side });
  return loaded.tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
}

/** The output grid of `forward` as a plain array, and the peak tensor bytes it took. */
async function run(forward: (input: NetInput) => Tensor, image: Tensor3D): Promise<{ out: Float32Array; peakMb: number }> {
  const { tf, faceapi } = loaded;
  const input = await faceapi.toNetInput(image);
  const before = tf.memory().numBytes;
  let out = new Float32Array(0);
  const profile = await tf.profile(() => {
    const t = forward(input);
    out = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
  });
  return { out, peakMb: (profile.peakBytes - before) / 2 ** 20 };
}

describe('tinyForward', () => {
  it("gives face-api's output exactly, at under half its peak memory, leaking nothing", async () => {
    const { tf } = loaded;
    const net: Net = loaded.faceapi.nets.tinyFaceDetector;
    const { params, config } = net as unknown as { params: Parameters<typeof tinyForward>[1]; config: Parameters<typeof tinyForward>[2] };
    for (const [n, inputSize] of [[1, 320], [3, 416], [5, 608]] as const) {
      const image = await photo(n, inputSize);
      try {
        const tensors = tf.memory().numTensors;
        const theirs = await run((input) => net.forwardInput(input, inputSize) as unknown as Tensor, image);
        const ours = await run((input) => tinyForward(tf, params, config, input, inputSize), image);
        expect(tf.memory().numTensors).toBe(tensors);
        expect(ours.out.length).toBeGreaterThan(0);
        expect(ours.out).toEqual(theirs.out);
        console.log(`sample${n} at ${inputSize}: peak tensor memory ${theirs.peakMb.toFixed(0)} MB (face-api) -> ${ours.peakMb.toFixed(0)} MB`);
        expect(ours.peakMb).toBeLessThan(theirs.peakMb / 2);
      } finally {
        image.dispose();
      }
    }
  }, 120_000);
});
