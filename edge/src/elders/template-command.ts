/**
 * `mealcheck templates status|reset-key --data DIR [--template-key FILE]`: whether the box's face
 * templates open with its key (template-vault.ts), and, when the key is lost for good, starting a
 * new one: every template sealed with the old key is deleted and its elders are listed for
 * enrolment again (`--yes` confirms; nothing else is touched: elders, meals, consents stay).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readActionCommand, type CommandSpec } from '../../../common/config.ts';
import { openEdgeDatabase } from '../edge-database.ts';
import { EDGE_DATABASE_FILE } from './elder-command.ts';
import { defaultTemplateKeyFile, resetTemplateKey, templateVaultOf } from './template-vault.ts';

export const TEMPLATES = {
  usage: `mealcheck templates status    --data DIR [--template-key FILE]        do the templates open with the key?
mealcheck templates reset-key --data DIR [--template-key FILE] --yes  the key is lost: delete its templates, start a new key`,
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/edge', arg: 'DIR', doc: 'the edge data folder' },
    templateKey: { flag: 'template-key', env: 'MEALCHECK_TEMPLATE_KEY', type: 'string', default: undefined, arg: 'FILE', doc: "the edge's --template-key (default <data folder>.key)" },
    yes: { flag: 'yes', type: 'boolean', default: false, doc: 'reset-key: yes, delete the templates the old key sealed' },
  },
  positional: { name: 'ACTION', doc: 'status or reset-key', min: 1, max: 1 },
} as const satisfies CommandSpec;

export class TemplateCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateCommandError';
  }
}

export async function templateCommand(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = readActionCommand(argv, TEMPLATES, ['status', 'reset-key'] as const, out);
  if (typeof p === 'number') return p;
  const file = join(p.options.dataDir, EDGE_DATABASE_FILE);
  if (!existsSync(file)) throw new TemplateCommandError(`no edge database in ${p.options.dataDir} (expected ${file})`);
  const keyFile = p.options.templateKey ?? defaultTemplateKeyFile(file, {});
  const db = openEdgeDatabase(file, { templateKey: keyFile });
  try {
    const vault = templateVaultOf(db);
    const count = (db.prepare('SELECT count(*) FROM templates').pluck().get() as number) ?? 0;
    if (p.action === 'status') {
      out(vault.problem ? `templates LOCKED: ${vault.problem}` : `templates ok: ${count} sealed with ${keyFile}`);
      return vault.problem ? 1 : 0;
    }
    if (!vault.problem) {
      out(`the key ${keyFile} opens all ${count} template(s): nothing to reset`);
      return 0;
    }
    if (!p.options.yes) throw new TemplateCommandError(`reset-key deletes ${count} template(s) that only the lost key opens; run again with --yes to do it`);
    const r = resetTemplateKey(db, keyFile);
    out(`new template key ${keyFile}; deleted ${r.templates} template(s). Enrol these ${r.elders.length} elder(s) again: ${r.elders.join(', ') || '-'}`);
    return 0;
  } finally {
    db.close();
  }
}
