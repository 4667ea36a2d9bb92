import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics, type EventBatch, type Receipt } from '../../common/contract.ts';
import { createEmbeddedBroker } from '../../server/src/broker.ts';
import { serverSettings } from '../../server/src/config.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { batch, connectDevice, eventually, fixtureClock, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

const receiptTopic = topics.receipts('c1', 'd1');
const eventsTopic = topics.events('c1', 'd1');

function settingsFor(dir: string, overrides: Parameters<typeof serverSettings>[0] = {}) {
  return serverSettings({ dataDir: dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN, logLevel: 'silent', ...overrides });
}

async function publish(device: MqttClient, topic: string, payload: EventBatch | string | Buffer): Promise<void> {
  const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  await device.publishAsync(topic, body, { qos: 1 });
}

async function sendAndAwaitReceipt(device: MqttClient, payload: EventBatch, topic = eventsTopic, rTopic = receiptTopic): Promise<Receipt> {
  const receipt = nextMessage(device, rTopic);
  await publish(device, topic, payload);
  return JSON.parse((await receipt).toString()) as Receipt;
}

describe('MQTT ingest with the embedded broker', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let device: MqttClient;
  /** A second connection: proves what another reader sees, i.e. what is committed. */
  let reader: Database.Database;

  const mealCount = () => (reader.prepare('SELECT count(*) AS n FROM meals').get() as { n: number }).n;
  const deadLetters = () => reader.prepare('SELECT topic, reason, payload_bytes AS bytes FROM dead_letters ORDER BY id').all() as Array<{ topic: string; reason: string; bytes: number }>;

  beforeAll(async () => {
    tmp = tempDir();
    server = await startServer(settingsFor(tmp.dir), { logger: quietLogger, clock: fixtureClock });
    expect(server.embeddedBroker).toBe(true);
    expect(server.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    reader = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
    device = await connectDevice(server.mqttUrl, { clientId: 'edge-c1-d1' });
    await device.subscribeAsync(receiptTopic, { qos: 1 });
  });
  afterAll(async () => {
    await device?.endAsync();
    reader?.close();
    await server?.stop();
    tmp?.cleanup();
  });

  it('commits with synchronous=FULL, so a receipted meal survives power loss, not just a process kill', () => {
    // In WAL mode NORMAL may roll back the last commits on power loss, after their receipt told
    // the edge to delete its copy. 2 = FULL.
    expect(server.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(server.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('speaks MQTT 5 and 3.1.1 (aedes 2)', async () => {
    const v5 = await connectDevice(server.mqttUrl, { protocolVersion: 5 });
    const v4 = await connectDevice(server.mqttUrl, { protocolVersion: 4 });
    expect([v5.connected, v4.connected]).toEqual([true, true]);
    await Promise.all([v5.endAsync(), v4.endAsync()]);
  });

  it('stores a batch and sends the receipt only after the commit', async () => {
    const a = mealEvent({ elderId: 'e1' });
    const b = mealEvent({ elderId: 'e2', method: 'delivery', score: undefined, staffId: 'S1' });
    const seenAtReceipt = new Promise<number>((resolve) => {
      const onMessage = (t: string) => {
        if (t !== receiptTopic) return;
        device.off('message', onMessage);
        // Read synchronously in the receipt handler, through another connection.
        resolve((reader.prepare('SELECT count(*) AS n FROM meals WHERE event_id IN (?, ?)').get(a.eventId, b.eventId) as { n: number }).n);
      };
      device.on('message', onMessage);
    });
    const receipt = await sendAndAwaitReceipt(device, batch(a, b));
    expect(receipt).toEqual({ v: 1, eventIds: [a.eventId, b.eventId] });
    expect(await seenAtReceipt).toBe(2);
  });

  it('counts an eventId delivered twice once, and receipts both deliveries', async () => {
    const before = mealCount();
    const e = mealEvent({ elderId: 'e3' });
    expect((await sendAndAwaitReceipt(device, batch(e))).eventIds).toEqual([e.eventId]);
    expect((await sendAndAwaitReceipt(device, batch(e))).eventIds).toEqual([e.eventId]);
    expect(mealCount()).toBe(before + 1);
  });

  it('receipts a second check-in of the same elder and meal but does not count it', async () => {
    const before = mealCount();
    const first = mealEvent({ elderId: 'e4', meal: 'dinner' });
    const second = mealEvent({ elderId: 'e4', meal: 'dinner' });
    expect((await sendAndAwaitReceipt(device, batch(first, second))).eventIds).toEqual([first.eventId, second.eventId]);
    expect(mealCount()).toBe(before + 1);
    expect(reader.prepare('SELECT count(*) AS n FROM duplicate_attempts WHERE event_id = ?').get(second.eventId)).toEqual({ n: 1 });
  });

  it('puts malformed messages in dead_letters and keeps working', async () => {
    const good = mealEvent({ elderId: 'e5' });
    const bad: Array<[string, string | Buffer, RegExp]> = [
      ['invalid JSON', '{"v":1,"events":[', /^invalid JSON/],
      ['wrong types', JSON.stringify({ v: 1, events: [{ ...mealEvent(), score: 'high' }] }), /^schema: \/events\/0\/score/],
      ['wrong version', JSON.stringify({ v: 2, events: [mealEvent()] }), /^schema: \/v/],
      ['not a timestamp', JSON.stringify({ v: 1, events: [mealEvent({ at: 'yesterday noon' })] }), /^schema: \/events\/0\/at/],
      ['empty batch', JSON.stringify({ v: 1, events: [] }), /^schema: \/events/],
      ['huge string field', JSON.stringify({ v: 1, events: [mealEvent({ elderId: 'x'.repeat(100_000) })] }), /^schema: \/events\/0\/elderId/],
      ['huge payload', Buffer.alloc(600 * 1024, 0x20), /exceeds 524288/],
      ['__proto__ key', `{"v":1,"events":[${JSON.stringify(mealEvent()).slice(0, -1)},"__proto__":{"admin":true}}]}`, /^schema: \/events\/0/],
      ['top-level __proto__', `{"v":1,"__proto__":{"x":1},"events":[${JSON.stringify(mealEvent())}]}`, /^schema: /],
      ['not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x7b]), /^invalid JSON/],
    ];
    const before = deadLetters().length;
    for (const [, payload] of bad) await publish(device, eventsTopic, payload);
    // Another centre's event on this device's topic: that event is refused, the good one kept.
    const foreign = mealEvent({ elderId: 'e6', centreId: 'c2' });
    const receipt = await sendAndAwaitReceipt(device, batch(foreign, good));
    expect(receipt.eventIds).toEqual([good.eventId]);

    const letters = deadLetters().slice(before);
    expect(letters).toHaveLength(bad.length + 1);
    bad.forEach(([name, , reason], i) => expect(letters[i]!.reason, name).toMatch(reason));
    expect(letters.at(-1)!.reason).toContain(`event ${foreign.eventId} names centre c2 / device d1 but arrived on the topic of centre c1 / device d1`);
    expect(letters.every((l) => l.topic === eventsTopic)).toBe(true);
    expect(reader.prepare('SELECT count(*) AS n FROM meals WHERE event_id = ?').get(foreign.eventId)).toEqual({ n: 0 });
    expect(reader.prepare('SELECT elder_id AS e FROM meals WHERE event_id = ?').get(good.eventId)).toEqual({ e: 'e5' });
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();

    // Ingest still works for the next good batch.
    const next = mealEvent({ elderId: 'e7' });
    expect((await sendAndAwaitReceipt(device, batch(next))).eventIds).toEqual([next.eventId]);
  });

  it('tracks device status from the retained status topic', async () => {
    const statusTopic = topics.status('c1', 'd2');
    await device.publishAsync(statusTopic, JSON.stringify({ v: 1, state: 'online', at: '2025-03-10T08:00:00.000Z' }), { qos: 1, retain: true });
    const row = () => reader.prepare('SELECT status, status_at AS statusAt FROM devices WHERE centre_id = ? AND device_id = ?').get('c1', 'd2');
    await eventually(() => (row() as { status?: string } | undefined)?.status === 'online', 10_000, 'online status');
    expect(row()).toEqual({ status: 'online', statusAt: '2025-03-10T08:00:00.000Z' });

    // Last will: the broker publishes offline when the box drops off.
    const box = await connectDevice(server.mqttUrl, {
      clientId: 'edge-c1-d3',
      will: { topic: topics.status('c1', 'd3'), payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline' })), qos: 1, retain: true },
    });
    await box.publishAsync(topics.status('c1', 'd3'), JSON.stringify({ v: 1, state: 'online' }), { qos: 1, retain: true });
    await eventually(() => (reader.prepare('SELECT status FROM devices WHERE device_id = ?').get('d3') as { status?: string } | undefined)?.status === 'online');
    box.stream.destroy(); // an unclean drop, so the will fires
    await eventually(() => (reader.prepare('SELECT status FROM devices WHERE device_id = ?').get('d3') as { status?: string } | undefined)?.status === 'offline', 10_000, 'offline from the will');
    await box.endAsync(true);

    await publish(device, statusTopic, '{"v":1,"state":"asleep"}');
    await eventually(() => deadLetters().some((l) => l.topic === statusTopic), 10_000, 'dead letter for a bad status');
  });

  it('serves the ingested meals over HTTP', async () => {
    const res = await fetch(`${server.httpUrl}/api/v1/stats/meals?from=2025-03-10&to=2025-03-10&groupBy=centre`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: '2025-03-10', to: '2025-03-10', groupBy: ['centre'], rows: [{ centreId: 'c1', meals: mealCount(), voided: 0 }], total: mealCount(), voided: 0, clockFlagged: 0, clockReview: 0 });
    expect((await fetch(`${server.httpUrl}/api/v1/stats/meals?from=2025-03-10&to=2025-03-10`)).status).toBe(401);
    expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
  });
});

describe('MQTT ingest with an external broker', () => {
  const external = createEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: quietLogger });
  let brokerUrl: string;
  let tmp: ReturnType<typeof tempDir>;
  let server: RunningServer | undefined;
  let device: MqttClient | undefined;

  beforeAll(async () => {
    brokerUrl = (await external.start()).url;
    tmp = tempDir();
  });
  afterEach(async () => {
    await device?.endAsync();
    device = undefined;
    await server?.stop();
    server = undefined;
  });
  afterAll(async () => {
    await external.stop();
    tmp?.cleanup();
  });

  // aedes stands in for the external broker here; it speaks 3.1.1 only, hence protocol 4.
  const externalSettings = () => settingsFor(tmp.dir, { mqttUrl: brokerUrl, mqttProtocolVersion: 4, adminToken: undefined });

  it('ingests through a broker given by URL, and generates then reuses the admin token', async () => {
    server = await startServer(externalSettings(), { logger: quietLogger, clock: fixtureClock });
    expect(server.embeddedBroker).toBe(false);
    expect(server.mqttUrl).toBe(brokerUrl);
    expect(server.tokenGenerated).toBe(true);
    const token = server.token;

    device = await connectDevice(brokerUrl, { clientId: 'edge-c1-d1' });
    await device.subscribeAsync(receiptTopic, { qos: 1 });
    const e = mealEvent({ elderId: 'x1' });
    expect((await sendAndAwaitReceipt(device, batch(e))).eventIds).toEqual([e.eventId]);
    expect(server.db.prepare('SELECT count(*) AS n FROM meals').get()).toEqual({ n: 1 });

    await server.stop();
    server = await startServer(externalSettings(), { logger: quietLogger, clock: fixtureClock });
    expect(server.tokenGenerated).toBe(false);
    expect(server.token).toBe(token);
  });

  it('keeps its subscription while the server is down (persistent session) and ingests on return', async () => {
    server = await startServer(externalSettings(), { logger: quietLogger, clock: fixtureClock });
    await server.stop();
    server = undefined;

    device = await connectDevice(brokerUrl, { clientId: 'edge-c1-d1', clean: false });
    await device.subscribeAsync(receiptTopic, { qos: 1 });
    const e = mealEvent({ elderId: 'x2' });
    await publish(device, eventsTopic, batch(e)); // queued by the broker for the absent server
    const receipt = nextMessage(device, receiptTopic);

    server = await startServer(externalSettings(), { logger: quietLogger, clock: fixtureClock });
    expect(JSON.parse((await receipt).toString())).toEqual({ v: 1, eventIds: [e.eventId] });
    const s = server;
    expect(s.db.prepare('SELECT elder_id AS e FROM meals WHERE event_id = ?').get(e.eventId)).toEqual({ e: 'x2' });
  });
});

describe('with the external broker unreachable', () => {
  it('still serves HTTP, keeps retrying, and stops cleanly', async () => {
    const tmp = tempDir();
    // A port that was free a moment ago and has nothing listening now.
    const probe = createEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: quietLogger });
    const { url } = await probe.start();
    await probe.stop();
    const server = await startServer(settingsFor(tmp.dir, { mqttUrl: url }), { logger: quietLogger, clock: fixtureClock, mqttReadyTimeoutMs: 300 });
    try {
      expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
    } finally {
      await server.stop();
      tmp.cleanup();
    }
  });
});
