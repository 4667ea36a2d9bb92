/**
 * `mealcheck elder list|remove`: the elders enrolled on an edge box, on its database. Works
 * while the edge runs (SQLite WAL): the running edge notices a removal within about a second
 * and stops recognising the elder (edge/src/elders/template-watcher.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseArgs } from '../../../common/config.ts';
import { openEdgeDatabase } from '../main.ts';
import { createElderRepository } from './elder-repository.ts';

export const ELDER_USAGE = `mealcheck elder list   --data DIR               enrolled elders: id, name, templates (never the face data)
mealcheck elder remove --data DIR --elder ID    deletes the elder and their face templates; their meals and check-ins stay

--data is the edge's data folder (default: $MEALCHECK_DATA). A running edge picks a removal up within a few seconds.`;

/** The edge database file in a data folder (as `mealcheck edge` and `mealcheck enrol` name it). */
export const EDGE_DATABASE_FILE = 'edge.db';

/** A command refused for a reason the operator can fix (exit code 1, the message as it is). */
export class ElderCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElderCommandError';
  }
}

export async function elderCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const [action, ...rest] = argv;
  const args = parseArgs(rest, new Set(['help']));
  if (action === undefined || action === '--help' || action === '-h' || args.flags.has('help')) {
    out(ELDER_USAGE);
    return action === undefined ? 2 : 0;
  }
  const get = (f: string) => {
    const v = args.flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  if (!['list', 'remove'].includes(action)) problems.push(`unknown action "${action}" (list or remove)`);
  const dataDir = get('data') ?? process.env.MEALCHECK_DATA;
  const elderId = get('elder');
  if (!dataDir) problems.push('--data DIR is required (the edge data folder)');
  if (action === 'remove' && !elderId) problems.push('--elder ID is required (mealcheck elder list shows the ids)');
  for (const f of args.flags.keys()) if (!['data', 'elder'].includes(f) || (f === 'elder' && action !== 'remove')) problems.push(`unknown option --${f}`);
  if (args.positional.length) problems.push(`unexpected argument "${args.positional[0]}"`);
  if (problems.length) throw new ConfigError(problems);

  // Opening would create an empty database: a mistyped folder must say so instead.
  const file = join(dataDir!, EDGE_DATABASE_FILE);
  if (!existsSync(file)) throw new ElderCommandError(`no edge database in ${dataDir} (expected ${file}); --data is the folder given to mealcheck edge and mealcheck enrol`);
  const db = openEdgeDatabase(file);
  try {
    const elders = createElderRepository(db);
    if (action === 'list') {
      const list = elders.listElders();
      if (list.length === 0) out(`no elders enrolled in ${dataDir}`);
      for (const e of list) out(`${e.elderId}\t${e.name}\t${e.templateCount} template(s)\tenrolled ${e.createdAt}`);
      return 0;
    }
    const removed = elders.removeElder(elderId!);
    if (!removed) throw new ElderCommandError(`no elder ${elderId} in ${dataDir}; nothing removed (mealcheck elder list --data ${dataDir} shows who is enrolled)`);
    out(`removed ${elderId} ${removed.name} and ${removed.templates} face template(s); their meals and check-ins stay (subsidy history)`);
    out('a running edge stops recognising them within a few seconds');
    return 0;
  } finally {
    db.close();
  }
}
