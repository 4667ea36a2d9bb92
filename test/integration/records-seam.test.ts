/**
 * Records (common/records.ts) travel like meal events: the edge's outbox takes them in the
 * change's transaction, a batch mixes them with meals, and the server keeps each eventId once,
 * hands it to its type's handler, tells a re-send from a conflict, and receipts them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventBatch, topics, type BatchEvent, type VoidRecord } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { createDeadLetterRepository } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { createRecordIngest, type RecordHandler } from '../../server/src/modules/records/record-ingest.ts';
import { edgeTempDir, openEdgeDb } from '../helpers/edge-fixtures.ts';
import { allDayCentre, fixtureClock, mealEvent, openServerDb, quietLogger, tempDir } from '../helpers/server-fixtures.ts';

const eventsTopic = topics.events('c1', 'd1');

function voidRecord(overrides: Partial<VoidRecord> = {}): VoidRecord {
  return {
    type: 'void',
    eventId: '01900000-0000-7000-8000-00000000a001',
    centreId: 'c1',
    deviceId: 'd1',
    at: '2025-03-10T11:30:00.000Z',
    voids: '01900000-0000-7000-8000-000000000001',
    reason: 'wrong elder',
    staffId: 'S01',
    ...overrides,
  };
}

const payload = (events: BatchEvent[]) => Buffer.from(JSON.stringify({ v: 1, events }));

describe('the contract takes records beside meal events', () => {
  it('parses a batch that mixes meal events and records', () => {
    const r = parseEventBatch(payload([mealEvent(), voidRecord()]));
    expect(r.ok).toBe(true);
  });

  it('names the record and the field that is wrong', () => {
    const r = parseEventBatch(payload([mealEvent(), voidRecord({ reason: '' })]));
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.error).toMatch(/^schema: \/events\/1\/reason .*\(void record\)$/);
  });

  it('names an unknown record type', () => {
    const r = parseEventBatch(JSON.stringify({ v: 1, events: [{ ...voidRecord(), type: 'teleport' }] }));
    expect(!r.ok && r.error).toMatch(/\/events\/0\/type must be one of void, elder, audit/);
  });

  it('refuses a record with a field the contract does not know (no blob rides along)', () => {
    const r = parseEventBatch(JSON.stringify({ v: 1, events: [{ ...voidRecord(), descriptor: [0.1, 0.2] }] }));
    expect(r.ok).toBe(false);
  });
});

describe('server: records ingest', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Db;
  let applied: VoidRecord[];
  let failOn: string | undefined;
  let ingest: ReturnType<typeof createMqttIngest>;

  beforeEach(() => {
    tmp = tempDir();
    db = openServerDb(tmp.dir);
    allDayCentre(db, 'c1');
    applied = [];
    failOn = undefined;
    // A handler that writes to a table of its own, as a feature's handler does.
    db.exec('CREATE TABLE test_voids (event_id TEXT PRIMARY KEY, voids TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO test_voids (event_id, voids) VALUES (?, ?)');
    const voids: RecordHandler<'void'> = {
      type: 'void',
      apply(r) {
        if (r.reason === failOn) throw new Error('disk full');
        insert.run(r.eventId, r.voids);
        applied.push(r);
      },
    };
    ingest = createMqttIngest({
      url: 'mqtt://127.0.0.1:1',
      protocolVersion: 4,
      clientId: 'test',
      db,
      meals: createMealRepository(db),
      records: createRecordIngest(db, [voids as RecordHandler]),
      deadLetters: createDeadLetterRepository(db),
      devices: createDeviceRepository(db),
      clock: fixtureClock,
      logger: quietLogger,
    });
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  const count = (sql: string) => db.prepare(sql).pluck().get() as number;

  it('stores a record once, applies it once, and receipts it with the meals of its batch', () => {
    const meal = mealEvent();
    const out = ingest.handle(eventsTopic, payload([meal, voidRecord()]));
    expect(out).toMatchObject({ kind: 'ingested', result: { stored: 2, known: 0 } });
    expect(out.kind === 'ingested' && out.result.receipted.sort()).toEqual([meal.eventId, voidRecord().eventId].sort());
    expect(applied).toHaveLength(1);
    expect(count('SELECT count(*) FROM records')).toBe(1);

    const again = ingest.handle(eventsTopic, payload([voidRecord()]));
    expect(again).toMatchObject({ kind: 'ingested', result: { stored: 0, known: 1, receipted: [voidRecord().eventId] } });
    expect(applied).toHaveLength(1);
  });

  it('keeps another record under a used eventId as a conflict, the first version standing', () => {
    ingest.handle(eventsTopic, payload([voidRecord()]));
    const out = ingest.handle(eventsTopic, payload([voidRecord({ reason: 'changed my mind' })]));
    expect(out).toMatchObject({ kind: 'ingested', result: { stored: 0, known: 0, conflicts: [voidRecord().eventId] } });
    expect(applied.map((r) => r.reason)).toEqual(['wrong elder']);
    expect(JSON.parse(db.prepare('SELECT version FROM record_conflicts').pluck().get() as string)).toMatchObject({ reason: 'changed my mind' });
    // The same conflicting version again is kept once.
    ingest.handle(eventsTopic, payload([voidRecord({ reason: 'changed my mind' })]));
    expect(count('SELECT count(*) FROM record_conflicts')).toBe(1);
  });

  it("rejects a record naming another box than its topic's, to dead letters, unreceipted", () => {
    const out = ingest.handle(eventsTopic, payload([voidRecord({ centreId: 'c2' })]));
    expect(out).toMatchObject({ kind: 'ingested', result: { stored: 0, receipted: [] } });
    expect(applied).toHaveLength(0);
    expect(db.prepare('SELECT reason FROM dead_letters').pluck().get()).toMatch(/names centre c2/);
  });

  it('rejects a record type the server has no handler for, so the edge keeps it and re-sends it', () => {
    const elder = { type: 'elder' as const, eventId: '01900000-0000-7000-8000-00000000b001', centreId: 'c1', deviceId: 'd1', at: '2025-03-10T11:30:00.000Z', elderId: 'E001', revision: 1, removed: false };
    const out = ingest.handle(eventsTopic, payload([elder]));
    expect(out).toMatchObject({ kind: 'ingested', result: { stored: 0, receipted: [] } });
    expect(count('SELECT count(*) FROM records')).toBe(0);
    expect(db.prepare('SELECT reason FROM dead_letters').pluck().get()).toMatch(/no handler for elder records/);
  });

  it('rolls the whole batch back when a handler fails: nothing stored, nothing receipted', () => {
    failOn = 'boom';
    const meal = mealEvent();
    const out = ingest.handle(eventsTopic, payload([meal, voidRecord({ reason: 'boom' })]));
    expect(out.kind).toBe('failed');
    expect(count('SELECT count(*) FROM meals')).toBe(0);
    expect(count('SELECT count(*) FROM records')).toBe(0);
    expect(count('SELECT count(*) FROM test_voids')).toBe(0);
  });
});

describe('edge: the outbox forwards records', () => {
  it('takes a record in the same order as meal events and returns it as enqueued', () => {
    const tmp = edgeTempDir();
    const db = openEdgeDb(tmp.dir);
    try {
      const outbox = createOutboxRepository(db);
      const meal = mealEvent();
      outbox.enqueue(meal, meal.at);
      outbox.enqueue(voidRecord(), voidRecord().at);
      expect(outbox.takeOldest(10).map((r) => r.event)).toEqual([meal, voidRecord()]);
      expect(outbox.deleteByEventIds([voidRecord().eventId])).toBe(1);
      expect(outbox.pendingCount()).toBe(1);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});
