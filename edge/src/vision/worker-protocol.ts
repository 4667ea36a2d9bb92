/**
 * Messages between the engine (main thread) and the model worker. Every request has an id and
 * gets exactly one response with the same id; `log` messages carry the worker's log lines to
 * the main thread's logger.
 */
import type { BackendChoice, EngineImage, FaceBox, FaceQuality, ImageErrorCode, Point } from './face-engine.ts';
import type { PadMode } from './image.ts';

export type DetectorName = 'ssdMobilenetv1' | 'tinyFaceDetector';

/** Everything the worker needs, resolved to concrete values by the engine. */
export interface WorkerSettings {
  modelsDir: string;
  backend: BackendChoice;
  detector: DetectorName;
  minConfidence: number;
  maxInputSide: number;
  tinyInputSize: number;
  maxPixels: number;
  padRetry: boolean;
  padRatio: number;
  padMode: PadMode;
  /** Flip test-time augmentation (see FaceApiEngineOptions.flip). */
  flip: boolean;
}

export type WorkerCall = { type: 'init'; settings: WorkerSettings } | { type: 'detect'; image: EngineImage; skipDescribe?: FaceBox[] };
export type WorkerRequest = WorkerCall & { id: number };

export interface WireFace {
  box: FaceBox;
  score: number;
  landmarks: Point[];
  descriptor: Float32Array;
  quality?: FaceQuality;
}

export interface WireError {
  name: string;
  message: string;
  code?: ImageErrorCode;
}

export interface InitResult {
  backend: string;
  detector: DetectorName;
  tfjsVersion: string;
  warmupMs: number;
}

export interface DetectResult {
  faces: WireFace[];
  /** Time spent in the worker, decode included. */
  ms: number;
  /** True when the faces were found only after padding the image (tight crop). */
  padded: boolean;
}

export type WorkerResponse =
  | { id: number; ok: true; type: 'init'; result: InitResult }
  | { id: number; ok: true; type: 'detect'; result: DetectResult }
  | { id: number; ok: false; error: WireError }
  | { id: 0; type: 'log'; level: 'info' | 'warn'; msg: string; data?: Record<string, unknown> };
