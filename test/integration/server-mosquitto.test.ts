/**
 * Production broker: a real Mosquitto configured by `mealcheck broker-config` from the device
 * registry, with the server and the devices on MQTT 5, so refusals reach the application.
 */
import Database from 'better-sqlite3';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type Receipt } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { brokerConfigCommand } from '../../server/src/modules/devices/broker-config.ts';
import { deviceCommand } from '../../server/src/modules/devices/device-command.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { hasMosquitto, reservePort } from '../helpers/edge-fixtures.ts';
import { runMosquitto, type RunningMosquitto } from '../helpers/fault-mosquitto.ts';
import { batch, connectDevice, FIXTURE_NOW, fixtureClock, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

async function add(dir: string, centre: string, device: string): Promise<string> {
  const lines: string[] = [];
  await deviceCommand(['add', '--centre', centre, '--device', device, '--data', dir], (s) => lines.push(s));
  return lines.find((l) => l.startsWith('MEALCHECK_MQTT_PASSWORD='))!.split('=')[1]!;
}

describe.skipIf(!hasMosquitto)('Mosquitto configured by broker-config', () => {
  let tmp: ReturnType<typeof tempDir>;
  let mosquitto: RunningMosquitto;
  let server: RunningServer;
  let url = '';
  const pw: Record<string, string> = {};

  beforeAll(async () => {
    tmp = tempDir();
    pw.d1 = await add(tmp.dir, 'c1', 'd1');
    pw.d2 = await add(tmp.dir, 'c2', 'd2');
    const port = await reservePort();
    const lines: string[] = [];
    expect(await brokerConfigCommand(['--data', tmp.dir, '--tls-port', '0', '--plain-port', String(port)], (s) => lines.push(s))).toBe(0);
    const serverUrl = lines.find((l) => l.includes('MEALCHECK_MQTT_URL='))!.split('MEALCHECK_MQTT_URL=')[1]!;
    const conf = join(tmp.dir, 'mosquitto', 'mosquitto.conf');
    // Started as root, Mosquitto drops to the "mosquitto" user, which cannot read our 0600
    // files in a temporary folder (in production the operator gives that user the files).
    if (process.getuid?.() === 0) appendFileSync(conf, 'user root\n');
    mosquitto = await runMosquitto(conf, port);
    url = `mqtt://127.0.0.1:${port}`;
    server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttUrl: serverUrl, adminToken: TEST_TOKEN, logLevel: 'silent' }), { logger: quietLogger, clock: fixtureClock });
  });
  afterAll(async () => {
    await server?.stop();
    await mosquitto?.stop();
    tmp?.cleanup();
  });

  it('writes a password file in Mosquitto\'s $7$ format and an ACL per device', () => {
    const passwd = readFileSync(join(tmp.dir, 'mosquitto', 'passwd'), 'utf8');
    expect(passwd).toMatch(/^mealcheck-server:\$7\$10000\$/m);
    expect(passwd).toMatch(/^c1\/d1:\$7\$/m);
    const acl = readFileSync(join(tmp.dir, 'mosquitto', 'acl'), 'utf8');
    expect(acl).toContain(`user c1/d1\ntopic write ${topics.events('c1', 'd1')}\ntopic write ${topics.status('c1', 'd1')}\ntopic write ${topics.time('c1', 'd1')}\ntopic read ${topics.receipts('c1', 'd1')}`);
  });

  it('lets a box ask for the time on its own topic and get the answer on its receipts', async () => {
    const d1 = await connectDevice(url, { protocolVersion: 5, username: 'c1/d1', password: pw.d1 });
    try {
      await d1.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
      const reply = nextMessage(d1, topics.receipts('c1', 'd1'));
      await d1.publishAsync(topics.time('c1', 'd1'), JSON.stringify({ v: 1, id: 'm-1' }), { qos: 1 });
      const answer = JSON.parse((await reply).toString()) as { time: { id: string; serverTime: string } };
      expect(answer.time.id).toBe('m-1');
      expect(answer.time.serverTime).toBe(FIXTURE_NOW);
      // Not another box's time topic.
      await expect(d1.publishAsync(topics.time('c2', 'd2'), JSON.stringify({ v: 1, id: 'm-2' }), { qos: 1 })).rejects.toThrow(/Not authorized|135/i);
    } finally {
      await d1.endAsync();
    }
  });

  it('refuses unknown logins', async () => {
    await expect(connectDevice(url, { protocolVersion: 5 })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    await expect(connectDevice(url, { protocolVersion: 5, username: 'c1/d1', password: 'nope' })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
  });

  it('refuses (MQTT 5 reason code) a publish to another centre\'s topic; nothing reaches the server', async () => {
    const d1 = await connectDevice(url, { protocolVersion: 5, username: 'c1/d1', password: pw.d1 });
    const d2 = await connectDevice(url, { protocolVersion: 5, username: 'c2/d2', password: pw.d2 });
    try {
      const forged = mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'forged' });
      await expect(d1.publishAsync(topics.events('c2', 'd2'), JSON.stringify(batch(forged)), { qos: 1 })).rejects.toThrow(/Not authorized|135/i);
      // Mosquitto 2.0 grants a SUBSCRIBE it may not deliver on, then filters each message by
      // the read ACL: d1 must see none of c2/d2's receipts.
      const leaked: string[] = [];
      d1.on('message', (t) => leaked.push(t));
      await d1.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });

      await d2.subscribeAsync(topics.receipts('c2', 'd2'), { qos: 1 });
      const real = mealEvent({ centreId: 'c2', deviceId: 'd2', elderId: 'real' });
      const receipt = nextMessage(d2, topics.receipts('c2', 'd2'));
      await d2.publishAsync(topics.events('c2', 'd2'), JSON.stringify(batch(real)), { qos: 1 });
      expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([real.eventId]);
      // Round trip on d1's own connection: anything Mosquitto sent it before has arrived by now.
      await d1.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
      expect(leaked).toEqual([]);

      const db = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
      try {
        expect(db.prepare('SELECT event_id FROM meals').pluck().all()).toEqual([real.eventId]);
        expect(db.prepare('SELECT count(*) FROM dead_letters').pluck().get()).toBe(0);
      } finally {
        db.close();
      }
    } finally {
      await d1.endAsync();
      await d2.endAsync();
    }
  });
});
