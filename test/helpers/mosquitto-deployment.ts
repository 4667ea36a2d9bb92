/**
 * A production-shaped Mosquitto for tests: devices registered with `mealcheck device add`, the
 * files written by `mealcheck broker-config`, optionally a throwaway CA and server certificate
 * (made with the openssl CLI into the temporary folder, never committed), and a real Mosquitto
 * started from them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerConfigCommand } from '../../server/src/modules/devices/broker-config.ts';
import { deviceCommand } from '../../server/src/modules/devices/device-command.ts';
import { reservePort } from './edge-fixtures.ts';
import { runMosquitto, type RunningMosquitto } from './fault-mosquitto.ts';

export const hasOpenssl: boolean = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

export interface TestPki {
  /** The CA certificate an edge box must trust. */
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * A CA and a server certificate for 127.0.0.1 and localhost (P-256, valid two days), written
 * to `dir` as ca.crt, server.crt and server.key: the names `broker-config` expects by default.
 */
export function makeTestPki(dir: string): TestPki {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=mealcheck test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext'));
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}

export interface MosquittoDeployment {
  /** The server's data folder (registry database; broker files in `mosquitto/`). */
  dataDir: string;
  confFile: string;
  /** MQTT password of each registered device, by `centre/device` (its user name). */
  passwords: Record<string, string>;
  /** `mqtt://127.0.0.1:port`: the plain listener on loopback. */
  url: string;
  /** `mqtts://127.0.0.1:port`, when started with TLS. */
  tlsUrl?: string;
  pki?: TestPki;
  /** The server's login, as `broker-config` printed it. */
  serverUrl: string;
  mosquitto: RunningMosquitto;
}

export async function startMosquittoDeployment(
  dataDir: string,
  devices: ReadonlyArray<readonly [centre: string, device: string]>,
  opts: { tls?: boolean } = {},
): Promise<MosquittoDeployment> {
  const passwords: Record<string, string> = {};
  for (const [centre, device] of devices) {
    const lines: string[] = [];
    await deviceCommand(['add', '--centre', centre, '--device', device, '--data', dataDir], (s) => lines.push(s));
    passwords[`${centre}/${device}`] = lines.find((l) => l.startsWith('MEALCHECK_MQTT_PASSWORD='))!.split('=')[1]!;
  }
  const outDir = join(dataDir, 'mosquitto');
  const port = await reservePort();
  const tlsPort = opts.tls ? await reservePort() : 0;
  const lines: string[] = [];
  // broker-config makes the folder; the certificates go where it looks for them by default.
  const code = await brokerConfigCommand(['--data', dataDir, '--tls-port', String(tlsPort), '--plain-port', String(port)], (s) => lines.push(s));
  if (code !== 0) throw new Error(`broker-config exited ${code}: ${lines.join('\n')}`);
  const pki = opts.tls ? makeTestPki(outDir) : undefined;
  const serverUrl = lines.find((l) => l.includes('MEALCHECK_MQTT_URL='))!.split('MEALCHECK_MQTT_URL=')[1]!;
  const confFile = join(outDir, 'mosquitto.conf');
  // Started as root, Mosquitto drops to the "mosquitto" user, which cannot read our 0600 files
  // in a temporary folder (in production the operator gives that user the files).
  if (process.getuid?.() === 0) appendFileSync(confFile, 'user root\n');
  const mosquitto = await runMosquitto(confFile, port);
  return {
    dataDir,
    confFile,
    passwords,
    url: `mqtt://127.0.0.1:${port}`,
    ...(opts.tls ? { tlsUrl: `mqtts://127.0.0.1:${tlsPort}` } : {}),
    ...(pki ? { pki } : {}),
    serverUrl,
    mosquitto,
  };
}
