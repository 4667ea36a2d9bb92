/**
 * Clock sanity end to end, with real parts: the edge's composition root (SQLite, check-in
 * service, forwarder, trusted clock), the server (Fastify, SQLite, ingest) and its embedded aedes
 * broker. Only the system clocks are fakes (TestClock at the Clock seam): the edge's wall clock
 * is at 1970, or days ahead, while the server's is right. The check-ins are recorded through the
 * service the door's pipeline calls (the pipeline is not under test here).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { edgeTempDir, quietEdgeLogger, reservePort, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine } from '../helpers/fake-engine.ts';
import { TEST_TOKEN, quietLogger } from '../helpers/server-fixtures.ts';

const CENTRE = 'c-201';
const DEVICE = 'door-1';
// 12:00 in Shanghai: inside the default lunch window (11:00-13:30).
const LUNCH = '2026-11-28T04:00:00.000Z';
// A Pi with no RTC, booted without network: 08:05 in Shanghai, so its own guess is breakfast.
const EPOCH = '1970-01-01T00:05:00.000Z';

interface ServerMeal {
  eventId: string;
  elderId: string;
  serviceDate: string;
  meal: string;
  at: string;
  clockState: string | null;
  edgeAt: string | null;
  monoMs: number | null;
  clockFlag: string | null;
}

describe('clock sanity: an edge with a wrong clock still records meals under the right date and meal', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  async function setUp(opts: { edgeTime: string; serverUp: boolean; dir?: string; mqttPort?: number }) {
    let dir = opts.dir;
    if (!dir) {
      const tmp = edgeTempDir();
      cleanups.push(() => tmp.cleanup());
      dir = tmp.dir;
    }
    const mqttPort = opts.mqttPort ?? (await reservePort());
    const serverClock = new TestClock(LUNCH);
    const settings = serverSettings({ dataDir: `${dir}/server`, httpPort: 0, mqttPort, adminToken: TEST_TOKEN });
    let server: RunningServer | undefined;
    const up = async () => {
      server = await startServer(settings, { logger: quietLogger, clock: serverClock });
      const s = server;
      cleanups.push(() => s.stop());
      return s;
    };
    if (opts.serverUp) await up();
    const config = loadEdgeConfig(['--centre', CENTRE, '--device', DEVICE, '--data', `${dir}/edge`, '--server', `mqtt://127.0.0.1:${mqttPort}`, '--http-port', '0'], {});
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    for (const [id, name] of [['E1', '王秀英'], ['E2', '李桂兰'], ['E3', '赵志刚']] as const) elders.upsertElder(id, name);
    db.close();
    const edgeClock = new TestClock(opts.edgeTime);
    const edge = new Edge(config, { engine: new FakeEngine({}), sources: [], clock: edgeClock, logger: quietEdgeLogger });
    await edge.start();
    cleanups.push(() => edge.stop());
    return { dir, mqttPort, edge, edgeClock, serverClock, up, server: () => server };
  }

  function serverMeals(server: RunningServer): ServerMeal[] {
    return server.db
      .prepare(
        `SELECT event_id AS eventId, elder_id AS elderId, service_date AS serviceDate, meal, at, clock_state AS clockState, edge_at AS edgeAt,
                mono_ms AS monoMs, clock_flag AS clockFlag FROM meals ORDER BY elder_id`,
      )
      .all() as ServerMeal[];
  }

  async function stats(server: RunningServer, day = '2026-11-28') {
    const res = await server.app.inject({ url: `/api/v1/stats/meals?from=${day}&to=${day}&groupBy=day,meal`, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    return res.json() as { rows: unknown[]; total: number; clockFlagged: number; clockReview: number };
  }

  it('an edge starting at 1970 records a lunch check-in at the door, learns the time from the server, and the meal arrives as lunch on the right date', async () => {
    const { edge, up } = await setUp({ edgeTime: EPOCH, serverUp: false });
    expect(edge.clock.status().state).toBe('untrusted');

    // The elder is not turned away, though the box cannot know which meal it is.
    const first = edge.checkIns.record({ elderId: 'E1', method: 'face', score: 0.3, cameraId: 'door' });
    expect(first.status).toBe('recorded');
    // Within the run, dedupe works on elapsed time: the same elder again a moment later is one meal.
    expect(edge.checkIns.record({ elderId: 'E1', method: 'face' }).status).toBe('already-checked-in');
    expect(edge.checkIns.record({ elderId: 'E2', method: 'manual', staffId: 'S1' }).status).toBe('recorded');
    expect(edge.checkIns.countAll()).toBe(2);
    // Held: nothing goes out under a 1970 date.
    expect(edge.forwarder.stats().pending).toBe(2);
    expect(edge.db.prepare('SELECT count(*) AS n FROM outbox WHERE held = 1').get()).toEqual({ n: 2 });
    // Staff see why on the status page.
    const status = async () => (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as { clock: { state: string; heldCheckIns: number }; rssMb: number };
    expect((await status()).clock).toMatchObject({ state: 'untrusted', heldCheckIns: 2 });

    const server = await up();
    await waitUntil(() => edge.clock.isSynced(), 'the edge to learn the time', 30_000, 50);
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'outbox drained by receipts', 30_000, 50);

    const meals = serverMeals(server);
    expect(meals).toHaveLength(2);
    for (const m of meals) {
      expect(m).toMatchObject({ serviceDate: '2026-11-28', meal: 'lunch', clockState: 'corrected', edgeAt: expect.stringMatching(/^1970-01-01T00:05/), clockFlag: null });
      // Corrected to the server's time less the time elapsed since the check-in (seconds here).
      expect(Date.parse(LUNCH) - Date.parse(m.at)).toBeGreaterThanOrEqual(0);
      expect(Date.parse(LUNCH) - Date.parse(m.at)).toBeLessThan(60_000);
      expect(m.monoMs).toBeGreaterThanOrEqual(0);
    }
    expect(meals.find((m) => m.elderId === 'E1')!.eventId).toBe(first.status === 'recorded' && first.checkIn.eventId);
    expect(await stats(server)).toMatchObject({ rows: [{ day: '2026-11-28', meal: 'lunch', meals: 2 }], total: 2, clockReview: 0 });
    // The edge's own record agrees.
    expect(edge.checkIns.listForDay('2026-11-28').map((c) => `${c.elderId}:${c.meal}`)).toEqual(['E1:lunch', 'E2:lunch']);

    // Synced: a check-in now uses the server's time at once, and E1 is already in for lunch.
    expect(edge.clock.status()).toMatchObject({ state: 'server', offsetMs: expect.any(Number) });
    expect(await status()).toMatchObject({ clock: { state: 'server', heldCheckIns: 0 }, rssMb: expect.any(Number) });
    expect(edge.checkIns.record({ elderId: 'E1', method: 'face' }).status).toBe('already-checked-in');
    const third = edge.checkIns.record({ elderId: 'E3', method: 'face' });
    expect(third).toMatchObject({ status: 'recorded', checkIn: { serviceDate: '2026-11-28', meal: 'lunch' } });
    await waitUntil(() => serverMeals(server).length === 3, 'the third meal at the server', 20_000, 50);
    expect(serverMeals(server).find((m) => m.elderId === 'E3')).toMatchObject({ clockState: 'server', serviceDate: '2026-11-28', meal: 'lunch' });
  }, 90_000);

  it('an edge whose clock is 3 days ahead is corrected by the server', async () => {
    const ahead = new Date(Date.parse(LUNCH) + 3 * 86_400_000).toISOString();
    const { edge, server } = await setUp({ edgeTime: ahead, serverUp: true });
    await waitUntil(() => edge.clock.isSynced(), 'the edge to learn the time', 30_000, 50);
    const offset = edge.clock.status().offsetMs!;
    expect(Math.abs(offset + 3 * 86_400_000)).toBeLessThan(60_000);

    const r = edge.checkIns.record({ elderId: 'E1', method: 'face' });
    expect(r).toMatchObject({ status: 'recorded', checkIn: { serviceDate: '2026-11-28', meal: 'lunch' } });
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'outbox drained', 20_000, 50);
    expect(serverMeals(server()!)).toEqual([expect.objectContaining({ elderId: 'E1', serviceDate: '2026-11-28', meal: 'lunch', clockState: 'server', clockFlag: null })]);
    expect(await stats(server()!)).toMatchObject({ total: 1, clockFlagged: 0, clockReview: 0 });
  }, 60_000);

  it('check-ins of a run that ended before learning the time are sent flagged and kept for review, not counted', async () => {
    const first = await setUp({ edgeTime: EPOCH, serverUp: false });
    expect(first.edge.checkIns.record({ elderId: 'E1', method: 'face' }).status).toBe('recorded');
    // Power cut before the network came: the run never learnt the time.
    await first.edge.stop();

    const second = await setUp({ edgeTime: EPOCH, serverUp: false, dir: first.dir, mqttPort: first.mqttPort });
    // Released at start as unverified: its monotonic stamp meant nothing outside its run.
    expect(second.edge.db.prepare("SELECT status FROM unsynced_check_ins WHERE elder_id = 'E1'").get()).toEqual({ status: 'unverified' });
    // A check-in of this run, still untrusted, waits for the time.
    expect(second.edge.checkIns.record({ elderId: 'E2', method: 'face' }).status).toBe('recorded');

    const server = await second.up();
    await waitUntil(() => second.edge.forwarder.stats().pending === 0, 'outbox drained', 30_000, 50);
    expect(serverMeals(server)).toEqual([expect.objectContaining({ elderId: 'E2', serviceDate: '2026-11-28', meal: 'lunch', clockState: 'corrected' })]);
    const review = server.db.prepare('SELECT elder_id AS elderId, reason, clock_state AS clockState, at, edge_at AS edgeAt FROM event_reviews').all();
    expect(review).toEqual([{ elderId: 'E1', reason: 'unverified', clockState: 'unverified', at: expect.stringMatching(/^1970-/), edgeAt: expect.stringMatching(/^1970-/) }]);
    // Visible to the bureau: a count with the stats, and the list.
    expect(await stats(server)).toMatchObject({ total: 1, clockReview: 1 });
    const list = await server.app.inject({ url: '/api/v1/stats/clock-review', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ total: 1, events: [{ elderId: 'E1', reason: 'unverified', centreId: CENTRE, deviceId: DEVICE }] });
  }, 90_000);
});
