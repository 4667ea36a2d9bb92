/** The README documents every setting, as the code defines them today. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, withSettings } from '../../scripts/settings-doc.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has the settings section the specs generate (run `npm run docs` after changing a setting)', () => {
    expect(readme).toBe(withSettings(readme));
  });

  it.each(Object.entries(SETTINGS).flatMap(([cmd, spec]) => Object.values(spec).map((s) => ({ cmd, flag: s.flag, env: s.env }))))(
    'documents $cmd --$flag ($env)',
    ({ flag, env }) => {
      expect(readme).toContain(`\`--${flag}\``);
      expect(readme).toContain(`\`${env}\``);
    },
  );
});
