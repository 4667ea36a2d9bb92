/**
 * Writes the settings tables of the README from the same specs that validate the settings,
 * so the documentation cannot drift from the code: `npm run docs`. A test fails when the
 * README's section differs from what this would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseOptions, runTool, type SettingsSpec } from '../common/config.ts';
import { edgeSettings } from '../edge/src/config.ts';
import { serverSettingsSpec } from '../server/src/config.ts';

export function settingsTable(spec: SettingsSpec): string {
  const rows = Object.values(spec).map((s) => {
    const def = s.required ? '*required*' : s.default === undefined ? '' : `\`${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}\``;
    return `| \`--${s.flag}\` | \`${s.env ?? ''}\` | ${def} | ${s.doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export const SETTINGS = { server: serverSettingsSpec, edge: edgeSettings } as const;

/** The README section between the settings markers. */
export function settingsSection(): string {
  return Object.entries(SETTINGS)
    .map(([name, spec]) => `### mealcheck ${name}\n\n${settingsTable(spec)}`)
    .join('\n\n');
}

const BEGIN = /<!-- settings:begin[^>]*-->/;
const END = '<!-- settings:end -->';

/** The README text with its settings section replaced by the generated one. */
export function withSettings(readme: string): string {
  const begin = BEGIN.exec(readme);
  const end = readme.indexOf(END);
  if (!begin || end < begin.index) throw new Error('README.md has no settings markers');
  return `${readme.slice(0, begin.index + begin[0].length)}\n${settingsSection()}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runTool('docs', async () => {
    const p = parseOptions(process.argv.slice(2), { usage: 'npm run docs', about: "Writes the settings tables of README.md from the settings specs of mealcheck server and edge.", options: {} });
    if (p.help !== undefined) {
      console.log(p.help);
      return 0;
    }
    const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
    writeFileSync(readmePath, withSettings(readFileSync(readmePath, 'utf8')));
    console.log('README.md settings section updated');
    return 0;
  });
}
