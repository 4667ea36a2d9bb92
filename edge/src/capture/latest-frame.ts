/**
 * A one-frame mailbox between a camera (producer, at the camera's rate) and the recognition
 * loop (consumer, at its own rate). A new frame replaces an untaken one, so a slow consumer
 * always gets the newest frame and nothing queues: the age of the frame being processed stays
 * under one frame interval plus one recognition time.
 */
import type { Frame } from './frame-source.ts';

export class LatestFrame {
  private frame: Frame | null = null;
  private ended = false;
  private waiters: Array<(f: Frame | null) => void> = [];
  /** Frames replaced before anyone took them. */
  dropped = 0;

  put(frame: Frame): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) return waiter(frame);
    if (this.frame) this.dropped++;
    this.frame = frame;
  }

  /** No more frames: pending and later take() resolve null. */
  end(): void {
    this.ended = true;
    this.frame = null;
    for (const w of this.waiters.splice(0)) w(null);
  }

  /** Clears a stale frame (e.g. from before an outage) without ending. */
  clear(): void {
    this.frame = null;
  }

  /** The newest frame not yet taken; waits for one if there is none. */
  take(): Promise<Frame | null> {
    if (this.frame) {
      const f = this.frame;
      this.frame = null;
      return Promise.resolve(f);
    }
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
