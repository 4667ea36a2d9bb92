/**
 * Messages between the engine (main thread) and the model worker. Every request has an id and
 * gets exactly one response with the same id; `log` messages carry the worker's log lines to
 * the main thread's logger.
 */
import type { AlignedFace, BackendChoice, EngineImage, FaceBox, FaceQuality, ImageErrorCode, Point, RecognizerModel } from './face-engine.ts';
import type { PadMode } from './image.ts';

export type DetectorName = 'ssdMobilenetv1' | 'tinyFaceDetector';

/**
 * The net that computes descriptors: face-api's 128-d net (the edge's), or Human's 1024-d
 * `faceres` (for `mealcheck eval --model faceres`; its descriptors do not fit the edge's
 * 128-d templates).
 */
export type RecognizerName = 'face-api' | 'faceres';

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
  padRetry: boolean;
  padRatio: number;
  padMode: PadMode;
  /** Flip test-time augmentation (see FaceApiEngineOptions.flip). */
  flip: boolean;
  /** Run the antispoof model on every described face (see FaceApiEngineOptions.antispoof). */
  antispoof: boolean;
  recognizer: RecognizerName;
}

export type WorkerCall = { type: 'init'; settings: WorkerSettings } | { type: 'detect'; image: EngineImage; skipDescribe?: FaceBox[] };
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
  warmupMs: number;
}

export interface DetectResult {
  faces: WireFace[];
  /** Time spent in the worker, decode included. */
  ms: number;
  /** True when the faces were found only after padding the image (tight crop). */
  padded: boolean;
  /** Time spent in the antispoof model, and the faces it ran on (0 when off). */
  antispoofMs: number;
  antispoofFaces: number;
}

export type WorkerResponse =
  | { id: number; ok: true; type: 'init'; result: InitResult }
  | { id: number; ok: true; type: 'detect'; result: DetectResult }
  | { id: number; ok: false; error: WireError }
  | { id: 0; type: 'log'; level: 'info' | 'warn'; msg: string; data?: Record<string, unknown> };
