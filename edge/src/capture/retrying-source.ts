/**
 * A camera that may not be there yet, or may go away: a source whose start() or next() throws
 * (a frame folder missing, emptied, unmounted) is marked down and started again with backoff,
 * instead of stopping the edge at start or failing every frame. Recognition meanwhile waits in
 * next(), as it does for an ffmpeg camera that is down; the edge keeps recording manual meals
 * and forwarding. Only the inner source's own end (a folder played out, no loop) ends it.
 */
import type { Logger } from '../../../common/logger.ts';
import { backoffDelay, OutageLog, type MonitoredSource, type SourceHealth } from './camera-health.ts';
import type { Frame } from './frame-source.ts';

export interface RetryingSourceOptions {
  /** First wait before starting again; doubles per failed attempt in a row. Default 500 ms. */
  retryDelayMs?: number;
  /** Longest wait between attempts. Default 5000 ms. */
  maxRetryDelayMs?: number;
  logger?: Logger;
  now?: () => number;
}

export class RetryingSource implements MonitoredSource {
  readonly id: string;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly outage: OutageLog;
  private up = false;
  private stopped = false;
  private failures = 0;
  private restarts = 0;
  private error: string | undefined;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Resolves when the source is up again or stopped; next() waits on it while down. */
  private wake: Promise<void> = Promise.resolve();
  private resolveWake: () => void = () => {};

  constructor(
    private readonly inner: MonitoredSource,
    o: RetryingSourceOptions = {},
  ) {
    this.id = inner.id;
    this.retryDelayMs = o.retryDelayMs ?? 500;
    this.maxRetryDelayMs = o.maxRetryDelayMs ?? 5000;
    this.outage = new OutageLog({ camera: inner.id, source: inner.health().source, logger: o.logger, ...(o.now ? { now: o.now } : {}) });
  }

  /** Never throws for a camera that cannot be opened: it is down, and retried. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.resolveWake();
    await this.inner.stop();
  }

  async next(): Promise<Frame | null> {
    for (;;) {
      if (this.stopped) return null;
      if (!this.up) {
        await this.wake;
        continue;
      }
      try {
        return await this.inner.next();
      } catch (err) {
        if (this.stopped) return null;
        this.fail(err);
      }
    }
  }

  health(): SourceHealth {
    const h: SourceHealth = { ...this.inner.health(), restarts: this.restarts };
    if (this.stopped) h.state = 'stopped';
    else if (!this.up) {
      h.state = 'down';
      h.fps = 0;
    }
    if (this.error !== undefined && !this.up) h.error = this.error;
    return h;
  }

  private async attempt(): Promise<void> {
    try {
      await this.inner.start();
    } catch (err) {
      if (!this.stopped) this.fail(err);
      return;
    }
    if (this.stopped) return;
    this.up = true;
    this.failures = 0;
    this.error = undefined;
    this.outage.up();
    this.resolveWake();
  }

  private fail(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.error = reason;
    this.outage.failed(reason);
    // Going down (from up, or at the first attempt): next() waits from now on until up again.
    if (this.up || this.failures === 0) this.wake = new Promise((resolve) => (this.resolveWake = resolve));
    this.up = false;
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.restarts++;
      void this.attempt();
    }, backoffDelay(this.failures, this.retryDelayMs, this.maxRetryDelayMs));
    // Not what keeps the edge alive: its servers are.
    this.retryTimer.unref();
  }
}
