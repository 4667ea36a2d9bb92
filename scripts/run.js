#!/usr/bin/env node
// Runs one TypeScript entry point the way the `mealcheck` command runs (scripts/bundle.js):
// `node scripts/run.js scripts/bench/bench.ts --json`. process.argv is rewritten to what the
// entry would see run directly (`[node, entry, ...args]`).
import { resolve } from 'node:path';
import { importEntry } from './bundle.js';

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: node scripts/run.js <entry.ts> [args...]\n');
  process.exit(2);
}
process.argv.splice(1, 2, resolve(entry));
await importEntry(resolve(entry), (reason) => {
  if (process.env.MEALCHECK_NO_BUNDLE !== '1') process.stderr.write(`run: ${entry} runs through tsx (${reason})\n`);
});
