/**
 * Every entry point as a real process refuses an option it does not know, with exit code 2 and
 * a message naming it, before any work (no server started, no model loaded, no file written),
 * and answers --help. The processes run in an empty folder that must stay empty.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MEALCHECK } from '../helpers/processes.ts';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const RUN = root('scripts/run.js');

/** Name, the words after `node`, and a word of its --help. */
const ENTRY_POINTS: Array<{ name: string; argv: string[]; usage: RegExp }> = [
  { name: 'mealcheck', argv: [MEALCHECK], usage: /mealcheck server/ },
  { name: 'mealcheck server', argv: [MEALCHECK, 'server'], usage: /--http-port/ },
  { name: 'mealcheck edge', argv: [MEALCHECK, 'edge'], usage: /--centre/ },
  { name: 'mealcheck enrol', argv: [MEALCHECK, 'enrol'], usage: /--allow-lookalike/ },
  { name: 'mealcheck demo', argv: [MEALCHECK, 'demo'], usage: /--once/ },
  { name: 'mealcheck device add', argv: [MEALCHECK, 'device', 'add'], usage: /device add/ },
  { name: 'mealcheck device remove', argv: [MEALCHECK, 'device', 'remove'], usage: /device remove/ },
  { name: 'mealcheck device list', argv: [MEALCHECK, 'device', 'list'], usage: /device list/ },
  { name: 'mealcheck elder list', argv: [MEALCHECK, 'elder', 'list'], usage: /elder remove/ },
  { name: 'mealcheck centre set', argv: [MEALCHECK, 'centre', 'set'], usage: /--time-zone/ },
  { name: 'mealcheck month close', argv: [MEALCHECK, 'month', 'close'], usage: /--month/ },
  { name: 'mealcheck broker-config', argv: [MEALCHECK, 'broker-config'], usage: /--tls-port/ },
  { name: 'mealcheck camera-check', argv: [MEALCHECK, 'camera-check'], usage: /--camera/ },
  { name: 'mealcheck eval', argv: [MEALCHECK, 'eval'], usage: /--sweep/ },
  { name: 'npm run soak', argv: [RUN, root('scripts/soak/soak.ts')], usage: /--centres/ },
  { name: 'npm run bench', argv: [RUN, root('scripts/bench/bench.ts')], usage: /--idle-seconds/ },
  { name: 'small-faces', argv: [RUN, root('scripts/bench/small-faces.ts')], usage: /--sizes/ },
  { name: 'split-study', argv: [RUN, root('scripts/eval/split-study.ts')], usage: /--mean-weighting/ },
  { name: 'antispoof-check', argv: [RUN, root('scripts/eval/antispoof-check.ts')], usage: /--every/ },
  { name: 'decode-memory', argv: [RUN, root('scripts/bench/decode-memory.ts')], usage: /--only/ },
  { name: 'npm run docs', argv: [RUN, root('scripts/settings-doc.ts')], usage: /README/ },
  { name: 'server.ts run directly', argv: [RUN, root('server/src/server.ts')], usage: /--mqtt-url/ },
];

const cwd = mkdtempSync(join(tmpdir(), 'mealcheck-options-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs to the end; a process still running after 30 s (doing the work it should have refused) is killed. */
function run(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Free ports and a quiet log, should a server start despite everything.
    const env = { ...process.env, MEALCHECK_LOG_LEVEL: 'warn', MEALCHECK_HTTP_PORT: '0', MEALCHECK_MQTT_PORT: '0', MEALCHECK_EDGE_HTTP_PORT: '0' };
    const child = spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The tsx fallback's notice is not a problem; anything like a stack trace is. */
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at |Error:|node:internal/m);

describe('every entry point refuses an unknown option', () => {
  it.each(ENTRY_POINTS)('$name --bogus 1: exit 2, naming --bogus, nothing done', async ({ argv }) => {
    const r = await run([...argv, '--bogus', '1']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain('unknown option --bogus');
    noStackTrace(r.stderr);
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);

  it.each(ENTRY_POINTS)('$name --help: exit 0, its usage', async ({ argv, usage }) => {
    const r = await run([...argv, '--help']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);

  it.each([
    { name: 'mealcheck nosuch', argv: [MEALCHECK, 'nosuch'], says: 'unknown command "nosuch"' },
    { name: 'mealcheck server stray', argv: [MEALCHECK, 'server', 'stray'], says: 'unexpected argument "stray"' },
    { name: 'mealcheck edge -x', argv: [MEALCHECK, 'edge', '--centre', 'c1', '--device', 'd1', '-x'], says: 'unknown option -x' },
    { name: 'mealcheck demo --json=1', argv: [MEALCHECK, 'demo', '--json=1'], says: '--json takes no value' },
    { name: 'npm run soak -- --centres', argv: [RUN, root('scripts/soak/soak.ts'), '--centres'], says: '--centres: needs a value' },
    { name: 'npm run bench -- --detector nope', argv: [RUN, root('scripts/bench/bench.ts'), '--detector', 'nope'], says: '--detector: must be one of' },
  ])('$name: exit 2, saying $says', async ({ argv, says }) => {
    const r = await run(argv);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain(says);
    noStackTrace(r.stderr);
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);
});
