/**
 * A live camera at the camera seam: it keeps showing whatever scene the test puts in front of
 * it (`show('wang')`), one frame every `intervalMs`, until stopped. For enrolment at the door
 * camera, where a person stands in view for a while (the FakeEngine maps each scene label to
 * canned faces).
 */
import type { Frame, FrameSource } from '../../edge/src/capture/frame-source.ts';
import { fakeImage } from './fake-engine.ts';

export class LiveFakeCamera implements FrameSource {
  private scene: string;
  private seq = 0;
  private stopped = false;
  /** Frames handed out, per scene label. */
  readonly shown = new Map<string, number>();

  constructor(
    readonly id: string,
    first: string,
    private readonly intervalMs = 30,
  ) {
    this.scene = first;
  }

  /** What the camera sees from the next frame on. */
  show(scene: string): void {
    this.scene = scene;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped = true;
  }

  async next(): Promise<Frame | null> {
    await new Promise((r) => setTimeout(r, this.intervalMs));
    if (this.stopped) return null;
    const label = this.scene;
    this.shown.set(label, (this.shown.get(label) ?? 0) + 1);
    return { seq: this.seq++, at: Date.now(), image: fakeImage(label), label };
  }
}
