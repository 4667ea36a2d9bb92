/**
 * The kiosk's voice, offline: each phrase is rendered on the box by espeak-ng (Debian package
 * `espeak-ng`, Mandarin voice `cmn`) into a WAV file, cached on disk under a hashed name, and
 * served to the kiosk page as /kiosk/audio/<id>.wav. A Pi's Chromium has no Chinese voice for
 * speechSynthesis and the box has no internet, so the box speaks itself.
 *
 * - The id is a hash of the voice settings and the text: the same phrase is rendered once, and
 *   a change of voice, speed or volume makes new files. Only phrases this process was asked to
 *   say (`audioFor`) can be rendered: a client cannot make the box say anything.
 * - The cache is bounded (`maxFiles`, oldest used first out); with the default `--kiosk-name
 *   masked` its phrases hold no names at all ("午餐签到成功", "请联系工作人员", ...), so a few
 *   files serve every elder.
 * - A missing or failing espeak-ng is a status problem, logged once, never an exception: the
 *   kiosk still shows the text. Logs name phrases by id and length, never by text.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../common/logger.ts';

export interface KioskSpeechOptions {
  /** espeak-ng voice (`cmn`: Mandarin); null: no voice. */
  voice: string | null;
  /** Words per minute (espeak-ng -s). */
  rate: number;
  /** Amplitude 0-200 (espeak-ng -a); 100 is espeak-ng's default. */
  volume: number;
  /** Folder of the cached WAV files (created when needed). */
  cacheDir: string;
  /** At most this many files are kept. */
  maxFiles?: number;
  /** The program; a test passes a path that does not exist. */
  command?: string;
  logger: Logger;
}

export type SpeechState = 'off' | 'starting' | 'ready' | 'missing' | 'failed';

export interface SpeechStatus {
  engine: 'espeak-ng';
  voice: string | null;
  state: SpeechState;
  /** What is wrong, when `missing` or `failed`. */
  error?: string;
  /** WAV files in the cache. */
  cached: number;
}

/** Ids are hex; the route checks this before asking. */
export const AUDIO_ID_PATTERN = /^[0-9a-f]{32}$/;

const DEFAULT_MAX_FILES = 200;
/** espeak-ng renders a short phrase in ~10 ms of CPU; anything this slow is stuck. */
const RENDER_TIMEOUT_MS = 10_000;

export class KioskSpeech {
  private state: SpeechState;
  private error: string | undefined;
  /** Ids asked for by `audioFor` in this run, with their text (memory only). */
  private readonly texts = new Map<string, string>();
  private readonly rendering = new Map<string, Promise<Buffer | undefined>>();
  /** Cached files by id, oldest used first (a Map keeps insertion order). */
  private readonly files = new Map<string, true>();
  /** One espeak-ng at a time: a 2-core box has the face engine to run. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly maxFiles: number;
  private readonly command: string;
  private warned = false;

  constructor(private readonly o: KioskSpeechOptions) {
    this.state = o.voice === null ? 'off' : 'starting';
    this.maxFiles = o.maxFiles ?? DEFAULT_MAX_FILES;
    this.command = o.command ?? 'espeak-ng';
  }

  /** Loads the cache index (what an earlier run rendered). Never throws. */
  start(): void {
    if (this.o.voice === null) return;
    try {
      mkdirSync(this.o.cacheDir, { recursive: true });
      const found = readdirSync(this.o.cacheDir)
        .filter((f) => f.endsWith('.wav') && AUDIO_ID_PATTERN.test(f.slice(0, -4)))
        .map((f) => ({ id: f.slice(0, -4), at: statSync(join(this.o.cacheDir, f)).mtimeMs }))
        .sort((a, b) => a.at - b.at);
      for (const f of found) this.files.set(f.id, true);
      this.evict();
    } catch (err) {
      this.fail('failed', `kiosk voice: cannot use the audio cache ${this.o.cacheDir}: ${(err as Error).message}`);
      return;
    }
    this.state = 'ready';
  }

  /**
   * Renders the phrases every meal uses, one after the other, so the first elders need not
   * wait; the first one also tells whether espeak-ng works (a missing one turns the voice off).
   */
  async warm(phrases: readonly string[]): Promise<void> {
    if (!(await this.checkVoice())) return;
    for (const text of phrases) {
      const id = this.audioFor(text);
      if (id) await this.wav(id);
    }
  }

  /**
   * The id of `text`'s audio, rendering it in the background if it is not cached yet; undefined
   * when there is no voice (off, missing, failed). Cheap: call it when the message is sent.
   */
  audioFor(text: string): string | undefined {
    if (this.state !== 'ready' || text.trim() === '') return undefined;
    const id = createHash('sha256').update(`${this.o.voice}\n${this.o.rate}\n${this.o.volume}\n${text}`).digest('hex').slice(0, 32);
    this.texts.set(id, text);
    if (this.texts.size > this.maxFiles * 4) this.texts.delete(this.texts.keys().next().value!);
    if (!this.files.has(id) && !this.rendering.has(id)) void this.wav(id);
    return id;
  }

  /** The WAV of an id: cached, or rendered now; undefined for an id not asked for, or no voice. */
  async wav(id: string): Promise<Buffer | undefined> {
    if (!AUDIO_ID_PATTERN.test(id)) return undefined;
    if (this.files.has(id)) {
      try {
        const buf = readFileSync(this.fileOf(id));
        this.files.delete(id);
        this.files.set(id, true);
        return buf;
      } catch {
        this.files.delete(id);
      }
    }
    const inFlight = this.rendering.get(id);
    if (inFlight) return inFlight;
    const text = this.texts.get(id);
    if (text === undefined || this.state !== 'ready') return undefined;
    const p = this.enqueue(() => this.render(id, text)).finally(() => this.rendering.delete(id));
    this.rendering.set(id, p);
    return p;
  }

  /**
   * Whether espeak-ng is there and has the voice: given a voice it lacks, espeak-ng falls back to
   * its default (English) without a word, so the list is asked (`espeak-ng --voices`).
   */
  private async checkVoice(): Promise<boolean> {
    if (this.state !== 'ready') return false;
    const r = await run(this.command, ['--voices'], '');
    if (r.error) {
      this.engineError(r.error);
      return false;
    }
    const base = this.o.voice!.split('+')[0]!.toLowerCase();
    const known = r.stdout
      .split('\n')
      .slice(1)
      .flatMap((line) => {
        const f = line.trim().split(/\s+/);
        // Pty Language Age/Gender VoiceName File [Other languages]
        return f.length >= 5 ? [f[1]!, f[3]!, f[4]!, f[4]!.split('/').pop()!].map((x) => x.toLowerCase()) : [];
      });
    if (r.code === 0 && known.includes(base)) return true;
    this.fail('failed', `kiosk voice: ${this.command} has no voice "${this.o.voice}" (espeak-ng --voices lists them; Mandarin is cmn); the kiosk shows text only`);
    return false;
  }

  private engineError(error: Error): void {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    this.fail(missing ? 'missing' : 'failed', missing ? `kiosk voice: ${this.command} is not installed (apt-get install espeak-ng); the kiosk shows text only` : `kiosk voice: ${this.command} failed: ${error.message}`);
  }

  /**
   * Renders nothing more and waits for the one espeak-ng running (at most its timeout), so
   * nothing writes into the cache folder after the edge has stopped.
   */
  async stop(): Promise<void> {
    if (this.state === 'off') return;
    this.state = 'off';
    this.error = undefined;
    await this.queue;
  }

  status(): SpeechStatus {
    return { engine: 'espeak-ng', voice: this.o.voice, state: this.state, ...(this.error !== undefined ? { error: this.error } : {}), cached: this.files.size };
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async render(id: string, text: string): Promise<Buffer | undefined> {
    if (this.state !== 'ready') return undefined;
    const file = this.fileOf(id);
    const tmp = `${file}.${process.pid}.tmp`;
    const t0 = performance.now();
    const r = await run(this.command, ['-v', this.o.voice!, '-s', String(this.o.rate), '-a', String(this.o.volume), '-w', tmp], text);
    if (r.error) {
      rmSync(tmp, { force: true });
      this.engineError(r.error);
      return undefined;
    }
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      this.warnOnce({ id, chars: [...text].length, why: r.stderr.trim().split('\n')[0] || `exit ${r.code}` }, 'kiosk voice: a phrase could not be rendered; the kiosk shows its text only');
      return undefined;
    }
    try {
      renameSync(tmp, file);
      const buf = readFileSync(file);
      this.files.set(id, true);
      this.evict();
      this.o.logger.debug({ id, chars: [...text].length, bytes: buf.length, ms: Math.round(performance.now() - t0) }, 'kiosk phrase rendered');
      return buf;
    } catch (err) {
      rmSync(tmp, { force: true });
      this.warnOnce({ id, err: (err as Error).message }, 'kiosk voice: cannot write the audio cache');
      return undefined;
    }
  }

  private evict(): void {
    while (this.files.size > this.maxFiles) {
      const oldest = this.files.keys().next().value!;
      this.files.delete(oldest);
      rmSync(this.fileOf(oldest), { force: true });
    }
  }

  private fileOf(id: string): string {
    return join(this.o.cacheDir, `${id}.wav`);
  }

  private fail(state: 'missing' | 'failed', error: string): void {
    if (this.state === state && this.error === error) return;
    this.state = state;
    this.error = error;
    this.o.logger.warn({ voice: this.o.voice }, error);
  }

  private warnOnce(fields: Record<string, unknown>, msg: string): void {
    if (this.warned) return;
    this.warned = true;
    this.o.logger.warn(fields, msg);
  }
}

/** Runs `command` with `input` on stdin; resolves with its outcome, never rejects. */
interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

function run(command: string, args: string[], input: string): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: Omit<RunResult, 'stdout' | 'stderr'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, stdout, stderr });
    };
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ code: null, error: new Error(`no answer in ${RENDER_TIMEOUT_MS} ms`) });
    }, RENDER_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => done({ code: null, error }));
    child.on('close', (code) => done({ code }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
