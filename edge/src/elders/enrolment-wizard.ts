/**
 * Enrolment at the door camera (issue 12, item 3): staff open a session for an elder with a
 * valid consent, the page asks for live quality feedback on the camera's newest frame
 * (`preview`: face size, pose, light, blur, "请看镜头"), keeps 3-5 good frames (`capture`),
 * optionally an ID-card photo (`addPhoto`), and `finish` hands them to enrolment (enrolment.ts:
 * consent checked again, the same quality gate as the door, the look-alike check naming the
 * elder, which only a manager may override). Templates are then active at the door within about
 * a second (the template watcher).
 *
 * Photos are never stored: the frames of a session live in this process's memory only, until it
 * finishes, is cancelled or expires (SESSION_TTL_MS), and are dropped then.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../common/clock.ts';
import type { Frame } from '../capture/frame-source.ts';
import { checkQuality, type QualityOptions, type QualityReason } from '../recognition/quality.ts';
import { ImageError, type EngineImage, type FaceEngine } from '../vision/face-engine.ts';
import { enrolElder, EnrolmentError, type EnrolmentResult, type EnrolmentStore, type PhotoBytes } from './enrolment.ts';
import type { AuditAppender } from './registry-service.ts';

/** Live frames kept per session: at least MIN_CAPTURES before finishing, at most MAX_CAPTURES. */
export const MIN_CAPTURES = 3;
export const MAX_CAPTURES = 5;
/** A session left alone this long is dropped with its frames. */
export const SESSION_TTL_MS = 10 * 60_000;

/** What the page tells the elder or staff about the newest frame. */
export type FeedbackCode = 'ok' | 'no-frame' | 'no-face' | 'several-faces' | 'bad-image' | QualityReason;

export interface Feedback {
  code: FeedbackCode;
  /** The face's shorter side in px, when one face was seen. */
  faceSize?: number;
  /** Details in English for logs and the API (the page shows its own words per code). */
  detail?: string;
}

export interface WizardSession {
  id: string;
  elderId: string;
  elderName: string;
  staffId: string;
  /** Live frames kept, and whether an ID-card photo was added. */
  captures: number;
  idPhoto: boolean;
}

export class WizardError extends Error {
  constructor(
    readonly code: 'no-session' | 'not-ready' | 'full' | 'enrolment',
    message: string,
    readonly enrolment?: EnrolmentError,
  ) {
    super(message);
    this.name = 'WizardError';
  }
}

export interface EnrolmentWizardDeps {
  engine: FaceEngine;
  store: EnrolmentStore;
  /** The newest frame of a camera (default: the first), or undefined when it has none. */
  latestFrame: (cameraId?: string) => Frame | undefined;
  clock: Clock;
  minFaceSize: number;
  quality?: Partial<Omit<QualityOptions, 'minFaceSize'>>;
  lookalikeDistance: number;
  audit?: AuditAppender;
}

interface Session extends WizardSession {
  photos: PhotoBytes[];
  touchedAt: number;
}

export interface EnrolmentWizard {
  /** Opens a session; throws EnrolmentError (unknown, inactive or consent-less elder) before any frame is taken. */
  start(elderId: string, staffId: string): WizardSession;
  get(sessionId: string): WizardSession | undefined;
  /** Feedback on the camera's newest frame; keeps nothing. */
  preview(sessionId: string, cameraId?: string): Promise<Feedback>;
  /** Feedback on the newest frame, kept when it is good. */
  capture(sessionId: string, cameraId?: string): Promise<{ feedback: Feedback; session: WizardSession }>;
  /** An ID-card photo (JPEG/PNG), kept when its face is good. */
  addPhoto(sessionId: string, bytes: Uint8Array): Promise<{ feedback: Feedback; session: WizardSession }>;
  /** Enrols the kept photos. `allowLookalike`: a manager's override. Ends the session on success. */
  finish(sessionId: string, o: { allowLookalike: boolean }): Promise<EnrolmentResult>;
  cancel(sessionId: string): void;
  /** Sessions open (for tests and status). */
  size(): number;
}

export function createEnrolmentWizard(deps: EnrolmentWizardDeps): EnrolmentWizard {
  const sessions = new Map<string, Session>();
  const now = () => deps.clock.now().getTime();

  const prune = (): void => {
    for (const [id, s] of sessions) if (now() - s.touchedAt > SESSION_TTL_MS) sessions.delete(id);
  };
  const view = (s: Session): WizardSession => ({ id: s.id, elderId: s.elderId, elderName: s.elderName, staffId: s.staffId, captures: s.captures, idPhoto: s.idPhoto });
  const mustGet = (id: string): Session => {
    prune();
    const s = sessions.get(id);
    if (!s) throw new WizardError('no-session', `no enrolment session ${id.slice(0, 64)} (finished, cancelled or expired after ${SESSION_TTL_MS / 60_000} minutes): start again`);
    s.touchedAt = now();
    return s;
  };

  /** One face, good enough for the door? */
  async function judge(image: EngineImage): Promise<Feedback> {
    let faces;
    try {
      faces = await deps.engine.detect(image);
    } catch (err) {
      if (err instanceof ImageError) return { code: 'bad-image', detail: err.message };
      throw err;
    }
    if (faces.length === 0) return { code: 'no-face' };
    if (faces.length > 1) return { code: 'several-faces', detail: `${faces.length} faces` };
    const face = faces[0]!;
    const faceSize = Math.round(Math.min(face.box.width, face.box.height));
    const q = checkQuality(face, { ...deps.quality, minFaceSize: deps.minFaceSize });
    return q.ok ? { code: 'ok', faceSize } : { code: q.reason, faceSize, detail: q.detail };
  }

  const frameOf = (cameraId?: string): Frame | undefined => deps.latestFrame(cameraId);

  return {
    start(elderId, staffId) {
      prune();
      const elder = deps.store.getElder(elderId);
      // The checks enrolment makes again at the end, made now so staff learn before any capture.
      const problems = [];
      if (!elder) problems.push({ code: 'unknown-elder' as const, message: `no elder ${elderId} is registered: register the elder (with consent) first` });
      else {
        if (elder.status !== 'active') problems.push({ code: 'not-active' as const, message: `elder ${elderId} (${elder.name}) is ${elder.status}: only active elders are enrolled` });
        if (!deps.store.validConsent(elderId)) problems.push({ code: 'no-consent' as const, message: `elder ${elderId} (${elder.name}) has no valid consent to face recognition on record: record the signed consent first` });
      }
      if (problems.length || !elder) throw new EnrolmentError(problems);
      const s: Session = { id: randomUUID(), elderId, elderName: elder.name, staffId, captures: 0, idPhoto: false, photos: [], touchedAt: now() };
      sessions.set(s.id, s);
      return view(s);
    },
    get(sessionId) {
      prune();
      const s = sessions.get(sessionId);
      return s && view(s);
    },
    async preview(sessionId, cameraId) {
      mustGet(sessionId);
      const f = frameOf(cameraId);
      return f ? judge(f.image) : { code: 'no-frame' };
    },
    async capture(sessionId, cameraId) {
      const s = mustGet(sessionId);
      if (s.captures >= MAX_CAPTURES) throw new WizardError('full', `${MAX_CAPTURES} live frames are kept already: finish the enrolment`);
      const f = frameOf(cameraId);
      if (!f) return { feedback: { code: 'no-frame' }, session: view(s) };
      const feedback = await judge(f.image);
      if (feedback.code === 'ok') {
        s.captures++;
        s.photos.push({ name: `live-${s.captures}`, image: f.image });
      }
      return { feedback, session: view(s) };
    },
    async addPhoto(sessionId, bytes) {
      const s = mustGet(sessionId);
      const feedback = await judge({ kind: 'encoded', bytes });
      if (feedback.code === 'ok') {
        // One ID-card photo: a second replaces the first.
        s.photos = s.photos.filter((p) => p.name !== 'idcard');
        s.photos.push({ name: 'idcard', bytes });
        s.idPhoto = true;
      }
      return { feedback, session: view(s) };
    },
    async finish(sessionId, o) {
      const s = mustGet(sessionId);
      if (s.captures < MIN_CAPTURES) throw new WizardError('not-ready', `${s.captures} live frame(s) kept; take at least ${MIN_CAPTURES} (at most ${MAX_CAPTURES})`);
      try {
        const r = await enrolElder({
          engine: deps.engine,
          elders: deps.store,
          elderId: s.elderId,
          photos: s.photos,
          minFaceSize: deps.minFaceSize,
          ...(deps.quality ? { quality: deps.quality } : {}),
          lookalikeDistance: deps.lookalikeDistance,
          allowLookalike: o.allowLookalike,
          staffId: s.staffId,
          ...(deps.audit ? { audit: deps.audit } : {}),
        });
        sessions.delete(s.id);
        return r;
      } catch (err) {
        // The session stays: staff may retake frames, or a manager override the look-alike.
        if (err instanceof EnrolmentError) throw new WizardError('enrolment', err.message, err);
        throw err;
      }
    },
    cancel(sessionId) {
      sessions.delete(sessionId);
    },
    size() {
      prune();
      return sessions.size;
    },
  };
}
