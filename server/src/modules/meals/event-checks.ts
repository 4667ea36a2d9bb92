/**
 * What the server checks in every event before it counts it as a meal. The edge computes
 * serviceDate and meal from `at` with the centre's zone and windows; the server does not take
 * them on trust but works them out again from `at` with its own record of the centre
 * (centres/centre-repository.ts). An event that fails is kept for review with the reason, never
 * counted silently. Pure: the caller passes the centre's rules, the closed months and the
 * server's receive time.
 */
import type { MealEvent } from '../../../../common/contract.ts';
import { formatMinutes, localTime } from '../../../../common/meal-windows.ts';
import type { CentreRules } from '../centres/centre-repository.ts';
import { dayNumber } from '../stats/stats-query.ts';

/** Why an event is kept for review instead of counted: see migrations 005 and 009. */
export const REVIEW_REASONS = ['unverified', 'outside-window', 'bad-date', 'date-mismatch', 'meal-mismatch', 'month-closed', 'clock-unset', 'clock-ahead', 'too-old', 'no-staff'] as const;
export type EventReviewReason = (typeof REVIEW_REASONS)[number];

export interface EventReview {
  reason: EventReviewReason;
  /** What was wrong, in words, for the operator who reviews it. */
  detail: string;
}

/** Earliest plausible edge time: nothing was recorded before the system existed. */
export const CLOCK_EARLIEST = Date.parse('2024-01-01T00:00:00Z');
/** An edge clock ahead of the server by more than this is wrong (the server runs NTP). */
export const CLOCK_AHEAD_TOLERANCE_MS = 10 * 60_000;
/** An event older than this on arrival: the box was offline that long, or its clock is behind (flagged, still counted). */
export const CLOCK_LATE_MS = 24 * 3600_000;
/**
 * Oldest event the server still counts on arrival. A box may be offline for days (a broken
 * router over a holiday week) and its meals must still count; five weeks covers that and lets a
 * month's last days arrive after the month ends. Anything older is more likely a wrong clock or a
 * replay than a late delivery, and closing a month (closed_months) guards the figures already
 * reported within that bound.
 */
export const MAX_EVENT_AGE_MS = 35 * 86_400_000;

/** Why an edge time looks wrong, on a counted meal (only `late` since the checks below). */
export type ClockFlag = 'unset' | 'ahead' | 'late';

/**
 * Flags an implausible edge time against the server's receive time. A box with no RTC (a Pi)
 * that boots without network starts at 1970 or at its last shutdown: its events keep their
 * (bootId, seq) order, and the server's received_at bounds when they really happened.
 */
export function clockFlagOf(at: string, receivedAt: Date): ClockFlag | null {
  const t = Date.parse(at);
  if (!(t >= CLOCK_EARLIEST)) return 'unset';
  if (t > receivedAt.getTime() + CLOCK_AHEAD_TOLERANCE_MS) return 'ahead';
  if (t < receivedAt.getTime() - CLOCK_LATE_MS) return 'late';
  return null;
}

/**
 * The review an event needs, or null when it may be counted. The edge's own verdict comes first
 * (`unverified`, `review: outside-window`); then a meal by hand without the staff member who
 * answers for it; then the date itself, the clock, the date and meal against `at`, and the
 * closed months.
 */
export function reviewOf(e: MealEvent, centre: CentreRules, closedMonths: ReadonlySet<string>, receivedAt: Date): EventReview | null {
  if (e.clock === 'unverified') return { reason: 'unverified', detail: 'recorded while the box had not verified its clock: date and meal are its guesses' };
  if (e.review === 'outside-window') return { reason: 'outside-window', detail: 'the box corrected its time and found it in no meal window' };
  if (e.method !== 'face' && e.staffId === undefined) return { reason: 'no-staff', detail: `a ${e.method} meal names no staff member who recorded it` };
  if (dayNumber(e.serviceDate) === null) return { reason: 'bad-date', detail: `serviceDate ${e.serviceDate} is not a calendar date` };
  const t = Date.parse(e.at);
  const received = receivedAt.getTime();
  if (!(t >= CLOCK_EARLIEST)) return { reason: 'clock-unset', detail: `at ${e.at} is before ${new Date(CLOCK_EARLIEST).toISOString()}: the box's clock was not set` };
  if (t > received + CLOCK_AHEAD_TOLERANCE_MS) return { reason: 'clock-ahead', detail: `at ${e.at} is ${minutes(t - received)} ahead of the server's time ${receivedAt.toISOString()}` };
  if (t < received - MAX_EVENT_AGE_MS) return { reason: 'too-old', detail: `at ${e.at} is more than ${MAX_EVENT_AGE_MS / 86_400_000} days before the server's time ${receivedAt.toISOString()}` };
  const local = localTime(new Date(t), centre.timeZone);
  if (local.date !== e.serviceDate) return { reason: 'date-mismatch', detail: `serviceDate ${e.serviceDate} is not the local date of at ${e.at} in ${centre.timeZone} (${local.date})` };
  const w = centre.windows.find((x) => local.minutes >= x.start && local.minutes < x.end);
  const clock = `${local.date} ${formatMinutes(local.minutes)} in ${centre.timeZone}`;
  if (!w) return { reason: 'outside-window', detail: `at ${e.at} (${clock}) is in no meal window of the centre` };
  if (w.meal !== e.meal) return { reason: 'meal-mismatch', detail: `at ${e.at} (${clock}) is in the ${w.meal} window (${formatMinutes(w.start)}-${formatMinutes(w.end)}), not ${e.meal}` };
  const month = e.serviceDate.slice(0, 7);
  if (closedMonths.has(month)) return { reason: 'month-closed', detail: `${month} is closed: its figures are reported` };
  return null;
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 120 ? `${m} min` : m < 2 * 24 * 60 ? `${Math.round(m / 60)} h` : `${Math.round(m / 1440)} days`;
}
