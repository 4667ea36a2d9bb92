/** What a check-in is, and what recording one can come to. */
import { isValidId, type CheckInMethod, type Meal } from '../../../common/contract.ts';

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
}

/**
 * What is wrong with a request, if anything. Checked before SQLite so a bad value never becomes
 * an outbox row the server rejects forever.
 */
export function requestProblem(req: CheckInRequest): string | undefined {
  if (req.cameraId !== undefined && !isValidId(req.cameraId)) return `invalid camera id "${req.cameraId}"`;
  if (req.score !== undefined && !(Number.isFinite(req.score) && req.score >= 0 && req.score <= 10)) return `invalid score ${req.score}`;
  if (req.antispoof !== undefined && !(Number.isFinite(req.antispoof) && req.antispoof >= 0 && req.antispoof <= 1)) return `invalid antispoof ${req.antispoof}`;
  return undefined;
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
}

/** A door visit's optional details: score, camera, anti-spoof hint. */
export type DoorDetails = Pick<DoorVisit, 'score' | 'cameraId' | 'antispoof'>;

/** The details of `from` that are set, to copy onto a record (absent ones stay absent). */
export function doorDetails(from: DoorDetails): DoorDetails {
  const d: DoorDetails = {};
  if (from.score !== undefined) d.score = from.score;
  if (from.cameraId !== undefined) d.cameraId = from.cameraId;
  if (from.antispoof !== undefined) d.antispoof = from.antispoof;
  return d;
}

/**
 * `rec` with the elder's name: their current one when still enrolled, else `fallback`, else
 * the id (an elder removed since keeps their check-ins).
 */
export function withElderName(elders: { getElder(elderId: string): { name: string } | undefined }, rec: Omit<CheckIn, 'elderName'>, fallback?: string): CheckIn {
  return { ...rec, elderName: elders.getElder(rec.elderId)?.name ?? fallback ?? rec.elderId };
}

export interface CheckIn extends DoorVisit {
  eventId: string;
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

/** Expected outcomes are values, not exceptions. */
export type CheckInResult =
  | { status: 'recorded'; checkIn: CheckIn }
  /** The elder already has this meal; `checkIn` is the earlier one. */
  | { status: 'already-checked-in'; checkIn: CheckIn }
  | { status: 'outside-meal-window' }
  | { status: 'unknown-elder'; elderId: string }
  /** The commit failed (disk full, I/O error): the elder must be told it was NOT recorded. */
  | { status: 'not-recorded'; reason: string }
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
 * - a staff meal (`manual`, `delivery`, `proxy`) is a CheckInRequest with the staff member's id:
 *   a field of DoorDetails (copied by `doorDetails()` into the check-in, a held check-in and a
 *   confirmation alike), checked in `requestProblem()`. It passes the same meal window and
 *   once-per-meal rules, and, having no anti-spoof hint, is never held for staff;
 * - a void is one more method here, `void(...)`, and one more service beside the others: it
 *   finds the check-in and queues a void event through the same writer (seq, outbox, failed
 *   writes reported as values).
 */
export interface CheckInRecorder {
  record(req: CheckInRequest): CheckInResult;
}
