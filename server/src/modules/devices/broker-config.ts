/**
 * `mealcheck broker-config`: Mosquitto's password file, ACL file and configuration, written from
 * the server's device registry, so production enforces the same rules as the embedded broker
 * (topic-acl.ts): each device publishes and subscribes only under its own topics.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commandHelp, ConfigError, parseOptions, type CommandSpec } from '../../../../common/config.ts';
import { TOPIC_ROOT } from '../../../../common/contract.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR, SERVER_MQTT_USERNAME } from '../../server.ts';
import { createDeviceCredentialRepository, generatePassword, mosquittoHash, type DeviceCredential } from './credential-repository.ts';
import { devicePublishTopics, deviceSubscribeTopics } from './topic-acl.ts';

const port = { type: 'int', min: 0, max: 65535, arg: 'N' } as const;

const BROKER_CONFIG = {
  usage: 'mealcheck broker-config [--data DIR] [--out DIR] [--tls-port 8883] [--plain-port N] [--cafile F --certfile F --keyfile F]',
  about: `Writes mosquitto.conf, passwd and acl into --out (default <data>/mosquitto) from the device
registry (mealcheck device add). Run it again after adding or removing a device, then reload
Mosquitto (SIGHUP). The server's own login is made on the first run and kept after that;
the first run prints the MEALCHECK_MQTT_URL to start the server with.`,
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
    outDir: { flag: 'out', type: 'string', default: undefined, arg: 'DIR', doc: 'where to write the files (default <data>/mosquitto)' },
    tlsPort: { flag: 'tls-port', ...port, default: 8883, doc: 'TLS listener for the edge boxes, 0 for none' },
    plainPort: { flag: 'plain-port', ...port, default: undefined, doc: 'plain listener on 127.0.0.1 only, for the server on the same machine (default none)' },
    cafile: { flag: 'cafile', type: 'string', default: undefined, arg: 'F', doc: 'TLS CA file (default ca.crt in --out)' },
    certfile: { flag: 'certfile', type: 'string', default: undefined, arg: 'F', doc: "the broker's TLS certificate (default server.crt in --out)" },
    keyfile: { flag: 'keyfile', type: 'string', default: undefined, arg: 'F', doc: "the broker's TLS key (default server.key in --out)" },
  },
} as const satisfies CommandSpec;

export const BROKER_CONFIG_USAGE = commandHelp(BROKER_CONFIG);

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
  const p = parseOptions(argv, BROKER_CONFIG);
  if (p.help !== undefined) {
    out(p.help);
    return 0;
  }
  const { dataDir, tlsPort, plainPort } = p.options;
  if (!tlsPort && !plainPort) throw new ConfigError(['no listener: give --tls-port or --plain-port']);

  const outDir = resolve(p.options.outDir ?? join(dataDir, 'mosquitto'));
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
      `cafile ${resolve(p.options.cafile ?? join(outDir, 'ca.crt'))}`,
      `certfile ${resolve(p.options.certfile ?? join(outDir, 'server.crt'))}`,
      `keyfile ${resolve(p.options.keyfile ?? join(outDir, 'server.key'))}`,
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
