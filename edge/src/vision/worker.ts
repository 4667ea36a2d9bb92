/**
 * The model worker: owns tfjs, the face-api nets and Human's antispoof (and, for the eval,
 * faceres) graph models, so a detection that takes hundreds of milliseconds on wasm never
 * blocks the edge's HTTP and MQTT event loop. Requests are handled one at a time, in order.
 * Started through worker-entry.js (which registers tsx).
 */
import { parentPort } from 'node:worker_threads';
import type { GraphModel, Tensor3D } from '@tensorflow/tfjs';
import { ImageError, iou, ModelError, toSourceCoordinates, type AlignedFace, type EngineImage, type FaceBox, type Point, type RecognizerModel } from './face-engine.ts';
import { alignFace } from './alignment.ts';
import { loadOnnxRecognizer, unitLength, type OnnxRecognizer } from './onnx-recognizer.ts';
import { loadBackend, type FaceApi, type LoadedBackend } from './backend.ts';
import { checkRgb, cropFace, cropRgb, decodeImage, downscale, pad, type Rect, type RgbImage } from './image.ts';
import { antispoofScore, faceresDescriptor, humanFaceRegion, loadGraphModel } from './human-models.ts';
import { useLeanSsdForward } from './ssd-forward.ts';
import { useLeanTinyForward } from './tiny-forward.ts';
import { measureCrop } from '../recognition/quality.ts';
import type { DetectResult, InitResult, WireError, WireFace, WorkerRequest, WorkerResponse, WorkerSettings } from './worker-protocol.ts';

if (!parentPort) throw new Error('worker.ts must run in a worker thread');
const port = parentPort;

/** A detector as a pass runs it: its options and the side its input is shrunk to. */
interface Detector {
  options: InstanceType<FaceApi['SsdMobilenetv1Options']> | InstanceType<FaceApi['TinyFaceDetectorOptions']>;
  maxInputSide: number;
}

interface State {
  loaded: LoadedBackend;
  settings: WorkerSettings;
  /** The settings' detector; with tinyFirst, SSD, whose weights load on its first pass. */
  detector: Detector;
  /** tinyFirst's tiny detector, run before `detector`. */
  tiny?: Detector;
  /** False until the SSD weights of a tinyFirst engine are loaded. */
  detectorLoaded: boolean;
  /** Human's graph models, when in use. */
  antispoof?: GraphModel;
  faceres?: GraphModel;
  /** The ONNX recognizer, when the settings name one. */
  onnx?: OnnxRecognizer;
  /** Antispoof time and faces in the current detect() call. */
  antispoofMs: number;
  antispoofFaces: number;
}
let state: State | undefined;

function post(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function log(msg: string, data?: Record<string, unknown>): void {
  post({ id: 0, type: 'log', level: 'info', msg, ...(data ? { data } : {}) });
}

/** The recognizer alone, in the second phase of a deferred-recognition engine (settings.phase 'embed'). */
let embedOnly: { onnx: OnnxRecognizer; settings: WorkerSettings } | undefined;

async function init(settings: WorkerSettings): Promise<InitResult> {
  if (state || embedOnly) throw new Error('the face engine worker is already initialised');
  const t0 = performance.now();
  if (settings.phase === 'embed') {
    if (!settings.onnx) throw new Error('the embed phase needs an ONNX recognizer');
    const onnx = await loadOnnxRecognizer(settings.onnx, settings.modelsDir, log, settings.onnxRuntime);
    embedOnly = { onnx, settings };
    await onnx.embed([{ alignment: 'arcface-112', width: 112, height: 112, data: new Uint8Array(112 * 112 * 3) }]);
    return { backend: 'none', detector: settings.detector, recognizer: settings.recognizer, model: modelOf(settings), onnxRuntime: onnx.runtime, antispoof: false, tfjsVersion: '', warmupMs: Math.round(performance.now() - t0) };
  }
  const loaded = await loadBackend(settings.backend, log);
  const { faceapi } = loaded;
  // tinyFirst: SSD's weights (~5.6 MB, ~95-130 MB of wasm heap once run) stay out until a photo needs them.
  const tinyFirst = settings.detector === 'ssdMobilenetv1' ? settings.tinyFirst : undefined;
  const nets = [
    settings.detector === 'ssdMobilenetv1' && !tinyFirst ? faceapi.nets.ssdMobilenetv1 : faceapi.nets.tinyFaceDetector,
    faceapi.nets.faceLandmark68Net,
    ...(settings.recognizer === 'face-api' && !settings.onnx ? [faceapi.nets.faceRecognitionNet] : []),
  ];
  for (const net of nets) {
    try {
      await net.loadFromDisk(settings.modelsDir);
    } catch (err) {
      throw new ModelError(`cannot load the ${net.constructor.name} model from ${settings.modelsDir}: ${(err as Error).message}`);
    }
  }
  // The same boxes and scores as face-api's own passes, at a third (SSD) or half (tiny) of their peak memory.
  if (settings.detector === 'ssdMobilenetv1' && !tinyFirst) useLeanSsdForward(loaded.tf, faceapi.nets.ssdMobilenetv1);
  else useLeanTinyForward(loaded.tf, faceapi.nets.tinyFaceDetector);
  const detector: Detector = {
    options:
      settings.detector === 'ssdMobilenetv1'
        ? new faceapi.SsdMobilenetv1Options({ minConfidence: settings.minConfidence })
        : new faceapi.TinyFaceDetectorOptions({ inputSize: settings.tinyInputSize, scoreThreshold: settings.minConfidence }),
    maxInputSide: settings.maxInputSide,
  };
  const tiny: Detector | undefined = tinyFirst
    ? { options: new faceapi.TinyFaceDetectorOptions({ inputSize: tinyFirst.inputSize, scoreThreshold: tinyFirst.minConfidence }), maxInputSide: tinyFirst.inputSize }
    : undefined;
  const antispoof = settings.antispoof ? await loadGraphModel(loaded.tf, settings.modelsDir, 'antispoof') : undefined;
  const faceres = settings.recognizer === 'faceres' ? await loadGraphModel(loaded.tf, settings.modelsDir, 'faceres') : undefined;
  // Deferred recognition: the recognizer comes in a second worker once this one is gone.
  const onnx = settings.onnx && settings.phase !== 'detect' ? await loadOnnxRecognizer(settings.onnx, settings.modelsDir, log, settings.onnxRuntime) : undefined;
  state = { loaded, settings, detector, ...(tiny ? { tiny } : {}), detectorLoaded: !tiny, ...(antispoof ? { antispoof } : {}), ...(faceres ? { faceres } : {}), ...(onnx ? { onnx } : {}), antispoofMs: 0, antispoofFaces: 0 };
  await warmUp(state);
  return {
    backend: loaded.backend,
    detector: settings.detector,
    recognizer: settings.recognizer,
    model: modelOf(settings),
    ...(onnx ? { onnxRuntime: onnx.runtime } : {}),
    antispoof: settings.antispoof,
    tfjsVersion: loaded.tf.version_core,
    warmupMs: Math.round(performance.now() - t0),
  };
}

function modelOf(s: WorkerSettings): RecognizerModel {
  if (s.onnx) return { id: s.onnx.id, dimension: s.onnx.dimension, alignment: s.onnx.alignment };
  return s.recognizer === 'faceres' ? { id: 'faceres', dimension: 1024, alignment: 'human-224' } : { id: 'face-api', dimension: 128, alignment: 'dlib-150' };
}

/**
 * The first call of each net compiles kernels and uploads weights (several times slower), so
 * run every net once at start rather than on the first elder at the door.
 */
async function warmUp(s: State): Promise<void> {
  const { tf, faceapi } = s.loaded;
  const side = Math.max(64, Math.min(s.settings.maxInputSide, 640));
  const frame = tf.zeros([Math.round(side * 0.75), side, 3], 'int32') as Tensor3D;
  const face = tf.zeros([150, 150, 3], 'int32') as Tensor3D;
  try {
    await faceapi.detectAllFaces(frame, (s.tiny ?? s.detector).options);
    await faceapi.nets.faceLandmark68Net.detectLandmarks(face);
    if (s.onnx) await s.onnx.embed([{ alignment: 'arcface-112', width: 112, height: 112, data: new Uint8Array(112 * 112 * 3) }]);
    else if (!deferred(s.settings)) await describe(s, face);
    if (s.antispoof) await antispoofScore(tf, s.antispoof, face);
  } finally {
    frame.dispose();
    face.dispose();
  }
}

/**
 * The image the engine works on: at most maxDecodeSide on its longer side, photos shrunk while
 * decoding (decodeImage), raw frames larger than that shrunk here (a camera set to a huge
 * size would otherwise make face crops of hundreds of MB). `sx`, `sy`: decoded / source size.
 */
async function toRgb(image: EngineImage, s: WorkerSettings): Promise<{ img: RgbImage; sx: number; sy: number }> {
  const { maxPixels, maxDecodeSide: maxSide, maxProgressivePixels } = s;
  switch (image.kind) {
    case 'encoded': {
      const img = await decodeImage(image.bytes, { maxPixels, maxSide, maxProgressivePixels });
      return { img, sx: img.width / img.sourceWidth, sy: img.height / img.sourceHeight };
    }
    case 'rgb': {
      const raw = checkRgb({ data: image.data, width: image.width, height: image.height }, { maxPixels });
      const { image: img } = await downscale(raw, maxSide);
      return { img, sx: img.width / raw.width, sy: img.height / raw.height };
    }
    default:
      throw new ImageError('unsupported-format', `unknown image kind "${(image as { kind: unknown }).kind}"`);
  }
}

/**
 * A face crop as a tensor; see cropRgb for why not face-api's extractFaceTensors. Shrunk when
 * larger than the nets need (cropFace): its shape may be smaller than `r`.
 */
async function cropTensor(s: State, img: RgbImage, r: Rect): Promise<Tensor3D> {
  const crop = await cropFace(img, r, s.settings.padMode);
  return s.loaded.tf.tensor3d(crop.data, [crop.height, crop.width, 3], 'int32');
}

/** A rectangle floored to whole pixels, kept whole even where it leaves the image. */
function whole(box: { x: number; y: number; width: number; height: number }): Rect | null {
  const x = Math.floor(box.x);
  const y = Math.floor(box.y);
  const width = Math.floor(box.x + box.width) - x;
  const height = Math.floor(box.y + box.height) - y;
  return width > 0 && height > 0 ? { x, y, width, height } : null;
}

/** Offset for alignment, beyond any image we accept (an integer, so floors agree). */
const FAR = 1_000_000;

/** Whole pixels of the image inside `box`, or null when none. */
function inside(box: { x: number; y: number; width: number; height: number }, img: RgbImage): Rect | null {
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(img.width, box.x + box.width);
  const y1 = Math.min(img.height, box.y + box.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/**
 * One detection pass. The detector looks at a downscaled copy (with a border when `padded`);
 * boxes are mapped back to `img`, and landmarks and descriptors are computed on `img` at full
 * size, the same steps as face-api's withFaceLandmarks().withFaceDescriptors().
 */
async function pass(s: State, det: Detector, img: RgbImage, padded: boolean, skipDescribe: readonly FaceBox[] = [], padRatio = s.settings.padRatio, keepAligned = false): Promise<WireFace[]> {
  const { tf, faceapi } = s.loaded;
  // The border goes on the detector's small copy, shrunk so that with it the longer side is at
  // most maxInputSide: padding the full image first made it 4x (9x for the double border) its
  // pixels only to shrink it again.
  const grow = padded ? 1 + 2 * padRatio : 1;
  const { image: shrunk } = await downscale(img, Math.floor(det.maxInputSide / grow));
  let small = shrunk;
  let dx = 0;
  let dy = 0;
  if (padded) ({ image: small, dx, dy } = await pad(shrunk, padRatio, s.settings.padMode));
  const kx = shrunk.width / img.width;
  const ky = shrunk.height / img.height;
  const smallT = tf.tensor3d(small.data, [small.height, small.width, 3], 'int32');
  let found: Awaited<ReturnType<FaceApi['detectAllFaces']>>;
  try {
    found = await faceapi.detectAllFaces(smallT, det.options);
  } finally {
    smallT.dispose();
  }
  const out: WireFace[] = [];
  for (const d of found) {
    const rel = d.relativeBox;
    const box = { x: (rel.x * small.width - dx) / kx, y: (rel.y * small.height - dy) / ky, width: (rel.width * small.width) / kx, height: (rel.height * small.height) / ky };
    const visible = inside(box, img);
    // A "face" mostly in the added border is the border fooling the detector.
    if (!visible || visible.width * visible.height < 0.2 * box.width * box.height) continue;
    const faceRect = whole(box);
    if (!faceRect) continue;
    // A face the caller has already decided: box only (saves landmarks + descriptor, ~30 ms on wasm).
    if (skipDescribe.some((b) => iou(b, visible) >= SKIP_IOU)) {
      out.push({ box: visible, score: d.score, landmarks: [], descriptor: new Float32Array(0) });
      continue;
    }
    const faceT = await cropTensor(s, img, faceRect);
    let raw: InstanceType<FaceApi['FaceLandmarks68']>;
    try {
      raw = (await faceapi.nets.faceLandmark68Net.detectLandmarks(faceT)) as InstanceType<FaceApi['FaceLandmarks68']>;
      // Found on a shrunk crop: back to the face rectangle's size.
      if (faceT.shape[1] !== faceRect.width || faceT.shape[0] !== faceRect.height) raw = raw.forSize(faceRect.width, faceRect.height);
    } finally {
      faceT.dispose();
    }
    // face-api's dlib alignment clamps the box's top-left at 0, which pushes the face of a
    // tight crop off-centre; align far from the origin and shift back to keep it centred
    // (cropRgb fills whatever lies outside the image).
    const landmarks = raw.shiftBy<InstanceType<FaceApi['FaceLandmarks68']>>(faceRect.x, faceRect.y);
    const points = landmarks.positions.map((p): Point => ({ x: p.x, y: p.y }));
    const far = raw.shiftBy<InstanceType<FaceApi['FaceLandmarks68']>>(faceRect.x + FAR, faceRect.y + FAR).align(null, { useDlibAlignment: true });
    const alignedRect = whole({ x: far.x - FAR, y: far.y - FAR, width: far.width, height: far.height });
    if (!alignedRect) continue;
    // faceres gets the region Human feeds it (detector box 1.4x, squared, not rotated): on
    // faces-dev that beat the dlib-aligned crop (scripts/eval/CALIBRATION.md).
    let descriptor: Float32Array;
    let aligned: AlignedFace | undefined;
    if (s.onnx) {
      // 5-point similarity onto the ArcFace template, straight from the decoded image.
      aligned = alignFace(img, points);
      descriptor = await onnxDescriptor(s.onnx, aligned, s.settings.flip);
    } else if (deferred(s.settings)) {
      // The recognizer runs later, in its own worker (describe): the crop is all it needs.
      aligned = alignFace(img, points);
      descriptor = new Float32Array(0);
    } else {
      const describeRect = s.faceres ? (whole(humanFaceRegion(box)) ?? alignedRect) : alignedRect;
      const faceCropT = await cropTensor(s, img, describeRect);
      try {
        descriptor = await describe(s, faceCropT);
        if (s.settings.flip) descriptor = await withFlip(s, faceCropT, descriptor);
      } finally {
        faceCropT.dispose();
      }
      // Enrolment keeps an aligned crop whatever the recognizer, so a later model can be fed.
      if (keepAligned) aligned = alignFace(img, points);
    }
    const quality = faceQuality(s, img, alignedRect);
    const antispoof = await liveness(s, img, box);
    // Landmarks may fall just outside a tight crop (a chin cut off): kept as they are.
    out.push({
      box: visible,
      score: d.score,
      landmarks: points,
      descriptor,
      quality,
      ...((keepAligned || deferred(s.settings)) && aligned ? { aligned } : {}),
      ...(antispoof !== undefined ? { antispoof } : {}),
    });
  }
  return out;
}

/** Whether this worker leaves the ONNX recognizer to a second one (settings.phase 'detect'). */
function deferred(settings: WorkerSettings): boolean {
  return settings.phase === 'detect' && settings.onnx !== undefined;
}

/** An aligned crop's descriptor from an ONNX recognizer: with flip, the mean of the face's and its mirror's. */
async function onnxDescriptor(onnx: OnnxRecognizer, aligned: AlignedFace, flip: boolean): Promise<Float32Array> {
  const [d, m] = await onnx.embed(flip ? [aligned, mirror(aligned)] : [aligned]);
  // The mean of the face's and its mirror's, back to unit length for a cosine model.
  const mean = m ? d!.map((v, i) => (v + m[i]!) / 2) : d!;
  return m && onnx.distance === 'cosine' ? unitLength(mean) : mean;
}

/** The descriptor of a face crop (aligned for face-api), from the recognizer in use. */
async function describe(s: State, faceT: Tensor3D): Promise<Float32Array> {
  if (s.faceres) return faceresDescriptor(s.loaded.tf, s.faceres, faceT);
  // A fresh copy: the result may be a view on backend memory, and it is transferred.
  return Float32Array.from((await s.loaded.faceapi.nets.faceRecognitionNet.computeFaceDescriptor(faceT)) as Float32Array);
}

/**
 * The antispoof score of the face in `box` (image coordinates), on the region Human cuts
 * (box enlarged 1.4x, squared; outside the image filled as padMode says). Undefined when off.
 */
async function liveness(s: State, img: RgbImage, box: FaceBox): Promise<number | undefined> {
  if (!s.antispoof) return undefined;
  const r = whole(humanFaceRegion(box));
  if (!r) return undefined;
  const t0 = performance.now();
  const crop = await cropTensor(s, img, r);
  try {
    return Math.round((await antispoofScore(s.loaded.tf, s.antispoof, crop)) * 1e4) / 1e4;
  } finally {
    crop.dispose();
    s.antispoofMs += performance.now() - t0;
    s.antispoofFaces++;
  }
}

/** Flip test-time augmentation: the mean of the descriptors of the face crop and its mirror image. */
async function withFlip(s: State, faceT: Tensor3D, descriptor: Float32Array): Promise<Float32Array> {
  const { tf } = s.loaded;
  const mirrored = tf.reverse(faceT, 1) as Tensor3D;
  try {
    const m = await describe(s, mirrored);
    return descriptor.map((v, i) => (v + m[i]!) / 2);
  } finally {
    mirrored.dispose();
  }
}

/** The aligned crop mirrored left to right (the template is symmetric about x = 56). */
function mirror(f: AlignedFace): AlignedFace {
  const out = new Uint8Array(f.data.length);
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const from = (y * f.width + x) * 3;
      const to = (y * f.width + (f.width - 1 - x)) * 3;
      out[to] = f.data[from]!;
      out[to + 1] = f.data[from + 1]!;
      out[to + 2] = f.data[from + 2]!;
    }
  }
  return { ...f, data: out };
}

/** Brightness and sharpness of the aligned face's middle (the border may be padding). */
function faceQuality(s: State, img: RgbImage, r: Rect): { brightness: number; sharpness: number } {
  const inner = { x: r.x + Math.round(r.width * 0.2), y: r.y + Math.round(r.height * 0.2), width: Math.max(3, Math.round(r.width * 0.6)), height: Math.max(3, Math.round(r.height * 0.6)) };
  return measureCrop(cropRgb(img, inner, s.settings.padMode), inner.width, inner.height);
}

/** Least IoU with a `skipDescribe` box for a face to be left undescribed. */
const SKIP_IOU = 0.5;

function touchesEdge(b: Rect, img: RgbImage): boolean {
  return b.x < 1 || b.y < 1 || b.x + b.width > img.width - 1 || b.y + b.height > img.height - 1;
}

async function detect(image: EngineImage, skipDescribe?: readonly FaceBox[], keepAligned = false): Promise<DetectResult> {
  if (!state) throw new Error('the face engine worker is not initialised');
  const s = state;
  const t0 = performance.now();
  s.antispoofMs = 0;
  s.antispoofFaces = 0;
  const { img, sx, sy } = await toRgb(image, s.settings);
  // The caller's boxes are in its image's coordinates; the passes work in the decoded image's.
  const skip = sx === 1 && sy === 1 ? skipDescribe : skipDescribe?.map((b) => ({ x: b.x * sx, y: b.y * sy, width: b.width * sx, height: b.height * sy }));
  let found: { faces: WireFace[]; padded: boolean } | undefined;
  let detector = s.settings.detector;
  const first = s.settings.tinyFirst;
  if (s.tiny && first) {
    const t = await find(s, s.tiny, img, skip, keepAligned);
    if (t.faces.length > 0 && (!first.exactlyOne || t.faces.length === 1) && t.faces.every((f) => f.score >= first.minScore)) {
      found = t;
      detector = 'tinyFaceDetector';
    }
  }
  if (!found) {
    if (!s.detectorLoaded) await loadSsd(s);
    found = await find(s, s.detector, img, skip, keepAligned);
  }
  let { faces } = found;
  const { padded } = found;
  faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  if (sx !== 1 || sy !== 1) faces = faces.map((f) => toSourceCoordinates(f, sx, sy));
  return { faces, ms: Math.round(performance.now() - t0), padded, detector, antispoofMs: Math.round(s.antispoofMs * 10) / 10, antispoofFaces: s.antispoofFaces };
}

/** One detector's passes over the image: plain, then with a border when the settings retry. */
async function find(s: State, det: Detector, img: RgbImage, skip: readonly FaceBox[] | undefined, keepAligned: boolean): Promise<{ faces: WireFace[]; padded: boolean }> {
  let faces = await pass(s, det, img, false, skip, s.settings.padRatio, keepAligned);
  let padded = false;
  // Retry with a border when nothing was found, or when a face touches the edge (its box is
  // cut by the frame, so landmarks and descriptor come out worse): both mark tight crops.
  if (s.settings.padRetry && s.settings.padRatio > 0 && (faces.length === 0 || faces.some((f) => touchesEdge(f.box, img)))) {
    let again = await pass(s, det, img, true, skip, s.settings.padRatio, keepAligned);
    // A crop cut at the hairline and chin can fill even the padded image too much for SSD;
    // twice the border found every such faces-dev photo (scripts/eval/CALIBRATION.md).
    if (again.length === 0 && faces.length === 0) again = await pass(s, det, img, true, skip, s.settings.padRatio * 2, keepAligned);
    if (again.length >= faces.length && again.length > 0) {
      faces = again;
      padded = true;
    }
  }
  return { faces, padded };
}

/** Loads a tinyFirst engine's SSD weights, the first time a photo needs them. */
async function loadSsd(s: State): Promise<void> {
  const { tf, faceapi } = s.loaded;
  try {
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(s.settings.modelsDir);
  } catch (err) {
    throw new ModelError(`cannot load the SsdMobilenetv1 model from ${s.settings.modelsDir}: ${(err as Error).message}`);
  }
  useLeanSsdForward(tf, faceapi.nets.ssdMobilenetv1);
  s.detectorLoaded = true;
  log('ssd detector loaded (the tiny detector found no face it accepts)');
}

function toWireError(err: unknown): WireError {
  if (err instanceof ImageError) return { name: 'ImageError', code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

async function handle(req: WorkerRequest): Promise<void> {
  try {
    switch (req.type) {
      case 'init':
        post({ id: req.id, ok: true, type: 'init', result: await init(req.settings) });
        break;
      case 'detect': {
        const result = await detect(req.image, req.skipDescribe, req.keepAligned);
        const buffers = result.faces.flatMap((f) => [f.descriptor.buffer as ArrayBuffer, ...(f.aligned ? [f.aligned.data.buffer as ArrayBuffer] : [])]);
        post({ id: req.id, ok: true, type: 'detect', result }, buffers);
        break;
      }
      case 'describe': {
        const onnx = embedOnly?.onnx ?? state?.onnx;
        if (!onnx) throw new Error('the face engine worker has no ONNX recognizer to describe aligned crops with');
        const flip = (embedOnly?.settings ?? state!.settings).flip;
        const result: Float32Array[] = [];
        // One at a time, as a detect pass runs them: the same descriptors bit for bit.
        for (const f of req.faces) result.push(await onnxDescriptor(onnx, f, flip));
        post({ id: req.id, ok: true, type: 'describe', result }, result.map((d) => d.buffer as ArrayBuffer));
        break;
      }
      case 'embed': {
        if (!state) throw new Error('the face engine worker is not initialised');
        if (!state.onnx) throw new Error(`the ${state.settings.recognizer} recognizer cannot embed aligned crops (it needs its own crop of the photo): re-enrol from photos`);
        const result = await state.onnx.embed(req.faces);
        post({ id: req.id, ok: true, type: 'embed', result }, result.map((d) => d.buffer as ArrayBuffer));
        break;
      }
    }
  } catch (err) {
    post({ id: req.id, ok: false, error: toWireError(err) });
  }
}

// One request at a time: interleaving two detections would only double peak memory.
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  queue = queue.then(() => handle(req));
});
