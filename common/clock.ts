/** Time and ids are injected so meal windows and dedupe are pure and tests need no fake timers. */
import { v7 as uuidv7 } from 'uuid';

export interface Clock {
  now(): Date;
}
export interface Ids {
  next(): string;
}
export const systemClock: Clock = { now: () => new Date() };
export const uuidV7Ids: Ids = { next: () => uuidv7() };

/**
 * Milliseconds on a clock that only moves forward at a steady rate and is never set: it keeps
 * counting across NTP steps and `date -s`, so it measures elapsed time within one run of a
 * program (it restarts with the process).
 */
export interface Monotonic {
  nowMs(): number;
}
export const systemMonotonic: Monotonic = { nowMs: () => performance.now() };

/**
 * What a clock that knows whether to trust itself says (see edge/src/clock/trusted-clock.ts).
 * `server`: learnt from the server in this run; `system`: the box's own clock, plausible but not
 * checked against the server. Untrusted: only the box's (wrong) wall clock and the monotonic
 * time since this run started are known.
 */
export type ClockReading =
  | { trusted: true; at: Date; source: 'server' | 'system'; monoMs: number }
  | { trusted: false; system: Date; monoMs: number };

/** A Clock that can also say whether its time is trustworthy. */
export interface TrustAwareClock extends Clock {
  reading(): ClockReading;
}

export function isTrustAware(clock: Clock): clock is TrustAwareClock {
  return typeof (clock as Partial<TrustAwareClock>).reading === 'function';
}
