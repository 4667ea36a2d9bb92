// Types for scripts/bundle.js (plain JavaScript: the `mealcheck` command loads it before any
// TypeScript can run).
export const BUNDLE_CACHE_DIR: string;
/** The path of an up-to-date bundle of `entry` (an absolute .ts path); throws when it cannot build one. */
export function bundleFile(entry: string): Promise<string>;
/** Imports `entry` from its bundle, or through tsx when it cannot be bundled (`onFallback` hears why). */
export function importEntry(entry: string | URL, onFallback?: (reason: string) => void): Promise<unknown>;
