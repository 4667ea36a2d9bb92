/**
 * The TLS listener `mealcheck broker-config` writes, on a real Mosquitto with a throwaway CA
 * (made by openssl in a temporary folder): an edge that trusts the CA delivers its check-ins
 * over mqtts; one that does not is refused with a certificate error. The real forwarder is
 * given the CA with the edge's --mqtt-ca setting (here FAULT_MQTT_CA of the stand-in edge).
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type Receipt } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { hasMosquitto } from '../helpers/edge-fixtures.ts';
import { FAULT_EDGE_CHILD } from '../helpers/fault-processes.ts';
import { hasOpenssl, startMosquittoDeployment, type MosquittoDeployment } from '../helpers/mosquitto-deployment.ts';
import { waitForOutput } from '../helpers/processes.ts';
import { batch, connectDevice, eventually, allDayCentre, liveMealEvent, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

/** The fault tests' stand-in edge (real check-in service, outbox and forwarder), as a process. */
function runEdge(dataDir: string, url: string, password: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', FAULT_EDGE_CHILD], {
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: undefined,
      FAULT_DATA: dataDir,
      FAULT_SERVER: url,
      FAULT_MODE: 'burst',
      FAULT_RATE: '20',
      FAULT_USERNAME: 'c1/d1',
      FAULT_PASSWORD: password,
      FAULT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let done = false;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    ids: () => out.split('\n').filter((l) => l.startsWith('R ')).map((l) => l.slice(2)),
    stderr: () => err,
    waitFor: (re: RegExp, timeoutMs = 60_000) => waitForOutput('edge', () => ({ out, err, done }), re, timeoutMs),
    async kill() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.skipIf(!hasMosquitto || !hasOpenssl)('Mosquitto TLS listener from broker-config', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dep: MosquittoDeployment;
  let server: RunningServer;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    tmp = tempDir();
    dep = await startMosquittoDeployment(join(tmp.dir, 'server'), [['c1', 'd1']], { tls: true });
    server = await startServer(serverSettings({ dataDir: dep.dataDir, httpPort: 0, mqttUrl: dep.serverUrl, adminToken: TEST_TOKEN, logLevel: 'silent' }), { logger: quietLogger });
    // The edges here record at the real time, all day.
    allDayCentre(server.db, 'c1');
  });
  afterAll(async () => {
    for (const f of cleanups.reverse()) await f();
    await server?.stop();
    await dep?.mosquitto.stop();
    tmp?.cleanup();
  });

  it('writes a TLS listener on all interfaces, bound to logins, with the default certificate files', () => {
    const conf = readFileSync(dep.confFile, 'utf8');
    const port = new URL(dep.tlsUrl!).port;
    const out = join(dep.dataDir, 'mosquitto');
    expect(conf).toContain(
      [`listener ${port}`, 'protocol mqtt', 'use_username_as_clientid true', `cafile ${join(out, 'ca.crt')}`, `certfile ${join(out, 'server.crt')}`, `keyfile ${join(out, 'server.key')}`].join('\n'),
    );
  });

  /** Device c1/d1 over mqtts, trusting the CA: sends one check-in and expects its receipt. */
  async function checkInOverTls(elderId: string, then: (c: Awaited<ReturnType<typeof connectDevice>>, event: ReturnType<typeof mealEvent>) => Promise<void>): Promise<void> {
    const c = await connectDevice(dep.tlsUrl!, { protocolVersion: 5, clientId: 'edge-c1-d1', username: 'c1/d1', password: dep.passwords['c1/d1'], ca: readFileSync(dep.pki!.caFile) });
    try {
      await c.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
      const event = liveMealEvent({ centreId: 'c1', deviceId: 'd1', elderId });
      const receipt = nextMessage(c, topics.receipts('c1', 'd1'));
      await c.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(event)), { qos: 1 });
      expect((JSON.parse((await receipt).toString()) as Receipt).eventIds).toEqual([event.eventId]);
      await then(c, event);
    } finally {
      await c.endAsync();
    }
  }

  it('carries an MQTT 5 check-in and its receipt for a client that trusts the CA', async () => {
    await checkInOverTls('over-tls', async (c, event) => {
      // Refusals still arrive as reason codes over TLS.
      await expect(c.publishAsync(topics.events('c2', 'd2'), JSON.stringify(batch(event)), { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
    });
  });

  it('refuses a client that does not trust the CA with a certificate error', async () => {
    await expect(connectDevice(dep.tlsUrl!, { protocolVersion: 5, username: 'c1/d1', password: dep.passwords['c1/d1'] })).rejects.toMatchObject({
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      message: 'self-signed certificate in certificate chain',
    });
    // Plain MQTT on the TLS port is not answered as MQTT either.
    await expect(connectDevice(dep.tlsUrl!.replace('mqtts:', 'mqtt:'), { protocolVersion: 5, username: 'c1/d1', password: dep.passwords['c1/d1'], connectTimeout: 2000 })).rejects.toThrow();
  });

  it('the real edge forwarder delivers over mqtts given the CA (--mqtt-ca), and logs the certificate error without it', async () => {
    const untrusting = runEdge(join(tmp.dir, 'edge-untrusting'), dep.tlsUrl!, dep.passwords['c1/d1']!, {});
    cleanups.push(() => untrusting.kill());
    const refusal = await eventually(() => untrusting.stderr().split('\n').find((l) => l.includes('"msg":"mqtt error"')), 60_000, 'the edge\'s mqtt error');
    expect(JSON.parse(refusal)).toMatchObject({ err: 'self-signed certificate in certificate chain', url: dep.tlsUrl });
    // It keeps recording check-ins offline meanwhile.
    await untrusting.waitFor(/^R /m);
    await untrusting.kill();

    const edge = runEdge(join(tmp.dir, 'edge'), dep.tlsUrl!, dep.passwords['c1/d1']!, { FAULT_MQTT_CA: dep.pki!.caFile });
    cleanups.push(() => edge.kill());
    await edge.waitFor(/^(R .*\n){5}/m);
    const first = edge.ids().slice(0, 5);
    const db = new Database(join(dep.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const have = db.prepare('SELECT event_id FROM meals WHERE device_id = ?').pluck();
      await eventually(() => first.every((id) => (have.all('d1') as string[]).includes(id)), 30_000, 'the edge\'s check-ins on the server');
    } finally {
      db.close();
    }
    await edge.kill();
    expect(edge.stderr()).not.toContain('mqtt error');
    const db2 = new Database(join(dep.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const untrusted = new Set(untrusting.ids());
      expect((db2.prepare('SELECT event_id FROM meals').pluck().all() as string[]).filter((id) => untrusted.has(id))).toEqual([]);
    } finally {
      db2.close();
    }
  });

  it('the server\'s own client reaches the broker over mqtts given the CA (--mqtt-ca)', async () => {
    // One server login, and Mosquitto makes the login the client id: the plain-MQTT server goes first.
    await server.stop();
    const url = new URL(dep.serverUrl);
    url.protocol = 'mqtts:';
    url.port = new URL(dep.tlsUrl!).port;
    server = await startServer(serverSettings({ dataDir: dep.dataDir, httpPort: 0, mqttUrl: url.toString(), mqttCa: dep.pki!.caFile, adminToken: TEST_TOKEN, logLevel: 'silent' }), { logger: quietLogger });
    await checkInOverTls('server-over-tls', async (_c, event) => {
      expect(server.db.prepare('SELECT elder_id FROM meals WHERE event_id = ?').pluck().get(event.eventId)).toBe('server-over-tls');
    });
  });
});
