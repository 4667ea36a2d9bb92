/**
 * `mealcheck erasure request|list`: erasures of an elder's face data at every box of a centre, on
 * the server's database. Works while the server runs: it finds the request within a poll
 * (bureau/centre-config.ts) and sends the centre's config document down.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../../common/config.ts';
import { isValidId } from '../../../../common/contract.ts';
import { createLogger } from '../../../../common/logger.ts';
import { openDatabase } from '../../../../common/sqlite.ts';
import { systemClock } from '../../../../common/clock.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server.ts';
import { createBureau } from './bureau.ts';
import { BureauConflictError, BureauInputError, BureauNotFoundError } from './bureau-service.ts';

const validId = (v: string) => (isValidId(v) ? undefined : `"${v}" is not an id (letters, digits, _ . -)`);

const ERASURE = {
  usage: `mealcheck erasure request --centre ID --elder ID --reason TEXT [--by NAME] [--data DIR]
mealcheck erasure list    [--centre ID] [--pending] [--data DIR]`,
  about: `An erasure deletes the elder's face templates and review crops on every box of the centre; each box
acknowledges it, and it is complete once every device of the centre has. Meals stay.`,
  options: {
    centreId: { flag: 'centre', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the centre (request; list: only this centre)' },
    elderId: { flag: 'elder', type: 'string', default: undefined, arg: 'ID', check: validId, doc: 'the elder whose face data goes (request)' },
    reason: { flag: 'reason', type: 'string', default: undefined, arg: 'TEXT', doc: 'why, for the audit log (request)' },
    by: { flag: 'by', type: 'string', default: undefined, arg: 'NAME', doc: 'recorded as the requester (default: the user running the command)' },
    pending: { flag: 'pending', type: 'boolean', default: false, doc: 'list only erasures not yet complete (list)' },
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', arg: 'DIR', doc: "the server's data folder" },
  },
  positional: { name: 'ACTION', doc: 'request or list', min: 1, max: 1 },
} as const satisfies CommandSpec;

export async function erasureCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, ERASURE, ['request', 'list'] as const, out);
  if (typeof p === 'number') return p;
  const { options: { centreId, elderId, reason, by, pending, dataDir }, action } = p;
  const problems: string[] = [];
  if (action === 'request') {
    if (centreId === undefined) problems.push('--centre ID is required');
    if (elderId === undefined) problems.push('--elder ID is required');
    if (reason === undefined) problems.push('--reason TEXT is required (it goes in the audit log)');
    if (pending) problems.push('--pending is for list');
  } else if (elderId !== undefined || reason !== undefined || by !== undefined) problems.push('list takes only --centre, --pending and --data');
  if (problems.length) throw new ConfigError(problems);

  const db = openDatabase(join(dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  try {
    const bureau = createBureau(db, { clock: systemClock, logger: createLogger('erasure', 'warn'), passive: true });
    if (action === 'request') {
      try {
        const e = bureau.service.requestErasure(centreId!, elderId!, reason!, by ?? `cli:${userInfo().username}`, new Date());
        const devices = bureau.erasures.devicesOf(e.centreId);
        out(`erasure ${e.erasureId}: elder ${e.elderId} at centre ${e.centreId}, pending on ${devices.length} device(s)${devices.length ? ` (${devices.join(', ')})` : ''}; a running server sends it down within seconds`);
        return 0;
      } catch (err) {
        if (err instanceof BureauInputError) throw new ConfigError(err.problems);
        if (err instanceof BureauNotFoundError || err instanceof BureauConflictError) throw new ConfigError([err.message]);
        throw err;
      }
    }
    for (const e of bureau.erasures.list({ ...(centreId ? { centreId } : {}), ...(pending ? { state: 'pending' as const } : {}) })) {
      const acks = e.devices.map((d) => (d.acked ? `${d.deviceId} acked (${d.templates} template(s), ${d.crops} crop(s))` : `${d.deviceId} waiting`)).join('; ');
      out(`${e.erasureId}\t${e.centreId}\t${e.elderId}\t${e.state}${e.completedAt ? ` ${e.completedAt}` : ''}\trequested ${e.requestedAt} by ${e.requestedBy}\t${acks || 'no device known'}`);
    }
    return 0;
  } finally {
    db.close();
  }
}
