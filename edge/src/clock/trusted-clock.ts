/**
 * The edge's clock, and whether to trust it. A Pi has no real-time clock: it may boot at 1970,
 * at its last shutdown (fake-hwclock), or days off, and NTP may never come on a centre's network.
 * Meal windows and service dates come from this clock, so:
 *
 * - the box learns the time from the server over MQTT (sync/forwarder.ts sends `time` requests, the
 *   server answers on `receipts`). Each answer is a sample: the server's time at the midpoint
 *   of the round trip measured on the monotonic clock. The sample with the least uncertainty
 *   (half the round trip, plus drift since it was taken) is kept. Time is then the server's
 *   time at that midpoint plus the monotonic time since: a later `date -s` or NTP step of the
 *   system clock cannot move it.
 * - without a sample in this run, the system clock is trusted when plausible: not before this
 *   release (a build-time floor) and not before the last trusted time the box saved (a
 *   checkpoint in its database, written every minute while trusted), and not just after it at
 *   start: a clock that starts within `restoreWindowMs` after the checkpoint may be the time
 *   fake-hwclock saved at the last clean shutdown, however long the box was off, so it waits
 *   for the server's time.
 * - otherwise the clock is untrusted: check-ins are still recorded (an elder at the door is never
 *   turned away), stamped with the monotonic time since this run started, and corrected once
 *   the time is learnt (meals/clock-correction.ts).
 *
 * Trust only grows within a run, except that a system clock stepped back below the floor
 * before any sample makes it untrusted again.
 */
import { EventEmitter } from 'node:events';
import type { Clock, ClockReading, Monotonic, TrustAwareClock } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { ClockRepository } from './clock-repository.ts';

/** No meal of this release happened before it was built: a system clock before this is wrong. */
export const BUILD_TIME_FLOOR = '2026-11-01T00:00:00.000Z';

/** One answer of the server: its time, and when (monotonic) the request left and the reply came. */
export interface TimeSample {
  serverMs: number;
  sentMono: number;
  receivedMono: number;
}

export type SampleVerdict = { used: boolean; reason?: string; first?: boolean };

export interface TrustedClockOptions {
  system: Clock;
  mono: Monotonic;
  /** This run's id (also in every event). */
  bootId: string;
  logger: Logger;
  /** Checkpoint storage; without it only the build-time floor applies. */
  checkpoints?: Pick<ClockRepository, 'loadCheckpoint' | 'saveCheckpoint'>;
  /** ISO 8601; default BUILD_TIME_FLOOR. */
  floor?: string;
  /** Default 60 s. */
  checkpointEveryMs?: number;
  /**
   * A system clock this much before the checkpoint still counts as plausible (NTP may step a
   * clock back a little). Default 60 s: small, because fake-hwclock (Raspberry Pi OS) restores
   * the time it saved up to an hour before a power cut, and that must count as wrong.
   */
  checkpointSlackMs?: number;
  /** Samples with a longer round trip are ignored. Default 10 s (meal windows are minutes wide). */
  maxRttMs?: number;
  /**
   * A system clock that starts less than this after the checkpoint is not trusted until the
   * server's time arrives (it may be a restored shutdown time). Default 10 min; 0 turns it off.
   */
  restoreWindowMs?: number;
}

export interface TrustedClockEvents {
  /** The first usable sample of this run: the time is known now. */
  synced: [{ offsetMs: number; rttMs: number }];
}

export interface ClockStatus {
  state: 'server' | 'system' | 'untrusted';
  /** Server time minus system time at the best sample (ms), once synced. */
  offsetMs?: number;
  /** Round trip of the best sample (ms). */
  rttMs?: number;
  /** ISO 8601 (trusted time) of the best sample. */
  syncedAt?: string;
  /** ISO 8601: the system clock counts as wrong before this. */
  floor: string;
}

/** Drift allowed for the monotonic clock when ageing a sample: 100 ppm, ten times a cheap crystal. */
const DRIFT = 100e-6;

interface Anchor {
  mono: number;
  serverMs: number;
  rttMs: number;
  offsetMs: number;
}

export class TrustedClock extends EventEmitter<TrustedClockEvents> implements TrustAwareClock {
  private readonly startMono: number;
  private floorMs: number;
  private anchor: Anchor | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastState: ClockStatus['state'] | null = null;
  /** The system clock started right after the checkpoint: trusted only once synced. */
  private restored = false;

  constructor(private readonly o: TrustedClockOptions) {
    super();
    this.startMono = o.mono.nowMs();
    this.floorMs = Date.parse(o.floor ?? BUILD_TIME_FLOOR);
  }

  /** Reads the checkpoint (raising the floor) and starts saving it. */
  start(): void {
    try {
      const cp = this.o.checkpoints?.loadCheckpoint();
      const saved = cp ? Date.parse(cp.trustedAt) : NaN;
      const t = saved - (this.o.checkpointSlackMs ?? 60_000);
      if (t > this.floorMs) this.floorMs = t;
      const sinceSaved = this.o.system.now().getTime() - saved;
      if (sinceSaved >= 0 && sinceSaved < (this.o.restoreWindowMs ?? 600_000)) {
        this.restored = true;
        this.o.logger.warn({ checkpoint: cp!.trustedAt, sinceMs: sinceSaved }, 'system clock starts just after the last saved time (a restored shutdown time?): untrusted until the server tells the time');
      }
    } catch (err) {
      this.o.logger.error({ err }, 'cannot read the clock checkpoint; only the build-time floor applies');
    }
    const r = this.reading();
    this.logState(r);
    if (this.o.checkpoints) {
      this.timer = setInterval(() => this.checkpoint(), this.o.checkpointEveryMs ?? 60_000);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.checkpoint();
  }

  /** Milliseconds since this run started, on the monotonic clock. */
  monoMs(): number {
    return Math.max(0, Math.round(this.o.mono.nowMs() - this.startMono));
  }

  reading(): ClockReading {
    const monoMs = this.monoMs();
    const a = this.anchor;
    if (a) return { trusted: true, at: new Date(Math.round(a.serverMs + (this.o.mono.nowMs() - a.mono))), source: 'server', monoMs };
    const system = this.o.system.now();
    if (system.getTime() >= this.floorMs && !this.restored) return { trusted: true, at: system, source: 'system', monoMs };
    return { trusted: false, system, monoMs };
  }

  /** The best time there is: trusted when trusted, else the system clock (for logs and status only). */
  now(): Date {
    const r = this.reading();
    this.logState(r);
    return r.trusted ? r.at : r.system;
  }

  isSynced(): boolean {
    return this.anchor !== null;
  }

  /** The server's time at `monoMs` (ms since this run started), or null before the first sample. */
  timeAtMono(monoMs: number): Date | null {
    const a = this.anchor;
    return a ? new Date(Math.round(a.serverMs + (this.startMono + monoMs - a.mono))) : null;
  }

  /** Monotonic now, on the scale of TimeSample's sentMono/receivedMono. */
  monoNow(): number {
    return this.o.mono.nowMs();
  }

  addSample(s: TimeSample): SampleVerdict {
    const rtt = s.receivedMono - s.sentMono;
    const maxRtt = this.o.maxRttMs ?? 10_000;
    if (!Number.isFinite(s.serverMs) || !(rtt >= 0)) return { used: false, reason: 'malformed sample' };
    if (rtt > maxRtt) return { used: false, reason: `round trip ${Math.round(rtt)} ms exceeds ${maxRtt} ms` };
    // A server whose own clock is unset must not rewrite meals.
    if (s.serverMs < Date.parse(BUILD_TIME_FLOOR)) return { used: false, reason: `implausible server time ${new Date(s.serverMs).toISOString()}` };
    const mid = (s.sentMono + s.receivedMono) / 2;
    const now = this.o.mono.nowMs();
    const cur = this.anchor;
    if (cur && cur.rttMs / 2 + (now - cur.mono) * DRIFT < rtt / 2 + (now - mid) * DRIFT) return { used: false, reason: 'a better sample is kept' };
    // Offset against the system clock, for the status and the log only: time never uses it.
    const systemAtMid = this.o.system.now().getTime() - (now - mid);
    const first = cur === null;
    this.anchor = { mono: mid, serverMs: s.serverMs, rttMs: rtt, offsetMs: Math.round(s.serverMs - systemAtMid) };
    if (first) {
      const offsetMs = this.anchor.offsetMs;
      const log = Math.abs(offsetMs) > 120_000 ? this.o.logger.warn.bind(this.o.logger) : this.o.logger.info.bind(this.o.logger);
      log({ offsetMs, rttMs: Math.round(rtt), serverTime: new Date(s.serverMs).toISOString() }, 'clock synced with the server');
      this.logState(this.reading());
      this.checkpoint();
      this.emit('synced', { offsetMs, rttMs: Math.round(rtt) });
    }
    return { used: true, first };
  }

  status(): ClockStatus {
    const r = this.reading();
    const s: ClockStatus = { state: r.trusted ? r.source : 'untrusted', floor: new Date(this.floorMs).toISOString() };
    const a = this.anchor;
    if (a) {
      s.offsetMs = a.offsetMs;
      s.rttMs = Math.round(a.rttMs);
      s.syncedAt = new Date(Math.round(a.serverMs)).toISOString();
    }
    return s;
  }

  private checkpoint(): void {
    const r = this.reading();
    if (!r.trusted || !this.o.checkpoints) return;
    try {
      this.o.checkpoints.saveCheckpoint({ trustedAt: r.at.toISOString(), source: r.source, bootId: this.o.bootId });
    } catch (err) {
      this.o.logger.warn({ err }, 'cannot save the clock checkpoint');
    }
  }

  private logState(r: ClockReading): void {
    const state = r.trusted ? r.source : 'untrusted';
    if (state === this.lastState) return;
    this.lastState = state;
    if (state === 'untrusted') {
      this.o.logger.warn(
        { system: r.trusted ? undefined : r.system.toISOString(), floor: new Date(this.floorMs).toISOString() },
        'CLOCK UNTRUSTED: the system clock is before the last trusted time; check-ins are held until the time is learnt from the server',
      );
    } else {
      this.o.logger.info({ source: state }, 'clock trusted');
    }
  }
}
