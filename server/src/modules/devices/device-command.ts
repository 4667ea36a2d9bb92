/**
 * `mealcheck device add|remove|list`: the device registry, on the server's database. Works
 * while the server runs (SQLite WAL; the embedded broker reads the registry at every CONNECT).
 */
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { createDeviceCredentialRepository, deviceUsername } from './credential-repository.ts';

const validId = (v: string) => (isValidId(v) ? undefined : `"${v}" is not an id (letters, digits, _ . -)`);

const DEVICE = {
  usage: `mealcheck device add    --centre ID --device ID [--data DIR]   registers a box (or replaces its password) and prints the password once
mealcheck device remove --centre ID --device ID [--data DIR]
mealcheck device list   [--data DIR]`,
  options: {
    centreId: { flag: 'centre', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the centre of the box (add, remove)' },
    deviceId: { flag: 'device', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the box (add, remove)' },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
  },
  positional: { name: 'ACTION', doc: 'add, remove or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

export async function deviceCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, DEVICE, ['add', 'remove', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: { centreId, deviceId, dataDir }, action } = p;
  const problems: string[] = [];
  if (action !== 'list') {
    if (centreId === undefined) problems.push('--centre ID is required (letters, digits, _ . -)');
    if (deviceId === undefined) problems.push('--device ID is required (letters, digits, _ . -)');
  }
  if (problems.length) throw new ConfigError(problems);

  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const repo = createDeviceCredentialRepository(db);
    if (action === 'add') {
      const password = await repo.add(centreId!, deviceId!, new Date());
      out(`device ${centreId}/${deviceId} registered; give the box these settings (the password is not shown again):`);
      out(`MEALCHECK_MQTT_USERNAME=${deviceUsername(centreId!, deviceId!)}`);
      out(`MEALCHECK_MQTT_PASSWORD=${password}`);
      return 0;
    }
    if (action === 'remove') {
      const removed = repo.remove(centreId!, deviceId!);
      out(removed ? `device ${centreId}/${deviceId} removed` : `device ${centreId}/${deviceId} was not registered`);
      return removed ? 0 : 1;
    }
    for (const d of repo.list()) out(`${d.username}\tregistered ${d.createdAt}`);
    return 0;
  } finally {
    db.close();
  }
}
