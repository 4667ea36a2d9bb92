/**
 * The seam between the edge and the face models. Everything above this interface (enrolment,
 * check-in pipeline, evaluation) is model-agnostic and can be tested with a fake engine; the
 * real implementation (`face-api-engine.ts`) runs the models in a worker thread.
 */

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A face found on a shrunk copy of an image, in the coordinates of the image itself; `sx`, `sy`:
 * the copy's size over the image's. The worker maps faces of photos it shrank while decoding,
 * enrolment those of photos it decoded shrunk itself.
 */
export function toSourceCoordinates<F extends { box: FaceBox; landmarks: Point[] }>(f: F, sx: number, sy: number): F {
  const { box } = f;
  return {
    ...f,
    box: { x: box.x / sx, y: box.y / sy, width: box.width / sx, height: box.height / sy },
    landmarks: f.landmarks.map((p) => ({ x: p.x / sx, y: p.y / sy })),
  };
}

/** Intersection over union of two boxes (0 when they do not overlap). */
export function iou(a: FaceBox, b: FaceBox): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  if (inter === 0) return 0;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

export interface Point {
  x: number;
  y: number;
}

export interface DetectedFace {
  /** Box in the input image's pixel coordinates. */
  box: FaceBox;
  /** Detector confidence, 0..1. */
  score: number;
  /** 68 landmarks in image coordinates. */
  landmarks: Point[];
  /**
   * The face's descriptor from the engine's recognizer (`info().model`): 128-d from face-api's
   * net, unit length and `model.dimension` long from an ONNX model (512 for `fr-feature`),
   * 1024-d from the eval-only `faceres`. Euclidean distance between two descriptors of one
   * model measures dissimilarity (on unit vectors it orders pairs as cosine distance does);
   * descriptors of two models are never compared.
   */
  descriptor: Float32Array;
  /**
   * The face warped onto the standard 112x112 ArcFace 5-point template, when asked for with
   * `DetectOptions.keepAligned` (enrolment keeps it to rebuild templates after a model change).
   */
  aligned?: AlignedFace;
  /** Image measurements of the aligned face, for the quality gate (engines may omit them). */
  quality?: FaceQuality;
  /**
   * Anti-spoof hint: a score 0..1 that the face is a live person rather than a photo or a
   * screen held up to the camera (higher = more likely live), from the `antispoof` model
   * shipped in @vladmandic/human. Engines may omit it; omitted means "not measured". The real
   * engine scores every face it describes (never a `skipDescribe` face); genuine faces spread
   * widely (0.3-0.98 on faces-dev), see scripts/eval/CALIBRATION.md before thresholding it.
   */
  antispoof?: number;
}

export interface FaceQuality {
  /** Mean luma, 0-255, of the middle of the aligned face. */
  brightness: number;
  /** Mean absolute Laplacian of that luma: low means blurred. */
  sharpness: number;
}

export interface DetectOptions {
  /**
   * Boxes of faces the caller has already identified (decided tracks). A detected face over
   * one of them (IoU >= 0.5) comes back with its box and score only: `landmarks` empty and
   * `descriptor` of length 0. Saves the landmark and recognition nets (~30 ms a face on wasm)
   * on every frame of an elder who is already checked in. Engines may ignore it.
   */
  skipDescribe?: readonly FaceBox[];
  /** Return each described face's `aligned` crop (enrolment). Default false: frames never need it. */
  keepAligned?: boolean;
}

/** Name of the one alignment aligned crops use: the 112x112 ArcFace 5-point template. */
export const ALIGNED_TEMPLATE = 'arcface-112';

/**
 * A face warped by a 5-point similarity transform (eye centres, nose tip, mouth corners, from
 * the 68 landmarks) onto the ArcFace template, 112x112 RGB, row-major, 3 bytes a pixel.
 * Biometric data: it never leaves the box.
 */
export interface AlignedFace {
  alignment: typeof ALIGNED_TEMPLATE;
  width: number;
  height: number;
  data: Uint8Array;
}

/** The recognizer a descriptor comes from: templates record it, the matcher never mixes two. */
export interface RecognizerModel {
  /** `face-api` (the 128-d net) or the id of a `recognizers` entry of models/manifest.json. */
  id: string;
  /** Values per descriptor. */
  dimension: number;
  /**
   * The alignment its input is cut with: `arcface-112` (it can embed `AlignedFace` crops, so
   * templates can be rebuilt from kept crops) or `dlib-150` (face-api's own crop).
   */
  alignment: string;
}

/** An image as the engine accepts it: encoded bytes (JPEG/PNG) or raw RGB pixels. */
export type EngineImage =
  | { kind: 'encoded'; bytes: Uint8Array }
  | { kind: 'rgb'; data: Uint8Array; width: number; height: number };

export interface FaceEngineInfo {
  /** tfjs backend in use: `tensorflow` (tfjs-node), `wasm` or `cpu`. */
  backend: string;
  /** Detector name and input size, e.g. `ssdMobilenetv1`. */
  detector: string;
  /** The recognizer the descriptors come from. */
  model: RecognizerModel;
}

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface FaceEngine {
  /** Loads and verifies the models, picks the backend, warms up every net. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Valid after start(). */
  info(): FaceEngineInfo;
  /** Every face in the image, largest first. Throws ImageError for bad input. */
  detect(image: EngineImage, opts?: DetectOptions): Promise<DetectedFace[]>;
  /**
   * Descriptors of aligned crops (`DetectedFace.aligned`, kept at enrolment), in order, from
   * the engine's recognizer; only when `info().model.alignment` is `arcface-112` (otherwise
   * absent, or it throws). Rebuilds templates after a model change without the photos.
   */
  embedAligned?(faces: readonly AlignedFace[]): Promise<Float32Array[]>;
  /**
   * For an engine that defers recognition (FaceApiEngineOptions.deferRecognition): the faces
   * `detect` gave, with their descriptors; the engine is stopped afterwards. Absent or a no-op
   * for an engine whose faces already carry descriptors.
   */
  describeDeferred?(faces: readonly DetectedFace[]): Promise<DetectedFace[]>;
}

export type ImageErrorCode = 'unsupported-format' | 'corrupt' | 'too-large' | 'empty';

/** A bad input image: the message says what is wrong, in words staff can act on. */
export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Models missing or corrupt: the edge refuses to run and names the file. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}
