/** Runs the real `mealcheck` command as a child process, for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MEALCHECK = fileURLToPath(new URL('../../scripts/mealcheck.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `re`, or rejects when the process exits first or time runs out. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Resolves with the first match of `re` in a child's stdout, or rejects (with the output) when
 * the child exits first or `timeoutMs` passes.
 */
export async function waitForOutput(
  name: string,
  output: () => { out: string; err: string; done: boolean },
  re: RegExp,
  timeoutMs: number,
  everyMs = 50,
): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { out, err, done } = output();
    const m = out.match(re);
    if (m) return m;
    if (done) throw new Error(`${name} exited before printing ${re}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`);
    if (Date.now() > until) throw new Error(`${name} did not print ${re} in ${timeoutMs} ms\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function runMealcheck(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [MEALCHECK, ...args], {
    env: { ...process.env, MEALCHECK_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, timeoutMs = 60_000) => waitForOutput(`mealcheck ${args[0]}`, () => ({ out, err, done }), re, timeoutMs),
    async stop() {
      if (!done) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs a command to completion. */
export async function mealcheck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = runMealcheck(args, env);
  const code = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}
