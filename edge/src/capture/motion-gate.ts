/**
 * Motion gate: tells the pipeline whether a frame differs from the one before, so that a
 * static scene (an empty canteen door for most of the day) costs a small thumbnail and a
 * comparison per frame instead of a face detection.
 *
 * Each frame is reduced to a small greyscale thumbnail; averaging ~100 pixels into one removes
 * sensor noise, and a frame "moved" when enough thumbnail pixels changed by more than a few
 * grey levels. Raw RGB frames (every ffmpeg camera) are averaged in plain JS, which costs a
 * fraction of a millisecond on 640x480 where handing them to libvips cost several; JPEGs
 * (folders, snapshot cameras) are shrunk by sharp while decoding (libjpeg's 1/8 scale) and
 * turned grey here on the 3072 thumbnail pixels: libvips' greyscale conversion was 15-25% of
 * the gate's cost on them. The gate only says what changed: the pipeline still analyses every
 * frame while a face is being tracked.
 */
import sharp from 'sharp';
import type { EngineImage } from '../vision/face-engine.ts';
import { jpegFrameHeader, MAX_PROGRESSIVE_FRAME_PIXELS } from '../vision/image.ts';

// Every frame is a new image, so libvips' operation cache never hits and only costs: turned off
// it saved ~10% of the gate's CPU per frame (0.7 of 7.3 ms on a 640x480 frame, when every
// frame went through sharp). Process-wide, as sharp's cache is.
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

/** Interleaved 8-bit pixels: 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) channels. */
export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

const isSize = (n: number) => Number.isSafeInteger(n) && n > 0;

/**
 * A `width` x `height` greyscale thumbnail of a frame: each thumbnail pixel is the mean grey
 * level (0-255, rounded half up) of its cell, grey being the integer Rec.601 luma
 * (77 R + 150 G + 29 B) / 256 of the gamma-encoded values (grey frames as they are, alpha
 * ignored). The cell of thumbnail pixel (tx, ty) of a W x H frame holds the columns
 * floor(tx W / width) <= x < floor((tx + 1) W / width), rows likewise, so a frame that is not
 * a multiple of the thumbnail gets cells that differ by one pixel; a frame smaller than the
 * thumbnail gets one-pixel cells (its pixels repeated).
 *
 * One pass over the frame, row by row, summing each channel over a cell's run of pixels in the
 * row: luma is linear, so the weights are applied once per run rather than per pixel. Throws
 * RangeError when the sizes are not positive integers or do not match `px.data`.
 */
export function greyThumbnail(px: RawPixels, width: number, height: number): Uint8Array {
  const { data, width: w, height: h, channels: c } = px;
  if (!isSize(w) || !isSize(h) || !isSize(width) || !isSize(height) || !(c >= 1 && c <= 4 && Number.isInteger(c))) {
    throw new RangeError(`bad sizes: ${w}x${h}x${c} frame to a ${width}x${height} thumbnail`);
  }
  if (data.length !== w * h * c) throw new RangeError(`a ${w}x${h}x${c} frame is ${w * h * c} bytes, got ${data.length}`);
  // Where each column of cells starts and ends, in bytes from the start of a row. At least one
  // pixel each: when the frame is narrower than the thumbnail, neighbouring cells share one.
  const starts = new Int32Array(width);
  const ends = new Int32Array(width);
  for (let tx = 0; tx < width; tx++) {
    const x0 = Math.floor((tx * w) / width);
    starts[tx] = x0 * c;
    ends[tx] = Math.max(x0 + 1, Math.floor(((tx + 1) * w) / width)) * c;
  }
  const out = new Uint8Array(width * height);
  // Per cell of the current row of cells: 77 R + 150 G + 29 B summed over its pixels. Float64
  // is exact to 2^53; 32-bit sums would overflow past 65,793 pixels in a cell.
  const sums = new Float64Array(width);
  // Offsets of G and B in a pixel: grey frames read their one grey byte three times.
  const g = c < 3 ? 0 : 1;
  const b = c < 3 ? 0 : 2;
  for (let ty = 0; ty < height; ty++) {
    const y0 = Math.floor((ty * h) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * h) / height));
    sums.fill(0);
    for (let y = y0; y < y1; y++) {
      const row = y * w * c;
      for (let tx = 0; tx < width; tx++) {
        let sr = 0;
        let sg = 0;
        let sb = 0;
        let o = row + starts[tx]!;
        const end = row + ends[tx]!;
        // Two pixels per step: ~20% faster than one on V8 (0.57 vs 0.70 ms on 640x480).
        for (; o + c < end; o += 2 * c) {
          const p = o + c;
          sr += data[o]! + data[p]!;
          sg += data[o + g]! + data[p + g]!;
          sb += data[o + b]! + data[p + b]!;
        }
        if (o < end) {
          sr += data[o]!;
          sg += data[o + g]!;
          sb += data[o + b]!;
        }
        sums[tx]! += 77 * sr + 150 * sg + 29 * sb;
      }
    }
    for (let tx = 0; tx < width; tx++) {
      const n = ((ends[tx]! - starts[tx]!) / c) * (y1 - y0) * 256;
      out[ty * width + tx] = Math.floor((sums[tx]! + n / 2) / n);
    }
  }
  return out;
}

export class MotionGate implements FrameGate {
  private readonly options: MotionGateOptions;
  private previous: Uint8Array | undefined;
  private still = 0;

  constructor(options: Partial<MotionGateOptions> = {}) {
    this.options = { ...DEFAULT_MOTION_GATE_OPTIONS, ...options };
  }

  /**
   * Compares the frame with the previous one. A frame that cannot be read (undecodable, or raw
   * data that does not match its sizes) counts as a change (the engine will then report it as
   * a bad frame) and does not become the reference.
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
    if (image.kind === 'rgb') return greyThumbnail({ data: image.data, width: image.width, height: image.height, channels: 3 }, width, height);
    // A progressive JPEG larger than the frame engine takes: its decoder alone would hold ~3
    // bytes a pixel (120 MB at 40 MP). Unreadable here (a change), refused by the engine.
    const header = jpegFrameHeader(image.bytes);
    if (header?.progressive && header.width * header.height > MAX_PROGRESSIVE_FRAME_PIXELS) throw new Error('progressive JPEG too large for a frame');
    // libvips' box/lanczos shrink to the thumbnail size in colour; the grey conversion below
    // then runs on width x height pixels (a cell each) instead of being a libvips pass.
    const { data, info } = await sharp(image.bytes, { limitInputPixels: 40_000_000 })
      .resize(width, height, { fit: 'fill', fastShrinkOnLoad: true })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return greyThumbnail({ data, width: info.width, height: info.height, channels: info.channels }, width, height);
  }
}
