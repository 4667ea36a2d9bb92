/**
 * Crash faults, end to end with real processes: SIGKILL the edge during check-in bursts, and
 * SIGKILL the server during ingest. Each test ends with PRAGMA integrity_check = ok on every
 * SQLite file and the server's set of eventIds equal to the edge's recorded ones: nothing
 * lost, nothing counted twice.
 *
 * CI profile: 30 edge kills, 10 server kills. MEALCHECK_FAULT_FULL=1: 200 and 50.
 * MEALCHECK_FAULT_SEED=N replays a run's random kill moments.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serverSettings } from '../../server/src/config.ts';
import { centreCommand } from '../../server/src/modules/centres/centre-command.ts';
import { deviceCommand } from '../../server/src/modules/devices/device-command.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { reservePort } from '../helpers/edge-fixtures.ts';
import {
  edgeDbFile,
  eventIds,
  FAULT_FULL,
  faultSeed,
  integrityCheck,
  runEdgeChild,
  runServerChild,
  seededRandom,
  type Child,
} from '../helpers/fault-processes.ts';
import { ALL_DAY_WINDOWS, quietLogger, tempDir } from '../helpers/server-fixtures.ts';

const EDGE_KILLS = FAULT_FULL ? 200 : 30;
const SERVER_KILLS = FAULT_FULL ? 50 : 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function track(c: Child): Child {
  cleanups.push(() => c.kill9());
  return c;
}

async function registerDevice(serverDir: string): Promise<{ username: string; password: string }> {
  const lines: string[] = [];
  expect(await deviceCommand(['add', '--centre', 'c1', '--device', 'd1', '--data', serverDir], (s) => lines.push(s))).toBe(0);
  // The edge child records at the real time, all day: the server must have its windows.
  expect(await centreCommand(['set', '--centre', 'c1', '--meal-windows', ALL_DAY_WINDOWS, '--data', serverDir], () => {})).toBe(0);
  const get = (k: string) => lines.find((l) => l.startsWith(`${k}=`))!.slice(k.length + 1);
  return { username: get('MEALCHECK_MQTT_USERNAME'), password: get('MEALCHECK_MQTT_PASSWORD') };
}

/** Empties the edge outbox through a fresh edge process, then compares both sides. */
async function drainAndCompare(edgeDir: string, serverDb: string, server: string, login: { username: string; password: string }, printed: string[]) {
  const edgeIds = eventIds(edgeDbFile(edgeDir), 'SELECT event_id FROM check_ins');
  // Every check-in the edge reported as recorded survived the kills.
  const edgeSet = new Set(edgeIds);
  expect(printed.filter((id) => !edgeSet.has(id))).toEqual([]);

  const drain = track(runEdgeChild({ data: edgeDir, server, mode: 'drain', ...login }));
  await drain.waitFor(/^DRAINED$/m, 120_000);
  expect((await drain.exited).code).toBe(0);

  const serverIds = eventIds(serverDb, 'SELECT event_id FROM meals');
  expect(serverIds.length).toBe(edgeIds.length);
  expect(serverIds).toEqual(edgeIds);
  expect(eventIds(serverDb, 'SELECT event_id FROM duplicate_attempts')).toEqual([]);
  expect(eventIds(edgeDbFile(edgeDir), 'SELECT event_id FROM outbox')).toEqual([]);
  return edgeIds.length;
}

describe('fault: kill -9', () => {
  it(`the edge at random moments during check-in bursts (${EDGE_KILLS} times)`, async () => {
    const rng = seededRandom(faultSeed('edge kills'));
    const tmp = tempDir('mealcheck-fault-edge-');
    cleanups.push(() => tmp.cleanup());
    const serverDir = join(tmp.dir, 'server');
    const edgeDir = join(tmp.dir, 'edge');
    const login = await registerDevice(serverDir);
    let server: RunningServer | undefined = await startServer(serverSettings({ dataDir: serverDir, httpPort: 0, mqttPort: 0, adminToken: 'fault-test-token-0123456789', logLevel: 'silent' }), {
      logger: quietLogger,
    });
    cleanups.push(() => server?.stop());

    const printed: string[] = [];
    // The next edge loads its modules while the current one runs, so a kill cycle costs little
    // more than the edge's own start; it touches the database only after go().
    const spawnEdge = () => track(runEdgeChild({ data: edgeDir, server: server!.mqttUrl, mode: 'burst', protocol: 4, warm: true, ...login }));
    let next = spawnEdge();
    for (let i = 0; i < EDGE_KILLS; i++) {
      const edge = next;
      edge.go();
      next = spawnEdge();
      await edge.waitFor(/^READY$/m);
      // Anywhere from mid-startup of the forwarder to well into a burst.
      await sleep(Math.floor(rng() * 400));
      await edge.kill9();
      printed.push(...edge.lines('R ').map((l) => l.slice(2)));
    }
    await next.kill9();
    expect(printed.length).toBeGreaterThan(EDGE_KILLS);

    const n = await drainAndCompare(edgeDir, join(serverDir, DATABASE_FILE), server.mqttUrl, login, printed);
    await server.stop();
    server = undefined;
    expect(integrityCheck(edgeDbFile(edgeDir))).toBe('ok');
    expect(integrityCheck(join(serverDir, DATABASE_FILE))).toBe('ok');
    console.log(`edge kills: ${EDGE_KILLS} kills, ${n} check-ins, all on the server once`);
  }, 600_000);

  it(`the server during ingest (${SERVER_KILLS} times)`, async () => {
    const rng = seededRandom(faultSeed('server kills'));
    const tmp = tempDir('mealcheck-fault-server-');
    cleanups.push(() => tmp.cleanup());
    const serverDir = join(tmp.dir, 'server');
    const edgeDir = join(tmp.dir, 'edge');
    const login = await registerDevice(serverDir);
    const port = await reservePort();
    const url = `mqtt://127.0.0.1:${port}`;

    const edge = track(runEdgeChild({ data: edgeDir, server: url, mode: 'burst', rate: 100, protocol: 4, ...login }));
    await edge.waitFor(/^READY$/m);
    const serverDb = join(serverDir, DATABASE_FILE);
    for (let i = 0; i < SERVER_KILLS; i++) {
      const server = track(runServerChild(serverDir, port));
      await server.waitFor(/^HTTP http/m);
      // Kill only once ingest is under way (the edge is connected and sending).
      await sleep(200 + Math.floor(rng() * 1500));
      await server.kill9();
    }
    const server = track(runServerChild(serverDir, port));
    await server.waitFor(/^HTTP http/m);
    await edge.kill9();
    const printed = edge.lines('R ').map((l) => l.slice(2));
    expect(printed.length).toBeGreaterThan(SERVER_KILLS);

    const n = await drainAndCompare(edgeDir, serverDb, url, login, printed);
    server.child.kill('SIGTERM');
    await server.exited;
    expect(integrityCheck(edgeDbFile(edgeDir))).toBe('ok');
    expect(integrityCheck(serverDb)).toBe('ok');
    console.log(`server kills: ${SERVER_KILLS} kills, ${n} check-ins, all on the server once`);
  }, 600_000);
});
