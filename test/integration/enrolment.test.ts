import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../common/sqlite.ts';
import { enrolElder, EnrolmentError, type EnrolmentStore } from '../../edge/src/elders/enrolment.ts';
import { Matcher, type TemplateModel } from '../../edge/src/recognition/matcher.ts';
import { ImageError, type EngineImage } from '../../edge/src/vision/face-engine.ts';
import type { ElderStatus } from '../../common/records.ts';
import { testRegistry } from '../helpers/elder-registry.ts';
import { descriptorAt, FakeEngine, fakeFace, syntheticDescriptor } from '../helpers/fake-engine.ts';

const A = syntheticDescriptor(1);
const migrationsDir = fileURLToPath(new URL('../../edge/migrations', import.meta.url));

/** A fake engine that knows one good photo per label `a-1`..`a-3`, a group, an empty room and junk. */
function engine(): FakeEngine {
  return new FakeEngine({
    'a-1': [fakeFace({ descriptor: A })],
    'a-2': [fakeFace({ descriptor: descriptorAt(A, 0.1, 2), score: 0.9 })],
    'a-3': [fakeFace({ descriptor: descriptorAt(A, 0.12, 3) })],
    group: [fakeFace({ descriptor: A }), fakeFace({ descriptor: syntheticDescriptor(9), box: { x: 400 } })],
    'no-face': [],
    tiny: [fakeFace({ descriptor: A, box: { width: 20, height: 24 } })],
    truncated: new ImageError('corrupt', 'the JPEG data is truncated'),
    'worker-down': new Error('face engine worker exited'),
  });
}

/**
 * Remembers calls, to check that nothing is stored when a photo is refused. Knows one elder,
 * e-001 王秀英, with consent unless told otherwise.
 */
class MemoryStore implements EnrolmentStore {
  readonly calls: string[] = [];
  readonly templates: { elderId: string; descriptor: Float32Array; source: string; model: TemplateModel }[] = [];
  constructor(
    /** null: no elder registered. */
    readonly elder: { name: string; status: ElderStatus } | null = { name: '王秀英', status: 'active' },
    readonly consent: boolean = true,
  ) {}
  getElder(id: string): { name: string; status: ElderStatus } | undefined {
    return id === 'e-001' ? (this.elder ?? undefined) : undefined;
  }
  validConsent(id: string): { textVersion: string } | undefined {
    return id === 'e-001' && this.consent ? { textVersion: '2025-01' } : undefined;
  }
  addTemplate(elderId: string, descriptor: Float32Array, source: string, model: TemplateModel): number {
    this.calls.push(`template ${elderId} ${source}`);
    this.templates.push({ elderId, descriptor, source, model });
    return this.templates.length;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mealcheck-enrol-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes photo files whose bytes are the fake engine's scene label; returns their paths. */
async function photos(...labels: string[]): Promise<string[]> {
  return Promise.all(
    labels.map(async (label, i) => {
      const p = join(dir, `${i}-${label}.jpg`);
      await writeFile(p, label);
      return p;
    }),
  );
}

async function refusal(p: Promise<unknown>): Promise<EnrolmentError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EnrolmentError);
  return err as EnrolmentError;
}

describe('enrolElder', () => {
  it('stores the elder and one template per photo', async () => {
    const store = new MemoryStore();
    const ps = await photos('a-1', 'a-2', 'a-3');
    const r = await enrolElder({ engine: engine(), elders: store, elderId: 'e-001', photos: ps });
    expect(r.elderId).toBe('e-001');
    expect(r.name).toBe('王秀英');
    expect(r.templates.map((t) => t.photo)).toEqual(ps);
    expect(r.templates[1]).toMatchObject({ score: 0.9, box: { width: 100, height: 100 } });
    expect(store.calls).toEqual(['template e-001 0-a-1.jpg', 'template e-001 1-a-2.jpg', 'template e-001 2-a-3.jpg']);
    expect(store.templates[0]!.descriptor).toEqual(A);
  });

  it.each([
    { label: 'no-face', code: 'no-face', message: /no face found/ },
    { label: 'group', code: 'several-faces', message: /2 faces found/ },
    { label: 'tiny', code: 'face-too-small', message: /too small \(20 px, at least 40 px\)/ },
    { label: 'truncated', code: 'bad-image', message: /not a usable image: the JPEG data is truncated/ },
    { label: 'random bytes', code: 'bad-image', message: /not a usable image/ },
  ])('refuses a photo with $code, naming it, and stores nothing', async ({ label, code, message }) => {
    const store = new MemoryStore();
    const ps = await photos('a-1', label);
    const err = await refusal(enrolElder({ engine: engine(), elders: store, elderId: 'e-001', photos: ps }));
    expect(err.problems).toEqual([{ code, photo: ps[1], message: expect.stringMatching(message) as string }]);
    expect(err.message).toContain(ps[1]);
    expect(store.calls).toEqual([]);
  });

  it('checks every photo first and reports every problem together', async () => {
    const store = new MemoryStore();
    const ps = await photos('no-face', 'a-1', 'group', 'truncated');
    const missing = join(dir, 'missing.jpg');
    const folder = join(dir, 'folder.jpg');
    await mkdir(folder);
    const fake = engine();
    const err = await refusal(enrolElder({ engine: fake, elders: store, elderId: 'e-001', photos: [...ps, missing, folder] }));
    expect(err.problems.map((p) => [p.code, p.photo])).toEqual([
      ['no-face', ps[0]],
      ['several-faces', ps[2]],
      ['bad-image', ps[3]],
      ['unreadable', missing],
      ['unreadable', folder],
    ]);
    expect(err.problems[3]!.message).toBe(`photo ${missing} does not exist`);
    expect(err.problems[4]!.message).toBe(`photo ${folder} is a folder, not a photo`);
    for (const p of err.problems) expect(err.message).toContain(p.photo);
    expect(fake.calls).toEqual(['no-face', 'a-1', 'group', 'truncated']);
    expect(store.calls).toEqual([]);
  });

  it.each([
    { elderId: 'bad id', photos: ['x.jpg'], codes: ['invalid-elder-id'] },
    { elderId: '', photos: ['x.jpg'], codes: ['invalid-elder-id'] },
    { elderId: 'e/1', photos: [], codes: ['invalid-elder-id', 'no-photos'] },
    { elderId: 'e-404', photos: ['x.jpg'], codes: ['unknown-elder'] },
  ])('validates the request before reading photos: $codes', async ({ elderId, photos: ps, codes }) => {
    const fake = engine();
    const err = await refusal(enrolElder({ engine: fake, elders: new MemoryStore(), elderId, photos: ps }));
    expect(err.problems.map((p) => p.code)).toEqual(codes);
    expect(fake.calls).toEqual([]);
  });

  it('refuses an elder without a valid consent, and one not active, before reading any photo', async () => {
    for (const [store, codes, message] of [
      [new MemoryStore(null, true), ['unknown-elder'], /no elder e-001 is registered/],
      [new MemoryStore({ name: '王秀英', status: 'active' }, false), ['no-consent'], /e-001 \(王秀英\) has no valid consent .*record the signed consent first/],
      [new MemoryStore({ name: '王秀英', status: 'suspended' }, true), ['not-active'], /is suspended/],
      [new MemoryStore({ name: '王秀英', status: 'deceased' }, false), ['not-active', 'no-consent'], /is deceased/],
    ] as const) {
      const fake = engine();
      const err = await refusal(enrolElder({ engine: fake, elders: store, elderId: 'e-001', photos: await photos('a-1') }));
      expect(err.problems.map((p) => p.code)).toEqual(codes);
      expect(err.message).toMatch(message);
      expect(fake.calls).toEqual([]);
      expect(store.calls).toEqual([]);
    }
  });

  it('takes photos in memory (live frames), naming them in problems and templates', async () => {
    const store = new MemoryStore();
    const enc = new TextEncoder();
    const r = await enrolElder({ engine: engine(), elders: store, elderId: 'e-001', photos: [{ name: 'live-1', bytes: enc.encode('a-1') }, { name: 'live-2', bytes: enc.encode('a-2') }] });
    expect(r.templates.map((t) => t.photo)).toEqual(['live-1', 'live-2']);
    expect(store.calls).toEqual(['template e-001 live-1', 'template e-001 live-2']);
    const err = await refusal(enrolElder({ engine: engine(), elders: store, elderId: 'e-001', photos: [{ name: 'live-3', bytes: enc.encode('no-face') }] }));
    expect(err.problems).toEqual([expect.objectContaining({ code: 'no-face', photo: 'live-3' })]);
  });

  it('lets an engine failure through: it is not the photo\'s fault', async () => {
    const store = new MemoryStore();
    const ps = await photos('a-1', 'worker-down');
    await expect(enrolElder({ engine: engine(), elders: store, elderId: 'e-001', photos: ps })).rejects.toThrow('face engine worker exited');
    expect(store.calls).toEqual([]);
  });

  it('decodes a large progressive JPEG itself, shrunk, before it starts the engine; faces in the photo\'s pixels', async () => {
    // 4096x3072 progressive: its decoder holds ~3 bytes a pixel, so it is decoded before the
    // models load. A baseline JPEG of the same size goes to the engine encoded.
    const grey = () => sharp({ create: { width: 4096, height: 3072, channels: 3, background: '#808080' } });
    const progressive = join(dir, 'progressive.jpg');
    const baseline = join(dir, 'baseline.jpg');
    await writeFile(progressive, await grey().jpeg({ progressive: true, quality: 50 }).toBuffer());
    await writeFile(baseline, await grey().jpeg({ quality: 50 }).toBuffer());
    const seen: string[] = [];
    const face = fakeFace({ descriptor: A, box: { x: 512, y: 256, width: 200, height: 300 } });
    const fake = new (class extends FakeEngine {
      override async detect(image: EngineImage) {
        seen.push(`${this.started ? 'started' : 'not started'}: ${image.kind === 'rgb' ? `rgb ${image.width}x${image.height}` : 'encoded'}`);
        return [{ ...face, box: { ...face.box }, landmarks: [{ x: 1024, y: 512 }] }];
      }
    })();
    const r = await enrolElder({ engine: fake, elders: new MemoryStore(), elderId: 'e-001', photos: [progressive, baseline] });
    expect(seen).toEqual(['started: rgb 2048x1536', 'started: encoded']);
    // The progressive photo's face comes back in its own 4096x3072 pixels, as the engine's own
    // decode would give it; the engine already does that for the baseline one.
    expect(r.templates.map((t) => t.box)).toEqual([{ x: 1024, y: 512, width: 400, height: 600 }, face.box]);
  });

  it('writes inside the store\'s transaction when it has one', async () => {
    const store = new MemoryStore();
    const events: string[] = [];
    const tx: EnrolmentStore = {
      getElder: (id) => store.getElder(id),
      validConsent: (id) => store.validConsent(id),
      addTemplate: (id, d, s, m) => store.addTemplate(id, d, s, m),
      transaction: <T>(fn: () => T): T => {
        events.push('begin');
        const r = fn();
        events.push(`commit after ${store.calls.length} writes`);
        return r;
      },
    };
    await enrolElder({ engine: engine(), elders: tx, elderId: 'e-001', photos: await photos('a-1', 'a-2') });
    expect(events).toEqual(['begin', 'commit after 2 writes']);
  });

  it('refuses a face within the accept distance of another elder, naming them; allowLookalike enrols it', async () => {
    const db = openDatabase(':memory:', { migrationsDir });
    try {
      const { elders: repo, store: elders, register } = testRegistry(db);
      for (const [id, name] of [['e-001', '王秀英'], ['e-002', '李桂兰'], ['e-003', 'Li']]) register(id!, name!);
      await enrolElder({ engine: engine(), elders, elderId: 'e-001', photos: await photos('a-1') });
      // a-3 is 0.12 from a-1: the same face under another id.
      const err = await refusal(enrolElder({ engine: engine(), elders, elderId: 'e-002', photos: await photos('a-3') }));
      expect(err.problems).toEqual([
        expect.objectContaining({ code: 'looks-like-enrolled', message: expect.stringMatching(/looks like elder e-001 \(王秀英\).*distance 0\.12/) as unknown, lookalike: { elderId: 'e-001', name: '王秀英', distance: expect.closeTo(0.12, 5) as unknown } }),
      ]);
      expect(repo.countTemplates('e-002')).toBe(0);
      // The same elder's own new photos are not look-alikes; a stricter distance lets it through.
      await enrolElder({ engine: engine(), elders, elderId: 'e-001', photos: await photos('a-2') });
      await enrolElder({ engine: engine(), elders, elderId: 'e-003', photos: await photos('a-3'), lookalikeDistance: 0.05 });
      await enrolElder({ engine: engine(), elders, elderId: 'e-002', photos: await photos('a-3'), allowLookalike: true });
      expect(repo.countTemplates('e-002')).toBe(1);
    } finally {
      db.close();
    }
  });

  it('stores the engine\'s model with each template and checks look-alikes against that model\'s templates only', async () => {
    const db = openDatabase(':memory:', { migrationsDir });
    try {
      const { elders: repo, store: elders, register } = testRegistry(db);
      for (const [id, name] of [['e-001', '王秀英'], ['e-002', '李桂兰'], ['e-003', 'Li']]) register(id!, name!);
      await enrolElder({ engine: engine(), elders, elderId: 'e-001', photos: await photos('a-1') });
      // Another recognizer of the same length: its descriptors are not comparable with face-api's,
      // so the same numbers under another id are not a look-alike of e-001.
      const other = new FakeEngine(Object.fromEntries(engine().scenes), { id: 'other-128', dimension: 128, alignment: 'arcface-112' });
      await enrolElder({ engine: other, elders, elderId: 'e-002', photos: await photos('a-3') });
      expect(db.prepare('SELECT elder_id, model, dim FROM templates ORDER BY id').all()).toEqual([
        { elder_id: 'e-001', model: 'face-api', dim: 128 },
        { elder_id: 'e-002', model: 'other-128', dim: 128 },
      ]);
      // Within one model the check still runs.
      const err = await refusal(enrolElder({ engine: other, elders, elderId: 'e-003', photos: await photos('a-2') }));
      expect(err.problems).toEqual([expect.objectContaining({ code: 'looks-like-enrolled', message: expect.stringMatching(/looks like elder e-002/) as unknown })]);
      // The door's matcher of one model does not know the other's elders.
      expect(new Matcher(repo.loadTemplates('face-api')).match(A)).toEqual({ kind: 'recognised', elderId: 'e-001', distance: 0 });
      expect(repo.eldersWithoutModel('other-128')).toEqual(['e-001', 'e-003']);
    } finally {
      db.close();
    }
  });

  it('with the real elder repository: templates load into the matcher and recognise the elder', async () => {
    const db = openDatabase(':memory:', { migrationsDir });
    try {
      const { elders: repo, store: elders, register } = testRegistry(db);
      for (const [id, name] of [['e-001', '王秀英'], ['e-002', '李桂兰'], ['e-003', 'Li']]) register(id!, name!);
      await enrolElder({ engine: engine(), elders, elderId: 'e-001', photos: await photos('a-1', 'a-2') });
      expect(repo.countTemplates('e-001')).toBe(2);
      expect(repo.getElder('e-001')?.name).toBe('王秀英');

      // A refused enrolment leaves the database as it was.
      await refusal(enrolElder({ engine: engine(), elders, elderId: 'e-002', photos: await photos('a-3', 'group') }));
      expect(repo.countTemplates('e-002')).toBe(0);
      expect(repo.countTemplates()).toBe(2);

      const matcher = new Matcher(repo.loadTemplates('face-api'));
      expect(matcher.match(descriptorAt(A, 0.2, 77))).toMatchObject({ kind: 'recognised', elderId: 'e-001' });
    } finally {
      db.close();
    }
  });
});
