/**
 * Motion gate: tells the pipeline whether a frame differs from the one before, so that a
 * static scene (an empty canteen door for most of the day) costs a JPEG shrink-on-load and a
 * small comparison per frame instead of a face detection.
 *
 * Each frame is reduced to a small greyscale thumbnail (sharp decodes JPEGs at 1/8 scale, so
 * this is a few milliseconds on a 640x480 frame); averaging ~100 pixels into one removes
 * sensor noise, and a frame "moved" when enough thumbnail pixels changed by more than a few
 * grey levels. The gate only says what changed: the pipeline still analyses every frame while
 * a face is being tracked.
 */
import sharp from 'sharp';
import type { EngineImage } from '../vision/face-engine.ts';

// Every frame is a new image, so libvips' operation cache never hits and only costs: turned off
// it saves ~10% of the gate's CPU per frame (0.7 of 7.3 ms on a 640x480 frame here), which is
// most of what a static scene costs. Process-wide, as sharp's cache is.
sharp.cache(false);

export interface MotionGateOptions {
  /** Thumbnail size in pixels (the frame is squeezed to it, whatever its aspect). */
  width: number;
  height: number;
  /** A thumbnail pixel changed when its grey level moved by more than this (0-255). */
  pixelThreshold: number;
  /**
   * A frame moved when at least this share of thumbnail pixels changed. 0.005 of 64x48 is
   * 15 pixels, about a 50 px face-sized blob in a 640x480 frame.
   */
  minChangedFraction: number;
  /**
   * Report a change anyway after this many still frames in a row, so a slow change the gate
   * misses (someone edging in very slowly) is looked at within seconds. Each such look is a
   * full detection: 50 (10 s at 5 fps) keeps them under ~1% of a core on wasm.
   */
  maxStillFrames: number;
}

export const DEFAULT_MOTION_GATE_OPTIONS: Readonly<MotionGateOptions> = {
  width: 64,
  height: 48,
  pixelThreshold: 12,
  minChangedFraction: 0.005,
  maxStillFrames: 50,
};

/** What the pipeline needs from a gate (tests pass a scripted one). */
export interface FrameGate {
  /** True when the frame differs from the previous one (the first frame always does). */
  changed(image: EngineImage): Promise<boolean>;
}

/** Share of pixels of two equal-length greyscale thumbnails that differ by more than `threshold`. */
export function changedFraction(a: Uint8Array, b: Uint8Array, threshold: number): number {
  if (a.length !== b.length) return 1;
  if (a.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d > threshold || d < -threshold) n++;
  }
  return n / a.length;
}

export class MotionGate implements FrameGate {
  private readonly options: MotionGateOptions;
  private previous: Uint8Array | undefined;
  private still = 0;

  constructor(options: Partial<MotionGateOptions> = {}) {
    this.options = { ...DEFAULT_MOTION_GATE_OPTIONS, ...options };
  }

  /**
   * Compares the frame with the previous one. A frame that cannot be decoded counts as a
   * change (the engine will then report it as a bad frame) and does not become the reference.
   */
  async changed(image: EngineImage): Promise<boolean> {
    let thumb: Uint8Array;
    try {
      thumb = await this.thumbnail(image);
    } catch {
      return true;
    }
    const prev = this.previous;
    this.previous = thumb;
    if (!prev || changedFraction(prev, thumb, this.options.pixelThreshold) >= this.options.minChangedFraction || ++this.still > this.options.maxStillFrames) {
      this.still = 0;
      return true;
    }
    return false;
  }

  /** Forgets the reference: the next frame counts as a change. */
  reset(): void {
    this.previous = undefined;
    this.still = 0;
  }

  private async thumbnail(image: EngineImage): Promise<Uint8Array> {
    const { width, height } = this.options;
    const input =
      image.kind === 'encoded'
        ? sharp(image.bytes, { limitInputPixels: 40_000_000 })
        : sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 }, limitInputPixels: false });
    const data = await input.greyscale().resize(width, height, { fit: 'fill', fastShrinkOnLoad: true }).raw().toBuffer();
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}
