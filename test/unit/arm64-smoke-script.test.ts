/**
 * scripts/arm64-smoke.sh itself runs for about a minute to a few, as root with apt, so it is
 * not part of `npm test` (README, "linux-arm64"). This checks what can be checked fast: the
 * script parses, says how it is used and refuses what it does not know.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/arm64-smoke.sh', import.meta.url));
const run = (...args: string[]) => spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { ...process.env, MEALCHECK_ARM64_SMOKE_BOUNDED: '' } });

describe('scripts/arm64-smoke.sh', () => {
  it('is valid bash', () => {
    const r = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--help says what it checks, how it is called and its 10-minute bound, and installs nothing', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('sudo scripts/arm64-smoke.sh [--cache DIR] [--timeout SECONDS]');
    expect(r.stdout).toContain('at most 10 minutes');
    expect(r.stdout).toContain('--timeout SECONDS  the whole run\'s limit (default 600)');
    for (const what of ['better-sqlite3', 'sharp', 'tfjs wasm backend', 'onnxruntime-node', '`mealcheck enrol`', 'check-in']) expect(r.stdout).toContain(what);
    expect(r.stdout).not.toMatch(/^== /m);
  });

  it.each([['--bogus'], ['--timeout', 'ten'], ['--cache']])('refuses %s with exit code 2 before doing anything', (...args) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: ');
    expect(r.stdout).toBe('');
  });
});
