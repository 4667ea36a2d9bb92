/**
 * Messages between the engine (main thread) and the model worker. Every request has an id and
 * gets exactly one response with the same id; `log` messages carry the worker's log lines to
 * the main thread's logger.
 */
import type { AlignedFace, BackendChoice, EngineImage, FaceBox, FaceQuality, ImageErrorCode, Point, RecognizerModel } from './face-engine.ts';
import type { PadMode } from './image.ts';
import type { RecognizerEntry } from './models.ts';

export type DetectorName = 'ssdMobilenetv1' | 'tinyFaceDetector';

/**
 * The net that computes descriptors: face-api's 128-d net, Human's 1024-d `faceres` (for
 * `mealcheck eval --model faceres` only), or the id of an ONNX `recognizers` entry of
 * models/manifest.json (e.g. `fr-feature`, 512-d).
 */
export type RecognizerName = 'face-api' | 'faceres' | (string & {});

/** Everything the worker needs, resolved to concrete values by the engine. */
export interface WorkerSettings {
  modelsDir: string;
  backend: BackendChoice;
  detector: DetectorName;
  minConfidence: number;
  maxInputSide: number;
  tinyInputSize: number;
  maxPixels: number;
  /** Longest side the engine works on (see FaceApiEngineOptions.maxDecodeSide). */
  maxDecodeSide: number;
  /** Largest progressive JPEG accepted (see FaceApiEngineOptions.maxProgressivePixels). */
  maxProgressivePixels: number;
  padRetry: boolean;
  padRatio: number;
  padMode: PadMode;
  /** Flip test-time augmentation (see FaceApiEngineOptions.flip). */
  flip: boolean;
  /** Run the antispoof model on every described face (see FaceApiEngineOptions.antispoof). */
  antispoof: boolean;
  recognizer: RecognizerName;
  /** The manifest entry of an ONNX recognizer (resolved by the engine), when one is used. */
  onnx?: RecognizerEntry;
  /** ONNX runtime: `auto` (native binding, else wasm), `node` or `wasm`. */
  onnxRuntime: 'auto' | 'node' | 'wasm';
  /** Try the tiny detector first, SSD (loaded on first need) only when its faces are not accepted (see FaceApiEngineOptions.tinyFirst). */
  tinyFirst?: TinyFirst;
  /**
   * With an ONNX recognizer (FaceApiEngineOptions.deferRecognition): `detect`, the recognizer
   * is not loaded and faces come with their aligned crop and an empty descriptor; `embed`, only
   * the recognizer is loaded (no tfjs), for `describe` calls. Absent: everything, as usual.
   */
  phase?: 'detect' | 'embed';
}

/** The tiny detector's first pass of an SSD engine (FaceApiEngineOptions.tinyFirst). */
export interface TinyFirst {
  inputSize: number;
  minConfidence: number;
  /** Its faces are kept only when there is exactly one (true) or at least one (false)... */
  exactlyOne: boolean;
  /** ...each scoring at least this. */
  minScore: number;
}

export type WorkerCall = { type: 'init'; settings: WorkerSettings } | { type: 'detect'; image: EngineImage; skipDescribe?: FaceBox[]; keepAligned?: boolean }
  | { type: 'embed'; faces: AlignedFace[] }
  /** Descriptors of aligned crops exactly as a detect pass makes them (one at a time, flip as set). */
  | { type: 'describe'; faces: AlignedFace[] };
export type WorkerRequest = WorkerCall & { id: number };

export interface WireFace {
  box: FaceBox;
  score: number;
  landmarks: Point[];
  descriptor: Float32Array;
  quality?: FaceQuality;
  antispoof?: number;
  aligned?: AlignedFace;
}

export interface WireError {
  name: string;
  message: string;
  code?: ImageErrorCode;
}

export interface InitResult {
  backend: string;
  detector: DetectorName;
  recognizer: RecognizerName;
  model: RecognizerModel;
  antispoof: boolean;
  tfjsVersion: string;
  /** The runtime of an ONNX recognizer (`onnxruntime-node` or `onnxruntime-web (wasm)`). */
  onnxRuntime?: string;
  warmupMs: number;
}

export interface DetectResult {
  faces: WireFace[];
  /** Time spent in the worker, decode included. */
  ms: number;
  /** True when the faces were found only after padding the image (tight crop). */
  padded: boolean;
  /** The detector whose faces these are (with tinyFirst: the tiny one, or SSD when it ran after it). */
  detector: DetectorName;
  /** Time spent in the antispoof model, and the faces it ran on (0 when off). */
  antispoofMs: number;
  antispoofFaces: number;
}

export type WorkerResponse =
  | { id: number; ok: true; type: 'init'; result: InitResult }
  | { id: number; ok: true; type: 'detect'; result: DetectResult }
  | { id: number; ok: true; type: 'embed'; result: Float32Array[] }
  | { id: number; ok: true; type: 'describe'; result: Float32Array[] }
  | { id: number; ok: false; error: WireError }
  | { id: 0; type: 'log'; level: 'info' | 'warn'; msg: string; data?: Record<string, unknown> };
