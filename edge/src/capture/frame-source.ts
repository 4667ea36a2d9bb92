/** Where frames come from: a folder of images now; ffmpeg-backed cameras later, same interface. */
import type { EngineImage } from '../vision/face-engine.ts';

export interface Frame {
  /** 0, 1, 2... per source. */
  seq: number;
  /** Wall-clock capture time, ms since epoch. */
  at: number;
  image: EngineImage;
  /** File name or other label, for logs. */
  label?: string;
}

/**
 * Pull model, so a slow consumer never builds a backlog: `next()` resolves with the newest
 * frame not yet taken (older ones are dropped), or null when the source has ended for good.
 */
export interface FrameSource {
  readonly id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  next(): Promise<Frame | null>;
}
