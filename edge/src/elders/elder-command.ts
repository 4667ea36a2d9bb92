/**
 * `mealcheck elder list|remove`: the elders enrolled on an edge box, on its database. Works
 * while the edge runs (SQLite WAL): the running edge notices a removal within about a second
 * and stops recognising the elder (edge/src/elders/template-watcher.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../common/config.ts';
import { openEdgeDatabase } from '../edge-database.ts';
import { createElderRepository } from './elder-repository.ts';

const ELDER = {
  usage: `mealcheck elder list   --data DIR               enrolled elders: id, name, templates per model (never the face data)
mealcheck elder remove --data DIR --elder ID    deletes the elder and their face templates; their meals and check-ins stay`,
  about: 'A running edge on the same data folder picks a removal up within a few seconds.',
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', required: true, arg: 'DIR', doc: "the edge's data folder" },
    elderId: { flag: 'elder', type: 'string', default: undefined, arg: 'ID', doc: 'the elder to remove (remove; mealcheck elder list shows the ids)' },
  },
  positional: { name: 'ACTION', doc: 'list or remove', min: 1, max: 1 },
} as const satisfies CommandSpec;

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
  const p = readActionCommand(argv, ELDER, ['list', 'remove'] as const, out);
  if (typeof p === 'number') return p;
  const { options: { dataDir, elderId }, action } = p;
  const problems: string[] = [];
  if (action === 'remove' && !elderId) problems.push('--elder ID is required (mealcheck elder list shows the ids)');
  else if (action === 'list' && elderId !== undefined) problems.push('--elder is for remove only');
  if (problems.length) throw new ConfigError(problems);

  // Opening would create an empty database: a mistyped folder must say so instead.
  const file = join(dataDir, EDGE_DATABASE_FILE);
  if (!existsSync(file)) throw new ElderCommandError(`no edge database in ${dataDir} (expected ${file}); --data is the folder given to mealcheck edge and mealcheck enrol`);
  const db = openEdgeDatabase(file);
  try {
    const elders = createElderRepository(db);
    if (action === 'list') {
      const list = elders.listElders();
      if (list.length === 0) out(`no elders enrolled in ${dataDir}`);
      // Models by name: after a model change, an elder without the new one needs enrolling again.
      for (const e of list) out(`${e.elderId}\t${e.name}\t${e.templateCount} template(s)${templateModels(e.templateModels)}\tenrolled ${e.createdAt}`);
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

/** ` (face-api 2, fr-feature 1)`: templates per model; empty for an elder with none. */
function templateModels(models: Record<string, number>): string {
  const parts = Object.entries(models).map(([m, n]) => `${m} ${n}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
