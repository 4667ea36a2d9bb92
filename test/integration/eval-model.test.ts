/**
 * `mealcheck eval --model faceres`: the same protocol with Human's 1024-d faceres net, on a
 * tiny folder cut from the face-api demo photos (as eval-tool.test.ts builds it, smaller), and
 * the message for a model the tool does not know.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import { evalCommand, FACERES_DEFAULTS } from '../../scripts/eval/eval.ts';
import { sampleBytes, writeEvalIdentity } from '../helpers/vision-samples.ts';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mealcheck-eval-model-'));
  const engine = new FaceApiEngine({ logger: pino({ level: 'silent' }), antispoof: false, padRetry: false });
  await engine.start();
  try {
    // sample1's three faces: persons 01 and 02 enrolled, 03 an impostor.
    const photo = sampleBytes(1);
    const faces = await engine.detect({ kind: 'encoded', bytes: photo });
    let n = 0;
    for (const face of faces.slice(0, 3)) await writeEvalIdentity(dir, `person_${String(++n).padStart(2, '0')}`, photo, face.box);
  } finally {
    await engine.stop();
  }
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string[] }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await evalCommand(argv);
    return { code, out: lines.join('\n').split('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('mealcheck eval --model', () => {
  it('runs the open-set protocol with faceres and its own rule defaults', { timeout: 300_000 }, async () => {
    const { code, out } = await run(['--faces', dir, '--model', 'faceres', '--json']);
    expect(code).toBe(0);
    expect(out.some((l) => l.startsWith('model faceres on '))).toBe(true);
    const r = JSON.parse(out[out.length - 1]!) as Record<string, number> & { model: string; pairs: Record<string, number>; antispoof: Record<string, number> };
    expect(r.model).toBe('faceres');
    expect(r).toMatchObject({ identities: 3, enrolled: 2, photos: 9, genuine: 2, impostors: 3, noFacePhotos: 0 });
    expect(r).toMatchObject({ threshold: FACERES_DEFAULTS.threshold, margin: FACERES_DEFAULTS.margin, cohortRatio: FACERES_DEFAULTS.cohortRatio });
    expect(r.correct! + r.wrongElder! + r.rejected!).toBe(2 + 3 - r.impostorAccepts!);
    expect(r.TAR).toBeCloseTo(r.correct! / 2, 10);
    // 9 photos of 3 people: 9 genuine pairs (3 per person), 27 impostor pairs; unit-length
    // descriptors put every distance in 0..2.
    expect(r.pairs).toMatchObject({ genuinePairs: 9, impostorPairs: 27 });
    expect(r.pairs.thresholdAtFAR1e2).toBeGreaterThan(0);
    expect(r.pairs.thresholdAtFAR1e2).toBeLessThanOrEqual(2);
    // The same photo altered is the same person to faceres too.
    expect(r.pairs.TARatFAR1e2).toBeGreaterThan(0.5);
    expect(r.antispoof!.faces).toBe(9);
    expect(r.antispoof!.p50).toBeGreaterThanOrEqual(0);
    expect(r.antispoof!.p50).toBeLessThanOrEqual(1);
    expect(r.msPerPhoto).toBeGreaterThan(0);
  });

  it('refuses a model it does not know, naming the ones it does', async () => {
    await expect(evalCommand(['--faces', dir, '--model', 'insightface'])).rejects.toThrow(/--model: must be one of face-api, fr-feature, faceres, got "insightface"/);
  });
});
