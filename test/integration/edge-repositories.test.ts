import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MealEvent } from '../../common/contract.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import { SEAL_OVERHEAD, templateVaultOf } from '../../edge/src/elders/template-vault.ts';
import { createElderRepository, DESCRIPTOR_LENGTH, encodeDescriptor, FACE_API_MODEL, type TemplateModel } from '../../edge/src/elders/elder-repository.ts';
import { createReviewRepository } from '../../edge/src/review/review-repository.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { counterIds, EDGE_MIGRATIONS, edgeTempDir, openEdgeDb } from '../helpers/edge-fixtures.ts';

function descriptor(seed: number): Float32Array {
  return Float32Array.from({ length: DESCRIPTOR_LENGTH }, (_, i) => Math.sin(seed * 1000 + i) * 0.3);
}

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('edge database', () => {
  it('is migrated, in WAL mode with synchronous=FULL', () => {
    // Every numbered migration applied (they are numbered 1, 2, ... without gaps).
    expect(db.pragma('user_version', { simple: true })).toBe(readdirSync(EDGE_MIGRATIONS).filter((f) => /^\d{3}-[\w-]+\.sql$/.test(f)).length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });
});

describe('elder repository', () => {
  it('upserts, renames and lists elders with their template counts', () => {
    const elders = createElderRepository(db, () => new Date('2025-03-10T01:00:00Z'));
    elders.upsertElder('e2', '李建国');
    elders.upsertElder('e1', '王秀英');
    elders.addTemplate('e1', descriptor(1), 'idcard.jpg', FACE_API_MODEL);
    elders.upsertElder('e1', '王秀英（新）');
    expect(elders.getElder('e1')).toEqual({ elderId: 'e1', name: '王秀英（新）', createdAt: '2025-03-10T01:00:00.000Z', status: 'active' });
    expect(elders.getElder('nobody')).toBeUndefined();
    expect(elders.listElders()).toEqual([
      { elderId: 'e1', name: '王秀英（新）', createdAt: '2025-03-10T01:00:00.000Z', status: 'active', templateCount: 1, templateModels: { 'face-api': 1 } },
      { elderId: 'e2', name: '李建国', createdAt: '2025-03-10T01:00:00.000Z', status: 'active', templateCount: 0, templateModels: {} },
    ]);
  });

  it('stores descriptors sealed (128 little-endian float32 inside) and loads them contiguously', () => {
    const elders = createElderRepository(db);
    elders.upsertElder('e1', 'A');
    elders.upsertElder('e2', 'B');
    const d1 = descriptor(1);
    const d2 = descriptor(2);
    const d3 = descriptor(3);
    elders.addTemplate('e1', d1, 'a.jpg', FACE_API_MODEL);
    elders.addTemplate('e2', d2, 'b.jpg', FACE_API_MODEL);
    elders.addTemplate('e1', d3, 'live-1', FACE_API_MODEL);

    const blob = db.prepare<[], { descriptor: Buffer }>('SELECT descriptor FROM templates ORDER BY id LIMIT 1').get()!.descriptor;
    // Sealed (template-vault.ts): version, iv, tag, then the 512 bytes encrypted.
    expect(blob.length).toBe(512 + SEAL_OVERHEAD);
    const plain = templateVaultOf(db).open('e1', 'face-api', blob);
    expect(plain.readFloatLE(4)).toBe(d1[1]);
    expect(blob.includes(plain.subarray(0, 16))).toBe(false);

    const set = elders.loadTemplates('face-api');
    expect(set.elderIds).toEqual(['e1', 'e2', 'e1']);
    expect(set).toMatchObject({ dim: 128, model: 'face-api' });
    expect(set.descriptors).toHaveLength(3 * 128);
    expect(set.descriptors.subarray(0, 128)).toEqual(d1);
    expect(set.descriptors.subarray(128, 256)).toEqual(d2);
    expect(set.descriptors.subarray(256, 384)).toEqual(d3);
    expect(elders.countTemplates()).toBe(3);
    expect(elders.countTemplates('e1')).toBe(2);
    expect(elders.countTemplates('e3')).toBe(0);
  });

  it('loads an empty template set', () => {
    expect(createElderRepository(db).loadTemplates('face-api')).toEqual({ elderIds: [], descriptors: new Float32Array(0), model: 'face-api' });
  });

  it('removes an elder with their templates and keeps their meals', () => {
    const elders = createElderRepository(db);
    elders.upsertElder('e1', '王秀英');
    elders.addTemplate('e1', descriptor(1), 'a.jpg', FACE_API_MODEL);
    elders.addTemplate('e1', descriptor(2), 'b.jpg', FACE_API_MODEL);
    elders.upsertElder('e2', '李建国');
    elders.addTemplate('e2', descriptor(3), 'c.jpg', FACE_API_MODEL);
    db.prepare("INSERT INTO check_ins (event_id, elder_id, service_date, meal, at, method) VALUES ('ev1', 'e1', '2025-03-10', 'lunch', '2025-03-10T04:00:00Z', 'face')").run();

    expect(elders.removeElder('e1')).toEqual({ name: '王秀英', templates: 2 });
    expect(elders.getElder('e1')).toBeUndefined();
    expect(elders.loadTemplates('face-api').elderIds).toEqual(['e2']);
    expect(db.prepare("SELECT count(*) AS n FROM check_ins WHERE elder_id = 'e1'").get()).toEqual({ n: 1 });
    expect(elders.removeElder('e1')).toBeUndefined();
    expect(elders.removeElder('nobody')).toBeUndefined();
  });

  it('moves its templates version on every insert and delete, seen from another connection too', () => {
    const elders = createElderRepository(db);
    const otherDb = openEdgeDb(tmp.dir);
    const other = createElderRepository(otherDb);
    let last: string | undefined;
    const step = () => {
      const v = other.templatesVersion();
      expect(elders.templatesVersion()).toBe(v);
      expect(v).not.toBe(last);
      last = v;
    };
    step();
    elders.upsertElder('e1', '王秀英');
    elders.addTemplate('e1', descriptor(1), 'a.jpg', FACE_API_MODEL);
    step();
    elders.upsertElder('e2', '李建国');
    elders.addTemplate('e2', descriptor(2), 'b.jpg', FACE_API_MODEL);
    step();
    // One out, one in, in one transaction: same count, yet a new version (ids are never reused).
    db.transaction(() => {
      elders.removeElder('e2');
      elders.upsertElder('e3', '张桂英');
      elders.addTemplate('e3', descriptor(3), 'c.jpg', FACE_API_MODEL);
    })();
    step();
    elders.removeElder('e3');
    step();
    // A rename is not a change of templates.
    const before = elders.templatesVersion();
    elders.upsertElder('e1', '王秀英（新）');
    expect(elders.templatesVersion()).toBe(before);
    otherDb.close();
  });

  it('refuses bad input', () => {
    const elders = createElderRepository(db);
    expect(() => elders.upsertElder('a/b', 'X')).toThrow(/invalid elder id/);
    expect(() => elders.upsertElder('e1', '  ')).toThrow(/needs a name/);
    elders.upsertElder('e1', 'A');
    expect(() => elders.addTemplate('e1', new Float32Array(127), 'x', FACE_API_MODEL)).toThrow(/has 128 values, got 127/);
    expect(() => elders.addTemplate('e1', descriptor(1).fill(Number.NaN, 3, 4), 'x', FACE_API_MODEL)).toThrow(/NaN/);
    expect(() => elders.addTemplate('nobody', descriptor(1), 'x', FACE_API_MODEL)).toThrow(/FOREIGN KEY/);
    expect(elders.countTemplates()).toBe(0);
  });
});

describe('outbox repository', () => {
  const ids = counterIds();
  const event = (elderId: string): MealEvent => ({
    eventId: ids.next(),
    elderId,
    centreId: 'c1',
    deviceId: 'd1',
    serviceDate: '2025-03-10',
    meal: 'lunch',
    at: '2025-03-10T03:00:00.000Z',
    method: 'face',
    score: 0.3,
  });

  it('queues in order, takes the oldest, bumps attempts and deletes by event id', () => {
    const outbox = createOutboxRepository(db);
    const events = ['a', 'b', 'c', 'd'].map(event);
    for (const e of events) outbox.enqueue(e, e.at);
    expect(outbox.pendingCount()).toBe(4);

    const first = outbox.takeOldest(2);
    expect(first.map((r) => r.event)).toEqual(events.slice(0, 2));
    expect(first[0]).toMatchObject({ eventId: events[0]!.eventId, attempts: 0, createdAt: events[0]!.at });
    expect(first[0]!.lastAttemptAt).toBeUndefined();
    const rest = outbox.takeOldest(10, first[1]!.seq);
    expect(rest.map((r) => r.eventId)).toEqual(events.slice(2).map((e) => e.eventId));

    outbox.bumpAttempts([events[0]!.eventId, events[1]!.eventId], '2025-03-10T03:00:01.000Z');
    outbox.bumpAttempts([events[0]!.eventId], '2025-03-10T03:00:11.000Z');
    expect(outbox.takeOldest(1)[0]).toMatchObject({ attempts: 2, lastAttemptAt: '2025-03-10T03:00:11.000Z' });

    expect(outbox.deleteByEventIds([events[1]!.eventId, events[3]!.eventId, 'not-ours'])).toBe(2);
    expect(outbox.deleteByEventIds([])).toBe(0);
    expect(outbox.takeOldest(10).map((r) => r.eventId)).toEqual([events[0]!.eventId, events[2]!.eventId]);
    expect(outbox.pendingCount()).toBe(2);
  });

  it('holds one row per event', () => {
    const outbox = createOutboxRepository(db);
    const e = event('a');
    outbox.enqueue(e, e.at);
    expect(() => outbox.enqueue(e, e.at)).toThrow(/UNIQUE/);
  });
});

describe('templates know their model', () => {
  const FR: TemplateModel = { id: 'fr-feature', dimension: 512 };
  function unit512(seed: number): Float32Array {
    const v = Float32Array.from({ length: 512 }, (_, i) => Math.sin(seed * 7919 + i));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  }

  it('stores each template with its model and dimension, and loads one model only', () => {
    const elders = createElderRepository(db);
    elders.upsertElder('e1', 'A');
    elders.upsertElder('e2', 'B');
    elders.addTemplate('e1', descriptor(1), 'a.jpg', FACE_API_MODEL);
    elders.addTemplate('e1', unit512(1), 'a.jpg', FR);
    elders.addTemplate('e2', unit512(2), 'b.jpg', FR);

    expect(db.prepare('SELECT model, dim, length(descriptor) AS bytes FROM templates ORDER BY id').all()).toEqual([
      { model: 'face-api', dim: 128, bytes: 512 + SEAL_OVERHEAD },
      { model: 'fr-feature', dim: 512, bytes: 2048 + SEAL_OVERHEAD },
      { model: 'fr-feature', dim: 512, bytes: 2048 + SEAL_OVERHEAD },
    ]);
    const fr = elders.loadTemplates('fr-feature');
    expect(fr).toMatchObject({ elderIds: ['e1', 'e2'], dim: 512, model: 'fr-feature' });
    expect(fr.descriptors.subarray(512, 1024)).toEqual(unit512(2));
    expect(elders.loadTemplates('face-api')).toMatchObject({ elderIds: ['e1'], dim: 128 });
    expect(elders.loadTemplates('another')).toEqual({ elderIds: [], descriptors: new Float32Array(0), model: 'another' });
    expect(elders.listElders().map((e) => e.templateModels)).toEqual([{ 'face-api': 1, 'fr-feature': 1 }, { 'fr-feature': 1 }]);

    // A descriptor must have its model's dimension.
    expect(() => elders.addTemplate('e1', descriptor(2), 'x', FR)).toThrow(/512 values, got 128/);
    expect(() => elders.addTemplate('e1', unit512(3), 'x', { id: '', dimension: 512 })).toThrow(/model id/);
  });

  it('refuses to load a model whose templates disagree on their dimension', () => {
    const elders = createElderRepository(db);
    elders.upsertElder('e1', 'A');
    elders.addTemplate('e1', unit512(1), 'a.jpg', FR);
    elders.addTemplate('e1', descriptor(1), 'b.jpg', { id: 'fr-feature', dimension: 128 });
    expect(() => elders.loadTemplates('fr-feature')).toThrow(/both 512-d and 128-d/);
  });

  it('lists the elders with no template of a model: they need re-enrolment', () => {
    const elders = createElderRepository(db);
    for (const id of ['e1', 'e2', 'e3']) {
      elders.upsertElder(id, id);
      elders.addTemplate(id, descriptor(id.charCodeAt(1)), 'a.jpg', FACE_API_MODEL);
    }
    expect(elders.eldersWithoutModel('fr-feature')).toEqual(['e1', 'e2', 'e3']);
    elders.addTemplate('e2', unit512(2), 'live', FR);
    expect(elders.eldersWithoutModel('fr-feature')).toEqual(['e1', 'e3']);
    expect(elders.eldersWithoutModel('face-api')).toEqual([]);
    elders.removeElder('e1');
    expect(elders.eldersWithoutModel('fr-feature')).toEqual(['e3']);
  });

  it('migrates an existing database: its templates stay, as face-api 128-d, and ids are not reused', () => {
    // A database as the edge left it before migration 005.
    const old = join(tmp.dir, 'old-migrations');
    mkdirSync(old);
    for (const f of readdirSync(EDGE_MIGRATIONS).filter((f) => /^00[1-4]-/.test(f))) copyFileSync(join(EDGE_MIGRATIONS, f), join(old, f));
    const file = join(tmp.dir, 'before.db');
    const before = openDatabase(file, { migrationsDir: old });
    expect(before.pragma('user_version', { simple: true })).toBe(4);
    before.prepare("INSERT INTO elders VALUES ('e1', '王秀英', '2025-01-01T00:00:00Z'), ('e2', '李建国', '2025-01-01T00:00:00Z')").run();
    const insert = before.prepare("INSERT INTO templates (elder_id, descriptor, source, created_at) VALUES (?, ?, ?, '2025-01-01T00:00:00Z')");
    insert.run('e1', encodeDescriptor(descriptor(1)), 'a.jpg');
    insert.run('e2', encodeDescriptor(descriptor(2)), 'b.jpg');
    insert.run('e2', encodeDescriptor(descriptor(3)), 'c.jpg');
    // The newest template deleted: its id (3) must not come back.
    before.prepare('DELETE FROM templates WHERE id = 3').run();
    before.close();

    const after = openDatabase(file, { migrationsDir: EDGE_MIGRATIONS });
    try {
      const elders = createElderRepository(after);
      const set = elders.loadTemplates('face-api');
      expect(set).toMatchObject({ elderIds: ['e1', 'e2'], dim: 128, model: 'face-api' });
      expect(set.descriptors.subarray(128, 256)).toEqual(descriptor(2));
      expect(after.prepare('SELECT id, model, dim, source FROM templates ORDER BY id').all()).toEqual([
        { id: 1, model: 'face-api', dim: 128, source: 'a.jpg' },
        { id: 2, model: 'face-api', dim: 128, source: 'b.jpg' },
      ]);
      expect(elders.addTemplate('e1', unit512(1), 'live', FR)).toBe(4);
      // Still cascades with the elder, still checks its elder exists.
      expect(elders.removeElder('e2')).toEqual({ name: '李建国', templates: 1 });
      expect(() => elders.addTemplate('nobody', descriptor(1), 'x', FACE_API_MODEL)).toThrow(/FOREIGN KEY/);
      expect(after.pragma('foreign_key_check')).toEqual([]);
    } finally {
      after.close();
    }
  });
});

describe('review items (edge migration 013)', () => {
  it('upgrades a queue kept before the kind `clock`: items and crops stay, and `clock` items can be kept', () => {
    const old = join(tmp.dir, 'before-013');
    mkdirSync(old);
    for (const f of readdirSync(EDGE_MIGRATIONS).filter((f) => /^0(0\d|1[0-2])-/.test(f))) copyFileSync(join(EDGE_MIGRATIONS, f), join(old, f));
    const file = join(tmp.dir, 'before.db');
    const before = openDatabase(file, { migrationsDir: old });
    expect(before.pragma('user_version', { simple: true })).toBe(12);
    before.prepare("INSERT INTO review_items (id, kind, at, camera_id, nearest, crop) VALUES ('r1', 'unknown', '2026-11-28T04:00:00.000Z', 'door', '[{\"elderId\":\"E1\",\"distance\":0.6}]', x'ffd8ff')").run();
    before.prepare("INSERT INTO review_items (id, kind, at, camera_id, status, decided_at, decided_by, elder_id, event_id) VALUES ('r2', 'margin', '2026-11-28T04:01:00.000Z', 'door', 'assigned', '2026-11-28T04:05:00.000Z', 'S01', 'E2', 'ev2')").run();
    expect(() => before.prepare("INSERT INTO review_items (id, kind, at, camera_id) VALUES ('r3', 'clock', '2026-11-28T04:02:00.000Z', 'door')").run()).toThrow(/CHECK/);
    before.close();

    const after = openDatabase(file, { migrationsDir: EDGE_MIGRATIONS });
    try {
      const reviews = createReviewRepository(after);
      expect(reviews.get('r1')).toMatchObject({ kind: 'unknown', status: 'pending', hasCrop: true, nearest: [{ elderId: 'E1', distance: 0.6 }] });
      expect(reviews.crop('r1')).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      expect(reviews.get('r2')).toMatchObject({ kind: 'margin', status: 'assigned', decidedBy: 'S01', elderId: 'E2', eventId: 'ev2', hasCrop: false });
      reviews.insert({ id: 'r3', kind: 'clock', at: '2026-11-28T04:02:00.000Z', cameraId: 'door', nearest: [] }, null);
      expect(reviews.summary()).toEqual({ pending: 2, oldestAt: '2026-11-28T04:00:00.000Z', byKind: { unknown: 1, margin: 0, antispoof: 0, clock: 1 } });
      expect(() => after.prepare("INSERT INTO review_items (id, kind, at, camera_id) VALUES ('r4', 'bogus', '2026-11-28T04:02:00.000Z', 'door')").run()).toThrow(/CHECK/);
      // The index of the pending list survived the rebuild.
      expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'review_items'").pluck().all()).toContain('review_items_status_at');
    } finally {
      after.close();
    }
  });
});
