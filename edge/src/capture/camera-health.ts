/**
 * What a live camera reports about itself: state, frames per second actually received,
 * resolution, age of the last frame, restarts. Shown per camera in GET /api/v1/status.
 */
import type { Logger } from '../../../common/logger.ts';
import type { CameraKind } from './camera-spec.ts';
import type { FrameSource } from './frame-source.ts';

export type CameraState = 'starting' | 'running' | 'down' | 'ended' | 'stopped';

export interface SourceHealth {
  id: string;
  kind: CameraKind;
  /** Device, URL (password hidden) or path. */
  source: string;
  state: CameraState;
  /** Frames per second received over the last few seconds (0 while down). */
  fps: number;
  /** Size of the frames handed to recognition. */
  width?: number;
  height?: number;
  /** Frames received since start, and how many of those recognition never took (too slow). */
  received: number;
  dropped: number;
  /** Wall-clock ms of the newest frame received; null before the first. */
  lastFrameAt: number | null;
  /** Times the source was restarted (reconnected) after going down. */
  restarts: number;
  /** Why it is down, or the last problem. */
  error?: string;
}

/** A frame source that reports its health (every camera the edge builds). */
export interface MonitoredSource extends FrameSource {
  health(): SourceHealth;
}

export function isMonitored(s: FrameSource): s is MonitoredSource {
  return typeof (s as Partial<MonitoredSource>).health === 'function';
}

const RATE_WINDOW_MS = 5000;

/** Receive-rate meter: frames in the last 5 s over the time the camera has been up in them. */
export class RateMeter {
  private times: number[] = [];
  private since = 0;

  /** Starts (or restarts, after an outage) the measuring window. */
  reset(now: number): void {
    this.times = [];
    this.since = now;
  }

  tick(now: number): void {
    this.times.push(now);
    this.prune(now);
  }

  fps(now: number): number {
    this.prune(now);
    // At least a second, so the first frames after (re)start do not read as hundreds per second.
    const window = Math.max(1000, Math.min(RATE_WINDOW_MS, now - this.since));
    if (this.times.length === 0) return 0;
    return Math.round((this.times.length / window) * 10_000) / 10;
  }

  private prune(now: number): void {
    const from = now - RATE_WINDOW_MS;
    let i = 0;
    while (i < this.times.length && this.times[i]! < from) i++;
    if (i) this.times.splice(0, i);
  }
}

/** Delay before restart number `failures` (1, 2, ...): doubling from `base`, capped at `max`. */
export function backoffDelay(failures: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(Math.max(failures - 1, 0), 16));
}

export interface OutageLogOptions {
  camera: string;
  /** Device, URL (password hidden) or path, for the first line. */
  source: string;
  logger?: Logger | undefined;
  now?: () => number;
  /** Least time between the first line and the first repeat; doubles per repeat. Default 1000 ms. */
  firstRepeatMs?: number;
  /** Longest time between two repeats. Default 60000 ms. */
  maxRepeatMs?: number;
}

/**
 * The log of one camera's outage: `camera down` at once, then the error again at growing
 * intervals (1 s, 2 s, 4 s ... at most a minute apart), each line one failed attempt, and
 * `camera up again` with how long it was down. Retrying stays as fast as the source wants (a
 * replugged camera is back within seconds), but a camera unplugged overnight writes about a
 * line a minute, not one per retry, and the log still says it is down.
 */
export class OutageLog {
  private readonly now: () => number;
  private readonly first: number;
  private readonly max: number;
  private downSince: number | null = null;
  private lastLineAt = 0;
  private gap = 0;
  private attempts = 0;

  constructor(private readonly o: OutageLogOptions) {
    this.now = o.now ?? Date.now;
    this.first = o.firstRepeatMs ?? 1000;
    this.max = o.maxRepeatMs ?? 60_000;
  }

  /** True while an outage is open (a failure since the last up()). */
  get down(): boolean {
    return this.downSince !== null;
  }

  /** One failed attempt (could not open, died, stalled), with the reason staff can act on. */
  failed(reason: string): void {
    const now = this.now();
    this.attempts++;
    if (this.downSince === null) {
      this.downSince = now;
      this.lastLineAt = now;
      this.gap = this.first;
      this.o.logger?.warn({ camera: this.o.camera, source: this.o.source, reason }, 'camera down');
      return;
    }
    if (now - this.lastLineAt < this.gap) return;
    this.lastLineAt = now;
    this.gap = Math.min(this.max, this.gap * 2);
    this.o.logger?.warn({ camera: this.o.camera, reason, attempts: this.attempts, downForS: Math.round((now - this.downSince) / 1000), nextReportAfterS: this.gap / 1000 }, 'camera still down, retrying');
  }

  /** Frames again: closes the outage (nothing to log when there was none). */
  up(): void {
    if (this.downSince === null) return;
    this.o.logger?.info({ camera: this.o.camera, downForS: Math.round((this.now() - this.downSince) / 1000), attempts: this.attempts }, 'camera up again');
    this.downSince = null;
    this.attempts = 0;
  }
}
