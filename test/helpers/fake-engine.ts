/**
 * Fakes at the model and camera seams, for tests of what sits above them (pipeline, enrolment).
 *
 * A fake image is the UTF-8 text of a scene label (`fakeImage('alice')`, or a file whose bytes
 * are that text); the FakeEngine maps each label to canned faces with canned descriptors.
 * Descriptors are synthetic unit vectors, so distances between them are exact and known.
 */
import { ImageError, type DetectedFace, type EngineImage, type FaceBox, type FaceEngine, type FaceEngineInfo, type RecognizerModel } from '../../edge/src/vision/face-engine.ts';
import type { Frame, FrameSource } from '../../edge/src/capture/frame-source.ts';
import { euclideanDistance } from '../../edge/src/recognition/matcher.ts';
import { seededRandom } from '../../scripts/demo/demo-scene.ts';

export { euclideanDistance as euclidean };

export const DIM = 128;

/** Deterministic PRNG (mulberry32), so synthetic galleries are the same on every run. */
export const rng = seededRandom;

/** A random unit vector, like a face-api descriptor: two of these are ~1.41 apart. */
export function syntheticDescriptor(seed: number): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    // Box-Muller: uniform direction on the sphere.
    const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    v[i] = g;
    norm += g * g;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIM; i++) v[i] = v[i]! / norm;
  return v;
}

/** A descriptor exactly `distance` away from `base` (Euclidean), in a direction set by `seed`. */
export function descriptorAt(base: Float32Array, distance: number, seed: number): Float32Array {
  const dir = syntheticDescriptor(seed);
  const out = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) out[i] = base[i]! + dir[i]! * distance;
  return out;
}

export interface FakeFaceSpec {
  descriptor: Float32Array;
  /** Default: a 100 px face at (100, 100). */
  box?: Partial<FaceBox>;
  score?: number;
}

export function fakeFace(spec: FakeFaceSpec): DetectedFace {
  const box: FaceBox = { x: 100, y: 100, width: 100, height: 100, ...spec.box };
  return { box, score: spec.score ?? 0.99, landmarks: [], descriptor: spec.descriptor };
}

/** What a scene label stands for: faces, a bad image, or an engine failure. */
export type FakeScene = DetectedFace[] | ImageError | Error;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An encoded image whose bytes are the scene label. */
export function fakeImage(label: string): EngineImage {
  return { kind: 'encoded', bytes: encoder.encode(label) };
}

/**
 * A real JPEG (grey, 320x240) carrying a scene label in a comment segment: the FakeEngine reads
 * the label, sharp decodes the picture (for the review queue's crops).
 */
export async function labelledJpeg(label: string, width = 320, height = 240): Promise<EngineImage> {
  const { default: sharp } = await import('sharp');
  const jpeg = await sharp({ create: { width, height, channels: 3, background: { r: 120, g: 110, b: 100 } } }).jpeg().toBuffer();
  const text = encoder.encode(label);
  const com = new Uint8Array(4 + text.length);
  com.set([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 0xff]);
  com.set(text, 4);
  const bytes = new Uint8Array(jpeg.length + com.length);
  bytes.set(jpeg.subarray(0, 2));
  bytes.set(com, 2);
  bytes.set(jpeg.subarray(2), 2 + com.length);
  return { kind: 'encoded', bytes };
}

/** The label of a labelledJpeg (its comment segment right after SOI), else undefined. */
function jpegLabel(b: Uint8Array): string | undefined {
  if (b.length < 6 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff || b[3] !== 0xfe) return undefined;
  const len = (b[4]! << 8) | b[5]!;
  return decoder.decode(b.subarray(6, 4 + len));
}

/** The recognizer a FakeEngine says it runs unless told another: face-api's 128-d net. */
export const FAKE_MODEL: Readonly<RecognizerModel> = { id: 'face-api', dimension: DIM, alignment: 'dlib-150' };

export class FakeEngine implements FaceEngine {
  readonly scenes = new Map<string, FakeScene>();
  /** Labels of every detect() call, in order. */
  readonly calls: string[] = [];
  started = false;

  /** `model`: what info() reports (its descriptors are whatever the scenes hold). */
  constructor(
    scenes: Record<string, FakeScene> = {},
    readonly model: Readonly<RecognizerModel> = FAKE_MODEL,
  ) {
    for (const [k, v] of Object.entries(scenes)) this.scenes.set(k, v);
  }

  async start(): Promise<void> {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.started = false;
  }
  info(): FaceEngineInfo {
    return { backend: 'fake', detector: 'fake', model: { ...this.model } };
  }

  async detect(image: EngineImage): Promise<DetectedFace[]> {
    if (image.kind !== 'encoded') throw new ImageError('unsupported-format', 'the fake engine takes encoded images only');
    if (image.bytes.length === 0) throw new ImageError('empty', 'the image is empty');
    const label = (jpegLabel(image.bytes) ?? decoder.decode(image.bytes)).trim();
    this.calls.push(label);
    const scene = this.scenes.get(label);
    if (scene === undefined) throw new ImageError('corrupt', `not an image the fake engine knows ("${label.slice(0, 40)}")`);
    if (scene instanceof Error) throw scene;
    // Fresh objects per call, like a real engine.
    return scene.map((f) => ({ ...f, box: { ...f.box }, descriptor: Float32Array.from(f.descriptor) }));
  }
}

/** A finite FrameSource over canned images: hands out every frame in order, then null. */
export class MemoryFrameSource implements FrameSource {
  readonly id: string;
  started = false;
  stopped = false;
  private i = 0;

  constructor(
    private readonly frames: readonly (EngineImage | string)[],
    id = 'memory',
    private readonly frameMs = 200,
  ) {
    this.id = id;
  }

  async start(): Promise<void> {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  async next(): Promise<Frame | null> {
    if (this.stopped || this.i >= this.frames.length) return null;
    const seq = this.i++;
    const f = this.frames[seq]!;
    const image = typeof f === 'string' ? fakeImage(f) : f;
    return { seq, at: 1_700_000_000_000 + seq * this.frameMs, image, label: typeof f === 'string' ? f : `frame-${seq}` };
  }
}

/**
 * A FrameSource the test feeds by hand (`push('wang')`, then `end()`): next() waits for the next
 * pushed frame, so a test can connect a page before the first face appears.
 */
export class PushFrameSource implements FrameSource {
  private readonly queue: Array<EngineImage | string | null> = [];
  private waiting: ((f: EngineImage | string | null) => void) | undefined;
  private seq = 0;

  constructor(readonly id = 'door') {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.end();
  }
  /** Frames to hand out next, in order. */
  push(...frames: Array<EngineImage | string>): void {
    for (const f of frames) this.deliver(f);
  }
  /** No more frames: next() answers null (the camera ended). */
  end(): void {
    this.deliver(null);
  }
  async next(): Promise<Frame | null> {
    const f = this.queue.length ? this.queue.shift()! : await new Promise<EngineImage | string | null>((r) => (this.waiting = r));
    if (f === null) {
      this.queue.unshift(null);
      return null;
    }
    const seq = this.seq++;
    return { seq, at: Date.now(), image: typeof f === 'string' ? fakeImage(f) : f, label: typeof f === 'string' ? f : `frame-${seq}` };
  }
  private deliver(f: EngineImage | string | null): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (w) w(f);
    else this.queue.push(f);
  }
}
