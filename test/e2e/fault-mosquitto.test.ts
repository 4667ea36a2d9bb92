/**
 * SIGKILL and restart a real Mosquitto (configured by broker-config, MQTT 5, per-device logins)
 * mid-stream, while an edge records check-ins and the server ingests. Ends with integrity_check
 * = ok on both databases and the server's eventIds equal to the edge's.
 * CI profile: 5 broker kills; MEALCHECK_FAULT_FULL=1: 30.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serverSettings } from '../../server/src/config.ts';
import { brokerConfigCommand } from '../../server/src/modules/devices/broker-config.ts';
import { DATABASE_FILE, startServer } from '../../server/src/server.ts';
import { deviceCommand } from '../../server/src/modules/devices/device-command.ts';
import { hasMosquitto, reservePort } from '../helpers/edge-fixtures.ts';
import { edgeDbFile, eventIds, FAULT_FULL, faultSeed, integrityCheck, runEdgeChild, seededRandom } from '../helpers/fault-processes.ts';
import { runMosquitto } from '../helpers/fault-mosquitto.ts';
import { allDayCentre, quietLogger, tempDir } from '../helpers/server-fixtures.ts';

const KILLS = FAULT_FULL ? 30 : 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe.skipIf(!hasMosquitto)('fault: Mosquitto', () => {
  it(`loses nothing when Mosquitto is SIGKILLed and restarted mid-stream (${KILLS} times)`, async () => {
    const rng = seededRandom(faultSeed('mosquitto kills'));
    const tmp = tempDir('mealcheck-fault-mosquitto-');
    cleanups.push(() => tmp.cleanup());
    const serverDir = join(tmp.dir, 'server');
    const edgeDir = join(tmp.dir, 'edge');
    const lines: string[] = [];
    await deviceCommand(['add', '--centre', 'c1', '--device', 'd1', '--data', serverDir], (s) => lines.push(s));
    const login = { username: 'c1/d1', password: lines.find((l) => l.startsWith('MEALCHECK_MQTT_PASSWORD='))!.split('=')[1]! };
    const port = await reservePort();
    await brokerConfigCommand(['--data', serverDir, '--tls-port', '0', '--plain-port', String(port)], (s) => lines.push(s));
    const serverUrl = lines.find((l) => l.includes('MEALCHECK_MQTT_URL='))!.split('MEALCHECK_MQTT_URL=')[1]!;
    const conf = join(serverDir, 'mosquitto', 'mosquitto.conf');
    if (process.getuid?.() === 0) appendFileSync(conf, 'user root\n');

    let broker = await runMosquitto(conf, port);
    cleanups.push(() => broker.kill9());
    const server = await startServer(serverSettings({ dataDir: serverDir, httpPort: 0, mqttUrl: serverUrl, adminToken: 'fault-test-token-0123456789', logLevel: 'silent' }), { logger: quietLogger });
    cleanups.push(() => server.stop());
    allDayCentre(server.db, 'c1');
    const url = `mqtt://127.0.0.1:${port}`;
    const edge = runEdgeChild({ data: edgeDir, server: url, mode: 'burst', rate: 100, protocol: 5, ...login });
    cleanups.push(() => edge.kill9());
    await edge.waitFor(/^READY$/m);

    for (let i = 0; i < KILLS; i++) {
      await sleep(300 + Math.floor(rng() * 1500));
      await broker.kill9();
      await sleep(Math.floor(rng() * 1000));
      broker = await runMosquitto(conf, port);
    }
    await sleep(500);
    await edge.kill9();
    const printed = edge.lines('R ').map((l) => l.slice(2));
    const edgeIds = eventIds(edgeDbFile(edgeDir), 'SELECT event_id FROM check_ins');
    const edgeSet = new Set(edgeIds);
    expect(printed.filter((id) => !edgeSet.has(id))).toEqual([]);

    const drain = runEdgeChild({ data: edgeDir, server: url, mode: 'drain', protocol: 5, ...login });
    cleanups.push(() => drain.kill9());
    await drain.waitFor(/^DRAINED$/m, 120_000);
    const serverDb = join(serverDir, DATABASE_FILE);
    expect(eventIds(serverDb, 'SELECT event_id FROM meals')).toEqual(edgeIds);
    expect(eventIds(serverDb, 'SELECT event_id FROM duplicate_attempts')).toEqual([]);
    await server.stop();
    expect(integrityCheck(edgeDbFile(edgeDir))).toBe('ok');
    expect(integrityCheck(serverDb)).toBe('ok');
    console.log(`mosquitto kills: ${KILLS} kills, ${edgeIds.length} check-ins, all on the server once`);
  }, 600_000);
});
