/**
 * A camera that serves one JPEG per HTTP(S) request (most IP cameras have such a snapshot
 * URL), polled at the frame rate. The bytes go to the engine as they are; only the header is
 * read here, for the resolution and to tell a picture from an error page.
 *
 * A failed or timed-out request marks the camera down at once; requests are retried with
 * backoff and the camera is up again with the first good picture.
 */
import sharp from 'sharp';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../common/logger.ts';
import { backoffDelay, OutageLog, RateMeter, type CameraState, type MonitoredSource, type SourceHealth } from './camera-health.ts';
import { redactSource, type CameraSpec } from './camera-spec.ts';
import type { Frame } from './frame-source.ts';
import { LatestFrame } from './latest-frame.ts';

export interface SnapshotSourceOptions {
  spec: CameraSpec;
  fps: number;
  /** One request may take this long. Default min(4000, 2 frame intervals, at least 1000) ms. */
  timeoutMs?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  logger?: Logger;
  now?: () => number;
}

export class SnapshotFrameSource implements MonitoredSource {
  readonly id: string;
  private readonly url: URL;
  private readonly headers: Record<string, string> = {};
  private readonly interval: number;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly slot = new LatestFrame();
  private readonly outage: OutageLog;
  private readonly rate = new RateMeter();
  private readonly abort = new AbortController();
  private state: CameraState = 'starting';
  private loop: Promise<void> | null = null;
  private seq = 0;
  private received = 0;
  private restarts = 0;
  private lastFrameAt: number | null = null;
  private width: number | undefined;
  private height: number | undefined;
  private error: string | undefined;

  constructor(private readonly options: SnapshotSourceOptions) {
    this.id = options.spec.id;
    this.url = new URL(options.spec.source);
    // fetch() refuses URLs with credentials: send them as Basic auth instead.
    if (this.url.username || this.url.password) {
      this.headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(this.url.username)}:${decodeURIComponent(this.url.password)}`).toString('base64')}`;
      this.url.username = '';
      this.url.password = '';
    }
    this.interval = 1000 / options.fps;
    this.timeoutMs = options.timeoutMs ?? Math.max(1000, Math.min(4000, 2 * this.interval));
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.log = options.logger;
    this.now = options.now ?? Date.now;
    this.outage = new OutageLog({ camera: this.id, source: redactSource(options.spec.source), logger: this.log, now: this.now });
  }

  async start(): Promise<void> {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.abort.abort();
    this.slot.end();
    await this.loop;
  }

  next(): Promise<Frame | null> {
    return this.slot.take();
  }

  health(): SourceHealth {
    const h: SourceHealth = {
      id: this.id,
      kind: 'snapshot',
      source: redactSource(this.options.spec.source),
      state: this.state,
      fps: this.state === 'running' ? this.rate.fps(this.now()) : 0,
      received: this.received,
      dropped: this.slot.dropped,
      lastFrameAt: this.lastFrameAt,
      restarts: this.restarts,
    };
    if (this.width !== undefined) h.width = this.width;
    if (this.height !== undefined) h.height = this.height;
    if (this.error !== undefined) h.error = this.error;
    return h;
  }

  private async run(): Promise<void> {
    let failures = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const t0 = this.now();
      let wait: number;
      try {
        const bytes = await this.fetchOnce(signal);
        const meta = await sharp(bytes).metadata();
        if (!meta.width || !meta.height || !['jpeg', 'png'].includes(meta.format ?? '')) throw new Error(`not a JPEG or PNG picture (${meta.format ?? 'unknown'})`);
        this.onFrame(bytes, meta.width, meta.height);
        failures = 0;
        wait = t0 + this.interval - this.now();
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.markDown(describeError(err));
        wait = backoffDelay(failures, this.retryDelayMs, this.maxRetryDelayMs);
      }
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal });
        } catch {
          break;
        }
      }
    }
  }

  private async fetchOnce(signal: AbortSignal): Promise<Uint8Array> {
    const res = await fetch(this.url, { headers: this.headers, signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]) });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} from the snapshot URL`);
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  private onFrame(bytes: Uint8Array, width: number, height: number): void {
    const now = this.now();
    if (this.state !== 'running') {
      if (this.state === 'down') {
        this.restarts++;
        this.outage.up();
      } else this.log?.info({ camera: this.id, source: redactSource(this.options.spec.source), width, height }, 'camera up');
      this.state = 'running';
      this.error = undefined;
      this.rate.reset(now);
    }
    this.received++;
    this.lastFrameAt = now;
    this.width = width;
    this.height = height;
    this.rate.tick(now);
    this.slot.put({ seq: this.seq++, at: now, image: { kind: 'encoded', bytes } });
  }

  private markDown(reason: string): void {
    // fetch() failures say only "fetch failed"; the cause names the network error.
    this.error = reason;
    if (this.state === 'stopped') return;
    this.outage.failed(reason);
    if (this.state === 'down') return;
    this.state = 'down';
    this.slot.clear();
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'no answer from the snapshot URL in time';
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${err.message} (${code})` : err.message;
}
