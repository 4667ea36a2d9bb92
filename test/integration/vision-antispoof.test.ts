/**
 * The antispoof hint of the real engine (face-api + Human's antispoof model in the worker) on a
 * real photo, and the start-up check of its weight files.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import { ModelError } from '../../edge/src/vision/face-engine.ts';
import { DEFAULT_MODELS_DIR } from '../../edge/src/vision/models.ts';
import { sampleBytes, SAMPLE_FACES } from '../helpers/vision-samples.ts';

const quiet = pino({ level: 'silent' });

describe('antispoof score from the real engine', () => {
  const engine = new FaceApiEngine({ logger: quiet, padRetry: false, recognizer: 'face-api' });
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());

  it('is on by default and gives every described face a score in [0, 1]', async () => {
    expect(engine.info().antispoof).toBe(true);
    const r = await engine.detectWithStats({ kind: 'encoded', bytes: sampleBytes(1) });
    expect(r.faces).toHaveLength(SAMPLE_FACES[0]);
    for (const f of r.faces) {
      expect(f.descriptor).toHaveLength(128);
      expect(typeof f.antispoof).toBe('number');
      expect(f.antispoof).toBeGreaterThanOrEqual(0);
      expect(f.antispoof).toBeLessThanOrEqual(1);
    }
    // Distinct faces, distinct scores: the model looked at each crop.
    expect(new Set(r.faces.map((f) => f.antispoof)).size).toBeGreaterThan(1);
    expect(r.antispoofFaces).toBe(r.faces.length);
    expect(r.antispoofMs).toBeGreaterThan(0);
  });

  it('gives no score to a face left undescribed (skipDescribe), and the same score to the others', async () => {
    const all = await engine.detect({ kind: 'encoded', bytes: sampleBytes(1) });
    const skipped = all[0]!;
    const r = await engine.detectWithStats({ kind: 'encoded', bytes: sampleBytes(1) }, { skipDescribe: [skipped.box] });
    const same = r.faces.find((f) => Math.abs(f.box.x - skipped.box.x) < 2 && Math.abs(f.box.y - skipped.box.y) < 2)!;
    expect(same.descriptor).toHaveLength(0);
    expect(same.antispoof).toBeUndefined();
    const others = r.faces.filter((f) => f !== same);
    expect(others).toHaveLength(all.length - 1);
    for (const f of others) {
      const before = all.find((g) => Math.abs(g.box.x - f.box.x) < 2 && Math.abs(g.box.y - f.box.y) < 2)!;
      expect(f.antispoof).toBeCloseTo(before.antispoof!, 3);
    }
    expect(r.antispoofFaces).toBe(all.length - 1);
  });
});

describe('antispoof weight files are checked at start', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-antispoof-'));
    for (const f of readdirSync(DEFAULT_MODELS_DIR)) copyFileSync(join(DEFAULT_MODELS_DIR, f), join(dir, f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startError(): Promise<unknown> {
    return new FaceApiEngine({ modelsDir: dir, logger: quiet }).start().then(
      () => null,
      (e: unknown) => e,
    );
  }

  it('refuses a corrupt antispoof.bin, naming it', async () => {
    const file = join(dir, 'antispoof.bin');
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[5000] = bad[5000]! ^ 0xff;
    writeFileSync(file, bad);
    try {
      const err = await startError();
      expect(err).toBeInstanceOf(ModelError);
      expect((err as Error).message).toMatch(/antispoof\.bin is corrupt/);
      expect((err as Error).message).toMatch(/npm install|install-models/);
    } finally {
      writeFileSync(file, good);
    }
  });

  it('refuses a missing antispoof.json, naming it', async () => {
    rmSync(join(dir, 'antispoof.json'));
    const err = await startError();
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toContain('antispoof.json is missing');
  });
});
