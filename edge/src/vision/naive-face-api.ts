/**
 * The out-of-the-box face-api way, for the benchmark's baseline only (scripts/bench): SSD
 * MobileNet on the whole photo, then `withFaceLandmarks().withFaceDescriptors()`, and
 * face-api's own FaceMatcher. It runs on the calling thread (the bench calls it after its
 * event-loop and memory figures are taken), on the same backend choice as the engine.
 * Nothing in the edge uses this; it lives here because tfjs is imported only in vision/.
 */
import type { Tensor3D } from '@tensorflow/tfjs';
import { loadBackend, type FaceApi, type LoadedBackend } from './backend.ts';
import type { BackendChoice, FaceBox } from './face-engine.ts';
import { decodeImage } from './image.ts';

export interface NaiveFace {
  box: FaceBox;
  score: number;
  descriptor: Float32Array;
}

export interface NaiveFaceApi {
  backend: string;
  /** Decode (sharp) + detectAllFaces(SSD).withFaceLandmarks().withFaceDescriptors(). */
  detect(bytes: Uint8Array): Promise<NaiveFace[]>;
  /** face-api's FaceMatcher over a labelled gallery; returns a function giving the best label. */
  faceMatcher(elderIds: readonly string[], descriptors: Float32Array, dim: number): (q: Float32Array) => string;
}

export async function loadNaiveFaceApi(opts: { modelsDir: string; backend: BackendChoice; minConfidence?: number }): Promise<NaiveFaceApi> {
  const loaded: LoadedBackend = await loadBackend(opts.backend, () => {});
  const { tf, faceapi } = loaded;
  for (const net of [faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net, faceapi.nets.faceRecognitionNet]) await net.loadFromDisk(opts.modelsDir);
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: opts.minConfidence ?? 0.5 });
  const detect = async (bytes: Uint8Array): Promise<NaiveFace[]> => {
    const img = await decodeImage(bytes);
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32') as Tensor3D;
    try {
      const found = await faceapi.detectAllFaces(t, options).withFaceLandmarks().withFaceDescriptors();
      return found.map((f) => ({ box: { x: f.detection.box.x, y: f.detection.box.y, width: f.detection.box.width, height: f.detection.box.height }, score: f.detection.score, descriptor: Float32Array.from(f.descriptor) }));
    } finally {
      t.dispose();
    }
  };
  // Warm-up, as the engine does, so first-call kernel compilation is not timed.
  const warm = tf.zeros([480, 640, 3], 'int32') as Tensor3D;
  const face = tf.zeros([150, 150, 3], 'int32') as Tensor3D;
  try {
    await faceapi.detectAllFaces(warm, options);
    await faceapi.nets.faceLandmark68Net.detectLandmarks(face);
    await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(face);
  } finally {
    warm.dispose();
    face.dispose();
  }
  return {
    backend: loaded.backend,
    detect,
    faceMatcher: (elderIds, descriptors, dim) => faceMatcher(faceapi, elderIds, descriptors, dim),
  };
}

function faceMatcher(faceapi: FaceApi, elderIds: readonly string[], descriptors: Float32Array, dim: number): (q: Float32Array) => string {
  const byElder = new Map<string, Float32Array[]>();
  elderIds.forEach((id, i) => {
    const list = byElder.get(id) ?? [];
    list.push(descriptors.subarray(i * dim, (i + 1) * dim));
    byElder.set(id, list);
  });
  const matcher = new faceapi.FaceMatcher([...byElder].map(([id, list]) => new faceapi.LabeledFaceDescriptors(id, list)), 0.6);
  return (q) => matcher.findBestMatch(q).label;
}
