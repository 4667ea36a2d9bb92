/**
 * Property-based fuzzing (fast-check) of the server's MQTT message handling, with the real ingest
 * (its message handler, without a broker) on a real SQLite database: arbitrary bytes, arbitrary
 * JSON and mutations of valid event batches (fields dropped, wrong types, huge strings, unicode,
 * numbers at limits, nested junk). Never a throw, never a server error; every payload is
 * ingested, or dead-lettered with a reason; a valid event sent after each hostile payload is
 * stored exactly once. Bounded runs (FUZZ_RUNS, default 150 per property).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { createDeadLetterRepository } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest, type MessageOutcome } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { createVoidRepository } from '../../server/src/modules/meals/void-repository.ts';
import { createRecordIngest } from '../../server/src/modules/records/record-ingest.ts';
import { fixtureClock, mealEvent, openServerDb, quietLogger, tempDir, testIngest } from '../helpers/server-fixtures.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const TOPIC = topics.events('c1', 'd1');

/** Values that break a field: wrong types, limits, unicode, huge strings, nested junk. */
const junk = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, Infinity, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, Number.MIN_VALUE, '', '\u0000', '\uD800', 'x'.repeat(100_000), '__proto__', [], {}),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 4 }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":1}}') as unknown),
);

const FIELDS = ['eventId', 'elderId', 'centreId', 'deviceId', 'serviceDate', 'meal', 'at', 'method', 'score', 'cameraId', 'staffId', 'reviewedBy', 'kind', 'extra'];

/** A valid batch with one event changed: a field dropped or set to junk, or the batch itself changed. */
const mutatedBatch = fc
  .record({
    field: fc.constantFrom(...FIELDS),
    value: junk,
    drop: fc.boolean(),
    where: fc.constantFrom('event', 'batch-v', 'batch-events', 'batch-extra'),
  })
  .map(({ field, value, drop, where }) => {
    const event: Record<string, unknown> = { ...mealEvent({ elderId: 'fuzzed' }) };
    const b: Record<string, unknown> = { v: 1, events: [event] };
    if (where === 'event') {
      if (drop) delete event[field];
      else event[field] = value;
    } else if (where === 'batch-v') b['v'] = value;
    else if (where === 'batch-events') b['events'] = value;
    else b[field] = value;
    return Buffer.from(JSON.stringify(b) ?? 'undefined');
  });

describe('fuzz: MQTT ingest message handling', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Db;
  let ingest: ReturnType<typeof createMqttIngest>;
  let n = 0;

  beforeAll(() => {
    tmp = tempDir();
    db = openServerDb(tmp.dir);
    ingest = testIngest(db);
  });
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  const storedTimes = (eventId: string) => db.prepare('SELECT count(*) FROM meals WHERE event_id = ?').pluck().get(eventId) as number;

  /** Handles the hostile payload, then a valid event: the outcome is accounted for, the valid event stored once. */
  const check = (topic: string, payload: Buffer): void => {
    let out: MessageOutcome | undefined;
    expect(() => (out = ingest.handle(topic, payload))).not.toThrow();
    expect(['ingested', 'dead-letter', 'status', 'time', 'ignored']).toContain(out!.kind);
    if (out!.kind === 'dead-letter') expect(out!.reason.length).toBeGreaterThan(0);
    const good = mealEvent({ elderId: `good-${n++}` });
    const body = Buffer.from(JSON.stringify({ v: 1, events: [good] }));
    expect(ingest.handle(TOPIC, body)).toMatchObject({ kind: 'ingested', result: { stored: 1 } });
    expect(ingest.handle(TOPIC, body)).toMatchObject({ kind: 'ingested', result: { stored: 0, known: 1 } });
    expect(storedTimes(good.eventId)).toBe(1);
  };

  it('arbitrary bytes on the device topics', () => {
    const topic = fc.constantFrom(TOPIC, topics.status('c1', 'd1'), topics.time('c1', 'd1'), 'mealcheck/x', '');
    fc.assert(fc.property(topic, fc.uint8Array({ maxLength: 2000 }), (t, bytes) => check(t, Buffer.from(bytes))), { numRuns: RUNS });
  });

  it('arbitrary JSON on the events and status topics', () => {
    const topic = fc.constantFrom(TOPIC, topics.status('c1', 'd1'));
    fc.assert(fc.property(topic, fc.jsonValue({ maxDepth: 6 }), (t, v) => check(t, Buffer.from(JSON.stringify(v) ?? ''))), { numRuns: RUNS });
  });

  it('mutations of a valid event batch', () => {
    fc.assert(fc.property(mutatedBatch, (payload) => check(TOPIC, payload)), { numRuns: RUNS });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('fuzz regressions: MQTT ingest', () => {
  it('dead-letters JSON null on the events topic (was a server error: null.events)', () => {
    const tmp = tempDir();
    const db = openServerDb(tmp.dir);
    try {
      const voids = createVoidRepository(db);
      const ingest = createMqttIngest({ url: 'mqtt://127.0.0.1:1', protocolVersion: 4, clientId: 'test', db, meals: createMealRepository(db, { voids }), records: createRecordIngest(db, [voids]), deadLetters: createDeadLetterRepository(db), devices: createDeviceRepository(db), clock: fixtureClock, logger: quietLogger });
      expect(ingest.handle(TOPIC, Buffer.from('null'))).toMatchObject({ kind: 'dead-letter', reason: expect.stringMatching(/^schema:/) });
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});
