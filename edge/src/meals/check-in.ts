/** What a check-in is, and what recording one can come to. */
import { isValidId, PROXY_NAME_MAX, type CheckInMethod, type Meal } from '../../../common/contract.ts';

/** The ways staff record a meal by hand: the face failed (`manual`), taken home (`delivery`), collected by someone (`proxy`). */
export const STAFF_METHODS = ['manual', 'delivery', 'proxy'] as const satisfies readonly CheckInMethod[];
export type StaffMethod = (typeof STAFF_METHODS)[number];
export function isStaffMethod(m: CheckInMethod): m is StaffMethod {
  return (STAFF_METHODS as readonly string[]).includes(m);
}

export interface CheckInRequest {
  elderId: string;
  method: CheckInMethod;
  /** Match distance for face check-ins. */
  score?: number;
  cameraId?: string;
  /**
   * Anti-spoof hint of a face check-in (0..1, higher = more likely a live face; the median over
   * the agreeing frames). Below the edge's `--antispoof-threshold` the check-in waits for staff
   * confirmation instead of being recorded. Absent = not measured: never blocks a check-in.
   */
  antispoof?: number;
  /** Who recorded it: required for a meal by hand (`manual`, `delivery`, `proxy`), absent for a face. */
  staffId?: string;
  /** Who collected a `proxy` meal (a family member, a neighbour): required for `proxy`, absent otherwise. */
  proxyName?: string;
  /** A face check-in a staff member assigned from the review queue (review/review-service.ts): their id. */
  reviewedBy?: string;
}

/**
 * What is wrong with a request, if anything. Checked before SQLite so a bad value never becomes
 * an outbox row the server rejects forever.
 */
export function requestProblem(req: CheckInRequest): string | undefined {
  if (req.cameraId !== undefined && !isValidId(req.cameraId)) return `invalid camera id "${req.cameraId}"`;
  if (req.score !== undefined && !(Number.isFinite(req.score) && req.score >= 0 && req.score <= 10)) return `invalid score ${req.score}`;
  if (req.antispoof !== undefined && !(Number.isFinite(req.antispoof) && req.antispoof >= 0 && req.antispoof <= 1)) return `invalid antispoof ${req.antispoof}`;
  if (isStaffMethod(req.method)) {
    if (req.staffId === undefined) return `a ${req.method} meal needs the id of the staff member who records it`;
    if (req.antispoof !== undefined || req.score !== undefined) return `a ${req.method} meal has no face score or anti-spoof hint`;
  } else if (req.staffId !== undefined) {
    return 'a face check-in carries no staff id (staff record meals by hand as manual, delivery or proxy)';
  }
  if (req.staffId !== undefined && !isValidId(req.staffId)) return `invalid staff id "${req.staffId}"`;
  if (req.reviewedBy !== undefined) {
    if (req.method !== 'face') return 'only a face check-in is assigned from the review queue (reviewedBy)';
    if (!isValidId(req.reviewedBy)) return `invalid staff id "${req.reviewedBy}"`;
  }
  if (req.method === 'proxy') {
    if (req.proxyName === undefined || req.proxyName.trim() === '') return 'a proxy meal needs the name of the person who collects it';
    if (req.proxyName !== req.proxyName.trim() || req.proxyName.length > PROXY_NAME_MAX) return `the collector's name must be 1-${PROXY_NAME_MAX} characters without leading or trailing spaces`;
  } else if (req.proxyName !== undefined) {
    return `only a proxy meal names who collected it, not a ${req.method} one`;
  }
  return undefined;
}

/**
 * The registry status of an elder who must not be served a meal (`suspended`, `deceased`,
 * `moved`), or undefined when they may be. The status comes with the elder registry (edge
 * migration 007): an elder record without one is active.
 */
export function inactiveStatusOf(elder: object): string | undefined {
  const s = (elder as { status?: unknown }).status;
  return typeof s === 'string' && s !== 'active' ? s : undefined;
}

/** An elder at the door for a meal: what a check-in and a held confirmation both record. */
export interface DoorVisit {
  elderId: string;
  elderName: string;
  serviceDate: string;
  meal: Meal;
  /** When the elder was at the door: edge wall-clock time, ISO 8601. */
  at: string;
  method: CheckInMethod;
  score?: number;
  cameraId?: string;
  /** Anti-spoof hint, kept on the edge only (not in the MQTT event). */
  antispoof?: number;
  /** The staff member who recorded a meal by hand. */
  staffId?: string;
  /** Who collected a `proxy` meal. */
  proxyName?: string;
  /** The staff member who assigned a face from the review queue (in the event; not a column of check_ins). */
  reviewedBy?: string;
}

/** A door visit's optional details: score, camera, anti-spoof hint, and for meals by hand the staff member and the collector. */
export type DoorDetails = Pick<DoorVisit, 'score' | 'cameraId' | 'antispoof' | 'staffId' | 'proxyName' | 'reviewedBy'>;

/** The details of `from` that are set, to copy onto a record (absent ones stay absent). */
export function doorDetails(from: DoorDetails): DoorDetails {
  const d: DoorDetails = {};
  if (from.score !== undefined) d.score = from.score;
  if (from.cameraId !== undefined) d.cameraId = from.cameraId;
  if (from.antispoof !== undefined) d.antispoof = from.antispoof;
  if (from.staffId !== undefined) d.staffId = from.staffId;
  if (from.proxyName !== undefined) d.proxyName = from.proxyName;
  if (from.reviewedBy !== undefined) d.reviewedBy = from.reviewedBy;
  return d;
}

/**
 * `rec` with the elder's name: their current one when still enrolled, else `fallback`, else
 * the id (an elder removed since keeps their check-ins).
 */
export function withElderName(elders: { getElder(elderId: string): { name: string } | undefined }, rec: Omit<CheckIn, 'elderName'>, fallback?: string): CheckIn {
  return { ...rec, elderName: elders.getElder(rec.elderId)?.name ?? fallback ?? rec.elderId };
}

/** A staff member's void of a check-in: it no longer counts, and the void went to the server. */
export interface CheckInVoid {
  /** The void record's eventId (common/records.ts, type `void`). */
  voidEventId: string;
  reason: string;
  staffId: string;
  /** When it was voided, ISO 8601. */
  at: string;
}

export interface CheckIn extends DoorVisit {
  eventId: string;
  /** Set when staff voided it (meals/void-service.ts): shown struck out, not counted. */
  voided?: CheckInVoid;
  /**
   * True when recorded while the box's clock was untrusted: `meal`, `serviceDate` and `at` are
   * then the box's guess until the time is learnt (meals/clock-correction.ts).
   */
  provisional?: boolean;
}

export const CONFIRMATION_STATUSES = ['pending', 'confirmed', 'rejected', 'superseded'] as const;
/**
 * `pending`: waiting for staff. `confirmed`: staff confirmed it and it became the check-in
 * `eventId`. `rejected`: staff refused it; kept for audit, never forwarded. `superseded`: the
 * elder got this meal another way (recognised again without suspicion, checked in by hand), so
 * there was nothing left to confirm; `eventId` names that check-in.
 */
export type ConfirmationStatus = (typeof CONFIRMATION_STATUSES)[number];

/**
 * A face check-in whose anti-spoof hint was below the threshold: it waits for staff. Its meal
 * and service date are those of the moment the elder stood at the door (`at`).
 */
export interface Confirmation extends DoorVisit {
  id: string;
  status: ConfirmationStatus;
  /** When and by whom it was confirmed or rejected (or when it was superseded). */
  decidedAt?: string;
  decidedBy?: string;
  /** Why staff rejected it, when they said. */
  reason?: string;
  /** The check-in it became (confirmed) or that made it moot (superseded). */
  eventId?: string;
}

/**
 * Why a check-in the recorder did not record goes to the review queue: `clock`, a face the
 * anti-spoof hint finds suspect while the box's clock is untrusted (held-check-in-service.ts).
 * A hold would carry a guessed date and meal that nothing corrects later, so there is none; staff
 * decide from the queue instead.
 */
export type CheckInReviewKind = 'clock';

/** Expected outcomes are values, not exceptions. */
export type CheckInResult =
  | { status: 'recorded'; checkIn: CheckIn }
  /** The elder already has this meal; `checkIn` is the earlier one. */
  | { status: 'already-checked-in'; checkIn: CheckIn }
  | { status: 'outside-meal-window' }
  | { status: 'unknown-elder'; elderId: string }
  /** The elder is in the registry but not served meals now (suspended, deceased, moved away): nothing recorded. */
  | { status: 'elder-inactive'; elderId: string; elderName: string; elderStatus: string }
  /**
   * Nothing recorded. Either the commit failed (disk full, I/O error): the elder must be told it
   * was NOT recorded; or, with `review`, a rule held the check-in for staff, and the door keeps
   * the face in the review queue as that kind (review/review-service.ts), where staff assign it
   * (the meal is then recorded) or dismiss it.
   */
  | { status: 'not-recorded'; reason: string; review?: CheckInReviewKind }
  /** The face may be a photo or a screen: nothing recorded yet, staff confirm or reject it. */
  | { status: 'pending-confirmation'; confirmation: Confirmation };

/** What a staff decision on a pending confirmation came to. */
export type ConfirmationResult =
  /** Confirmed: recorded exactly like a check-in at the door (check-in + outbox row, one transaction). */
  | { status: 'recorded'; confirmation: Confirmation; checkIn: CheckIn }
  | { status: 'rejected'; confirmation: Confirmation }
  | { status: 'not-found'; id: string }
  /** Already confirmed, rejected or superseded: a decision is made once. */
  | { status: 'already-decided'; confirmation: Confirmation }
  /** The elder already had this meal: nothing recorded, the confirmation is now `superseded`. */
  | { status: 'already-checked-in'; confirmation: Confirmation; checkIn: CheckIn }
  | { status: 'not-recorded'; reason: string };

/**
 * The recorder port: the one way a meal gets recorded on the box. The door's pipeline calls it
 * for faces; the staff pages are to call the same port for meals by hand. Behind it
 * (check-in-service.ts) the clock decides which service records, and every service writes
 * through one check-in writer, so whatever a request carries is checked, stored and forwarded
 * the same way whoever records it. Meant to grow without a reshuffle:
 *
 * - a staff meal (`manual`, `delivery`, `proxy`) is a CheckInRequest with the staff member's id
 *   (and for `proxy` the collector's name): fields of DoorDetails (copied by `doorDetails()` into
 *   the check-in and a held check-in alike), checked in `requestProblem()`. It passes the same
 *   meal window and once-per-meal rules, and, having no anti-spoof hint, is never held for staff;
 * - a void is one more service beside the others (void-service.ts, `CheckInService.void()`; the
 *   door never voids, so it is not on this port): it finds the check-in and queues a void record
 *   through the same writer (outbox, failed writes reported as values).
 */
export interface CheckInRecorder {
  record(req: CheckInRequest): CheckInResult;
}
