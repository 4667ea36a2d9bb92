/**
 * Link faults between the edge and the broker through the TCP fault proxy: resets, hangs,
 * slow drip and connections cut mid-packet, on a seeded random schedule (the seed is printed;
 * MEALCHECK_FAULT_SEED=N replays it). Ends like every fault test: integrity_check = ok on both
 * databases and the server's eventIds equal to the edge's.
 *
 * CI profile: 20 s of faults; MEALCHECK_FAULT_FULL=1: 120 s.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serverSettings } from '../../server/src/config.ts';
import { DATABASE_FILE, startServer } from '../../server/src/server.ts';
import { edgeDbFile, eventIds, FAULT_FULL, faultSeed, integrityCheck, runEdgeChild } from '../helpers/fault-processes.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { allDayCentre, quietLogger, tempDir } from '../helpers/server-fixtures.ts';

const FAULT_SECONDS = FAULT_FULL ? 120 : 20;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('fault: link', () => {
  it(`delivers every check-in once through ${FAULT_SECONDS} s of resets, hangs, drips and cuts`, async () => {
    const seed = faultSeed('link faults');
    const tmp = tempDir('mealcheck-fault-link-');
    cleanups.push(() => tmp.cleanup());
    const serverDir = join(tmp.dir, 'server');
    const edgeDir = join(tmp.dir, 'edge');
    const server = await startServer(serverSettings({ dataDir: serverDir, httpPort: 0, mqttPort: 0, adminToken: 'fault-test-token-0123456789', logLevel: 'silent' }), { logger: quietLogger });
    cleanups.push(() => server.stop());
    allDayCentre(server.db, 'c1');
    const password = await server.registerDevice('c1', 'd1');
    const login = { username: 'c1/d1', password };
    const proxy = await startFaultProxy(Number(new URL(server.mqttUrl).port), seed);
    cleanups.push(() => proxy.close());

    const edge = runEdgeChild({ data: edgeDir, server: proxy.url, mode: 'burst', rate: 50, protocol: 4, ...login });
    cleanups.push(() => edge.kill9());
    await edge.waitFor(/^READY$/m);
    proxy.startSchedule(700);
    await new Promise((r) => setTimeout(r, FAULT_SECONDS * 1000));
    proxy.heal();
    await edge.kill9();
    const printed = edge.lines('R ').map((l) => l.slice(2));
    expect(new Set(proxy.log).size).toBeGreaterThanOrEqual(4);

    const edgeIds = eventIds(edgeDbFile(edgeDir), 'SELECT event_id FROM check_ins');
    const edgeSet = new Set(edgeIds);
    expect(printed.filter((id) => !edgeSet.has(id))).toEqual([]);
    const drain = runEdgeChild({ data: edgeDir, server: proxy.url, mode: 'drain', ...login });
    cleanups.push(() => drain.kill9());
    await drain.waitFor(/^DRAINED$/m, 120_000);
    expect((await drain.exited).code).toBe(0);

    const serverDb = join(serverDir, DATABASE_FILE);
    expect(eventIds(serverDb, 'SELECT event_id FROM meals')).toEqual(edgeIds);
    expect(eventIds(serverDb, 'SELECT event_id FROM duplicate_attempts')).toEqual([]);
    await server.stop();
    expect(integrityCheck(edgeDbFile(edgeDir))).toBe('ok');
    expect(integrityCheck(serverDb)).toBe('ok');
    console.log(`link faults: ${proxy.log.length} faults (${[...new Set(proxy.log)].join(', ')}), ${edgeIds.length} check-ins, all on the server once`);
  }, 600_000);
});
