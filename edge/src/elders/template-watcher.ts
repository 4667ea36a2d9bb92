/**
 * Notices that the enrolled templates changed, whoever changed them: `mealcheck enrol` or
 * `mealcheck elder remove` in another process on the same database file, or the edge's own
 * repository. It polls a cheap version (ElderRepository.templatesVersion) rather than hooking
 * the writers, because the writers are other processes SQLite gives no notice of.
 *
 * A change calls `onChange` once; a failing poll or reload (the file busy, a bug) is logged and
 * tried again at the next tick, never thrown: the door keeps its current gallery meanwhile.
 */
import type { Logger } from '../../../common/logger.ts';

export interface TemplateWatcherOptions {
  /** The version to compare; any change in the string is a change of templates. */
  version: () => string;
  /** Reloads the gallery. Runs synchronously, between two frames of every pipeline. */
  onChange: () => void;
  /** Poll period. Default 1000 ms: enrolment shows at the door within about a second. */
  intervalMs?: number;
  logger?: Logger;
}

export class TemplateWatcher {
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private last: string | undefined;
  private failing = false;

  constructor(private readonly o: TemplateWatcherOptions) {
    this.intervalMs = o.intervalMs ?? 1000;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.intervalMs}`);
  }

  /**
   * Polls from now on. `loaded` is the version read just before the gallery in use was loaded
   * (default: the version now), so a write landing between that load and start() is not missed.
   */
  start(loaded?: string): void {
    if (this.timer) return;
    this.last = loaded ?? this.o.version();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    // Not what keeps the edge alive: its servers and cameras are.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Polls once now; true when the templates had changed and were reloaded. */
  check(): boolean {
    try {
      const v = this.o.version();
      if (v === this.last) return false;
      // The version read before the reload: a write landing in between shows as one more change next tick.
      this.o.onChange();
      this.last = v;
      if (this.failing) this.o.logger?.info('template reload works again');
      this.failing = false;
      return true;
    } catch (err) {
      // Once per run of failures: a locked file for a minute must not write sixty lines.
      if (!this.failing) this.o.logger?.warn({ err: (err as Error).message }, 'cannot check or reload the templates; the door keeps the current ones and retries');
      this.failing = true;
      return false;
    }
  }
}
