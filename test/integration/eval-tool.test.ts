/**
 * `mealcheck eval` end to end on a tiny folder generated from the face-api demo photos: each
 * face cut from sample1/sample2 becomes an identity with three altered photos. Checks the
 * protocol's bookkeeping and the report's shape, not recognition quality (faces-dev is for
 * that). A second part reads faces-dev's layout when the folder is there and skips otherwise.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import { listIdentities, readGroups, splitProtocol } from '../../scripts/eval/dataset.ts';
import { evalCommand } from '../../scripts/eval/eval.ts';
import { sampleBytes, writeEvalIdentity } from '../helpers/vision-samples.ts';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mealcheck-eval-'));
  const engine = new FaceApiEngine({ logger: pino({ level: 'silent' }) });
  await engine.start();
  try {
    let n = 0;
    for (const sample of [1, 2]) {
      const photo = sampleBytes(sample);
      const faces = await engine.detect({ kind: 'encoded', bytes: photo });
      for (const face of faces.slice(0, 3)) await writeEvalIdentity(dir, `person_${String(++n).padStart(2, '0')}`, photo, face.box);
    }
    mkdirSync(join(dir, '_no_face'));
    writeFileSync(join(dir, '_no_face', '1.jpg'), await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 120, g: 130, b: 140 } } }).jpeg().toBuffer());
    mkdirSync(join(dir, '_groups'));
    writeFileSync(join(dir, '_groups', '1.jpg'), sampleBytes(1));
    writeFileSync(join(dir, 'labels.csv'), 'path,group\nperson_01/1.jpg,east_asian_chinese\nperson_01/3.jpg,east_asian_chinese\nperson_03/1.jpg,other\n');
  } finally {
    await engine.stop();
  }
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('mealcheck eval on a generated folder', () => {
  it('runs the protocol and prints the table and one JSON object last', { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    let code: number;
    try {
      code = await evalCommand(['--faces', dir, '--json', '--sweep']);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(code).toBe(0);
    const out = lines.join('\n').split('\n');
    expect(out.some((l) => l.startsWith('all '))).toBe(true);
    const r = JSON.parse(out[out.length - 1]!) as Record<string, unknown> & { groups: { group: string; genuine: number; impostors: number }[]; sweep: unknown[]; pairs: Record<string, number> };
    // 6 identities of 3 photos; persons 03 and 06 (index % 3 == 2) are impostors.
    expect(r).toMatchObject({ identities: 6, enrolled: 4, photos: 18, genuine: 4, impostors: 6 });
    const n = r as unknown as Record<string, number>;
    expect(n.correct! + n.wrongElder! + n.rejected!).toBe(4 + 6 - n.impostorAccepts!);
    expect(n.FAR).toBeCloseTo((n.wrongElder! + n.impostorAccepts!) / 10, 10);
    expect(n.TAR).toBeCloseTo(n.correct! / 4, 10);
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['genuine', 'impostors', 'correct', 'wrongElder', 'impostorAccepts', 'rejected', 'noFace', 'TAR', 'FAR', 'msPerPhoto', 'pairs', 'groups']));
    expect(r.pairs.genuinePairs).toBeGreaterThan(0);
    expect(Object.keys(r.pairs)).toEqual(expect.arrayContaining(['TARatFAR1e2', 'TARatFAR1e3']));
    expect(r.noFaceFolderDetections).toBe(0);
    // person_01/3 is a probe labelled east_asian_chinese; person_03 (impostor) is partly 'other'.
    const groups = Object.fromEntries(r.groups.map((g) => [g.group, g]));
    expect(groups.east_asian).toMatchObject({ genuine: 1, impostors: 0 });
    expect(groups.other).toMatchObject({ genuine: 0, impostors: 1 });
    expect(r.sweep.length).toBeGreaterThan(10);
    // The tool reads photos in place: nothing was added to the folder.
    expect(readdirSync(dir).sort()).toEqual(['_groups', '_no_face', 'labels.csv', 'person_01', 'person_02', 'person_03', 'person_04', 'person_05', 'person_06']);
  });

  it('refuses a missing folder and unknown options with a clear message', async () => {
    await expect(evalCommand(['--faces', join(dir, 'nope')])).rejects.toThrow(/does not exist/);
    await expect(evalCommand(['--faces', dir, '--model', 'insightface'])).rejects.toThrow(/--model/);
    await expect(evalCommand(['--faces', dir, '--bogus', '1'])).rejects.toThrow(/unknown option --bogus/);
  });
});

const facesDev = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/faces-dev');

describe.skipIf(!existsSync(facesDev))('faces-dev layout (skipped where the folder is absent)', () => {
  it('splits as the README says and reads the group labels', () => {
    const ids = listIdentities(facesDev);
    const split = splitProtocol(ids);
    const eligible = ids.filter((i) => i.photos.length >= 3);
    expect(split.enrol.size + Math.floor(eligible.length / 3)).toBe(eligible.length);
    expect([...split.enrol.values()].every((p) => p.length === 2)).toBe(true);
    expect(ids.some((i) => i.name.startsWith('_'))).toBe(false);
    const groups = readGroups(facesDev);
    expect([...groups.values()].some((g) => g.startsWith('east_asian'))).toBe(true);
  });
});
