/** Shared fixtures for edge tests: temp folders, a migrated edge database, a clock, a broker. */
import type { EdgeConfig } from '../../edge/src/config.ts';
import { Edge } from '../../edge/src/main.ts';
import type { CheckInEvent, UnknownEvent } from '../../edge/src/recognition/pipeline.ts';
import type { FaceEngine } from '../../edge/src/vision/face-engine.ts';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import type { Clock, Ids } from '../../common/clock.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import { createElderRepository, type ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import { createCheckInService, type CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { DEFAULT_MEAL_WINDOWS, parseMealWindows } from '../../common/meal-windows.ts';
import { createOutboxRepository, type OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';

export const EDGE_MIGRATIONS = fileURLToPath(new URL('../../edge/migrations', import.meta.url));

export const quietEdgeLogger: Logger = createLogger('test-edge', process.env.TEST_LOG_LEVEL ?? 'silent');

/** One JSON log line as pino writes it. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose lines the test reads back, in order (written synchronously). */
export function captureLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export function edgeTempDir(prefix = 'mealcheck-edge-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // The template key lives beside the data folder (template-vault.ts): it goes too.
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}.key`, { force: true });
    },
  };
}

export function openEdgeDb(dir: string, name = 'edge.db'): Db {
  return openDatabase(join(dir, name), { migrationsDir: EDGE_MIGRATIONS });
}

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  private t: number;
  constructor(iso: string) {
    this.t = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.t);
  }
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Deterministic ids that still match the contract's UUID pattern, increasing like UUIDv7. */
export function counterIds(): Ids {
  let n = 0;
  return { next: () => `00000000-0000-7000-8000-${(++n).toString(16).padStart(12, '0')}` };
}

/** A port that was free a moment ago; nothing listens on it until the test starts something. */
export async function reservePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface TestBroker {
  broker: Aedes;
  port: number;
  url: string;
  /** Drops every client connection abruptly (the broker publishes their last wills). */
  dropClients(): void;
  close(): Promise<void>;
}

/** A real in-process aedes broker (MQTT 3.1.1) on 127.0.0.1; port 0 = any free port. */
export async function startBroker(port = 0): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    broker,
    port: bound,
    url: `mqtt://127.0.0.1:${bound}`,
    dropClients: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True when a `mosquitto` binary is on PATH (CI installs the Debian package). */
export const hasMosquitto: boolean = spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;

export interface TestMosquitto {
  port: number;
  url: string;
  /** Kills the broker (SIGKILL: a crash, no clean disconnects) and waits for it to exit. */
  kill(): Promise<void>;
}

/** A real Mosquitto (MQTT 5) on 127.0.0.1:`port`, anonymous, no persistence. */
export async function startMosquitto(port: number, dir: string): Promise<TestMosquitto> {
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`);
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitUntilAsync(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        }),
      `mosquitto on port ${port}`,
    );
  } catch (err) {
    await kill();
    throw err;
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, kill };
}

async function waitUntilAsync(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The check-in service wired as the edge wires it (default meal windows, Asia/Shanghai, counter
 * ids) over repositories of `db`, with the repositories the tests look into.
 */
export function testCheckInService(
  db: Db,
  clock: Clock,
  opts: { centreId?: string; deviceId?: string; antispoofThreshold?: number } = {},
): { service: CheckInService; elders: ElderRepository; outbox: OutboxRepository } {
  const elders = createElderRepository(db);
  const outbox = createOutboxRepository(db);
  const service = createCheckInService({
    db,
    elders,
    checkIns: createCheckInRepository(db),
    outbox,
    clock,
    ids: counterIds(),
    windows: parseMealWindows(DEFAULT_MEAL_WINDOWS),
    timeZone: 'Asia/Shanghai',
    centreId: opts.centreId ?? 'c-001',
    deviceId: opts.deviceId ?? 'door1',
    logger: quietEdgeLogger,
    ...(opts.antispoofThreshold !== undefined ? { antispoofThreshold: opts.antispoofThreshold } : {}),
  });
  return { service, elders, outbox };
}

/**
 * Starts an edge on `config` and `engine` with a captured info log, collecting its check-ins
 * and unknown faces into the arrays given (emptied first).
 */
export async function startWatchedEdge(
  config: EdgeConfig,
  engine: FaceEngine,
  checkIns: CheckInEvent[],
  unknowns: UnknownEvent[],
): Promise<{ edge: Edge; lines: LogLine[] }> {
  const captured = captureLogger('info');
  checkIns.length = 0;
  unknowns.length = 0;
  const edge = new Edge(config, { engine, logger: captured.logger });
  edge.on('check-in', (e) => checkIns.push(e));
  edge.on('unknown', (e) => unknowns.push(e));
  await edge.start();
  return { edge, lines: captured.lines };
}
