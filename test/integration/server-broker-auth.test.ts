/**
 * Broker security on the embedded broker: per-device credentials from the server's device
 * registry, and topic rules (a device publishes and subscribes only under its own topics).
 */
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type Receipt } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { deviceCommand } from '../../server/src/modules/devices/device-command.ts';
import { hashPassword, verifyPassword } from '../../server/src/modules/devices/credential-repository.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { batch, connectDevice, fixtureClock, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

function settingsFor(dir: string) {
  return serverSettings({ dataDir: dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN, logLevel: 'silent' });
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

describe('device credentials', () => {
  it('stores only a scrypt hash that verifies the password and nothing else', async () => {
    const h = await hashPassword('s3cret-password');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(h).not.toContain('s3cret');
    expect(await verifyPassword('s3cret-password', h)).toBe(true);
    expect(await verifyPassword('s3cret-passwore', h)).toBe(false);
  });
});

describe('embedded broker with registered devices', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let reader: Database.Database;
  const clients: MqttClient[] = [];
  let pw1 = '';
  let pw2 = '';
  const meals = () => reader.prepare('SELECT event_id AS eventId, centre_id AS centreId FROM meals').all() as Array<{ eventId: string; centreId: string }>;
  const deadLetters = () => (reader.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;

  async function device(username?: string, password?: string): Promise<MqttClient> {
    const c = await connectDevice(server.mqttUrl, { ...(username ? { username, password, clientId: `edge-${username.replace('/', '-')}` } : {}) });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    tmp = tempDir();
    server = await startServer(settingsFor(tmp.dir), { logger: quietLogger, clock: fixtureClock });
    reader = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    reader?.close();
    await server?.stop();
    tmp?.cleanup();
  });

  it('accepts clients without credentials only while no device is registered', async () => {
    const anon = await device();
    expect(anon.connected).toBe(true);
    pw1 = await server.registerDevice('c1', 'd1');
    // Connected before the lock: it keeps its socket but may no longer publish.
    const gone = closed(anon);
    anon.publish(topics.events('c1', 'd1'), JSON.stringify(batch(mealEvent({ elderId: 'anon' }))), { qos: 0 });
    await gone;
    pw2 = await server.registerDevice('c2', 'd2');
    expect(pw1).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await expect(device()).rejects.toThrow(/Bad username or password|Not authorized/);
    await expect(device('c1/d1', 'wrong')).rejects.toThrow(/Bad username or password/);
    await expect(device('c1/d1', pw2)).rejects.toThrow(/Bad username or password/);
    await expect(device('mealcheck-server', 'guess')).rejects.toThrow(/Bad username or password/);
    expect((await device('c1/d1', pw1)).connected).toBe(true);
    // Its own client id only: no box can take over another's session, or the server's.
    await expect(connectDevice(server.mqttUrl, { username: 'c1/d1', password: pw1, clientId: 'mealcheck-server' })).rejects.toThrow(/Identifier rejected/);
    await expect(connectDevice(server.mqttUrl, { username: 'c1/d1', password: pw1, clientId: 'edge-c2-d2' })).rejects.toThrow(/Identifier rejected/);
  });

  it('lets a device subscribe only to its own receipts and its centre config', async () => {
    const d1 = await device('c1/d1', pw1);
    const filters = [topics.receipts('c1', 'd1'), topics.config('c1'), topics.receipts('c2', 'd2'), topics.allEvents, '#'];
    // mqtt.js rejects when any filter is refused; the SUBACK it carries has every return code.
    const err = await d1.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }]))).then(
      () => undefined,
      (e: unknown) => e as { packet?: { granted?: number[] } },
    );
    expect(err?.packet?.granted).toEqual([1, 1, 128, 128, 128]);
  });

  it('delivers nothing to the server from a device publishing on another centre\'s topic', async () => {
    const intruder = await device('c1/d1', pw1);
    const forged = mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'forged' });
    const gone = closed(intruder);
    intruder.publish(topics.events('c2', 'd2'), JSON.stringify(batch(forged)), { qos: 0 });
    // MQTT 3.1.1 cannot refuse one PUBLISH: the broker drops the connection.
    await gone;

    // The real c2/d2 box still gets its own events through, and its receipt proves the server
    // has handled everything that reached it by now.
    const d2 = await device('c2/d2', pw2);
    await d2.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });
    const real = mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'real' });
    const receipt = nextMessage(d2, topics.receipts('c2', 'd2'));
    await d2.publishAsync(topics.events('c2', 'd2'), JSON.stringify(batch(real)), { qos: 1 });
    expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([real.eventId]);

    expect(meals().map((m) => m.eventId)).toEqual([real.eventId]);
    expect(deadLetters()).toBe(0);
  });

  it('under MQTT 5 refuses with reason codes the application sees, and keeps the connection', async () => {
    const v5 = async (username: string, password: string): Promise<MqttClient> => {
      const c = await connectDevice(server.mqttUrl, { protocolVersion: 5, username, password, clientId: `edge-${username.replace('/', '-')}` });
      clients.push(c);
      return c;
    };
    await expect(v5('c1/d1', 'wrong')).rejects.toMatchObject({ code: 0x86 }); // Bad User Name or Password
    const d1 = await v5('c1/d1', pw1);
    const forged = mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'forged-v5' });
    await expect(d1.publishAsync(topics.events('c2', 'd2'), JSON.stringify(batch(forged)), { qos: 1 })).rejects.toMatchObject({ code: 0x87 }); // Not authorized
    const err = await d1.subscribeAsync({ [topics.receipts('c1', 'd1')]: { qos: 1 }, [topics.receipts('c2', 'd2')]: { qos: 1 } }).then(
      () => undefined,
      (e: unknown) => e as { packet?: { granted?: number[] } },
    );
    expect(err?.packet?.granted).toEqual([1, 0x87]);
    // Still connected: its own events go through and are receipted.
    expect(d1.connected).toBe(true);
    const own = mealEvent({ centreId: 'c1', deviceId: 'd1', elderId: 'own-v5' });
    const receipt = nextMessage(d1, topics.receipts('c1', 'd1'));
    await d1.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(own)), { qos: 1 });
    expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([own.eventId]);
    expect(meals().map((m) => m.eventId)).not.toContain(forged.eventId);
  });

  it('drops a device that publishes a receipt (server-only topic) even for itself', async () => {
    const d1 = await device('c1/d1', pw1);
    const gone = closed(d1);
    d1.publish(topics.receipts('c1', 'd1'), JSON.stringify({ v: 1, eventIds: [] }), { qos: 0 });
    await gone;
  });
});

describe('mealcheck device add', () => {
  it('prints a password that the broker then accepts', async () => {
    const tmp = tempDir();
    try {
      const lines: string[] = [];
      expect(await deviceCommand(['add', '--centre', 'c9', '--device', 'door', '--data', tmp.dir], (s) => lines.push(s))).toBe(0);
      const password = lines.find((l) => l.startsWith('MEALCHECK_MQTT_PASSWORD='))!.split('=')[1]!;
      expect(lines).toContain('MEALCHECK_MQTT_USERNAME=c9/door');
      const listed: string[] = [];
      await deviceCommand(['list', '--data', tmp.dir], (s) => listed.push(s));
      expect(listed.join('\n')).toMatch(/^c9\/door\t/);

      const server = await startServer(settingsFor(tmp.dir), { logger: quietLogger, clock: fixtureClock });
      try {
        const c = await connectDevice(server.mqttUrl, { username: 'c9/door', password, clientId: 'edge-c9-door' });
        expect(c.connected).toBe(true);
        await c.endAsync();
        await expect(connectDevice(server.mqttUrl)).rejects.toThrow(/Bad username or password|Not authorized/);
      } finally {
        await server.stop();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
