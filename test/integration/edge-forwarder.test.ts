/**
 * The forwarder against a real aedes broker, with a small receipt responder standing in for
 * the server: rows leave the outbox only on a receipt, in seq order, and survive a broker
 * that is down, silent or restarted.
 */
import { createServer, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventBatch, topics, type DeviceStatus, type EventBatch } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { Forwarder, type ForwarderOptions } from '../../edge/src/sync/forwarder.ts';
import type { OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import {
  edgeTempDir,
  hasMosquitto,
  openEdgeDb,
  quietEdgeLogger,
  testCheckInService,
  reservePort,
  startBroker,
  startMosquitto,
  TestClock,
  waitUntil,
  type TestBroker,
} from '../helpers/edge-fixtures.ts';

const CENTRE = 'c-001';
const DEVICE = 'door1';

/** Stands in for the server: takes event batches and, when answering, receipts them. */
class Responder {
  readonly batches: EventBatch[] = [];
  answering = true;
  constructor(private readonly client: MqttClient) {}

  static async connect(url: string, protocolVersion: 4 | 5 = 4): Promise<Responder> {
    const client = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 100, connectTimeout: 2000, clientId: `server-${Math.random().toString(16).slice(2)}` });
    const r = new Responder(client);
    client.on('message', (topic, payload) => r.onMessage(topic, payload));
    await client.subscribeAsync(topics.allEvents, { qos: 1 });
    return r;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = topics.parse(topic);
    if (t?.kind !== 'events') return;
    const parsed = parseEventBatch(payload);
    if (!parsed.ok) throw new Error(`edge sent an invalid batch: ${parsed.error}`);
    this.batches.push(parsed.value);
    // Receipt after the "commit", as the server does.
    if (this.answering) this.receipt(parsed.value.events.map((e) => e.eventId));
  }

  receipt(eventIds: string[]): void {
    this.client.publish(topics.receipts(CENTRE, DEVICE), JSON.stringify({ v: 1, eventIds }), { qos: 1 });
  }

  publishRaw(payload: string): void {
    this.client.publish(topics.receipts(CENTRE, DEVICE), payload, { qos: 1 });
  }

  receivedIds(): string[] {
    return this.batches.flatMap((b) => b.events.map((e) => e.eventId));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let outbox: OutboxRepository;
let service: CheckInService;
let clock: TestClock;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock('2025-03-10T03:00:00.000Z'); // 11:00 in Shanghai: lunch
  const built = testCheckInService(db, clock, { centreId: CENTRE, deviceId: DEVICE });
  ({ service, outbox } = built);
  for (let i = 0; i < 300; i++) built.elders.upsertElder(`e${i}`, `老人${i}`);
});

afterEach(async () => {
  for (const f of cleanups.reverse()) await f();
  cleanups.length = 0;
  db.close();
  tmp.cleanup();
});

function forwarder(url: string, opts: Partial<ForwarderOptions> = {}): Forwarder {
  const f = new Forwarder(
    { url, centreId: CENTRE, deviceId: DEVICE, receiptTimeoutMs: 5_000, reconnectMinMs: 50, reconnectMaxMs: 300, connectTimeoutMs: 1_000, pollIntervalMs: 60_000, ...opts },
    { outbox, clock, logger: quietEdgeLogger },
  );
  service.onRecorded(() => f.notify());
  cleanups.push(() => f.stop());
  return f;
}

async function broker(port = 0): Promise<TestBroker> {
  const b = await startBroker(port);
  cleanups.push(() => b.close());
  return b;
}

async function responder(url: string, protocolVersion: 4 | 5 = 4): Promise<Responder> {
  const r = await Responder.connect(url, protocolVersion);
  cleanups.push(() => r.close());
  return r;
}

function recordMany(from: number, n: number): string[] {
  const ids: string[] = [];
  for (let i = from; i < from + n; i++) {
    const r = service.record({ elderId: `e${i}`, method: 'face', score: 0.3 });
    if (r.status !== 'recorded') throw new Error(`check-in ${i}: ${r.status}`);
    ids.push(r.checkIn.eventId);
  }
  return ids;
}

/** The retained status of the device, as a fresh subscriber sees it. */
async function retainedStatus(url: string): Promise<DeviceStatus> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  try {
    const got = new Promise<DeviceStatus>((resolve) => c.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as DeviceStatus)));
    await c.subscribeAsync(topics.status(CENTRE, DEVICE), { qos: 1 });
    return await got;
  } finally {
    await c.endAsync(true);
  }
}

describe('forwarder', () => {
  it('sends in seq order, in batches, and deletes rows only on receipts', async () => {
    const b = await broker();
    const server = await responder(b.url);
    const expected = recordMany(0, 250);
    const f = forwarder(b.url, { batchSize: 100, maxInFlight: 2 });
    await f.start();

    await waitUntil(() => outbox.pendingCount() === 0, 'the outbox to empty');
    expect(server.batches.map((x) => x.events.length)).toEqual([100, 100, 50]);
    expect(server.receivedIds()).toEqual(expected);
    expect(server.batches[0]!.events[0]).toMatchObject({ centreId: CENTRE, deviceId: DEVICE, meal: 'lunch', serviceDate: '2025-03-10', method: 'face', score: 0.3 });
    const stats = f.stats();
    expect(stats).toMatchObject({ connected: true, pending: 0, inFlight: 0, lastReceiptAt: '2025-03-10T03:00:00.000Z' });
    // aedes 2 speaks MQTT 5: no fallback.
    expect(f.protocolVersion()).toBe(5);
    expect(await retainedStatus(b.url)).toMatchObject({ v: 1, state: 'online' });

    // A new check-in goes out at once (notify), long before the 60 s poll.
    const [late] = recordMany(250, 1);
    await waitUntil(() => outbox.pendingCount() === 0, 'the new check-in to be receipted', 3_000);
    expect(server.receivedIds().at(-1)).toBe(late);
  });

  it('keeps rows the broker took but the server never receipted, and re-sends them', async () => {
    const b = await broker();
    const server = await responder(b.url);
    server.answering = false;
    const expected = recordMany(0, 3);
    const f = forwarder(b.url, { receiptTimeoutMs: 300 });
    await f.start();

    // Delivered through the broker (so PUBACKed) twice: the original and a re-send after the timeout.
    await waitUntil(() => server.batches.length >= 2, 'a re-send after the receipt timeout');
    expect(server.batches[0]!.events.map((e) => e.eventId)).toEqual(expected);
    expect(server.batches[1]!.events.map((e) => e.eventId)).toEqual(expected);
    expect(outbox.pendingCount()).toBe(3);
    expect(outbox.takeOldest(1)[0]!.attempts).toBeGreaterThanOrEqual(2);
    expect(f.stats().lastReceiptAt).toBeNull();

    server.answering = true;
    await waitUntil(() => outbox.pendingCount() === 0, 'the receipt of a re-send');
  });

  it('ignores invalid receipts and deletes only the rows a receipt names', async () => {
    const b = await broker();
    const server = await responder(b.url);
    server.answering = false;
    const [first, second] = recordMany(0, 2) as [string, string];
    const f = forwarder(b.url);
    await f.start();
    await waitUntil(() => server.batches.length === 1, 'the batch');

    server.publishRaw('not json');
    server.publishRaw(JSON.stringify({ v: 2, eventIds: [first, second] }));
    server.publishRaw(JSON.stringify({ v: 1, eventIds: first }));
    server.publishRaw(JSON.stringify({ v: 1, eventIds: [first], extra: true }));
    server.receipt([first]);
    await waitUntil(() => outbox.pendingCount() === 1, 'the partial receipt');
    expect(outbox.takeOldest(5).map((r) => r.eventId)).toEqual([second]);
    expect(f.stats().connected).toBe(true);

    server.receipt([second, 'someone-elses-event']);
    await waitUntil(() => outbox.pendingCount() === 0, 'the second receipt');
  });

  it('keeps recording while the broker is down at start, then delivers when it comes up', async () => {
    const port = await reservePort();
    const f = forwarder(`mqtt://127.0.0.1:${port}`, { receiptTimeoutMs: 500 });
    await f.start();
    const before = recordMany(0, 5);
    await new Promise((r) => setTimeout(r, 400)); // several refused attempts
    const during = recordMany(5, 5);
    expect(f.stats()).toMatchObject({ connected: false, pending: 10, lastReceiptAt: null });

    const b = await broker(port);
    const server = await responder(b.url);
    await waitUntil(() => outbox.pendingCount() === 0, 'delivery after the broker came up');
    expect(f.stats().connected).toBe(true);
    // Every event arrived; the first in order (duplicates from re-sends are the server's to ignore).
    expect(new Set(server.receivedIds())).toEqual(new Set([...before, ...during]));
    expect(server.receivedIds().slice(0, 10)).toEqual([...before, ...during]);
  });

  it('re-sends after a reconnect, and the last will says offline meanwhile', async () => {
    const b = await broker();
    const server = await responder(b.url);
    server.answering = false;
    const expected = recordMany(0, 2);
    const f = forwarder(b.url, { reconnectMinMs: 300, reconnectMaxMs: 300 });
    let connects = 0;
    f.on('connected', () => connects++);
    await f.start();
    await waitUntil(() => server.batches.length === 1, 'the first send');

    // Drop only the edge's connection, abruptly, as a network failure would.
    const edge = (b.broker as unknown as { clients: Record<string, { conn: Socket }> }).clients[`edge-${CENTRE}-${DEVICE}`];
    expect(edge).toBeDefined();
    edge!.conn.destroy();
    await waitUntil(() => !f.stats().connected, 'the edge to notice');
    expect(await retainedStatus(b.url)).toMatchObject({ state: 'offline' });

    await waitUntil(() => connects === 2 && server.batches.length === 2, 'the re-send after reconnecting');
    expect(server.batches[1]!.events.map((e) => e.eventId)).toEqual(expected);
    expect(outbox.pendingCount()).toBe(2);
    server.answering = true;
    server.receipt(expected);
    await waitUntil(() => outbox.pendingCount() === 0, 'the receipt');
    expect(await retainedStatus(b.url)).toMatchObject({ state: 'online' });
  });

  it('publishes a retained offline status when stopped', async () => {
    const b = await broker();
    const f = forwarder(b.url);
    await f.start();
    await waitUntil(() => f.stats().connected, 'connect');
    await f.stop();
    expect(await retainedStatus(b.url)).toMatchObject({ state: 'offline' });
  });

  it('stops promptly when nothing listens, and stops retrying', async () => {
    const port = await reservePort();
    const f = forwarder(`mqtt://127.0.0.1:${port}`);
    await f.start();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await f.stop();
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(f.stats().connected).toBe(false);
  });

  it('stops promptly while a connection attempt hangs', async () => {
    // Accepts TCP and never answers the MQTT CONNECT.
    const sockets = new Set<Socket>();
    let accepted = 0;
    const blackhole = createServer((s) => {
      accepted++;
      sockets.add(s);
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          blackhole.close(() => r());
        }),
    );
    const port = (blackhole.address() as { port: number }).port;
    const f = forwarder(`mqtt://127.0.0.1:${port}`, { connectTimeoutMs: 30_000 });
    await f.start();
    await waitUntil(() => accepted === 1, 'the TCP connection');
    const t0 = performance.now();
    await f.stop();
    expect(performance.now() - t0).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(accepted).toBe(1);
  });
});

describe.skipIf(!hasMosquitto)('forwarder with Mosquitto (MQTT 5)', () => {
  it('delivers over MQTT 5 after the broker comes up, and again after it crashes and restarts', async () => {
    const port = await reservePort();
    const f = forwarder(`mqtt://127.0.0.1:${port}`, { receiptTimeoutMs: 500 });
    await f.start();
    const first = recordMany(0, 3);

    let broker = await startMosquitto(port, tmp.dir);
    cleanups.push(() => broker.kill());
    let server = await responder(broker.url, 5);
    await waitUntil(() => outbox.pendingCount() === 0, 'delivery once mosquitto is up');
    expect(f.protocolVersion()).toBe(5);
    expect(new Set(server.receivedIds())).toEqual(new Set(first));
    expect(await retainedStatus(broker.url)).toMatchObject({ state: 'online' });

    // A crash loses whatever the broker held; the outbox does not.
    await server.close();
    await broker.kill();
    await waitUntil(() => !f.stats().connected, 'the edge to notice the crash');
    const second = recordMany(3, 4);
    expect(f.stats().pending).toBe(4);

    broker = await startMosquitto(port, tmp.dir);
    cleanups.push(() => broker.kill());
    server = await responder(broker.url, 5);
    await waitUntil(() => outbox.pendingCount() === 0, 'delivery after the restart');
    expect(new Set(server.receivedIds())).toEqual(new Set(second));
  });
});
