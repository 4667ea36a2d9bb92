/**
 * The model worker's script. Run through tsx, a worker thread carries ~45 MB of loader and
 * compiler state in its own V8 isolate; as plain JavaScript it does not. So the worker runs
 * from a bundle of worker.ts (scripts/bundle.js: esbuild, cached, rebuilt when a source
 * changes), and falls back to worker-entry.js (tsx) when the bundle cannot be built.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../common/logger.ts';
import { bundleFile } from '../../../scripts/bundle.js';

const SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX_ENTRY = new URL('./worker-entry.js', import.meta.url);

let cached: Promise<string | URL> | undefined;

/** Where to start the model worker from: the bundle, or worker-entry.js (logged why). */
export function workerScript(log?: Logger): Promise<string | URL> {
  cached ??= bundleFile(SOURCE).catch((err: unknown) => {
    log?.warn({ reason: (err as Error).message }, 'model worker runs through tsx (~45 MB more memory): cannot bundle it');
    return TSX_ENTRY;
  });
  return cached;
}
