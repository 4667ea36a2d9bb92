/**
 * `mealcheck broker-config`: Mosquitto's password file, ACL file and configuration, written from
 * the server's device registry, so production enforces the same rules as the embedded broker
 * (topic-acl.ts): each device publishes and subscribes only under its own topics.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, parseArgs } from '../../../../common/config.ts';
import { TOPIC_ROOT } from '../../../../common/contract.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR, SERVER_MQTT_USERNAME } from '../../server.ts';
import { createDeviceCredentialRepository, generatePassword, mosquittoHash, type DeviceCredential } from './credential-repository.ts';
import { devicePublishTopics, deviceSubscribeTopics } from './topic-acl.ts';

export const BROKER_CONFIG_USAGE = `mealcheck broker-config [--data DIR] [--out DIR] [--tls-port 8883] [--plain-port N] [--cafile F --certfile F --keyfile F]

Writes mosquitto.conf, passwd and acl into --out (default <data>/mosquitto) from the device
registry (mealcheck device add). Run it again after adding or removing a device, then reload
Mosquitto (SIGHUP). The server's own login is made on the first run and kept after that;
the first run prints the MEALCHECK_MQTT_URL to start the server with.

  --tls-port N     TLS listener for the edge boxes (default 8883; 0 = none)
  --plain-port N   plain listener on 127.0.0.1 only, for the server on the same machine (default none)
  --cafile/--certfile/--keyfile   TLS files (default ca.crt, server.crt, server.key in --out)`;

export function aclFile(devices: readonly Pick<DeviceCredential, 'centreId' | 'deviceId' | 'username'>[]): string {
  const lines = ['# Written by `mealcheck broker-config` from the device registry; do not edit by hand.', '', `user ${SERVER_MQTT_USERNAME}`, `topic readwrite ${TOPIC_ROOT}/#`, ''];
  for (const d of devices) {
    lines.push(`user ${d.username}`);
    for (const t of devicePublishTopics(d.centreId, d.deviceId)) lines.push(`topic write ${t}`);
    for (const t of deviceSubscribeTopics(d.centreId, d.deviceId)) lines.push(`topic read ${t}`);
    lines.push('');
  }
  return lines.join('\n');
}

export async function brokerConfigCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const args = parseArgs(argv, new Set(['help']));
  if (args.flags.has('help')) {
    out(BROKER_CONFIG_USAGE);
    return 0;
  }
  const get = (f: string) => {
    const v = args.flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  for (const f of args.flags.keys()) if (!['data', 'out', 'tls-port', 'plain-port', 'cafile', 'certfile', 'keyfile'].includes(f)) problems.push(`unknown option --${f}`);
  const port = (f: string, d: number | undefined) => {
    const v = get(f);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`--${f}: "${v}" is not a port`);
    return n;
  };
  const tlsPort = port('tls-port', 8883);
  const plainPort = port('plain-port', undefined);
  if (!tlsPort && !plainPort) problems.push('no listener: give --tls-port or --plain-port');
  if (problems.length) throw new ConfigError(problems);

  const dataDir = get('data') ?? process.env.MEALCHECK_DATA ?? './data/server';
  const outDir = resolve(get('out') ?? join(dataDir, 'mosquitto'));
  mkdirSync(outDir, { recursive: true });
  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  let devices: DeviceCredential[];
  try {
    devices = createDeviceCredentialRepository(db).list();
  } finally {
    db.close();
  }

  // Keep the server's login across runs, so adding a device never changes the server's URL.
  const passwdFile = join(outDir, 'passwd');
  const previous = existsSync(passwdFile) ? readFileSync(passwdFile, 'utf8').split('\n').find((l) => l.startsWith(`${SERVER_MQTT_USERNAME}:`)) : undefined;
  let serverPassword: string | undefined;
  let serverLine = previous;
  if (!serverLine) {
    serverPassword = generatePassword();
    serverLine = `${SERVER_MQTT_USERNAME}:${mosquittoHash(serverPassword)}`;
  }
  writeFileSync(passwdFile, [serverLine, ...devices.map((d) => `${d.username}:${d.mosquittoHash}`), ''].join('\n'), { mode: 0o600 });
  chmodSync(passwdFile, 0o600);
  writeFileSync(join(outDir, 'acl'), aclFile(devices));

  const conf = [
    '# Written by `mealcheck broker-config`; do not edit by hand.',
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${passwdFile}`,
    `acl_file ${join(outDir, 'acl')}`,
    // The ingest session (clean: false) and its queued events survive a broker restart.
    'persistence true',
    `persistence_location ${outDir}/`,
    'max_queued_messages 100000',
    '',
  ];
  // A listener option in Mosquitto 2 (not a global one), so it is repeated in every block: the
  // session is keyed by the login, whatever client id the client sends. A box can then replace
  // only its own session, never another box's or the server's ingest session (client id =
  // user name `mealcheck-server`, kept across restarts by persistence).
  const bindClientId = 'use_username_as_clientid true';
  if (tlsPort) {
    conf.push(
      `listener ${tlsPort}`,
      'protocol mqtt',
      bindClientId,
      `cafile ${resolve(get('cafile') ?? join(outDir, 'ca.crt'))}`,
      `certfile ${resolve(get('certfile') ?? join(outDir, 'server.crt'))}`,
      `keyfile ${resolve(get('keyfile') ?? join(outDir, 'server.key'))}`,
      // The minimum in Mosquitto 2 (1.3 is offered too).
      'tls_version tlsv1.2',
      '',
    );
  }
  if (plainPort) conf.push(`listener ${plainPort} 127.0.0.1`, 'protocol mqtt', bindClientId, '');
  writeFileSync(join(outDir, 'mosquitto.conf'), conf.join('\n'));

  out(`wrote ${join(outDir, 'mosquitto.conf')}, passwd and acl for ${devices.length} device(s)`);
  if (serverPassword) {
    const url = plainPort ? `mqtt://${SERVER_MQTT_USERNAME}:${serverPassword}@127.0.0.1:${plainPort}` : `mqtts://${SERVER_MQTT_USERNAME}:${serverPassword}@BROKER-HOST:${tlsPort}`;
    out(`server login (shown once): MEALCHECK_MQTT_URL=${url}`);
  }
  return 0;
}
