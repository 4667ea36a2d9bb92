/**
 * `mealcheck staff add|list|remove`: staff accounts on an edge box, on its database (works
 * while the edge runs: SQLite WAL). The first manager is made here:
 *
 *   mealcheck staff add --data DIR --role manager --name 张丽            prints a one-time PIN
 *   echo 'my-pin' | mealcheck staff add --data DIR --role staff --name 王芳 --pin-stdin
 *
 * Actions are audited like those on the pages, with no staff id (the box's operator).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, uuidV7Ids } from '../../../common/clock.ts';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../common/config.ts';
import { auditRecordOf, createAuditLog } from '../audit/audit-log.ts';
import { EDGE_DATABASE_FILE } from '../elders/elder-command.ts';
import { openEdgeDatabase } from '../main.ts';
import { createOutboxRepository } from '../sync/outbox-repository.ts';
import { createStaffService, StaffError } from './staff-service.ts';

const STAFF = {
  usage: `mealcheck staff add    --data DIR --role staff|manager --name NAME [--id ID] [--pin-stdin]
mealcheck staff list   --data DIR
mealcheck staff remove --data DIR --id ID`,
  about: `add prints a generated one-time PIN (changed at the first login) unless --pin-stdin reads the
PIN from standard input (6 to 128 characters). Removing the last manager is refused.`,
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/edge', arg: 'DIR', doc: "the edge's data folder" },
    role: { flag: 'role', type: 'string', default: undefined, choices: ['staff', 'manager'], doc: 'the new account\'s role (add)' },
    name: { flag: 'name', type: 'string', default: undefined, arg: 'NAME', doc: 'the staff member\'s name (add)' },
    staffId: { flag: 'id', type: 'string', default: undefined, arg: 'ID', doc: 'staff id: to remove; for add, optional (S001, S002, ... when unset)' },
    pinStdin: { flag: 'pin-stdin', type: 'boolean', default: false, doc: 'read the PIN from standard input instead of generating a one-time one (add)' },
    centreId: { flag: 'centre', env: 'MEALCHECK_CENTRE', type: 'string', default: undefined, doc: "this box's centre id, to forward the audit row (as mealcheck edge --centre)" },
    deviceId: { flag: 'device', env: 'MEALCHECK_DEVICE', type: 'string', default: undefined, doc: "this box's device id (as mealcheck edge --device)" },
  },
  positional: { name: 'ACTION', doc: 'add, list or remove', min: 1, max: 1 },
} as const satisfies CommandSpec;

export class StaffCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaffCommandError';
  }
}

export async function staffCommand(argv: string[], out: (s: string) => void = (s) => console.log(s), stdin: () => string = () => readFileSync(0, 'utf8')): Promise<number> {
  const p = readActionCommand(argv, STAFF, ['add', 'list', 'remove'] as const, out);
  if (typeof p === 'number') return p;
  const { options: o, action } = p;
  const problems: string[] = [];
  if (action === 'add') {
    if (!o.role) problems.push('--role staff|manager is required');
    if (!o.name) problems.push('--name NAME is required');
  } else {
    if (o.role || o.name || o.pinStdin) problems.push(`--role, --name and --pin-stdin are for add only`);
    if (action === 'remove' && !o.staffId) problems.push('--id ID is required (mealcheck staff list shows the ids)');
    if (action === 'list' && o.staffId) problems.push('--id is for add and remove');
  }
  if ((o.centreId === undefined) !== (o.deviceId === undefined)) problems.push('--centre and --device go together');
  if (problems.length) throw new ConfigError(problems);

  const file = join(o.dataDir, EDGE_DATABASE_FILE);
  // `staff add` on a new box creates the database (the first manager comes before the first start).
  if (action !== 'add' && !existsSync(file)) throw new StaffCommandError(`no edge database in ${o.dataDir} (expected ${file}); --data is the folder given to mealcheck edge`);
  const db = openEdgeDatabase(file);
  try {
    const outbox = createOutboxRepository(db);
    const forward = o.centreId && o.deviceId ? (row: Parameters<typeof auditRecordOf>[0]) => outbox.enqueue(auditRecordOf(row, o.centreId!, o.deviceId!), row.at) : undefined;
    const audit = createAuditLog({ db, clock: systemClock, ids: uuidV7Ids, ...(forward ? { forward } : {}) });
    const staff = createStaffService({ db, clock: systemClock, audit });
    try {
      if (action === 'list') {
        const list = staff.list();
        if (list.length === 0) out(`no staff accounts in ${o.dataDir}: add the first manager with mealcheck staff add --role manager --name NAME`);
        for (const a of list) out(`${a.staffId}\t${a.name}\t${a.role}${a.lockedUntil && Date.parse(a.lockedUntil) > Date.now() ? `\tlocked until ${a.lockedUntil}` : ''}${a.mustChangePin ? '\tone-time PIN not yet changed' : ''}`);
        return 0;
      }
      if (action === 'remove') {
        const a = staff.remove(o.staffId!, null);
        out(`removed ${a.staffId} ${a.name} (${a.role}); their sessions ended`);
        return 0;
      }
      const pin = o.pinStdin ? stdin().replace(/\r?\n$/, '') : undefined;
      const r = await staff.add({ name: o.name!, role: o.role as 'staff' | 'manager', ...(o.staffId ? { staffId: o.staffId } : {}), ...(pin !== undefined ? { pin } : {}) }, null);
      out(`added ${r.staff.staffId} ${r.staff.name} (${r.staff.role})`);
      if (r.pin) out(`one-time PIN: ${r.pin}  (shown once; it must be changed at the first login)`);
      return 0;
    } catch (err) {
      if (err instanceof StaffError) throw new StaffCommandError(`refused: ${err.message}`);
      throw err;
    }
  } finally {
    db.close();
  }
}
