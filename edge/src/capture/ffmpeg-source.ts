/**
 * A camera read through ffmpeg: a V4L2 device, an RTSP/HTTP video stream or a video file,
 * decoded by ffmpeg into raw RGB frames of a fixed size on a pipe (no temporary files).
 *
 * ffmpeg runs under a small supervisor: when it exits, or no frame arrives for `stallMs`
 * (a camera unplugged, a stream gone quiet, a network cut that ffmpeg itself would wait out),
 * the camera is marked down at once, ffmpeg is killed and started again with backoff, and the
 * camera is picked up again when frames return. Recognition meanwhile just waits in next():
 * an outage is a state, not an error. Only a video file that plays to its end (no loop) ends
 * the source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../../common/logger.ts';
import { backoffDelay, OutageLog, RateMeter, type CameraState, type MonitoredSource, type SourceHealth } from './camera-health.ts';
import { redactSource, type CameraSpec } from './camera-spec.ts';
import type { Frame } from './frame-source.ts';
import { LatestFrame } from './latest-frame.ts';

export interface FfmpegSourceOptions {
  spec: CameraSpec & { kind: 'v4l2' | 'stream' | 'file' };
  /** Frames per second ffmpeg delivers. */
  fps: number;
  /** Frame size delivered; the picture is scaled to fit and padded, keeping its aspect ratio. */
  width: number;
  height: number;
  /** Video files: play again from the start after the end. */
  loop?: boolean;
  /** Default `ffmpeg` on the PATH. */
  ffmpegPath?: string;
  /** No frame for this long while running: the camera is down. Default 3000 ms. */
  stallMs?: number;
  /** No first frame this long after (re)starting ffmpeg: give up on that attempt. Default 15000 ms. */
  firstFrameMs?: number;
  /** First wait before a restart; doubles per failed attempt in a row. Default 500 ms. */
  retryDelayMs?: number;
  /** Longest wait between restarts. Default 5000 ms. */
  maxRetryDelayMs?: number;
  /** While down, the error is logged again after 1 s, 2 s, 4 s ... at most this far apart. Default 60000 ms. */
  maxReportGapMs?: number;
  /** The first of those gaps. Default 1000 ms. */
  firstReportGapMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** ffmpeg is not installed (or not at the path given). */
export class FfmpegMissingError extends Error {
  constructor(path: string) {
    super(`ffmpeg not found (${path}): cameras other than a folder of images need it; install the Debian package "ffmpeg" (apt-get install ffmpeg)`);
    this.name = 'FfmpegMissingError';
  }
}

/** The ffmpeg command line for a camera (exported for tests and for `camera-check`). */
export function ffmpegArgs(opts: Pick<FfmpegSourceOptions, 'spec' | 'fps' | 'width' | 'height' | 'loop'>): string[] {
  const { spec, fps, width: w, height: h } = opts;
  // info level for the input stream line (its resolution); -nostats keeps stderr quiet after that.
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  switch (spec.kind) {
    case 'v4l2':
      args.push('-f', 'v4l2', '-i', spec.source);
      break;
    case 'stream': {
      // Live: no input buffering, so the newest picture comes out first. The I/O timeouts (µs)
      // end ffmpeg when the network goes; the stall watchdog covers what they miss.
      // A short probe: the default (5 s) delays the first frame and every reconnect. Wall-clock
      // timestamps: MJPEG over HTTP has none (ffmpeg assumes 25/s), which skews the fps filter.
      args.push('-use_wallclock_as_timestamps', '1', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '1000000', '-analyzeduration', '1000000');
      if (/^rtsps?:/i.test(spec.source)) args.push('-timeout', '5000000');
      else if (/^https?:/i.test(spec.source)) args.push('-rw_timeout', '5000000');
      args.push('-i', spec.source);
      break;
    }
    case 'file':
      // -re: at the file's own pace, like a camera (else it decodes as fast as it can).
      args.push('-re');
      if (opts.loop) args.push('-stream_loop', '-1');
      args.push('-i', spec.source);
      break;
  }
  const vf = `fps=${fps},scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`;
  args.push('-an', '-sn', '-vf', vf, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return args;
}

/** Resolves when `path -version` runs; rejects with FfmpegMissingError when it cannot. */
export function checkFfmpeg(path = 'ffmpeg'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, ['-hide_banner', '-version'], { stdio: 'ignore' });
    child.on('error', () => reject(new FfmpegMissingError(path)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new FfmpegMissingError(path))));
  });
}

export class FfmpegFrameSource implements MonitoredSource {
  readonly id: string;
  private readonly o: Required<Omit<FfmpegSourceOptions, 'logger' | 'loop' | 'maxReportGapMs' | 'firstReportGapMs'>> & { loop: boolean; logger: Logger | undefined };
  private readonly outage: OutageLog;
  private readonly frameBytes: number;
  private readonly slot = new LatestFrame();
  private readonly rate = new RateMeter();
  private child: ChildProcess | null = null;
  /** Why the watchdog killed the current ffmpeg, kept as the reason the camera is down. */
  private killedFor: string | undefined;
  private state: CameraState = 'starting';
  private stopped = false;
  private seq = 0;
  private received = 0;
  private restarts = 0;
  private failures = 0;
  private lastFrameAt: number | null = null;
  private spawnedAt = 0;
  private framesThisRun = 0;
  private error: string | undefined;
  private stderrTail: string[] = [];
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(options: FfmpegSourceOptions) {
    this.id = options.spec.id;
    this.o = {
      spec: options.spec,
      fps: options.fps,
      width: options.width,
      height: options.height,
      loop: options.loop ?? false,
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
      stallMs: options.stallMs ?? 3000,
      firstFrameMs: options.firstFrameMs ?? 15_000,
      retryDelayMs: options.retryDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 5000,
      logger: options.logger,
      now: options.now ?? Date.now,
    };
    if (!(this.o.fps > 0)) throw new RangeError(`fps must be positive, got ${this.o.fps}`);
    this.outage = new OutageLog({
      camera: this.id,
      source: redactSource(this.o.spec.source),
      logger: this.o.logger,
      now: this.o.now,
      ...(options.firstReportGapMs !== undefined ? { firstRepeatMs: options.firstReportGapMs } : {}),
      ...(options.maxReportGapMs !== undefined ? { maxRepeatMs: options.maxReportGapMs } : {}),
    });
    this.frameBytes = this.o.width * this.o.height * 3;
  }

  /** Checks that ffmpeg runs, then starts it. A camera that is not there yet is not an error: it is down and retried. */
  async start(): Promise<void> {
    await checkFfmpeg(this.o.ffmpegPath);
    this.stopped = false;
    this.watchdog = setInterval(() => this.checkStall(), Math.min(500, this.o.stallMs / 2));
    this.watchdog.unref();
    this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'stopped';
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.slot.end();
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
  }

  next(): Promise<Frame | null> {
    return this.slot.take();
  }

  /** Process id of the ffmpeg running now, if any (the benchmark reads its CPU time in /proc). */
  ffmpegPid(): number | undefined {
    return this.child?.pid;
  }

  health(): SourceHealth {
    const now = this.o.now();
    const h: SourceHealth = {
      id: this.id,
      kind: this.o.spec.kind,
      source: redactSource(this.o.spec.source),
      state: this.state,
      fps: this.state === 'running' ? this.rate.fps(now) : 0,
      width: this.o.width,
      height: this.o.height,
      received: this.received,
      dropped: this.slot.dropped,
      lastFrameAt: this.lastFrameAt,
      restarts: this.restarts,
    };
    if (this.error !== undefined) h.error = this.error;
    return h;
  }

  private launch(): void {
    if (this.stopped) return;
    const args = ffmpegArgs(this.o);
    const child = spawn(this.o.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.spawnedAt = this.o.now();
    this.framesThisRun = 0;
    this.stderrTail = [];
    let buf = Buffer.allocUnsafe(this.frameBytes);
    let filled = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, this.frameBytes - filled);
        chunk.copy(buf, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === this.frameBytes) {
          this.onFrame(buf);
          buf = Buffer.allocUnsafe(this.frameBytes);
          filled = 0;
        }
      }
    });
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) this.stderrTail.push(l.trim());
      if (this.stderrTail.length > 20) this.stderrTail.splice(0, this.stderrTail.length - 20);
    });
    child.on('error', (err) => this.onExit(child, null, null, err.message));
    // 'close', not 'exit': by then stderr is read to its end, and its last line says why.
    child.on('close', (code, signal) => this.onExit(child, code, signal));
  }

  private onFrame(data: Buffer): void {
    const now = this.o.now();
    this.received++;
    this.framesThisRun++;
    this.lastFrameAt = now;
    if (this.state !== 'running') {
      if (this.outage.down) this.outage.up();
      else this.o.logger?.info({ camera: this.id, source: redactSource(this.o.spec.source), width: this.o.width, height: this.o.height }, 'camera up');
      this.state = 'running';
      this.error = undefined;
      this.rate.reset(now);
    }
    this.failures = 0;
    this.rate.tick(now);
    this.slot.put({ seq: this.seq++, at: now, image: { kind: 'rgb', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: this.o.width, height: this.o.height } });
  }

  /** The watchdog: a running camera with no frame for stallMs, or a start that never gives one. */
  private checkStall(): void {
    if (this.stopped || !this.child) return;
    const now = this.o.now();
    let why: string | undefined;
    if (this.framesThisRun > 0 && this.lastFrameAt !== null && now - this.lastFrameAt > this.o.stallMs) {
      why = `no frame for ${Math.round((now - this.lastFrameAt) / 1000)} s`;
    } else if (this.framesThisRun === 0 && now - this.spawnedAt > this.o.firstFrameMs) {
      why = `no frame within ${Math.round(this.o.firstFrameMs / 1000)} s of starting ffmpeg${this.lastStderr()}`;
    }
    if (why === undefined) return;
    this.markDown(why);
    // The exit that follows our own kill keeps this reason: "killed (SIGKILL)" would hide it.
    this.killedFor = why;
    this.child.kill('SIGKILL');
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.child !== child) return; // an old run, already handled
    this.child = null;
    if (this.stopped) return;
    const ranToEnd = code === 0 && this.o.spec.kind === 'file' && !this.o.loop && this.framesThisRun > 0;
    if (ranToEnd) {
      this.state = 'ended';
      this.o.logger?.info({ camera: this.id, frames: this.received }, 'video file ended');
      this.slot.end();
      return;
    }
    const killedFor = this.killedFor;
    this.killedFor = undefined;
    // The watchdog already reported this attempt when it killed ffmpeg.
    if (killedFor !== undefined) this.markDown(killedFor, false);
    else this.markDown(spawnError ?? (this.framesThisRun === 0 ? this.openFailure() : undefined) ?? `${signal ? `ffmpeg killed (${signal})` : `ffmpeg exited with code ${code}`}${this.lastStderr()}`);
    this.failures++;
    const delay = backoffDelay(this.failures, this.o.retryDelayMs, this.o.maxRetryDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.restarts++;
      this.launch();
    }, delay);
    this.retryTimer.unref();
  }

  /** One failed attempt (`report`: count it in the outage log; false for the same attempt told twice). */
  private markDown(reason: string, report = true): void {
    this.error = reason;
    if (this.state === 'stopped' || this.state === 'ended') return;
    if (report) this.outage.failed(reason);
    if (this.state === 'down') return;
    this.state = 'down';
    // A frame from before the outage is no use to anyone after it.
    this.slot.clear();
  }

  /**
   * ffmpeg gave no frame and ended: it could not open the camera. Its last line names the
   * input and why ("/dev/video9: No such file or directory", "rtsp://...: Connection refused").
   */
  private openFailure(): string | undefined {
    const src = this.o.spec.source;
    for (let i = this.stderrTail.length - 1; i >= 0; i--) {
      const l = this.stderrTail[i]!;
      if (l.startsWith(`${src}: `)) return `cannot open ${redactSource(src)}: ${redactSource(l.slice(src.length + 2))}`;
    }
    return undefined;
  }

  private lastStderr(): string {
    // The last lines ffmpeg wrote say why (connection refused, 404, no such device...).
    const l = this.stderrTail.filter((s) => !/^(Input|Output|Stream|Stream mapping|Press|Metadata|Duration|\s)/.test(s)).slice(-2);
    return l.length ? `: ${redactSource(l.join(' | '))}` : '';
  }
}
