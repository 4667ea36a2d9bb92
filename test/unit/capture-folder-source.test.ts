import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderFrameSource, sortFrameFiles } from '../../edge/src/capture/folder-source.ts';
import type { Frame } from '../../edge/src/capture/frame-source.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mealcheck-frames-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(names: string[]): Promise<void> {
  for (const n of names) await writeFile(join(dir, n), n);
}
const text = (f: Frame | null): string => (f && f.image.kind === 'encoded' ? Buffer.from(f.image.bytes).toString() : String(f));

async function drain(src: FolderFrameSource, max = 100): Promise<Frame[]> {
  const out: Frame[] = [];
  for (let i = 0; i < max; i++) {
    const f = await src.next();
    if (!f) break;
    out.push(f);
  }
  return out;
}

describe('sortFrameFiles', () => {
  it.each([
    { in: ['frame-10.jpg', 'frame-2.jpg', 'frame-1.jpg'], out: ['frame-1.jpg', 'frame-2.jpg', 'frame-10.jpg'] },
    { in: ['b.PNG', 'a.jpeg', 'c.JPG', 'notes.txt', 'clip.mp4', '.DS_Store'], out: ['a.jpeg', 'b.PNG', 'c.JPG'] },
    { in: ['img9.png', 'img09.png', 'img10.png'], out: ['img09.png', 'img9.png', 'img10.png'] },
  ])('$in', ({ in: names, out }) => {
    expect(sortFrameFiles(names)).toEqual(out);
  });
});

describe('FolderFrameSource', () => {
  it('gives every frame in natural name order, as encoded bytes, then null', async () => {
    await files(['f10.jpg', 'f2.png', 'f1.jpeg', 'readme.txt']);
    const src = new FolderFrameSource({ dir, realtime: false });
    await src.start();
    const frames = await drain(src);
    expect(frames.map((f) => f.label)).toEqual(['f1.jpeg', 'f2.png', 'f10.jpg']);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2]);
    expect(frames.map(text)).toEqual(['f1.jpeg', 'f2.png', 'f10.jpg']);
    expect(frames[0]!.image.kind).toBe('encoded');
    expect(await src.next()).toBeNull();
    expect(src.id).toBe(`folder:${dir}`);
  });

  it('loops when asked', async () => {
    await files(['1.jpg', '2.jpg']);
    const src = new FolderFrameSource({ dir, realtime: false, loop: true });
    await src.start();
    const frames = await drain(src, 5);
    expect(frames.map((f) => f.label)).toEqual(['1.jpg', '2.jpg', '1.jpg', '2.jpg', '1.jpg']);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it.each([
    { name: 'missing folder', make: async () => join(dir, 'nope'), error: /nope cannot be read: ENOENT/ },
    { name: 'a file, not a folder', make: async () => (await files(['x.jpg']), join(dir, 'x.jpg')), error: /is not a folder/ },
    { name: 'empty folder', make: async () => dir, error: /has no \.jpg, \.jpeg or \.png files/ },
    {
      name: 'folder without images',
      make: async () => {
        await files(['a.txt', 'b.mp4']);
        await mkdir(join(dir, 'sub.jpg'));
        return dir;
      },
      error: /has no \.jpg/,
    },
  ])('start() fails clearly for a $name', async ({ make, error }) => {
    const d = await make();
    const src = new FolderFrameSource({ dir: d });
    await expect(src.start()).rejects.toThrow(error);
    await expect(src.start()).rejects.toThrow(d);
  });

  it('next() before start() is a programming error', async () => {
    await expect(new FolderFrameSource({ dir }).next()).rejects.toThrow(/before start/);
  });

  it('names a frame that disappeared, and goes on with the next', async () => {
    await files(['1.jpg', '2.jpg', '3.jpg']);
    const src = new FolderFrameSource({ dir, realtime: false });
    await src.start();
    await rm(join(dir, '2.jpg'));
    expect((await src.next())!.label).toBe('1.jpg');
    await expect(src.next()).rejects.toThrow(/2\.jpg cannot be read: ENOENT/);
    expect((await src.next())!.label).toBe('3.jpg');
  });

  it('stop() ends the source', async () => {
    await files(['1.jpg', '2.jpg']);
    const src = new FolderFrameSource({ dir, realtime: false, loop: true });
    await src.start();
    await src.next();
    await src.stop();
    expect(await src.next()).toBeNull();
  });

  describe('realtime', () => {
    it('drops the frames a slow consumer missed, never queues them', async () => {
      await files(['0.jpg', '1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg', '6.jpg', '7.jpg', '8.jpg', '9.jpg']);
      let now = 1_000_000;
      const src = new FolderFrameSource({ dir, fps: 10, now: () => now });
      await src.start();
      // Frame 0 is due at once.
      expect(await src.next()).toMatchObject({ seq: 0, at: 1_000_000, label: '0.jpg' });
      // The consumer took 350 ms: frames 1 and 2 are gone, 3 is the newest.
      now += 350;
      expect(await src.next()).toMatchObject({ seq: 3, at: 1_000_300, label: '3.jpg' });
      // Far past the end: the last frame once, then the end.
      now += 5_000;
      expect(await src.next()).toMatchObject({ seq: 9, label: '9.jpg' });
      expect(await src.next()).toBeNull();
    });

    it('loops in realtime by wrapping the file index', async () => {
      await files(['0.jpg', '1.jpg', '2.jpg']);
      let now = 0;
      const src = new FolderFrameSource({ dir, fps: 10, loop: true, now: () => now });
      await src.start();
      now = 450; // frame 4 = file 1
      expect(await src.next()).toMatchObject({ seq: 4, label: '1.jpg' });
    });

    it('paces a fast consumer at fps', async () => {
      await files(['0.jpg', '1.jpg', '2.jpg', '3.jpg']);
      const src = new FolderFrameSource({ dir, fps: 40 });
      await src.start();
      const t0 = Date.now();
      const frames = await drain(src);
      const elapsed = Date.now() - t0;
      // 4 frames at 40 fps: frame 3 is due at 75 ms. Timers may fire late (a loaded box then
      // drops a frame, as realtime should), never early: the consumer is never fed faster.
      const seqs = frames.map((f) => f.seq);
      expect(seqs[0]).toBe(0);
      expect(seqs.at(-1)).toBe(3);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(elapsed).toBeGreaterThanOrEqual(70);
      for (const f of frames) expect(f.at - frames[0]!.at).toBe(f.seq * 25);
    });

    it('stop() wakes a consumer waiting for the next frame', async () => {
      await files(['0.jpg', '1.jpg']);
      const src = new FolderFrameSource({ dir, fps: 0.1 }); // next frame in 10 s
      await src.start();
      await src.next();
      const pending = src.next();
      await src.stop();
      await expect(pending).resolves.toBeNull();
    });
  });

  it('rejects a nonsensical fps', () => {
    expect(() => new FolderFrameSource({ dir, fps: 0 })).toThrow(RangeError);
  });
});
