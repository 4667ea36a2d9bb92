/**
 * Fault-test plumbing: the edge stand-in and the real server as child processes that can be
 * SIGKILLed, a seeded random source (a failing run is replayed from its seed), and the final
 * checks every fault test ends with.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../scripts/demo/demo-scene.ts';
import { waitForOutput } from './processes.ts';

/** mulberry32: the same sequence for the same seed on every machine. */
export { seededRandom };

export const FAULT_EDGE_CHILD = fileURLToPath(new URL('./fault-edge-child.ts', import.meta.url));
export const SERVER_ENTRY = fileURLToPath(new URL('../../server/src/server.ts', import.meta.url));

/** Full counts with MEALCHECK_FAULT_FULL=1; the CI profile otherwise. */
export const FAULT_FULL = process.env.MEALCHECK_FAULT_FULL === '1';


/** MEALCHECK_FAULT_SEED replays a run; otherwise a fresh seed, printed so a failure can be replayed. */
export function faultSeed(name: string): number {
  const fromEnv = process.env.MEALCHECK_FAULT_SEED;
  const seed = fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${name}: seed ${seed} (replay with MEALCHECK_FAULT_SEED=${seed})`);
  return seed;
}

export interface Child {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  lines(prefix: string): string[];
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
  /** Starts a child spawned with `warm: true`. */
  go(): void;
}

function run(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {});
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines: (prefix) => out.split('\n').filter((l) => l.startsWith(prefix)),
    exited,
    waitFor: (re, timeoutMs = 60_000) => waitForOutput(String(args[0]), () => ({ out, err, done }), re, timeoutMs, 20),
    async kill9() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
    go() {
      child.stdin!.write('go\n');
    },
  };
}

export interface EdgeChildEnv {
  data: string;
  server: string;
  mode: 'burst' | 'drain';
  centre?: string;
  device?: string;
  username?: string;
  password?: string;
  rate?: number;
  protocol?: 4 | 5;
  /** Load, then wait for go() before opening the database. */
  warm?: boolean;
}

export function runEdgeChild(o: EdgeChildEnv): Child {
  return run([FAULT_EDGE_CHILD], {
    FAULT_DATA: o.data,
    FAULT_SERVER: o.server,
    FAULT_MODE: o.mode,
    FAULT_CENTRE: o.centre ?? 'c1',
    FAULT_DEVICE: o.device ?? 'd1',
    FAULT_USERNAME: o.username ?? '',
    FAULT_PASSWORD: o.password ?? '',
    FAULT_RATE: String(o.rate ?? 0),
    FAULT_PROTOCOL: String(o.protocol ?? 5),
    FAULT_WAIT_GO: o.warm ? '1' : '0',
  });
}

/** The real server program (server/src/server.ts run directly, as `mealcheck server` does). */
export function runServerChild(dataDir: string, mqttPort: number): Child {
  return run([SERVER_ENTRY, '--data', dataDir, '--http-port', '0', '--mqtt-port', String(mqttPort), '--log-level', 'warn', '--admin-token', 'fault-test-token-0123456789'], {});
}

export function integrityCheck(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string) ?? '';
  } finally {
    db.close();
  }
}

export function eventIds(file: string, sql: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(sql).pluck().all() as string[]).sort();
  } finally {
    db.close();
  }
}

export const edgeDbFile = (dir: string) => join(dir, 'edge.db');
