import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE_CACHE_DIR, bundleFile, importEntry } from '../../scripts/bundle.js';

describe('scripts/bundle.js (entry points run as plain JS)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-bundle-'));
    writeFileSync(join(dir, 'helper.ts'), `export const where: string = import.meta.url;\nexport const n: number = 1;\n`);
    writeFileSync(join(dir, 'entry.ts'), `import { where, n } from './helper.ts';\nexport const self: string = import.meta.url;\nexport const helper = where;\nexport const value = n;\n`);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    // This test's bundles (the app's own are named after cli.ts, worker.ts, ...).
    for (const f of readdirSync(BUNDLE_CACHE_DIR)) if (f.startsWith('entry-') || f.startsWith('lazy-')) rmSync(join(BUNDLE_CACHE_DIR, f), { recursive: true, force: true });
    delete process.env.MEALCHECK_NO_BUNDLE;
  });

  it('bundles an entry with its own imports and keeps each source file its own import.meta.url', async () => {
    const file = await bundleFile(join(dir, 'entry.ts'));
    expect(file).toMatch(/node_modules\/\.cache\/mealcheck\/entry-[0-9a-f]{12}-[0-9a-f]{16}\/entry\.mjs$/);
    const mod = (await import(pathToFileURL(file).href)) as { self: string; helper: string; value: number };
    expect(mod.self).toBe(pathToFileURL(join(dir, 'entry.ts')).href);
    expect(mod.helper).toBe(pathToFileURL(join(dir, 'helper.ts')).href);
    expect(mod.value).toBe(1);
  });

  it('loads a source imported dynamically, and the packages it imports, only when the import runs', async () => {
    // node:test stands in for a package (Fastify, aedes): esbuild would otherwise hoist its
    // import to the top of the bundle and every command would load it.
    writeFileSync(join(dir, 'heavy.ts'), `import { test } from 'node:test';\nexport const loaded: string = typeof test;\n`);
    writeFileSync(join(dir, 'lazy.ts'), `export const later = async (): Promise<string> => (await import('./heavy.ts')).loaded;\n`);
    const file = await bundleFile(join(dir, 'lazy.ts'));
    const chunks = readdirSync(dirname(file)).filter((f) => f !== 'lazy.mjs');
    expect(readFileSync(file, 'utf8')).not.toContain('node:test');
    expect(chunks.filter((f) => readFileSync(join(dirname(file), f), 'utf8').includes('node:test'))).toHaveLength(1);
    const mod = (await import(pathToFileURL(file).href)) as { later(): Promise<string> };
    expect(await mod.later()).toBe('function');
  });

  it('reuses the bundle while the sources are unchanged and rebuilds when one changes', async () => {
    const first = await bundleFile(join(dir, 'entry.ts'));
    expect(await bundleFile(join(dir, 'entry.ts'))).toBe(first);
    writeFileSync(join(dir, 'helper.ts'), `export const where: string = import.meta.url;\nexport const n: number = 2;\n`);
    utimesSync(join(dir, 'helper.ts'), new Date(), new Date(Date.now() + 5000));
    const second = await bundleFile(join(dir, 'entry.ts'));
    expect(second).not.toBe(first);
    const mod = (await import(pathToFileURL(second).href)) as { value: number };
    expect(mod.value).toBe(2);
  });

  it('refuses with MEALCHECK_NO_BUNDLE=1, and importEntry then says why and still loads the source', async () => {
    process.env.MEALCHECK_NO_BUNDLE = '1';
    await expect(bundleFile(join(dir, 'entry.ts'))).rejects.toThrow(/MEALCHECK_NO_BUNDLE/);
    const reasons: string[] = [];
    const mod = (await importEntry(join(dir, 'entry.ts'), (r) => reasons.push(r))) as { value: number };
    expect(reasons).toEqual(['MEALCHECK_NO_BUNDLE=1']);
    expect(mod.value).toBe(1);
  });

  it('reports a syntax error in a source instead of running a stale or broken bundle', async () => {
    writeFileSync(join(dir, 'helper.ts'), `export const where: string = ;\n`);
    await expect(bundleFile(join(dir, 'entry.ts'))).rejects.toThrow();
  });
});
