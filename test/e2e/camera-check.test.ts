/** The installer's check, as run on a box: `mealcheck camera-check --camera SRC --seconds N --json`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestClip } from '../helpers/capture-streams.ts';
import { mealcheck } from '../helpers/processes.ts';

describe('mealcheck camera-check', () => {
  let dir: string;
  let frames: string;
  let photos: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-camcheck-'));
    const clip = await makeTestClip(dir);
    photos = clip.photos;
    frames = join(dir, 'frames');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports fps, resolution, faces and face sizes, and with --data the elders it recognised', async () => {
    const data = join(dir, 'edge');
    const enrol = await mealcheck(['enrol', '--data', data, '--elder', 'E1', '--name', '王秀英', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!]);
    expect(enrol.code, enrol.stderr).toBe(0);

    const r = await mealcheck(['camera-check', '--camera', frames, '--camera-loop', '--seconds', '10', '--fps', '5', '--data', data, '--json']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1]!) as {
      fps: number;
      frames: number;
      width: number;
      height: number;
      faces: number;
      facePxP50: number | null;
      elders: Record<string, number>;
    };
    expect(result.frames).toBeGreaterThan(0);
    expect(result.fps).toBeGreaterThan(0);
    expect([result.width, result.height]).toEqual([640, 480]);
    expect(result.faces).toBeGreaterThan(0);
    // The demo scene's faces are 100-200 px tall in a 640x480 frame.
    expect(result.facePxP50).toBeGreaterThan(60);
    expect(result.facePxP50).toBeLessThan(400);
    expect(Object.keys(result.elders)).toContain('E1');
  }, 180_000);

  it('fails with a clear message for a camera that does not exist', async () => {
    const r = await mealcheck(['camera-check', '--camera', join(dir, 'no-such-folder'), '--seconds', '2', '--json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no-such-folder');
  }, 60_000);
});
