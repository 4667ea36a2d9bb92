/** The ffmpeg camera's supervisor: down on exit or silence, restarted with backoff, back up on frames. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FfmpegFrameSource, FfmpegMissingError } from '../../edge/src/capture/ffmpeg-source.ts';
import { writeFakeFfmpeg } from '../helpers/capture-fake-ffmpeg.ts';

const W = 16;
const H = 8;
const spec = { id: 'door1', kind: 'stream' as const, source: 'rtsp://user:secret@cam/x' };

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FfmpegFrameSource supervisor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mealcheck-fake-ffmpeg-'));
  const sources: FfmpegFrameSource[] = [];
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start without ffmpeg, naming the Debian package', async () => {
    const s = new FfmpegFrameSource({ spec, fps: 5, width: W, height: H, ffmpegPath: join(dir, 'no-such-ffmpeg') });
    await expect(s.start()).rejects.toThrow(FfmpegMissingError);
    await expect(s.start()).rejects.toThrow(/Debian package "ffmpeg"/);
  });

  it('cuts the pipe into whole frames, and restarts ffmpeg when it exits', async () => {
    const ffmpegPath = writeFakeFfmpeg(dir, { frameBytes: W * H * 3, frames: 3, mode: 'exit' });
    const s = new FfmpegFrameSource({ spec, fps: 5, width: W, height: H, ffmpegPath, retryDelayMs: 50 });
    sources.push(s);
    await s.start();
    const f = await s.next();
    expect(f?.image).toMatchObject({ kind: 'rgb', width: W, height: H });
    expect(f?.image.kind === 'rgb' && f.image.data.length).toBe(W * H * 3);
    await until(() => s.health().restarts >= 2);
    // Back up after each restart: frames keep coming.
    await until(() => s.health().received >= 6);
    expect(s.health().source).toBe('rtsp://user:***@cam/x');
  });

  it('marks a camera that goes quiet as down, and says why', async () => {
    const ffmpegPath = writeFakeFfmpeg(dir, { frameBytes: W * H * 3, frames: 2, mode: 'stall' });
    const s = new FfmpegFrameSource({ spec, fps: 5, width: W, height: H, ffmpegPath, stallMs: 300, retryDelayMs: 5000 });
    sources.push(s);
    await s.start();
    await until(() => s.health().state === 'running');
    await until(() => s.health().state === 'down');
    expect(s.health().error).toMatch(/no frame for/);
    expect(s.health().fps).toBe(0);
  });

  it('ends a video file that played to its end (no loop), and next() resolves null', async () => {
    const ffmpegPath = join(dir, 'fake-file');
    const { writeFileSync, chmodSync } = await import('node:fs');
    writeFileSync(ffmpegPath, `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-version" ] && exit 0; done\nhead -c ${W * H * 3 * 2} /dev/zero\nexit 0\n`);
    chmodSync(ffmpegPath, 0o755);
    const s = new FfmpegFrameSource({ spec: { id: 'f', kind: 'file', source: 'clip.mp4' }, fps: 5, width: W, height: H, ffmpegPath });
    sources.push(s);
    await s.start();
    let n = 0;
    while ((await s.next()) !== null) n++;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(s.health().state).toBe('ended');
  });
});
