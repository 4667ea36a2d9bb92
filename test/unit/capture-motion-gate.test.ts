import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedFraction, MotionGate } from '../../edge/src/capture/motion-gate.ts';
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

  it('treats raw RGB frames like encoded ones', async () => {
    const gate = new MotionGate();
    const raw = (px: Buffer): EngineImage => ({ kind: 'rgb', data: new Uint8Array(px), width: W, height: H });
    expect(await gate.changed(raw(rawFrame(1)))).toBe(true);
    expect(await gate.changed(raw(rawFrame(2)))).toBe(false);
    expect(await gate.changed(raw(rawFrame(3, { x: 200, y: 100, size: 60 })))).toBe(true);
  });

  it('calls an undecodable frame a change (the engine reports it) and keeps its reference', async () => {
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    expect(await gate.changed({ kind: 'encoded', bytes: new Uint8Array([1, 2, 3]) })).toBe(true);
    expect(await gate.changed(still[1]!)).toBe(false);
  });

  it('starts afresh after reset()', async () => {
    const gate = new MotionGate();
    await gate.changed(still[0]!);
    gate.reset();
    expect(await gate.changed(still[1]!)).toBe(true);
  });
});
