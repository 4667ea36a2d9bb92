/**
 * Dead letters are bounded: per device and in total, by rows and bytes, and by rate per device.
 * What is not kept is counted and raises the alarm; valid events are never crowded out.
 */
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { topics, type Receipt } from '../../common/contract.ts';
import { createLogger } from '../../common/logger.ts';
import type { Db } from '../../common/sqlite.ts';
import { serverSettings } from '../../server/src/config.ts';
import { createDeadLetterRepository, type DeadLetterLimits } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { DEAD_LETTER_ALARM } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { batch, connectDevice, fixtureClock, mealEvent, nextMessage, openServerDb, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

const t0 = Date.parse('2026-03-10T04:00:00.000Z');
const at = (ms: number) => new Date(t0 + ms);
const topicOf = (c: string, d: string) => topics.events(c, d);
const roomy: DeadLetterLimits = { deviceRows: 1000, deviceBytes: 1e9, totalRows: 1000, totalBytes: 1e9, ratePerSecond: 1000, burst: 1000 };

describe('dead letter repository bounds', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Db;
  beforeEach(() => {
    tmp = tempDir();
    db = openServerDb(tmp.dir);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it.each<[string, Partial<DeadLetterLimits>, string]>([
    ['rows per device', { deviceRows: 3 }, 'device-rows'],
    ['bytes per device', { deviceBytes: 3 * 200 }, 'device-bytes'],
    ['rows in all', { totalRows: 3 }, 'total-rows'],
    ['bytes in all', { totalBytes: 3 * 200 }, 'total-bytes'],
    ['rate per device', { ratePerSecond: 1, burst: 3 }, 'rate'],
  ])('caps %s, counts what it drops and raises the alarm', (_name, limits, reason) => {
    const dl = createDeadLetterRepository(db, { ...roomy, ...limits });
    // ~200 stored bytes each: topic + reason + a 100-byte excerpt.
    const outcomes = Array.from({ length: 10 }, (_, i) => dl.record(topicOf('c1', 'd1'), 'schema: bad', Buffer.from(`${i}`.padEnd(100, 'x')), at(i)).kind);
    expect(outcomes.slice(0, 3)).toEqual(['stored', 'stored', 'stored']);
    expect(outcomes.slice(3)).toEqual(Array(7).fill('dropped'));
    const s = dl.status();
    expect(s).toMatchObject({ rows: 3, dropped: 7, alarm: true });
    expect(s.devices).toEqual([expect.objectContaining({ device: 'c1/d1', rows: 3, dropped: 7, lastReason: reason })]);
    expect(dl.drops()).toEqual([expect.objectContaining({ device: 'c1/d1', dropped: 7, droppedBytes: 700, lastReason: reason })]);
    expect(dl.count()).toBe(3);
  });

  it('bounds a device by its own quota, not the others', () => {
    const dl = createDeadLetterRepository(db, { ...roomy, deviceRows: 2 });
    for (let i = 0; i < 5; i++) dl.record(topicOf('c1', 'd1'), 'bad', `a${i}`, at(i));
    for (let i = 0; i < 2; i++) expect(dl.record(topicOf('c2', 'd1'), 'bad', `b${i}`, at(i)).kind).toBe('stored');
    expect(dl.status().devices.map((d) => [d.device, d.rows, d.dropped])).toEqual([
      ['c1/d1', 2, 3],
      ['c2/d1', 2, 0],
    ]);
  });

  it('refills the rate with time; a repeat of a kept message costs nothing', () => {
    const dl = createDeadLetterRepository(db, { ...roomy, ratePerSecond: 2, burst: 2 });
    expect(['a', 'b', 'c'].map((p) => dl.record(topicOf('c1', 'd1'), 'bad', p, at(0)).kind)).toEqual(['stored', 'stored', 'dropped']);
    expect(dl.record(topicOf('c1', 'd1'), 'bad', 'a', at(1)).kind).toBe('repeated');
    expect(dl.record(topicOf('c1', 'd1'), 'bad', 'd', at(499)).kind).toBe('dropped');
    expect(dl.record(topicOf('c1', 'd1'), 'bad', 'e', at(1000)).kind).toBe('stored');
    expect(dl.list().find((d) => d.payloadExcerpt === 'a')?.attempts).toBe(2);
  });

  it('keeps its counts across a restart, and a clear ends the alarm', () => {
    const limits = { ...roomy, deviceRows: 1 };
    const dl = createDeadLetterRepository(db, limits);
    dl.record(topicOf('c1', 'd1'), 'bad', 'a', at(0));
    dl.record(topicOf('c1', 'd1'), 'bad', 'b', at(1));
    dl.flush();
    const again = createDeadLetterRepository(db, limits);
    expect(again.status()).toMatchObject({ rows: 1, dropped: 1, alarm: true });
    expect(again.record(topicOf('c1', 'd1'), 'bad', 'c', at(2)).kind).toBe('dropped');
    expect(again.clear()).toBe(1);
    expect(again.status()).toMatchObject({ rows: 0, dropped: 0, alarm: false, devices: [] });
    expect(again.record(topicOf('c1', 'd1'), 'bad', 'd', at(3)).kind).toBe('stored');
  });

  it('raises the alarm at 80% of a total bound, before anything is dropped', () => {
    const dl = createDeadLetterRepository(db, { ...roomy, totalRows: 10 });
    for (let i = 0; i < 7; i++) dl.record(topicOf(`c${i}`, 'd1'), 'bad', `${i}`, at(i));
    expect(dl.status().alarm).toBe(false);
    dl.record(topicOf('c7', 'd1'), 'bad', '7', at(8));
    expect(dl.status()).toMatchObject({ rows: 8, dropped: 0, alarm: true });
  });
});

describe('a device login flooding junk over the broker', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let log = '';
  beforeAll(async () => {
    tmp = tempDir();
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        log += chunk.toString();
        cb();
      },
    });
    server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: createLogger('test', 'warn', sink), clock: fixtureClock });
  });
  afterAll(async () => {
    await server?.stop();
    tmp?.cleanup();
  });

  it('keeps the table small, counts the rest, raises the alarm, and still stores and receipts a valid batch', async () => {
    const device = await connectDevice(server.mqttUrl, { clientId: 'edge-c1-d1' });
    try {
      await device.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
      const JUNK = 5000;
      const started = Date.now();
      for (let i = 0; i < JUNK; i++) await device.publishAsync(topics.events('c1', 'd1'), `{"v":1,"events":[{"junk":${i},"pad":"${'x'.repeat(3000)}"}]}`, { qos: 1 });
      const seconds = (Date.now() - started) / 1000;

      const good = mealEvent();
      const receipt = nextMessage(device, topics.receipts('c1', 'd1'));
      await device.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(good)), { qos: 1 });
      expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([good.eventId]);
      expect(server.db.prepare('SELECT count(*) FROM meals WHERE event_id = ?').pluck().get(good.eventId)).toBe(1);

      const res = await server.app.inject({ method: 'GET', url: '/api/v1/dead-letters?limit=5', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ status: { rows: number; bytes: number; dropped: number; alarm: boolean; limits: DeadLetterLimits }; deadLetters: unknown[] }>();
      const { limits } = body.status;
      // The burst, then the sustained rate over the seconds the flood took (the flood is
      // faster than 5 a second on any machine), never more than the device's rows.
      expect(body.status.rows).toBeLessThanOrEqual(Math.min(limits.deviceRows, limits.burst + Math.ceil(seconds * limits.ratePerSecond) + 1));
      expect(body.status.rows + body.status.dropped).toBe(JUNK);
      expect(body.status.bytes).toBeLessThanOrEqual(limits.deviceBytes);
      expect(body.status.alarm).toBe(true);
      expect(body.deadLetters).toHaveLength(5);
      const status = await server.app.inject({ method: 'GET', url: '/api/v1/status', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect(status.json()).toMatchObject({ ingest: { meals: 1 }, deadLetters: { rows: body.status.rows, bytes: body.status.bytes, dropped: body.status.dropped, alarm: true } });

      // One log line per kept dead letter; the drops give one alarm line, not thousands.
      const lines = log.trim().split('\n');
      expect(lines.filter((l) => l.includes('message rejected to dead letters')).length).toBe(body.status.rows);
      const alarms = lines.filter((l) => l.includes(DEAD_LETTER_ALARM));
      expect(alarms.length).toBeGreaterThanOrEqual(1);
      expect(alarms.length).toBeLessThanOrEqual(1 + Math.ceil(seconds / 60));

      const cleared = await server.app.inject({ method: 'DELETE', url: '/api/v1/dead-letters', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect(cleared.json()).toEqual({ cleared: body.status.rows });
      const after = await server.app.inject({ method: 'GET', url: '/api/v1/dead-letters', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect(after.json()).toMatchObject({ status: { rows: 0, dropped: 0, alarm: false }, deadLetters: [], drops: [] });
    } finally {
      await device.endAsync();
    }
  }, 120_000);

  it('refuses the dead-letter routes without the token', async () => {
    for (const method of ['GET', 'DELETE'] as const) expect((await server.app.inject({ method, url: '/api/v1/dead-letters' })).statusCode).toBe(401);
  });
});
