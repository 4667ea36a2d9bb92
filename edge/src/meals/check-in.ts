/** What a check-in is, and what recording one can come to. */
import type { CheckInMethod, Meal } from '../../../common/contract.ts';

export interface CheckInRequest {
  elderId: string;
  method: CheckInMethod;
  /** Match distance for face check-ins. */
  score?: number;
  cameraId?: string;
}

export interface CheckIn {
  eventId: string;
  elderId: string;
  elderName: string;
  serviceDate: string;
  meal: Meal;
  /** Edge wall-clock time, ISO 8601. */
  at: string;
  method: CheckInMethod;
  score?: number;
  cameraId?: string;
}

/** Expected outcomes are values, not exceptions. */
export type CheckInResult =
  | { status: 'recorded'; checkIn: CheckIn }
  /** The elder already has this meal; `checkIn` is the earlier one. */
  | { status: 'already-checked-in'; checkIn: CheckIn }
  | { status: 'outside-meal-window' }
  | { status: 'unknown-elder'; elderId: string }
  /** The commit failed (disk full, I/O error): the elder must be told it was NOT recorded. */
  | { status: 'not-recorded'; reason: string };

export interface CheckInRecorder {
  record(req: CheckInRequest): CheckInResult;
}
