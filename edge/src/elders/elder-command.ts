/**
 * `mealcheck elder list|remove|suspend|reactivate`: the elder registry of an edge box, on its
 * database. Works while the edge runs (SQLite WAL): the running edge forwards the change from
 * its outbox (within its poll period) and stops recognising a removed or suspended elder within
 * about a second (edge/src/elders/template-watcher.ts).
 */
import { existsSync } from 'node:fs';
import { createCentreConfigRepository } from '../bureau/config-repository.ts';
import { join } from 'node:path';
import { systemClock, uuidV7Ids } from '../../../common/clock.ts';
import { ConfigError, readActionCommand, type CommandSpec } from '../../../common/config.ts';
import { maskIdNumber } from '../../../common/id-card.ts';
import { DEFAULT_TIME_ZONE } from '../../../common/meal-windows.ts';
import type { Db } from '../../../common/sqlite.ts';
import { openEdgeDatabase } from '../edge-database.ts';
import { createOutboxRepository } from '../sync/outbox-repository.ts';
import { loadConsentTexts } from './consent-texts.ts';
import { createElderRepository } from './elder-repository.ts';
import { createElderRegistry, DEFAULT_ELDER_CATEGORIES, type ElderRegistry } from './registry-service.ts';

/** The options a command needs to write the registry: a change is forwarded as the box's record. */
export const REGISTRY_OPTIONS = {
  centreId: { flag: 'centre', env: 'MEALCHECK_CENTRE', type: 'string', default: undefined, arg: 'ID', doc: "the box's centre id, as given to mealcheck edge (the change is forwarded under it)" },
  deviceId: { flag: 'device', env: 'MEALCHECK_DEVICE', type: 'string', default: undefined, arg: 'ID', doc: "the box's device id, as given to mealcheck edge" },
  staffId: { flag: 'staff', env: 'MEALCHECK_STAFF', type: 'string', default: undefined, arg: 'ID', doc: 'who makes the change (recorded with it and forwarded)' },
  consentDir: { flag: 'consent-dir', env: 'MEALCHECK_CONSENT_DIR', type: 'string', default: undefined, arg: 'DIR', doc: 'the consent texts (default: the shipped edge/consent/)' },
  timeZone: { flag: 'time-zone', env: 'MEALCHECK_TIME_ZONE', type: 'string', default: DEFAULT_TIME_ZONE, arg: 'TZ', doc: "the centre's time zone (the consent's default date)" },
} as const;

/** The registry on a box's database, for a command; every missing option is named at once. */
export function commandRegistry(db: Db, o: { centreId?: string | undefined; deviceId?: string | undefined; staffId?: string | undefined; consentDir?: string | undefined; timeZone: string }, what: string): { registry: ElderRegistry; staffId: string } {
  const missing = (['centreId', 'deviceId', 'staffId'] as const).filter((k) => !o[k]).map((k) => `--${REGISTRY_OPTIONS[k].flag} ID`);
  if (missing.length) throw new ConfigError(missing.map((m) => `${m} is required to ${what} (the change is forwarded to the server as this box's record)`));
  const registry = createElderRegistry({
    db,
    elders: createElderRepository(db),
    outbox: createOutboxRepository(db),
    ids: uuidV7Ids,
    clock: systemClock,
    centreId: o.centreId!,
    deviceId: o.deviceId!,
    timeZone: o.timeZone,
    categories: DEFAULT_ELDER_CATEGORIES,
    consentTexts: loadConsentTexts(o.consentDir),
    // The key of the config document the box's edge applied last, if it has run connected.
    idNumberKey: () => createCentreConfigRepository(db).applied()?.document.idNumberKey,
  });
  return { registry, staffId: o.staffId! };
}

const ELDER = {
  usage: `mealcheck elder list       --data DIR               elders: id, name, status, consent, templates per model (never the face data)
mealcheck elder remove     --data DIR --elder ID --centre ID --device ID --staff ID
                           deletes the elder and their face templates; their meals and check-ins stay
mealcheck elder suspend    --data DIR --elder ID --centre ID --device ID --staff ID   not recognised at the door until reactivated
mealcheck elder reactivate --data DIR --elder ID --centre ID --device ID --staff ID`,
  about: 'A running edge on the same data folder forwards the change and applies it at the door within a few seconds.',
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', required: true, arg: 'DIR', doc: "the edge's data folder" },
    elderId: { flag: 'elder', type: 'string', default: undefined, arg: 'ID', doc: 'the elder (remove, suspend, reactivate; mealcheck elder list shows the ids)' },
    ...REGISTRY_OPTIONS,
  },
  positional: { name: 'ACTION', doc: 'list, remove, suspend or reactivate', min: 1, max: 1 },
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
  const p = readActionCommand(argv, ELDER, ['list', 'remove', 'suspend', 'reactivate'] as const, out);
  if (typeof p === 'number') return p;
  const { options, action } = p;
  const { dataDir, elderId } = options;
  const problems: string[] = [];
  if (action !== 'list' && !elderId) problems.push(`--elder ID is required for ${action} (mealcheck elder list shows the ids)`);
  else if (action === 'list' && elderId !== undefined) problems.push('--elder is for remove, suspend and reactivate');
  if (problems.length) throw new ConfigError(problems);

  // Opening would create an empty database: a mistyped folder must say so instead.
  const file = join(dataDir, EDGE_DATABASE_FILE);
  if (!existsSync(file)) throw new ElderCommandError(`no edge database in ${dataDir} (expected ${file}); --data is the folder given to mealcheck edge and mealcheck enrol`);
  const db = openEdgeDatabase(file);
  try {
    const elders = createElderRepository(db);
    if (action === 'list') {
      const list = elders.listElders();
      if (list.length === 0) out(`no elders registered in ${dataDir}`);
      for (const e of list) {
        const d = elders.details(e.elderId);
        const consent = d?.consent ? `consent ${d.consent.textVersion} ${d.consent.signedOn}` : 'NO CONSENT';
        const id = d?.idNumber ? `\t${maskIdNumber(d.idNumber)}` : '';
        // Models by name: after a model change, an elder without the new one needs enrolling again.
        out(`${e.elderId}\t${e.name}\t${e.status}${id}\t${consent}\t${e.templateCount} template(s)${templateModels(e.templateModels)}\tregistered ${e.createdAt}`);
      }
      return 0;
    }
    const { registry, staffId } = commandRegistry(db, options, `${action} an elder`);
    if (!elders.getElder(elderId!)) throw new ElderCommandError(`no elder ${elderId} in ${dataDir}; nothing changed (mealcheck elder list --data ${dataDir} shows who is registered)`);
    if (action === 'remove') {
      const removed = registry.remove(elderId!, staffId);
      out(`removed ${elderId} ${removed.name} and ${removed.templates} face template(s); their meals and check-ins stay (subsidy history)`);
      out('a running edge stops recognising them within a few seconds');
      return 0;
    }
    const d = registry.setStatus(elderId!, action === 'suspend' ? 'suspended' : 'active', staffId);
    out(`${elderId} ${d.name} is now ${d.status}; a running edge applies it at the door within a few seconds`);
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
