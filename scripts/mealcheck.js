#!/usr/bin/env node
// The `mealcheck` command. The TypeScript sources run from a cached esbuild bundle (no build
// step, and ~45 MB less memory than tsx's loader), or through tsx when that cannot be built
// (scripts/bundle.js).
import { importEntry } from './bundle.js';

const { main } = await importEntry(new URL('./cli.ts', import.meta.url), (reason) => {
  if (process.env.MEALCHECK_NO_BUNDLE !== '1') process.stderr.write(`mealcheck: running through tsx (${reason})\n`);
});
process.exitCode = await main(process.argv.slice(2));
