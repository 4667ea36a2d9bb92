import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedFraction, greyThumbnail, MotionGate, type RawPixels } from '../../edge/src/capture/motion-gate.ts';
import type { EngineImage } from '../../edge/src/vision/face-engine.ts';
import { rng } from '../helpers/fake-engine.ts';

const W = 320;
const H = 240;

/** A grey wall with ±3 levels of noise, and optionally a bright "face" block at (x, y). */
function rawFrame(seed: number, block?: { x: number; y: number; size: number }): Buffer {
  const r = rng(seed);
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inBlock = block && x >= block.x && x < block.x + block.size && y >= block.y && y < block.y + block.size;
      const v = (inBlock ? 200 : 100 + x / 8) + (r() - 0.5) * 6;
      px.fill(Math.round(v), (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return px;
}

async function jpeg(px: Buffer): Promise<EngineImage> {
  const bytes = await sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
  return { kind: 'encoded', bytes: new Uint8Array(bytes) };
}

const raw = (px: Buffer): EngineImage => ({ kind: 'rgb', data: new Uint8Array(px), width: W, height: H });

/** The definition, written the slow way: per cell, the rounded mean of per-pixel luma. */
function referenceThumbnail(px: RawPixels, width: number, height: number): number[] {
  const { data, width: w, height: h, channels: c } = px;
  const edges = (i: number, n: number, size: number) => {
    const a = Math.floor((i * n) / size);
    return [a, Math.max(a + 1, Math.floor(((i + 1) * n) / size))] as const;
  };
  const out: number[] = [];
  for (let ty = 0; ty < height; ty++) {
    for (let tx = 0; tx < width; tx++) {
      const [x0, x1] = edges(tx, w, width);
      const [y0, y1] = edges(ty, h, height);
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const o = (y * w + x) * c;
          sum += c < 3 ? data[o]! : (77 * data[o]! + 150 * data[o + 1]! + 29 * data[o + 2]!) / 256;
        }
      }
      out.push(Math.round(sum / ((x1 - x0) * (y1 - y0))));
    }
  }
  return out;
}

/** Pseudo-random pixels, every channel value possible. */
function noise(w: number, h: number, c: number, seed: number): RawPixels {
  const r = rng(seed);
  return { data: Uint8Array.from({ length: w * h * c }, () => Math.floor(r() * 256)), width: w, height: h, channels: c };
}

describe('changedFraction', () => {
  it.each([
    { a: [10, 10, 10, 10], b: [10, 10, 10, 10], threshold: 5, want: 0 },
    { a: [10, 10, 10, 10], b: [15, 10, 10, 10], threshold: 5, want: 0 }, // exactly the threshold: unchanged
    { a: [10, 10, 10, 10], b: [16, 4, 10, 10], threshold: 5, want: 0.5 },
    { a: [0, 0], b: [255, 255], threshold: 12, want: 1 },
    { a: [], b: [], threshold: 12, want: 0 },
    { a: [1, 2, 3], b: [1, 2], threshold: 12, want: 1 }, // different sizes: treat as all changed
  ])('$a vs $b at $threshold -> $want', ({ a, b, threshold, want }) => {
    expect(changedFraction(Uint8Array.from(a), Uint8Array.from(b), threshold)).toBe(want);
  });
});

describe('greyThumbnail', () => {
  it('averages luma over cells: a 4x2 RGB frame to 2x1', () => {
    // Left cell: two white, two black pixels (127.5 -> 128). Right cell: pure red, green and
    // blue (77, 150 and 29 levels of 256) and grey 10: (77 + 150 + 29) * 255 / 256 + 10 = 264.0 / 4 -> 66.
    const data = Uint8Array.from([255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255, 0, 0, 0, 0, 0, 255, 10, 10, 10]);
    expect([...greyThumbnail({ data, width: 4, height: 2, channels: 3 }, 2, 1)]).toEqual([128, 66]);
  });

  it.each([
    { w: 640, h: 480, c: 3, tw: 64, th: 48 }, // the camera's case: 10x10 cells
    { w: 97, h: 61, c: 3, tw: 64, th: 48 }, // not a multiple: cells of 1 or 2 pixels
    { w: 333, h: 251, c: 3, tw: 64, th: 48 }, // odd cell widths: exercises the unpaired last pixel
    { w: 5, h: 3, c: 3, tw: 2, th: 2 },
    { w: 40, h: 30, c: 3, tw: 64, th: 48 }, // smaller than the thumbnail: pixels repeated
    { w: 1, h: 1, c: 3, tw: 3, th: 2 },
    { w: 64, h: 48, c: 3, tw: 64, th: 48 }, // same size: luma only
    { w: 33, h: 17, c: 1, tw: 8, th: 4 }, // grey
    { w: 33, h: 17, c: 2, tw: 8, th: 4 }, // grey + alpha
    { w: 33, h: 17, c: 4, tw: 8, th: 4 }, // RGBA
  ])('matches the definition on $w x $h x $c to $tw x $th', ({ w, h, c, tw, th }) => {
    const px = noise(w, h, c, w * 1000 + h + c);
    expect([...greyThumbnail(px, tw, th)]).toEqual(referenceThumbnail(px, tw, th));
  });

  it('matches the definition on a frame view that does not start its buffer (ffmpeg frames are views)', () => {
    const px = noise(20, 10, 3, 9);
    const padded = new Uint8Array(px.data.length + 7);
    padded.set(px.data, 7);
    expect([...greyThumbnail({ ...px, data: padded.subarray(7) }, 4, 3)]).toEqual(referenceThumbnail(px, 4, 3));
  });

  // libvips (the gate before this was plain JS) shrinks by a box then a lanczos3 kernel, which
  // rings a few levels at hard edges; on a smooth scene the two agree.
  it('agrees with libvips within 2 grey levels (a change is 12) on a smooth grey frame', async () => {
    const px = rawFrame(3);
    const vips = await sharp(px, { raw: { width: W, height: H, channels: 3 } }).greyscale().resize(64, 48, { fit: 'fill' }).raw().toBuffer();
    const mine = greyThumbnail({ data: px, width: W, height: H, channels: 3 }, 64, 48);
    expect(Math.max(...mine.map((v, i) => Math.abs(v - vips[i]!)))).toBeLessThanOrEqual(2);
  });

  it.each([
    { what: 'data shorter than the sizes say', px: { data: new Uint8Array(10), width: 2, height: 2, channels: 3 }, tw: 1, th: 1 },
    { what: 'data longer than the sizes say', px: { data: new Uint8Array(13), width: 2, height: 2, channels: 3 }, tw: 1, th: 1 },
    { what: 'zero width', px: { data: new Uint8Array(0), width: 0, height: 2, channels: 3 }, tw: 1, th: 1 },
    { what: 'fractional height', px: { data: new Uint8Array(6), width: 2, height: 1.5, channels: 2 }, tw: 1, th: 1 },
    { what: '5 channels', px: { data: new Uint8Array(20), width: 2, height: 2, channels: 5 }, tw: 1, th: 1 },
    { what: 'an empty thumbnail', px: { data: new Uint8Array(12), width: 2, height: 2, channels: 3 }, tw: 0, th: 1 },
  ])('refuses $what', ({ px, tw, th }) => {
    expect(() => greyThumbnail(px, tw, th)).toThrow(RangeError);
  });
});

describe('MotionGate', () => {
  let still: EngineImage[];
  let moved: EngineImage;
  let small: EngineImage;
  beforeAll(async () => {
    still = await Promise.all([1, 2, 3, 4].map((s) => jpeg(rawFrame(s))));
    moved = await jpeg(rawFrame(5, { x: 100, y: 60, size: 60 }));
    small = await jpeg(rawFrame(6, { x: 10, y: 10, size: 4 }));
  });

  it('calls the first frame a change, then ignores sensor noise on a static scene', async () => {
    const gate = new MotionGate();
    expect(await gate.changed(still[0]!)).toBe(true);
    for (const f of still.slice(1)) expect(await gate.changed(f)).toBe(false);
  });

  it('sees a face-sized change, and the frame after it settles', async () => {
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    expect(await gate.changed(moved)).toBe(true);
    expect(await gate.changed(still[1]!)).toBe(true); // the face left: also a change
    expect(await gate.changed(still[2]!)).toBe(false);
  });

  it('ignores a change smaller than a face', async () => {
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    expect(await gate.changed(small)).toBe(false);
  });

  it('reports a change after maxStillFrames still frames, to look anyway', async () => {
    const gate = new MotionGate({ maxStillFrames: 2 });
    const seen: boolean[] = [];
    for (let i = 0; i < 7; i++) seen.push(await gate.changed(still[i % still.length]!));
    expect(seen).toEqual([true, false, false, true, false, false, true]);
  });

  // The same decisions on both paths: JPEGs (folders, snapshot cameras) and raw RGB (ffmpeg cameras).
  describe.each([
    { path: 'raw RGB', frame: async (px: Buffer) => raw(px) },
    { path: 'JPEG', frame: jpeg },
  ])('on $path frames', ({ frame }) => {
    it('ignores sensor noise, sees a face-sized change and its end, ignores a speck', async () => {
      const gate = new MotionGate();
      expect(await gate.changed(await frame(rawFrame(11)))).toBe(true);
      for (const s of [12, 13, 14]) expect(await gate.changed(await frame(rawFrame(s)))).toBe(false);
      expect(await gate.changed(await frame(rawFrame(15, { x: 200, y: 100, size: 60 })))).toBe(true);
      expect(await gate.changed(await frame(rawFrame(16)))).toBe(true);
      expect(await gate.changed(await frame(rawFrame(17)))).toBe(false);
      expect(await gate.changed(await frame(rawFrame(18, { x: 10, y: 10, size: 4 })))).toBe(false);
    });

    it('sees a small face: 30 px, the smallest the detector is asked to find at this frame size', async () => {
      const gate = new MotionGate();
      await gate.changed(await frame(rawFrame(21)));
      expect(await gate.changed(await frame(rawFrame(22, { x: 150, y: 90, size: 30 })))).toBe(true);
    });
  });

  it.each([
    { what: 'grey', convert: (img: sharp.Sharp) => img.greyscale() },
    { what: 'RGBA', convert: (img: sharp.Sharp) => img.ensureAlpha() },
  ])('reads $what PNGs (a folder camera may hold them) like RGB JPEGs', async ({ convert }) => {
    const png = async (px: Buffer): Promise<EngineImage> => ({ kind: 'encoded', bytes: new Uint8Array(await convert(sharp(px, { raw: { width: W, height: H, channels: 3 } })).png().toBuffer()) });
    const gate = new MotionGate();
    expect(await gate.changed(await png(rawFrame(31)))).toBe(true);
    expect(await gate.changed(await png(rawFrame(32)))).toBe(false);
    expect(await gate.changed(await png(rawFrame(33, { x: 200, y: 100, size: 60 })))).toBe(true);
    // The same picture as a JPEG: the thumbnail does not depend on the file's channels.
    expect(await gate.changed(await jpeg(rawFrame(34, { x: 200, y: 100, size: 60 })))).toBe(false);
  });

  it('calls a raw frame whose sizes do not match its data a change, and keeps its reference', async () => {
    const gate = new MotionGate();
    await gate.changed(raw(rawFrame(1)));
    expect(await gate.changed({ kind: 'rgb', data: new Uint8Array(rawFrame(2)), width: W, height: H + 1 })).toBe(true);
    expect(await gate.changed({ kind: 'rgb', data: new Uint8Array(0), width: 0, height: 0 })).toBe(true);
    expect(await gate.changed(raw(rawFrame(2)))).toBe(false);
  });

  it('calls an undecodable frame a change (the engine reports it) and keeps its reference', async () => {
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    expect(await gate.changed({ kind: 'encoded', bytes: new Uint8Array([1, 2, 3]) })).toBe(true);
    expect(await gate.changed(still[1]!)).toBe(false);
  });

  it('calls a progressive JPEG over the frame limit a change without decoding it, and keeps its reference', async () => {
    // 4000x3200 (12.8 MP): its decoder would hold ~38 MB of coefficients; the engine refuses it.
    const big = await sharp({ create: { width: 4000, height: 3200, channels: 3, background: '#808080' } }).jpeg({ progressive: true, quality: 50 }).toBuffer();
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    expect(await gate.changed({ kind: 'encoded', bytes: big })).toBe(true);
    expect(await gate.changed(still[1]!)).toBe(false);
    // The same size as a baseline JPEG is decoded (shrunk on load) and becomes the reference.
    const baseline = await sharp({ create: { width: 4000, height: 3200, channels: 3, background: '#808080' } }).jpeg({ quality: 50 }).toBuffer();
    expect(await gate.changed({ kind: 'encoded', bytes: baseline })).toBe(true);
    expect(await gate.changed({ kind: 'encoded', bytes: baseline })).toBe(false);
  });

  it('starts afresh after reset()', async () => {
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    gate.reset();
    expect(await gate.changed(still[1]!)).toBe(true);
  });
});
