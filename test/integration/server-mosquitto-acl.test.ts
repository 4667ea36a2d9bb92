/**
 * Mosquitto started from the files `mealcheck broker-config` writes: one login per device,
 * bound to its session (`use_username_as_clientid`) and to its own topics, with MQTT 5 so the
 * refusals reach the application as reason codes. Observed with Debian's Mosquitto 2.0.11.
 */
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type Receipt } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { hasMosquitto } from '../helpers/edge-fixtures.ts';
import { startMosquittoDeployment, type MosquittoDeployment } from '../helpers/mosquitto-deployment.ts';
import { batch, connectDevice, fixtureClock, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

/** MQTT 5 reason codes as Mosquitto sends them. */
const NOT_AUTHORIZED = 0x87;
const BAD_USER_NAME_OR_PASSWORD = 0x86;

async function within(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!hasMosquitto)('Mosquitto from broker-config: logins bound to sessions and topics', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dep: MosquittoDeployment;
  let server: RunningServer | undefined;
  const clients: MqttClient[] = [];

  const start = async () =>
    (server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttUrl: dep.serverUrl, adminToken: TEST_TOKEN, logLevel: 'silent' }), { logger: quietLogger, clock: fixtureClock }));
  /** A device on MQTT 5, with the forwarder's client id unless told otherwise. */
  const device = async (centre: string, dev: string, clientId = `edge-${centre}-${dev}`) => {
    const c = await connectDevice(dep.url, { protocolVersion: 5, clientId, username: `${centre}/${dev}`, password: dep.passwords[`${centre}/${dev}`] });
    clients.push(c);
    return c;
  };
  /** Publishes a meal event from `c` and resolves with the receipt (already subscribed). */
  const roundTrip = async (c: MqttClient, centre: string, dev: string, elderId: string) => {
    const event = mealEvent({ centreId: centre, deviceId: dev, elderId });
    const receipt = nextMessage(c, topics.receipts(centre, dev));
    await c.publishAsync(topics.events(centre, dev), JSON.stringify(batch(event)), { qos: 1 });
    expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([event.eventId]);
    return event.eventId;
  };
  const stored = () => {
    const db = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
    try {
      return { meals: db.prepare('SELECT elder_id FROM meals ORDER BY elder_id').pluck().all(), deadLetters: db.prepare('SELECT count(*) FROM dead_letters').pluck().get() };
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    tmp = tempDir();
    dep = await startMosquittoDeployment(tmp.dir, [
      ['c1', 'd1'],
      ['c2', 'd2'],
    ]);
    await start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server?.stop();
    await dep?.mosquitto.stop();
    tmp?.cleanup();
  });

  it('binds the session to the login on every listener', () => {
    const conf = readFileSync(dep.confFile, 'utf8');
    expect(conf).toMatch(/^listener \d+ 127\.0\.0\.1\nprotocol mqtt\nuse_username_as_clientid true$/m);
    expect(conf).toMatch(/^allow_anonymous false$/m);
  });

  it('refuses a wrong password, an unknown user and no login with a CONNACK reason code', async () => {
    const codes: unknown[] = [];
    for (const login of [{ username: 'c1/d1', password: 'wrong' }, { username: 'c9/d9', password: 'x' }, { username: 'c1/d1' }, {}]) {
      const err = (await connectDevice(dep.url, { protocolVersion: 5, ...login }).then(
        () => new Error('connected'),
        (e: unknown) => e,
      )) as Error & { code?: unknown };
      expect(err.message).toMatch(/^Connection refused: /);
      codes.push(err.code);
    }
    // Mosquitto 2.0.11 answers 0x87 for every bad login; 0x86 would be as clear to the edge.
    for (const code of codes) expect([NOT_AUTHORIZED, BAD_USER_NAME_OR_PASSWORD]).toContain(code);
    // MQTT 3.1.1: return code 5 (not authorized).
    await expect(connectDevice(dep.url, { protocolVersion: 4, username: 'c1/d1', password: 'wrong' })).rejects.toMatchObject({ code: 5 });
  });

  it('answers a publish to another device\'s topics with reason code 0x87 and keeps the connection; nothing reaches the server', async () => {
    const d1 = await device('c1', 'd1');
    const d2 = await device('c2', 'd2');
    await d1.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
    await d2.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });
    const forged = JSON.stringify(batch(mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'forged' })));
    const refusals = [
      d1.publishAsync(topics.events('c2', 'd2'), forged, { qos: 1 }), // PUBACK
      d1.publishAsync(topics.events('c2', 'd2'), forged, { qos: 2 }), // PUBREC
      d1.publishAsync(topics.status('c2', 'd2'), '{"v":1,"state":"offline"}', { qos: 1, retain: true }),
      d1.publishAsync(topics.config('c1'), '{}', { qos: 1 }), // its own centre's config is read-only
      d1.publishAsync('mealcheck/v1/other', forged, { qos: 1 }),
    ];
    for (const r of refusals) await expect(r).rejects.toMatchObject({ code: NOT_AUTHORIZED, message: 'Publish error: Not authorized' });
    // MQTT 5 refuses the message, not the connection: d1 goes on with its own events.
    expect(d1.connected).toBe(true);
    await roundTrip(d1, 'c1', 'd1', 'own-1');
    await roundTrip(d2, 'c2', 'd2', 'real-2');
    expect(stored()).toEqual({ meals: ['own-1', 'real-2'], deadLetters: 0 });
  });

  it('delivers nothing of another device\'s topics to a device, even one subscribed to them', async () => {
    const d1 = await device('c1', 'd1', 'edge-c1-d1');
    const d2 = await device('c2', 'd2');
    await d2.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });
    await d2.publishAsync(topics.status('c2', 'd2'), '{"v":1,"state":"online"}', { qos: 1, retain: true });
    await d1.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
    const leaked: string[] = [];
    // Its own receipts and its own centre's config document (every centre with a box gets one) are its to read.
    d1.on('message', (t) => {
      if (t !== topics.receipts('c1', 'd1') && t !== topics.config('c1')) leaked.push(t);
    });
    // Mosquitto 2.0's acl_file does not check SUBSCRIBE (it grants it) and filters every
    // message, retained ones included, by the read rules when it would deliver it.
    const granted = await d1.subscribeAsync([topics.receipts('c2', 'd2'), topics.status('c2', 'd2'), topics.config('c2'), 'mealcheck/v1/#'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1, 1]);
    await roundTrip(d2, 'c2', 'd2', 'real-3');
    // The server handles events in order: d2's receipt was sent before d1's own.
    await roundTrip(d1, 'c1', 'd1', 'own-3');
    expect(leaked).toEqual([]);
  });

  it('lets a login replace only its own session, whatever client id it sends', async () => {
    const d1 = await device('c1', 'd1');
    const d2 = await device('c2', 'd2');
    await d2.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });
    const d1Closed = new Promise<void>((resolve) => d1.once('close', () => resolve()));
    let d2Closed = false;
    d2.on('close', () => (d2Closed = true));

    // d1's password with d2's client id, then with the server's: each lands on d1's session,
    // so each replaces the connection before it. (Mosquitto 2.0.11 just closes the replaced
    // connection; it sends no DISCONNECT 0x8E "session taken over" first.)
    const thief = await device('c1', 'd1', 'edge-c2-d2');
    await within(d1Closed, 5_000, 'd1 replaced');
    const thiefClosed = new Promise<void>((resolve) => thief.once('close', () => resolve()));
    const thief2 = await device('c1', 'd1', 'mealcheck-server');
    await within(thiefClosed, 5_000, 'the first thief replaced');
    expect(thief2.connected).toBe(true);

    // d2 and the server's ingest session are untouched: d2's events still get receipts.
    await roundTrip(d2, 'c2', 'd2', 'real-4');
    expect(d2Closed).toBe(false);
    expect(d2.connected).toBe(true);
  });

  it('keeps the server\'s persistent session: events sent while it is down are ingested when it is back', async () => {
    const d2 = await device('c2', 'd2');
    await d2.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });
    await server!.stop();
    server = undefined;
    const event = mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'while-down' });
    const receipt = nextMessage(d2, topics.receipts('c2', 'd2'), 30_000);
    await d2.publishAsync(topics.events('c2', 'd2'), JSON.stringify(batch(event)), { qos: 1 });
    await start();
    expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([event.eventId]);
    expect(stored().meals).toContain('while-down');
  });
});
