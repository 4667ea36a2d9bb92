/**
 * A frame source that remembers the newest frame it handed on, for enrolment at the door camera
 * (elders/enrolment-wizard.ts): the wizard looks at what the door's camera sees without taking
 * frames away from recognition. In memory only; never written anywhere.
 */
import type { Frame, FrameSource } from './frame-source.ts';

export class FrameTap implements FrameSource {
  private last: Frame | undefined;

  constructor(private readonly inner: FrameSource) {}

  get id(): string {
    return this.inner.id;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async stop(): Promise<void> {
    this.last = undefined;
    await this.inner.stop();
  }

  async next(): Promise<Frame | null> {
    const f = await this.inner.next();
    this.last = f ?? undefined;
    return f;
  }

  /** The newest frame recognition took, or undefined before the first (and after the end). */
  latest(): Frame | undefined {
    return this.last;
  }

  /** The inner source, for its health (capture/camera-health.ts). */
  unwrap(): FrameSource {
    return this.inner;
  }
}
