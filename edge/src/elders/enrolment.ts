/**
 * Enrolment: an elder's photos become face templates, through the same engine that recognises
 * at the door, so enrolment and recognition cannot drift apart.
 *
 * Every photo is checked before anything is stored, and every problem is reported together
 * (staff fix them all in one go); nothing is stored unless every photo is good.
 *
 * No face without consent (China's 2025 rules): the elder must be registered (registry-service.ts),
 * active, and have a valid consent on record, whoever asks (the staff pages' wizard, the
 * `mealcheck enrol` CLI, the demo). This is the one place that checks it, so no path skips it.
 */
import { readFile } from 'node:fs/promises';
import type { ElderStatus } from '../../../common/records.ts';
import type { AuditAppender } from './registry-service.ts';
import { basename } from 'node:path';
import { isValidId } from '../../../common/contract.ts';
import { ImageError, toSourceCoordinates, type DetectedFace, type EngineImage, type FaceEngine } from '../vision/face-engine.ts';
import { costlyToDecode, decodeImage } from '../vision/image.ts';
import { checkQuality, type QualityOptions } from '../recognition/quality.ts';
import { DESCRIPTOR_LENGTH, euclideanDistance, type TemplateModel, type TemplateSet } from '../recognition/matcher.ts';

/** The part of the elder registry enrolment reads and writes. */
export interface EnrolmentStore {
  /** The registered elder; enrolment never creates one (the registry does, with its record). */
  getElder(elderId: string): { name: string; status: ElderStatus } | undefined;
  /** The consent in force on a text this box has, or undefined (ElderRegistry.validConsent). */
  validConsent(elderId: string): { textVersion: string } | undefined;
  /**
   * Adds one template; `source` names where it came from (the photo file name), `model` the
   * recognizer that made the descriptor (the engine's `info().model`).
   */
  addTemplate(elderId: string, descriptor: Float32Array, source: string, model: TemplateModel): unknown;
  /**
   * Runs `fn` in one transaction, when the store can: then a failing write leaves nothing
   * behind. Without it, a disk error midway may leave some templates stored.
   */
  transaction?<T>(fn: () => T): T;
  /**
   * Every enrolled template of one model, for the look-alike check (skipped when the store
   * cannot list them): another model's descriptors are not comparable.
   */
  loadTemplates?(modelId: string): TemplateSet;
}

/**
 * A photo in memory (a live frame from the door camera, an uploaded ID-card photo): never
 * written to disk. `bytes` is an encoded JPEG/PNG; `image` a frame as the camera gave it.
 */
export type PhotoBytes = {
  /** What staff call it in messages and what the template's `source` says, e.g. `live-2`, `idcard`. */
  name: string;
} & ({ bytes: Uint8Array } | { image: EngineImage });

export interface EnrolmentRequest {
  engine: FaceEngine;
  elders: EnrolmentStore;
  elderId: string;
  /** Paths of photo files, or photos in memory (ID-card photo, live captures). */
  photos: readonly (string | PhotoBytes)[];
  /** Faces smaller than this (px, shorter box side) make poor templates and are refused. Default 40. */
  minFaceSize?: number;
  /** The door's pose, light and blur limits (recognition settings), so enrolment refuses what the door would. */
  quality?: Partial<Omit<QualityOptions, 'minFaceSize'>>;
  /** A face this close (Euclidean) to another elder's template is a look-alike. Default DEFAULT_LOOKALIKE_DISTANCE. */
  lookalikeDistance?: number;
  /** Staff checked: a different person who looks alike (a twin, a sibling). Default false. */
  allowLookalike?: boolean;
  /** Who enrols, for the audit row appended with the templates (same transaction). */
  staffId?: string;
  audit?: AuditAppender;
}

/**
 * Default look-alike distance. Measured on faces-dev (2026-11-28, scripts/eval/CALIBRATION.md):
 * enrolling its 56 identities one after another (2 photos each), 0.40 and 0.42 flag none of them
 * against the others and 0.44 flags 4; enrolling a person again with 2 other photos is caught
 * in 37 of 44 cases at 0.40 (42 at 0.42, 44 at 0.48, the door's accept threshold, which would
 * flag 7 of the 56 strangers). 0.40 keeps one 0.02 step from the first false flag.
 */
export const DEFAULT_LOOKALIKE_DISTANCE = 0.4;

export type EnrolmentProblemCode = 'invalid-elder-id' | 'unknown-elder' | 'not-active' | 'no-consent' | 'no-photos' | 'unreadable' | 'bad-image' | 'no-face' | 'several-faces' | 'face-too-small' | 'low-quality' | 'looks-like-enrolled';

export interface EnrolmentProblem {
  code: EnrolmentProblemCode;
  /** The photo concerned (as given), if the problem is about one photo. */
  photo?: string;
  /** Says what is wrong in words staff can act on, naming the photo. */
  message: string;
  /** For `looks-like-enrolled`: the elder the face is closest to ("looks like 王秀英, E003"). */
  lookalike?: { elderId: string; name?: string; distance: number };
}

/** The enrolment was refused; `problems` lists every reason, each naming its photo. */
export class EnrolmentError extends Error {
  constructor(readonly problems: EnrolmentProblem[]) {
    super(problems.length === 1 ? problems[0]!.message : `enrolment refused:\n  - ${problems.map((p) => p.message).join('\n  - ')}`);
    this.name = 'EnrolmentError';
  }
}

export interface EnrolledTemplate {
  photo: string;
  /** Detector confidence and box of the face used, for the quality feedback on screen. */
  score: number;
  box: DetectedFace['box'];
}

export interface EnrolmentResult {
  elderId: string;
  name: string;
  /** Templates added, one per photo, in photo order. */
  templates: EnrolledTemplate[];
}

/**
 * Checks every photo, then stores the elder and one template per photo. Starts the engine (after
 * reading the photos) if the caller has not. Throws EnrolmentError
 * listing every problem when any photo is refused; engine failures (not the photo's fault)
 * propagate unchanged.
 */
export async function enrolElder(req: EnrolmentRequest): Promise<EnrolmentResult> {
  const { engine, elders, elderId } = req;
  const minFaceSize = req.minFaceSize ?? 40;

  const problems: EnrolmentProblem[] = [];
  const elder = isValidId(elderId) ? elders.getElder(elderId) : undefined;
  if (!isValidId(elderId)) problems.push({ code: 'invalid-elder-id', message: `elder id "${elderId}" is not valid: use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit` });
  else if (!elder) problems.push({ code: 'unknown-elder', message: `no elder ${elderId} is registered: register the elder (with consent) first` });
  else {
    if (elder.status !== 'active') problems.push({ code: 'not-active', message: `elder ${elderId} (${elder.name}) is ${elder.status}: only active elders are enrolled; reactivate first if that is wrong` });
    if (!elders.validConsent(elderId)) problems.push({ code: 'no-consent', message: `elder ${elderId} (${elder.name}) has no valid consent to face recognition on record: record the signed consent first (no face is enrolled without it)` });
  }
  if (req.photos.length === 0) problems.push({ code: 'no-photos', message: 'enrolment needs at least one photo of the elder' });
  if (problems.length || !elder) throw new EnrolmentError(problems);
  const name = elder.name;

  // The photos first, then the engine: see readPhotos. start() is idempotent (a caller that
  // started the engine already only loses that order).
  const inputs = await readPhotos(req.photos);
  await engine.start();
  const good: { photo: string; face: DetectedFace }[] = [];
  for (const input of inputs) {
    if ('code' in input) {
      problems.push(input);
      continue;
    }
    const { photo, image, scale } = input;
    let faces: DetectedFace[];
    try {
      faces = await engine.detect(image);
    } catch (err) {
      if (err instanceof ImageError) {
        problems.push(badImage(photo, err));
        continue;
      }
      throw err;
    }
    if (scale) faces = faces.map((f) => toSourceCoordinates(f, scale.sx, scale.sy));
    if (faces.length === 0) {
      problems.push({ code: 'no-face', photo, message: `photo ${photo}: no face found; take a photo with the elder's face clearly in view` });
    } else if (faces.length > 1) {
      problems.push({ code: 'several-faces', photo, message: `photo ${photo}: ${faces.length} faces found; take a photo with only the elder in it` });
    } else {
      const face = faces[0]!;
      const size = Math.round(Math.min(face.box.width, face.box.height));
      // The door's quality gate, so no template is made from a face the door would not match.
      const quality = checkQuality(face, { ...req.quality, minFaceSize });
      if (quality.ok) good.push({ photo, face });
      else if (quality.reason === 'too-small') problems.push({ code: 'face-too-small', photo, message: `photo ${photo}: the face is too small (${size} px, at least ${minFaceSize} px); take the photo closer` });
      else problems.push({ code: 'low-quality', photo, message: `photo ${photo}: ${quality.detail}; take the photo facing the camera, in good light, holding still` });
    }
  }
  if (problems.length) throw new EnrolmentError(problems);
  const { id, dimension } = engine.info().model;
  const model = { id, dimension };
  // An engine that defers recognition describes the faces now, its detectors gone (the CLI's).
  if (engine.describeDeferred) {
    const described = await engine.describeDeferred(good.map((g) => g.face));
    described.forEach((face, i) => (good[i]!.face = face));
  }
  const similar = lookalikes(req, good, model);
  const overridden = req.allowLookalike ? similar : [];
  if (!req.allowLookalike) problems.push(...similar);
  if (problems.length) throw new EnrolmentError(problems);

  const store = (): void => {
    for (const g of good) elders.addTemplate(elderId, g.face.descriptor, basename(g.photo), model);
    req.audit?.append({ staffId: req.staffId ?? null, action: 'enrolment', subject: elderId, details: { templates: good.length, model: model.id, lookalikeOverride: req.allowLookalike === true } });
    // A manager let a face through that looks like another elder's: on record as an override.
    if (overridden.length) req.audit?.append({ staffId: req.staffId ?? null, action: 'override', subject: elderId, details: { of: 'looks-like-enrolled', elders: [...new Set(overridden.map((p) => p.lookalike?.elderId))].join(',') } });
  };
  if (elders.transaction) elders.transaction(store);
  else store();

  return { elderId, name, templates: good.map((g) => ({ photo: g.photo, score: g.face.score, box: { ...g.face.box } })) };
}

interface PhotoInput {
  photo: string;
  image: EngineImage;
  /** Decoded here, shrunk: the decoded size over the photo's, to map faces back. */
  scale?: { sx: number; sy: number };
}

function badImage(photo: string, err: ImageError): EnrolmentProblem {
  return { code: 'bad-image', photo, message: `photo ${photo} is not a usable image: ${err.message}` };
}

/**
 * Reads every photo, in order; a photo that cannot be read or decoded becomes its problem.
 * Those that cost far more to decode than to hold (a progressive JPEG over 2048 px,
 * costlyToDecode) are decoded here, shrunk as the engine would (the same decodeImage and
 * defaults, so the same pixels): enrolElder does this before it starts the engine, so their
 * decoder's peak (up to ~140 MB at 40 MP) comes before the models are resident instead of on
 * top of them (README, "Memory on large photos"). The rest stay encoded for the engine.
 */
async function readPhotos(photos: readonly (string | PhotoBytes)[]): Promise<(PhotoInput | EnrolmentProblem)[]> {
  const inputs: (PhotoInput | EnrolmentProblem)[] = [];
  for (const given of photos) {
    const photo = typeof given === 'string' ? given : given.name;
    if (typeof given !== 'string' && 'image' in given) {
      // Already decoded (a live frame of the door camera): nothing to read or shrink.
      inputs.push({ photo, image: given.image });
      continue;
    }
    let bytes: Uint8Array;
    try {
      if (typeof given === 'string') {
        const file = await readFile(given);
        bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
      } else bytes = given.bytes;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a photo' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? (err as Error).message})`;
      inputs.push({ code: 'unreadable', photo, message: `photo ${photo} ${why}` });
      continue;
    }
    if (!(await costlyToDecode(bytes))) {
      inputs.push({ photo, image: { kind: 'encoded', bytes } });
      continue;
    }
    try {
      const img = await decodeImage(bytes);
      inputs.push({ photo, image: { kind: 'rgb', data: img.data, width: img.width, height: img.height }, scale: { sx: img.width / img.sourceWidth, sy: img.height / img.sourceHeight } });
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      inputs.push(badImage(photo, err));
    }
  }
  return inputs;
}

/**
 * Photos whose face is within `lookalikeDistance` of another enrolled elder's template: the
 * same person enrolled twice under two ids, or a look-alike the door would confuse. Either
 * way a meal could be credited to the wrong elder, so staff decide (`allowLookalike`).
 */
function lookalikes(req: EnrolmentRequest, good: readonly { photo: string; face: DetectedFace }[], model: TemplateModel): EnrolmentProblem[] {
  const { elders, elderId } = req;
  if (!elders.loadTemplates) return [];
  const limit = req.lookalikeDistance ?? DEFAULT_LOOKALIKE_DISTANCE;
  // The engine's model's templates only: an elder enrolled with another model only is not
  // checked (they need re-enrolment anyway, see ElderRepository.eldersWithoutModel).
  const gallery = elders.loadTemplates(model.id);
  const dim = gallery.dim ?? DESCRIPTOR_LENGTH;
  if (gallery.elderIds.length > 0 && dim !== model.dimension) throw new RangeError(`templates of model ${model.id} are ${dim}-d but the engine's are ${model.dimension}-d`);
  const problems: EnrolmentProblem[] = [];
  for (const g of good) {
    let nearest: { elderId: string; distance: number } | undefined;
    for (let i = 0; i < gallery.elderIds.length; i++) {
      const other = gallery.elderIds[i]!;
      if (other === elderId) continue;
      const d = euclideanDistance(g.face.descriptor, gallery.descriptors.subarray(i * dim, (i + 1) * dim));
      if (d <= limit && (!nearest || d < nearest.distance)) nearest = { elderId: other, distance: d };
    }
    if (!nearest) continue;
    const name = elders.getElder(nearest.elderId)?.name;
    problems.push({
      code: 'looks-like-enrolled',
      photo: g.photo,
      lookalike: { elderId: nearest.elderId, ...(name ? { name } : {}), distance: nearest.distance },
      message: `photo ${g.photo}: the face looks like elder ${nearest.elderId}${name ? ` (${name})` : ''}, already enrolled (distance ${nearest.distance.toFixed(2)}; photos of one person often sit this close, different people rarely); if this is the same person, add the photo to ${nearest.elderId} instead; if it is really someone else (a twin, a sibling), enrol again allowing look-alikes`,
    });
  }
  return problems;
}
