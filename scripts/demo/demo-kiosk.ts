/**
 * The demo's kiosk: a real client of the edge's kiosk stream that counts the messages it
 * delivered (`kioskMessages` in the summary), and a camera that waits for it, so every
 * decision of the demo reaches the stream. Without --once the camera also waits a few seconds
 * for a person to open the kiosk page and then plays at the camera's rate, so the page shows
 * the visits as they happen (frames are never dropped: the outcome stays the same).
 */
import type { Frame, FrameSource } from '../../edge/src/capture/frame-source.ts';
import { connectKioskStream, type KioskStreamClient } from './kiosk-client.ts';

/** Hands out `inner`'s frames once `ready` has resolved, at most one per `intervalMs`. */
export class PacedFrameSource implements FrameSource {
  readonly id: string;
  private last = 0;

  constructor(
    private readonly inner: FrameSource,
    private readonly ready: Promise<void>,
    private readonly intervalMs = 0,
  ) {
    this.id = inner.id;
  }

  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  async next(): Promise<Frame | null> {
    await this.ready;
    const wait = this.last + this.intervalMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.last = Date.now();
    return this.inner.next();
  }
}

/** A gate the camera waits on, opened once the kiosk stream is connected (and `delayMs` later). */
export function kioskGate(): { ready: Promise<void>; connect(statusUrl: string, delayMs?: number): Promise<KioskStreamClient> } {
  let open!: () => void;
  const ready = new Promise<void>((r) => (open = r));
  return {
    ready,
    async connect(statusUrl, delayMs = 0) {
      const stream = await connectKioskStream(`${statusUrl}/kiosk/events`);
      await stream.next((e) => e.event === 'hello');
      setTimeout(open, delayMs);
      return stream;
    },
  };
}

/** Decisions the stream delivered. */
export function kioskDecisions(stream: KioskStreamClient): number {
  return stream.events.filter((e) => e.event === 'decision').length;
}
