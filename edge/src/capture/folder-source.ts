/**
 * A camera made of a folder of JPEG/PNG files: frames in natural name order (frame-2 before
 * frame-10), paced like a camera at `fps`. For the demo, tests and replaying captures.
 *
 * The source only reads bytes; decoding is the engine's job (it rejects a bad file with an
 * ImageError the pipeline counts). Pull semantics as the interface says: in realtime mode the
 * frames a slow consumer did not take in time are dropped, never queued.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MonitoredSource, SourceHealth } from './camera-health.ts';
import type { Frame } from './frame-source.ts';

export interface FolderSourceOptions {
  /** Folder holding the frames. */
  dir: string;
  /** Source id for logs and events; defaults to `folder:<dir>`. */
  id?: string;
  /** Frames per second in realtime mode. */
  fps?: number;
  /** false: every frame, as fast as the consumer pulls (tests, demo). Default true. */
  realtime?: boolean;
  /** Start again from the first frame after the last. Default false. */
  loop?: boolean;
  /** Wall clock in ms; injected by tests. */
  now?: () => number;
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Image files of a folder in natural order. */
export function sortFrameFiles(names: readonly string[]): string[] {
  return names.filter((n) => IMAGE_FILE.test(n)).sort((a, b) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

export class FolderFrameSource implements MonitoredSource {
  readonly id: string;
  private readonly dir: string;
  private readonly fps: number;
  private readonly realtime: boolean;
  private readonly loop: boolean;
  private readonly now: () => number;
  private files: string[] = [];
  /** Virtual index (counts through loops) of the next frame not yet taken. */
  private nextIndex = 0;
  private startedAt = 0;
  private started = false;
  private stopped = false;
  private abort = new AbortController();
  private received = 0;
  private lastFrameAt: number | null = null;
  private ended = false;

  constructor(options: FolderSourceOptions) {
    this.dir = options.dir;
    this.id = options.id ?? `folder:${options.dir}`;
    this.fps = options.fps ?? 5;
    this.realtime = options.realtime ?? true;
    this.loop = options.loop ?? false;
    this.now = options.now ?? Date.now;
    if (!(this.fps > 0) || !Number.isFinite(this.fps)) throw new RangeError(`fps must be a positive number, got ${this.fps}`);
  }

  /** Lists the folder. Throws, naming the folder, when it is missing, not a folder, or has no images. */
  async start(): Promise<void> {
    let isDir: boolean;
    try {
      isDir = (await stat(this.dir)).isDirectory();
    } catch (err) {
      throw new Error(`frame folder ${this.dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    if (!isDir) throw new Error(`frame folder ${this.dir} is not a folder`);
    // Files only: a sub-folder named `x.jpg` is not a frame.
    const entries = await readdir(this.dir, { withFileTypes: true });
    this.files = sortFrameFiles(entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name));
    if (this.files.length === 0) throw new Error(`frame folder ${this.dir} has no .jpg, .jpeg or .png files`);
    this.nextIndex = 0;
    this.startedAt = this.now();
    this.started = true;
    this.stopped = false;
    this.abort = new AbortController();
  }

  /** Ends the source: a pending or later next() resolves null. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
  }

  health(): SourceHealth {
    return {
      id: this.id,
      kind: 'folder',
      source: this.dir,
      state: this.stopped ? 'stopped' : this.ended ? 'ended' : this.started ? 'running' : 'starting',
      fps: this.started && !this.stopped && !this.ended ? this.fps : 0,
      received: this.received,
      dropped: Math.max(0, this.nextIndex - this.received),
      lastFrameAt: this.lastFrameAt,
      restarts: 0,
    };
  }

  async next(): Promise<Frame | null> {
    const f = await this.read();
    if (f) {
      this.received++;
      this.lastFrameAt = this.now();
    } else this.ended = true;
    return f;
  }

  private async read(): Promise<Frame | null> {
    if (!this.started) throw new Error(`frame source ${this.id}: next() before start()`);
    if (this.stopped) return null;
    const n = this.files.length;
    const end = this.loop ? Infinity : n;

    let index: number;
    let at: number;
    if (!this.realtime) {
      index = this.nextIndex;
      if (index >= end) return null;
      at = this.now();
    } else {
      if (this.nextIndex >= end) return null;
      const period = 1000 / this.fps;
      // The newest frame "captured" so far; everything between it and nextIndex is dropped.
      let due = Math.floor((this.now() - this.startedAt) / period);
      if (due < this.nextIndex) {
        const wait = this.startedAt + this.nextIndex * period - this.now();
        if (wait > 0) {
          try {
            await sleep(wait, undefined, { signal: this.abort.signal });
          } catch {
            return null; // stopped while waiting
          }
        }
        due = this.nextIndex;
      }
      index = Math.min(Math.max(due, this.nextIndex), end - 1);
      at = Math.round(this.startedAt + index * period);
    }
    this.nextIndex = index + 1;

    const name = this.files[index % n]!;
    const path = join(this.dir, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(`frame ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    if (this.stopped) return null;
    return { seq: index, at, image: { kind: 'encoded', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }, label: name };
  }
}
