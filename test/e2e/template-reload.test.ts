/**
 * Enrolment and removal take effect at a running edge's door without a restart, as an operator
 * does them: `mealcheck edge` runs as a process over a looping folder camera that shows one
 * face again and again, while `mealcheck enrol` and `mealcheck elder remove` run as other
 * processes on the same data folder. Real face models, a face cut from a photo shipped in
 * @vladmandic/face-api.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderScene } from '../../scripts/demo/demo-scene.ts';
import { mealcheck, runMealcheck, type Running } from '../helpers/processes.ts';
import { cropAround, sampleBytes } from '../helpers/vision-samples.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';

// The first face of sample1.jpg as the SSD detector finds it (as in cli.test.ts).
const FACE = { x: 414, y: 355, width: 177, height: 240 };

type LogLine = { msg: string; elders?: number; templates?: number; elderId?: string; status?: string; reason?: string };

function logLines(r: Running): LogLine[] {
  return r
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('a running edge and the enrolment commands', () => {
  let dir: string;
  let photo: string;
  let edge: Running | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-e2e-reload-'));
    mkdirSync(join(dir, 'photos'));
    photo = join(dir, 'photos', 'wang.jpg');
    writeFileSync(photo, await cropAround(sampleBytes(1), FACE, { margin: 0.7 }));
  });

  afterAll(async () => {
    await edge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks in an elder enrolled while it runs, and stops recognising them once removed', async () => {
    const data = join(dir, 'edge');
    const frames = join(dir, 'frames');
    const jpeg = readFileSync(photo);
    // She walks up, stays a few frames, leaves; the camera loops, so she keeps coming back.
    await renderScene([{ id: 'E1', name: '王秀英', enrolled: true, portrait: jpeg, enrolPhotos: [jpeg], source: photo }], frames, { framesPerVisit: 4, gapFrames: 4, repeatVisits: 0 });

    edge = runMealcheck(['edge', '--centre', 'c-e2e', '--device', 'door-1', '--data', data, '--server', 'mqtt://127.0.0.1:1', '--camera', frames, '--camera-loop', '--fps', '2', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS], { MEALCHECK_LOG_LEVEL: 'info' });
    const running = edge;
    const [, statusUrl] = await running.waitFor(/status (http:\/\/\S+)/, 90_000);
    type Status = { checkIns: { total: number }; unknown?: number };
    const status = async () => (await (await fetch(statusUrl!)).json()) as Status;

    // Nobody is enrolled yet: her face is seen and not recognised.
    await until('her face seen, not recognised', () => (logLines(running).some((l) => l.msg === 'unknown face' && l.reason === 'no-templates') ? true : undefined), 90_000);
    expect((await status()).checkIns.total).toBe(0);

    const enrol = await mealcheck(['enrol', '--data', data, '--elder', 'E1', '--name', '王秀英', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photo]);
    expect(enrol.code, enrol.stderr).toBe(0);
    expect(enrol.stdout).toContain('enrolled E1 王秀英: 1 template(s)');
    expect(enrol.stdout).toContain('a running edge picks this up within a few seconds');

    // No restart: the edge reloads and checks her in.
    await until('her check-in', async () => ((await status()).checkIns.total === 1 ? true : undefined), 90_000);
    // Registering her (with consent) reloads an unchanged gallery first; her templates reload it again.
    expect(logLines(running).find((l) => l.msg === 'templates reloaded' && l.templates === 1)).toMatchObject({ elders: 1, templates: 1 });

    const list = await mealcheck(['elder', 'list', '--data', data]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^E1\t王秀英\tactive\tconsent 2025-01 \d{4}-\d{2}-\d{2}\t1 template\(s\)/m);

    const unknownId = await mealcheck(['elder', 'remove', '--data', data, '--elder', 'E9', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'M01']);
    expect(unknownId.code).toBe(1);
    expect(unknownId.stderr).toContain('no elder E9');
    expect(unknownId.stderr).toContain('nothing changed');

    const removed = await mealcheck(['elder', 'remove', '--data', data, '--elder', 'E1', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'M01']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('removed E1 王秀英 and 1 face template(s)');

    // After the reload that drops her, every visit of hers is a face matched against nobody.
    const afterRemoval = () => {
      const lines = logLines(running);
      // The last empty gallery: registering her (before her templates) loaded one too.
      const at = lines.findLastIndex((l) => l.msg === 'templates reloaded' && l.elders === 0);
      if (at < lines.findIndex((l) => l.msg === 'templates reloaded' && l.elders === 1)) return undefined;
      return at < 0 ? undefined : lines.slice(at + 1);
    };
    const later = await until('two of her visits after the removal', () => {
      const after = afterRemoval();
      return after && after.filter((l) => l.msg === 'unknown face' && l.reason === 'no-templates').length >= 2 ? after : undefined;
    }, 120_000);
    expect(later.filter((l) => l.msg === 'face check-in')).toEqual([]);
    // Her meal stays: it is the subsidy history.
    expect((await status()).checkIns.total).toBe(1);

    expect(await running.stop()).toBe(0);
    // The log never carries face data.
    expect(running.stderr()).not.toMatch(/descriptor/i);
  }, 400_000);
});
