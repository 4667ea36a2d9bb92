/**
 * The real FaceEngine: @vladmandic/face-api (SSD MobileNet or TinyFaceDetector, 68 landmarks,
 * 128-d descriptor) plus @vladmandic/human's antispoof model, running in a worker thread, so
 * the edge's event loop stays free while a detection takes hundreds of milliseconds on the
 * wasm backend.
 */
import { Worker } from 'node:worker_threads';
import { createLogger, type Logger } from '../../../common/logger.ts';
import {
  ImageError,
  ModelError,
  type BackendChoice,
  type DetectedFace,
  type DetectOptions,
  type EngineImage,
  type FaceEngine,
  type FaceEngineInfo,
  type AlignedFace,
} from './face-engine.ts';
import { DEFAULT_MAX_DECODE_SIDE, DEFAULT_MAX_PIXELS, type PadMode } from './image.ts';
import { DEFAULT_MANIFEST, DEFAULT_MODELS_DIR, DEFAULT_RECOGNIZER, recognizerById, verifyModels } from './models.ts';
import { BackendError } from './backend.ts';
import { workerScript } from './worker-bundle.ts';
import type { DetectResult, DetectorName, InitResult, RecognizerName, TinyFirst, WireError, WorkerCall, WorkerRequest, WorkerResponse, WorkerSettings } from './worker-protocol.ts';

export { BackendError };
export type { DetectorName, DetectResult, RecognizerName, TinyFirst };

export interface FaceApiEngineOptions {
  /** Folder holding the weights (default `<repo>/models`). */
  modelsDir?: string;
  /** Manifest the weights are checked against (default: the one in git, `<repo>/models/manifest.json`). */
  manifestPath?: string;
  /**
   * `auto` (default): tfjs-node when it loads, else wasm; if wasm fails too, start() fails.
   * `cpu` is ~20x slower and is used only when named here.
   */
  backend?: BackendChoice;
  /** `ssdMobilenetv1` (default, more accurate) or `tinyFaceDetector` (~10x faster on wasm). */
  detector?: DetectorName;
  /** Detector confidence below which a box is dropped (default 0.5). */
  minConfidence?: number;
  /**
   * Images are shrunk so the longer side is at most this before detection (default 640);
   * boxes are mapped back and landmarks/descriptors are computed on the full image. SSD looks
   * at 512 px anyway, and shrinking natively first is several times faster on wasm.
   */
  maxInputSide?: number;
  /**
   * With the SSD detector: run the tiny detector first (input `inputSize` px, the image shrunk
   * natively to it, boxes scoring at least `minConfidence`), and keep its faces when there are
   * exactly one (`exactlyOne`) or at least one, each scoring at least `minScore`; otherwise
   * SSD runs, its weights loaded the first time it is needed. The tiny detector's wasm heap is
   * a fraction of SSD's, so a photo tiny accepts never brings SSD's in (README, "Memory on
   * large photos"). Off by default.
   */
  tinyFirst?: TinyFirst;
  /** TinyFaceDetector input size, a multiple of 32 (default 416). */
  tinyInputSize?: number;
  /** Largest image accepted, in pixels (default 40 MP); larger gives ImageError 'too-large'. */
  maxPixels?: number;
  /**
   * Photos and frames larger than this on their longer side are shrunk to it while decoding
   * (default 2048, DEFAULT_MAX_DECODE_SIDE, which says why), so a 40 MP photo costs tens of MB,
   * not GB. Faces come back in the coordinates of the image given.
   */
  maxDecodeSide?: number;
  /**
   * Largest progressive JPEG accepted, in pixels (default maxPixels); larger gives ImageError
   * 'too-large'. Its decoder holds ~3 bytes a pixel whatever maxDecodeSide (120 MB at 40 MP),
   * on top of the resident models: the camera-frame engine sets MAX_PROGRESSIVE_FRAME_PIXELS.
   */
  maxProgressivePixels?: number;
  /**
   * Retry once on the image with a border added when nothing is found or a face touches the
   * image edge (default true). Tight, ID-photo style crops are otherwise often missed, or
   * their box is cut by the frame and the descriptor suffers. Costs a second pass on
   * face-less images; consider turning it off for camera frames.
   */
  padRetry?: boolean;
  /** Border per side as a fraction of width/height (default 0.5, best on the sample crops). */
  padRatio?: number;
  /** Border fill, also used where a face crop reaches outside the image (default 'black'). */
  padMode?: PadMode;
  /**
   * Flip test-time augmentation: the descriptor is the mean of the aligned face's and its
   * mirror image's (one more recognition pass per face). Default false; see
   * scripts/eval/CALIBRATION.md for what it measured.
   */
  flip?: boolean;
  /**
   * Run @vladmandic/human's antispoof model on every face that gets a descriptor and return
   * its score as `DetectedFace.antispoof` (default true; ~10-15 ms a face on wasm, see
   * scripts/eval/CALIBRATION.md). Faces left undescribed (`skipDescribe`) get none.
   */
  antispoof?: boolean;
  /**
   * The descriptor net: a `recognizers` id of models/manifest.json (default DEFAULT_RECOGNIZER,
   * `fr-feature`, the 512-d ONNX model on the 5-point aligned crop; `face-api`, the 128-d net on
   * the dlib-aligned crop), or Human's `faceres` (1024-d, unit length, on the region Human
   * crops: the detector box 1.4x, squared; for `mealcheck eval --model faceres` only).
   */
  recognizer?: RecognizerName;
  /** ONNX runtime of an ONNX recognizer: `auto` (default: the native binding, else wasm), `node`, `wasm`. */
  onnxRuntime?: 'auto' | 'node' | 'wasm';
  /**
   * With an ONNX recognizer: the detectors and the recognizer are never resident together.
   * `detect` gives faces with their aligned crop and an empty descriptor; `describeDeferred`
   * then stops the detectors' worker (its wasm heap goes with it) and runs the recognizer alone
   * in a new one. For `mealcheck enrol`, a short-lived process whose peak RSS is otherwise the
   * sum of both (README, "Memory on large photos"). Off by default.
   */
  deferRecognition?: boolean;
  logger?: Logger;
}

export interface FaceApiEngineInfo extends FaceEngineInfo {
  tfjsVersion: string;
  recognizer: RecognizerName;
  /** The ONNX runtime in use, for an ONNX recognizer. */
  onnxRuntime?: string;
  /** True when faces carry an antispoof score. */
  antispoof: boolean;
  maxInputSide: number;
  /** Time from spawning the worker to warmed-up nets. */
  startMs: number;
}

interface Pending {
  resolve(value: InitResult | DetectResult | Float32Array[]): void;
  reject(err: Error): void;
}

function fromWire(e: WireError): Error {
  switch (e.name) {
    case 'ImageError':
      return new ImageError(e.code ?? 'corrupt', e.message);
    case 'ModelError':
      return new ModelError(e.message);
    case 'BackendError':
      return new BackendError(e.message);
    default: {
      const err = new Error(e.message);
      err.name = e.name;
      return err;
    }
  }
}

/** Copies image bytes into a fresh buffer we can transfer without detaching the caller's. */
function forTransfer(image: EngineImage): { image: EngineImage; transfer: ArrayBuffer[] } {
  const bytes = image.kind === 'encoded' ? image.bytes : image.data;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const out: EngineImage = image.kind === 'encoded' ? { kind: 'encoded', bytes: copy } : { kind: 'rgb', data: copy, width: image.width, height: image.height };
  return { image: out, transfer: [copy.buffer] };
}

/** The model files a worker with these settings loads (their names in models/manifest.json). */
export function modelsOf(s: Pick<WorkerSettings, 'detector' | 'recognizer' | 'antispoof' | 'onnx' | 'tinyFirst'>): string[] {
  return [
    s.detector === 'ssdMobilenetv1' ? 'ssd_mobilenetv1_model' : 'tiny_face_detector_model',
    ...(s.detector === 'ssdMobilenetv1' && s.tinyFirst ? ['tiny_face_detector_model'] : []),
    'face_landmark_68_model',
    s.onnx?.file ? s.onnx.file.replace(/\.[^.]*$/, '') : s.recognizer === 'faceres' ? 'faceres' : 'face_recognition_model',
    ...(s.antispoof ? ['antispoof'] : []),
  ];
}

/**
 * The enrolment engine's first pass (`mealcheck enrol`, and `mealcheck eval` which measures it):
 * the tiny detector at 416 px as the door runs it (0.4), its face kept when it is the only one
 * and scores at least 0.78, else SSD. SSD's weights then never enter the wasm heap for most
 * photos: enrol's peak RSS -60 to -85 MB (README, "Memory on large photos"). On faces-dev the
 * decisions are the same or better than SSD alone (TAR 95.5% -> 96.8%, FAR 0, no wrong
 * elder, 92 templates); at a lower minScore one enrolment photo's face failed the quality gate.
 */
export const ENROLMENT_TINY_FIRST: Readonly<TinyFirst> = { inputSize: 416, minConfidence: 0.4, exactlyOne: true, minScore: 0.78 };

export class FaceApiEngine implements FaceEngine {
  private readonly settings: WorkerSettings;
  private readonly manifestPath: string;
  private readonly log: Logger;
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private stopping = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private current: FaceApiEngineInfo | undefined;

  constructor(opts: FaceApiEngineOptions = {}) {
    this.settings = {
      modelsDir: opts.modelsDir ?? DEFAULT_MODELS_DIR,
      backend: opts.backend ?? 'auto',
      detector: opts.detector ?? 'ssdMobilenetv1',
      minConfidence: opts.minConfidence ?? 0.5,
      maxInputSide: opts.maxInputSide ?? 640,
      tinyInputSize: opts.tinyInputSize ?? 416,
      maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
      maxDecodeSide: opts.maxDecodeSide ?? DEFAULT_MAX_DECODE_SIDE,
      maxProgressivePixels: opts.maxProgressivePixels ?? opts.maxPixels ?? DEFAULT_MAX_PIXELS,
      padRetry: opts.padRetry ?? true,
      padRatio: opts.padRatio ?? 0.5,
      padMode: opts.padMode ?? 'black',
      flip: opts.flip ?? false,
      antispoof: opts.antispoof ?? true,
      recognizer: opts.recognizer ?? DEFAULT_RECOGNIZER,
      onnxRuntime: opts.onnxRuntime ?? 'auto',
      ...(opts.tinyFirst ? { tinyFirst: { ...opts.tinyFirst } } : {}),
      ...(opts.deferRecognition ? { phase: 'detect' as const } : {}),
    };
    this.manifestPath = opts.manifestPath ?? DEFAULT_MANIFEST;
    this.log = opts.logger ?? createLogger('face-engine');
  }

  /** Verifies the weights, spawns the worker, loads and warms up the nets. Idempotent. */
  start(): Promise<void> {
    if (this.current && this.worker) return Promise.resolve();
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const t0 = performance.now();
    // Any recognizer but the eval-only faceres is a manifest entry; an ONNX one brings its spec.
    if (this.settings.recognizer !== 'faceres') {
      const entry = recognizerById(this.settings.recognizer, this.manifestPath);
      if (entry.kind === 'onnx') this.settings.onnx = entry;
    }
    await verifyModels(this.settings.modelsDir, this.manifestPath, modelsOf(this.settings));
    this.stopping = false;
    // The worker's JS holds little (tensors live in the wasm heap or tfjs-node): V8's default
    // young generation (up to 16 MB a semi-space, never given back) only adds to its peak RSS;
    // 4 MB took ~15-40 MB off each path (README, "Memory on large photos").
    const worker = new Worker(await workerScript(this.log), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.worker = worker;
    worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    worker.on('error', (err) => {
      this.log.error({ err }, 'face engine worker crashed');
      this.failAll(new Error(`face engine worker crashed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.current = undefined;
      if (!this.stopping) this.log.error({ code }, 'face engine worker exited; call start() to restart it');
      this.failAll(new Error(this.stopping ? 'face engine stopped' : `face engine worker exited unexpectedly (exit code ${code}); restart the engine`));
    });
    try {
      const r = (await this.request({ type: 'init', settings: this.settings }, [])) as InitResult;
      this.current = {
        backend: r.backend,
        detector: r.detector,
        tfjsVersion: r.tfjsVersion,
        recognizer: r.recognizer,
        model: r.model,
        ...(r.onnxRuntime ? { onnxRuntime: r.onnxRuntime } : {}),
        antispoof: r.antispoof,
        maxInputSide: this.settings.maxInputSide,
        startMs: Math.round(performance.now() - t0),
      };
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.settings.phase === 'embed') {
      this.log.info({ recognizer: this.current.recognizer, onnxRuntime: this.current.onnxRuntime, startMs: this.current.startMs }, 'face recognizer ready (the detectors stopped)');
      return;
    }
    this.log.info(
      {
        backend: this.current.backend,
        detector: this.current.detector,
        recognizer: this.current.recognizer,
        model: this.current.model,
        onnxRuntime: this.current.onnxRuntime,
        antispoof: this.current.antispoof,
        tfjs: this.current.tfjsVersion,
        modelsDir: this.settings.modelsDir,
        startMs: this.current.startMs,
      },
      `face engine ready on the ${this.current.backend} backend`,
    );
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.stopping = true;
    this.current = undefined;
    await worker.terminate();
    if (this.worker === worker) this.worker = undefined;
    this.failAll(new Error('face engine stopped'));
  }

  info(): FaceApiEngineInfo {
    if (!this.current) throw new Error('face engine not started');
    return this.current;
  }

  async detect(image: EngineImage, opts: DetectOptions = {}): Promise<DetectedFace[]> {
    return (await this.detectWithStats(image, opts)).faces;
  }

  /** detect() plus the worker's timing and whether the faces needed the padded retry. */
  async detectWithStats(image: EngineImage, opts: DetectOptions = {}): Promise<DetectResult> {
    if (!this.current || !this.worker) throw new Error('face engine not started');
    const { image: copy, transfer } = forTransfer(image);
    const call: WorkerCall = {
      type: 'detect',
      image: copy,
      ...(opts.skipDescribe?.length ? { skipDescribe: opts.skipDescribe.map((b) => ({ x: b.x, y: b.y, width: b.width, height: b.height })) } : {}),
      ...(opts.keepAligned ? { keepAligned: true } : {}),
    };
    return (await this.request(call, transfer)) as DetectResult;
  }

  /**
   * The descriptors of faces a deferRecognition engine detected (their `aligned` crops), in
   * order. Stops the detectors' worker first, runs the recognizer alone in a worker of its own,
   * and leaves the engine stopped (`start()` starts the detectors again). Faces of an engine
   * without deferRecognition already have theirs and come back as they are.
   */
  async describeDeferred(faces: readonly DetectedFace[]): Promise<DetectedFace[]> {
    if (this.settings.phase !== 'detect' || !this.settings.onnx || faces.length === 0) return [...faces];
    const crops = faces.map((f, i) => {
      if (!f.aligned) throw new Error(`face ${i} has no aligned crop to describe: it was not detected by this engine`);
      return { alignment: f.aligned.alignment, width: f.aligned.width, height: f.aligned.height, data: Uint8Array.from(f.aligned.data) };
    });
    await this.stop();
    this.settings.phase = 'embed';
    try {
      await this.start();
      const descriptors = (await this.request({ type: 'describe', faces: crops }, crops.map((c) => c.data.buffer as ArrayBuffer))) as Float32Array[];
      return faces.map((f, i) => ({ ...f, descriptor: descriptors[i]! }));
    } finally {
      await this.stop();
      this.settings.phase = 'detect';
    }
  }

  /** Descriptors of kept aligned crops from this engine's recognizer (ONNX recognizers only). */
  async embedAligned(faces: readonly AlignedFace[]): Promise<Float32Array[]> {
    if (!this.current || !this.worker) throw new Error('face engine not started');
    if (this.current.model.alignment !== 'arcface-112') throw new Error(`the ${this.current.model.id} recognizer cannot embed aligned crops (it needs its own crop of the photo): re-enrol from photos`);
    const copies = faces.map((f) => ({ alignment: f.alignment, width: f.width, height: f.height, data: Uint8Array.from(f.data) }));
    return (await this.request({ type: 'embed', faces: copies }, copies.map((c) => c.data.buffer as ArrayBuffer))) as unknown as Float32Array[];
  }

  private request(req: WorkerCall, transfer: ArrayBuffer[]): Promise<InitResult | DetectResult | Float32Array[]> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('face engine not started'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: WorkerRequest = { ...req, id };
      worker.postMessage(msg, transfer);
    });
  }

  private onMessage(msg: WorkerResponse): void {
    if ('type' in msg && msg.type === 'log') {
      this.log.info(msg.data ?? {}, msg.msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(fromWire(msg.error));
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}
