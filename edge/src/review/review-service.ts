/**
 * The review queue (issue 13, item 3): what the door was unsure of, for staff to decide.
 *
 * The pipeline hands over a face it could not settle (recognition/pipeline.ts ReviewSink): a
 * stranger who stayed, a match inside the margin, a check-in held as an anti-spoof suspect, a
 * suspect face the clock rules held while the box's clock was untrusted (`clock`: no hold, nothing
 * recorded; assigning records the meal at the time of the decision, itself held until the time
 * is known if the clock is still untrusted). This
 * keeps a small JPEG crop of it (≤ CROP_MAX px a side) in SQLite on this box with the nearest
 * elders, and staff then either
 *
 * - assign it to an elder: a face check-in through the recorder port (check-in.ts), with
 *   `reviewedBy` = the staff member, under the same meal window and once-per-meal rules as the
 *   door; for an anti-spoof hold, assigning the held elder confirms the hold (confirmation-service.ts),
 *   another elder rejects it and records that one instead; or
 * - dismiss it (an anti-spoof hold is then rejected).
 *
 * Each decision is audited in its transaction, and drops the crop. Crops of undecided items are
 * dropped after the retention period (`--review-retention-hours`), at start and on a timer. The
 * crop never goes into a log line, an event or the outbox: only this module and the
 * authenticated crop route (web/review-routes.ts) read it.
 */
import sharp from 'sharp';
import type { Clock, Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import type { CheckIn, CheckInResult, ConfirmationResult } from '../meals/check-in.ts';
import type { CheckInService } from '../meals/check-in-service.ts';
import type { StaffActor } from '../meals/staff-meal-service.ts';
import type { ReviewFace, ReviewSink } from '../recognition/pipeline.ts';
import type { EngineImage, FaceBox } from '../vision/face-engine.ts';
import type { NearElder, ReviewRecord, ReviewRepository, ReviewSummary } from './review-repository.ts';

/** Longest side of a stored crop, px. */
export const CROP_MAX = 160;
/** Nearest elders kept per item. */
export const NEAREST_MAX = 3;

/** A review item as staff see it: the nearest elders named. */
export interface ReviewItem extends Omit<ReviewRecord, 'nearest'> {
  nearest: Array<NearElder & { name: string }>;
}

export type ReviewDecision =
  | { status: 'assigned'; item: ReviewItem; checkIn: CheckIn }
  | { status: 'dismissed'; item: ReviewItem }
  | { status: 'not-found'; id: string }
  | { status: 'already-decided'; item: ReviewItem }
  /** The recorder (or the hold) refused: nothing recorded, the item stays pending. */
  | { status: 'refused'; result: Exclude<CheckInResult, { status: 'recorded' | 'pending-confirmation' }> | Exclude<ConfirmationResult, { status: 'recorded' | 'rejected' }> }
  | { status: 'not-recorded'; reason: string };

export interface ReviewServiceDeps {
  db: Db;
  reviews: ReviewRepository;
  elders: Pick<ElderRepository, 'getElder'>;
  checkIns: Pick<CheckInService, 'record' | 'confirm' | 'reject' | 'getConfirmation'>;
  audit: Pick<AuditLog, 'append'>;
  clock: Clock;
  ids: Ids;
  /** Undecided crops are dropped after this long; default 24 h. */
  retentionMs?: number;
  /** How often the timer drops expired crops; default 10 min. */
  purgeEveryMs?: number;
  logger?: Logger;
}

export interface ReviewService extends ReviewSink {
  /** Drops expired crops now and every `purgeEveryMs`. */
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every face handed to keep() so far is stored (or failed). */
  idle(): Promise<void>;
  list(limit?: number): ReviewItem[];
  get(id: string): ReviewItem | undefined;
  crop(id: string): Buffer | undefined;
  countPending(): number;
  /** Undecided items per kind and the oldest one's time (holds decided elsewhere closed first, as list() does). */
  summary(): ReviewSummary;
  assign(staff: StaffActor, id: string, elderId: string): ReviewDecision;
  dismiss(staff: StaffActor, id: string): ReviewDecision;
  /** Drops the crops of items older than the retention period; returns how many. */
  purge(): number;
}

/** A JPEG of the face with some margin around it, at most CROP_MAX px a side. */
export async function cropFace(image: EngineImage, box: FaceBox): Promise<Buffer> {
  const input = image.kind === 'encoded' ? sharp(image.bytes, { limitInputPixels: 40_000_000 }) : sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  const meta = image.kind === 'encoded' ? await input.metadata() : { width: image.width, height: image.height };
  const W = meta.width ?? 0;
  const H = meta.height ?? 0;
  const pad = Math.max(box.width, box.height) * 0.25;
  const left = clamp(Math.floor(box.x - pad), 0, W - 1);
  const top = clamp(Math.floor(box.y - pad), 0, H - 1);
  const width = clamp(Math.ceil(box.width + 2 * pad), 1, W - left);
  const height = clamp(Math.ceil(box.height + 2 * pad), 1, H - top);
  return input.extract({ left, top, width, height }).resize(CROP_MAX, CROP_MAX, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(Math.max(n, lo), Math.max(lo, hi));
}

export function createReviewService(deps: ReviewServiceDeps): ReviewService {
  const { db, reviews, elders, checkIns, audit, clock, ids, logger } = deps;
  const retentionMs = deps.retentionMs ?? 24 * 3600_000;
  const purgeEveryMs = deps.purgeEveryMs ?? 10 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const named = (r: ReviewRecord): ReviewItem => ({ ...r, nearest: r.nearest.map((n) => ({ ...n, name: elders.getElder(n.elderId)?.name ?? n.elderId })) });
  const decided = (id: string): ReviewItem => named(reviews.get(id)!);

  const assignTx = db.transaction((staff: StaffActor, id: string, elderId: string): ReviewDecision => {
    const r = reviews.get(id);
    if (!r) return { status: 'not-found', id };
    if (r.status !== 'pending') return { status: 'already-decided', item: named(r) };
    const at = clock.now().toISOString();
    let checkIn: CheckIn;
    const hold = r.confirmationId === undefined ? undefined : checkIns.getConfirmation(r.confirmationId);
    if (hold && hold.status === 'pending' && hold.elderId === elderId) {
      // The held elder it was: confirm the hold (its meal is that of the moment at the door).
      const c = checkIns.confirm(hold.id, staff.staffId);
      if (c.status !== 'recorded') return c.status === 'rejected' ? { status: 'not-recorded', reason: 'hold rejected' } : { status: 'refused', result: c };
      checkIn = c.checkIn;
    } else {
      // Someone else (or a face with no hold): the hold is moot; record a face check-in now.
      if (hold && hold.status === 'pending') checkIns.reject(hold.id, staff.staffId, `review ${id}: another elder`);
      const res = checkIns.record({ elderId, method: 'face', cameraId: r.cameraId, reviewedBy: staff.staffId });
      if (res.status !== 'recorded') {
        if (res.status === 'pending-confirmation') return { status: 'not-recorded', reason: 'held again' };
        // Roll the hold's rejection back with the refusal: nothing changed.
        throw new Refused(res);
      }
      checkIn = res.checkIn;
    }
    reviews.decide(id, { status: 'assigned', at, by: staff.staffId, elderId, eventId: checkIn.eventId });
    audit.append({ staffId: staff.staffId, action: 'review-assign', subject: id, details: { kind: r.kind, elderId, eventId: checkIn.eventId, meal: checkIn.meal, serviceDate: checkIn.serviceDate, confirmationId: r.confirmationId ?? null } });
    return { status: 'assigned', item: decided(id), checkIn };
  });

  const dismissTx = db.transaction((staff: StaffActor, id: string): ReviewDecision => {
    const r = reviews.get(id);
    if (!r) return { status: 'not-found', id };
    if (r.status !== 'pending') return { status: 'already-decided', item: named(r) };
    const hold = r.confirmationId === undefined ? undefined : checkIns.getConfirmation(r.confirmationId);
    if (hold && hold.status === 'pending') checkIns.reject(hold.id, staff.staffId, `review ${id}: dismissed`);
    reviews.decide(id, { status: 'dismissed', at: clock.now().toISOString(), by: staff.staffId });
    audit.append({ staffId: staff.staffId, action: 'review-dismiss', subject: id, details: { kind: r.kind, confirmationId: r.confirmationId ?? null } });
    return { status: 'dismissed', item: decided(id) };
  });

  const attempt = (what: string, id: string, work: () => ReviewDecision): ReviewDecision => {
    try {
      return work();
    } catch (err) {
      if (err instanceof Refused) return { status: 'refused', result: err.result };
      const reason = (err as Error).message;
      logger?.error({ reviewId: id, reason }, `review ${what} failed`);
      return { status: 'not-recorded', reason };
    }
  };

  async function store(face: ReviewFace): Promise<void> {
    let crop: Buffer | null = null;
    try {
      crop = await cropFace(face.image, face.box);
    } catch (err) {
      // Kept without a picture: staff still see the time, camera and nearest elders.
      logger?.warn({ camera: face.cameraId, kind: face.kind, err: (err as Error).message }, 'review crop failed');
    }
    const id = ids.next();
    const nearest = [...face.nearest].sort((a, b) => a.distance - b.distance).slice(0, NEAREST_MAX).map((n) => ({ elderId: n.elderId, distance: Math.round(n.distance * 1000) / 1000 }));
    reviews.insert({ id, kind: face.kind, at: new Date(face.at).toISOString(), cameraId: face.cameraId, nearest, ...(face.confirmationId !== undefined ? { confirmationId: face.confirmationId } : {}) }, crop);
    logger?.info({ reviewId: id, kind: face.kind, camera: face.cameraId }, 'face kept for staff review');
  }

  /**
   * False for an anti-spoof item whose hold was decided elsewhere (/api/v1/confirmations, or
   * superseded by a check-in of the elder): nothing is left to review, so the item closes as the
   * hold went, and its crop goes.
   */
  const stillOpen = (r: ReviewRecord): boolean => {
    if (r.confirmationId === undefined) return true;
    const hold = checkIns.getConfirmation(r.confirmationId);
    if (hold?.status === 'pending') return true;
    const status = hold?.status === 'confirmed' || hold?.status === 'superseded' ? 'assigned' : 'dismissed';
    reviews.decide(r.id, { status, at: hold?.decidedAt ?? clock.now().toISOString(), by: hold?.decidedBy ?? 'box', ...(hold ? { elderId: hold.elderId } : {}), ...(hold?.eventId !== undefined ? { eventId: hold.eventId } : {}) });
    return false;
  };

  const purge = (): number => {
    const now = clock.now();
    const n = reviews.expire(new Date(now.getTime() - retentionMs).toISOString(), now.toISOString());
    if (n > 0) logger?.info({ expired: n }, 'review crops dropped after the retention period');
    return n;
  };

  return {
    keep(face) {
      const p = store(face)
        .catch((err: unknown) => logger?.error({ camera: face.cameraId, kind: face.kind, err: (err as Error).message }, 'review item NOT kept'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    start() {
      if (timer) return;
      purge();
      timer = setInterval(() => {
        try {
          purge();
        } catch (err) {
          logger?.error({ err: (err as Error).message }, 'review purge failed');
        }
      }, purgeEveryMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await Promise.all(inFlight);
    },
    idle: async () => void (await Promise.all(inFlight)),
    list(limit = 100) {
      return reviews.listPending(limit).filter(stillOpen).map(named);
    },
    summary() {
      for (const r of reviews.listPendingHolds()) stillOpen(r);
      return reviews.summary();
    },
    get(id) {
      const r = reviews.get(id);
      return r && named(r);
    },
    crop: (id) => reviews.crop(id),
    countPending: () => reviews.countPending(),
    assign: (staff, id, elderId) => attempt('assign', id, () => assignTx(staff, id, elderId)),
    dismiss: (staff, id) => attempt('dismiss', id, () => dismissTx(staff, id)),
    purge,
  };
}

/** Thrown inside the assign transaction to roll it back, caught outside it. */
class Refused extends Error {
  constructor(readonly result: Extract<ReviewDecision, { status: 'refused' }>['result']) {
    super(`refused: ${result.status}`);
  }
}
