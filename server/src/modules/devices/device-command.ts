/**
 * `mealcheck device add|remove|list`: the device registry, on the server's database. Works
 * while the server runs (SQLite WAL; the embedded broker reads the registry at every CONNECT).
 */
import { join } from 'node:path';
import { ConfigError, parseArgs } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { createDeviceCredentialRepository, deviceUsername } from './credential-repository.ts';

export const DEVICE_USAGE = `mealcheck device add    --centre ID --device ID [--data DIR]   registers a box (or replaces its password) and prints the password once
mealcheck device remove --centre ID --device ID [--data DIR]
mealcheck device list   [--data DIR]

--data is the server's data folder (default: $MEALCHECK_DATA or ./data/server).`;

export async function deviceCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const [action, ...rest] = argv;
  const args = parseArgs(rest, new Set(['help']));
  if (action === undefined || action === '--help' || action === '-h' || args.flags.has('help')) {
    out(DEVICE_USAGE);
    return action === undefined ? 2 : 0;
  }
  const get = (f: string) => {
    const v = args.flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  if (!['add', 'remove', 'list'].includes(action)) problems.push(`unknown action "${action}" (add, remove or list)`);
  const centreId = get('centre');
  const deviceId = get('device');
  if (action !== 'list') {
    if (!centreId || !isValidId(centreId)) problems.push('--centre ID is required (letters, digits, _ . -)');
    if (!deviceId || !isValidId(deviceId)) problems.push('--device ID is required (letters, digits, _ . -)');
  }
  for (const f of args.flags.keys()) if (!['centre', 'device', 'data'].includes(f)) problems.push(`unknown option --${f}`);
  if (problems.length) throw new ConfigError(problems);

  const dataDir = get('data') ?? process.env.MEALCHECK_DATA ?? './data/server';
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
