/**
 * Reconciliation with real parts: the edge's composition root reports each finished day's
 * counts (daily-count-service.ts) through its outbox, the server (embedded aedes, SQLite, ingest)
 * keeps them and compares them with the meals it counted from that box. Only the model seam is
 * faked. Also the edge's service alone on a real database: what it reports, when, and when not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { topics, type DailyCountRecord, type MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { parseMealWindows, DEFAULT_MEAL_WINDOWS } from '../../common/meal-windows.ts';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { createDailyCountService, lastFinishedDate } from '../../edge/src/meals/daily-count-service.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { edgeTempDir, openEdgeDb, quietEdgeLogger, TestClock, testCheckInService, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { connectDevice, quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';

const CENTRE = 'c-101';
const DEVICE = 'door-1';
// 12:00 in Shanghai: lunch. 20:00 is after the last window (dinner ends 19:30).
const LUNCH = '2026-11-28T04:00:00Z';
const EVENING = '2026-11-28T12:00:00Z';
const windows = parseMealWindows(DEFAULT_MEAL_WINDOWS);

const people = { wang: syntheticDescriptor(1), li: syntheticDescriptor(2), zhao: syntheticDescriptor(3) };

type Reconciliation = {
  summary: { days: number; match: number; differs: number; unreported: number };
  days: { deviceId: string; serviceDate: string; state: string; boxMeals: number | null; serverMeals: number; boxVoided: number | null; serverVoided: number; revision: number | null; counts: { meal: string; method: string; box: number | null; server: number }[] }[];
};

async function reconciliation(server: RunningServer, query = `month=2026-11&centreId=${CENTRE}`): Promise<Reconciliation> {
  const res = await server.app.inject({ url: `/api/v1/reconciliation?${query}`, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('reconciliation: the box reports its day, the server compares', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  it("reports a finished day once, again after a void, and the server tells agreement from a meal the box never counted", async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    // The edge's trusted time runs on its monotonic clock once synced: here it follows the test's clock.
    const clock = new TestClock(LUNCH);
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock });
    cleanups.push(() => server.stop());
    const config = loadEdgeConfig(['--centre', CENTRE, '--device', DEVICE, '--data', `${tmp.dir}/edge`, '--server', server.mqttUrl, '--http-port', '0'], {});
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    for (const [id, name, d] of [['E1', '王秀英', people.wang], ['E2', '李桂兰', people.li], ['E3', '赵志刚', people.zhao]] as const) {
      elders.upsertElder(id, name);
      elders.addTemplate(id, d, 'synthetic', FACE_API_MODEL);
    }
    db.close();
    const frames = (['wang', 'li', 'zhao'] as const).flatMap((w) => [w, w, w, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty']);
    const engine = new FakeEngine({ empty: [], ...Object.fromEntries(Object.entries(people).map(([k, d]) => [k, [fakeFace({ descriptor: d })]])) });
    const edge = new Edge({ ...config, realtime: false }, { engine, source: new MemoryFrameSource(frames, 'cam1'), clock, monotonic: { nowMs: () => clock.now().getTime() }, logger: quietEdgeLogger });
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    cleanups.push(() => edge.stop());
    await edge.start();
    await ended;
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'meals receipted', 20_000);

    // During lunch the day is not over: nothing to report, and the server shows the day unreported.
    expect(edge.dailyCounts.report()).toEqual([]);
    let r = await reconciliation(server);
    expect(r.days).toMatchObject([{ deviceId: DEVICE, serviceDate: '2026-11-28', state: 'unreported', boxMeals: null, serverMeals: 3 }]);

    clock.set(EVENING);
    const [first, ...more] = edge.dailyCounts.report();
    expect(more).toEqual([]);
    expect(first).toMatchObject({ type: 'daily', serviceDate: '2026-11-28', revision: 1, counts: [{ meal: 'lunch', method: 'face', meals: 3 }], voided: 0 });
    // The same counts again: nothing new to say.
    expect(edge.dailyCounts.report()).toEqual([]);
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'daily count receipted', 20_000);
    r = await reconciliation(server);
    expect(r.summary).toEqual({ days: 1, match: 1, differs: 0, unreported: 0 });
    expect(r.days[0]).toMatchObject({ state: 'match', boxMeals: 3, serverMeals: 3, revision: 1, counts: [{ meal: 'lunch', method: 'face', box: 3, server: 3 }] });

    // A void after the report: the box's counts change, so revision 2 goes, and both sides agree again.
    const wang = edge.checkIns.listForDay('2026-11-28').find((c) => c.elderId === 'E1');
    expect(wang).toBeDefined();
    expect(edge.checkIns.void({ eventId: wang!.eventId, staffId: 'S01', reason: '认错人' }).status).toBe('voided');
    expect(edge.dailyCounts.report()).toMatchObject([{ revision: 2, counts: [{ meal: 'lunch', method: 'face', meals: 2 }], voided: 1 }]);
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'void and revision 2 receipted', 20_000);
    r = await reconciliation(server);
    expect(r.days[0]).toMatchObject({ state: 'match', boxMeals: 2, serverMeals: 2, boxVoided: 1, serverVoided: 1, revision: 2 });

    // A meal under this box's name that the box never counted (a forged or replayed event):
    // the server counts it, the box's report does not have it, and the day differs.
    const forged: MealEvent = { eventId: uuidv7(), centreId: CENTRE, deviceId: DEVICE, elderId: 'E9', serviceDate: '2026-11-28', meal: 'lunch', at: '2026-11-28T04:30:00.000Z', method: 'face' };
    const intruder = await connectDevice(server.mqttUrl);
    cleanups.push(() => void intruder.end(true));
    await intruder.publishAsync(topics.events(CENTRE, DEVICE), JSON.stringify({ v: 1, events: [forged] }), { qos: 1 });
    await waitUntil(() => server.db.prepare('SELECT count(*) FROM meals WHERE event_id = ?').pluck().get(forged.eventId) === 1, 'forged meal stored');
    r = await reconciliation(server, 'month=2026-11&onlyDifferences=true');
    expect(r.summary).toEqual({ days: 1, match: 0, differs: 1, unreported: 0 });
    expect(r.days[0]).toMatchObject({ serviceDate: '2026-11-28', state: 'differs', boxMeals: 2, serverMeals: 3, counts: [{ meal: 'lunch', method: 'face', box: 2, server: 3 }] });

    // Bad requests get a 400 naming the problem.
    const bad = await server.app.inject({ url: '/api/v1/reconciliation?month=2026-13', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/2026-13/);
    expect((await server.app.inject({ url: '/api/v1/reconciliation?month=2026-11' })).statusCode).toBe(401);
  });

  it('the server keeps the highest revision whatever order the reports arrive in', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock: new TestClock(EVENING) });
    cleanups.push(() => server.stop());
    const report = (revision: number, meals: number): DailyCountRecord => ({ type: 'daily', eventId: uuidv7(), centreId: CENTRE, deviceId: 'door-2', at: EVENING, serviceDate: '2026-11-27', revision, counts: [{ meal: 'dinner', method: 'manual', meals }], voided: 0 });
    const box = await connectDevice(server.mqttUrl);
    cleanups.push(() => void box.end(true));
    const newer = report(2, 5);
    const older = report(1, 7);
    for (const rec of [newer, older]) await box.publishAsync(topics.events(CENTRE, 'door-2'), JSON.stringify({ v: 1, events: [rec] }), { qos: 1 });
    await waitUntil(() => server.db.prepare('SELECT count(*) FROM records WHERE event_id IN (?, ?)').pluck().get(newer.eventId, older.eventId) === 2, 'both reports stored');
    const r = await reconciliation(server);
    // The box says 5 manual dinners, the server counted none of them from this box: it differs.
    expect(r.days).toMatchObject([{ deviceId: 'door-2', serviceDate: '2026-11-27', state: 'differs', revision: 2, boxMeals: 5, serverMeals: 0, counts: [{ meal: 'dinner', method: 'manual', box: 5, server: 0 }] }]);
  });
});

describe('edge: daily count service on a real database', () => {
  let tmp: ReturnType<typeof edgeTempDir>;
  let db: Db;
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('waits for the last window, looks back a week, reports a zero once a reported day is voided empty, and says nothing while the clock is untrusted', () => {
    tmp = edgeTempDir();
    db = openEdgeDb(tmp.dir);
    const clock = new TestClock('2026-11-27T04:00:00Z');
    const { service: checkIns, elders } = testCheckInService(db, clock);
    elders.upsertElder('E1', '王秀英');
    const meal = checkIns.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    expect(meal.status).toBe('recorded');
    const outbox = createOutboxRepository(db);
    let trusted = true;
    const trustAware = { now: () => clock.now(), reading: () => (trusted ? { trusted: true as const, at: clock.now(), source: 'server' as const, monoMs: 0 } : { trusted: false as const, system: clock.now(), monoMs: 0 }) };
    let notified = 0;
    const daily = createDailyCountService({ db, outbox, centreId: CENTRE, deviceId: DEVICE, clock: trustAware, ids: { next: () => uuidv7() }, windows, timeZone: 'Asia/Shanghai', onQueued: () => notified++ });

    expect(lastFinishedDate(new Date('2026-11-27T04:00:00Z'), windows, 'Asia/Shanghai')).toBe('2026-11-26');
    expect(lastFinishedDate(new Date('2026-11-27T11:30:00Z'), windows, 'Asia/Shanghai')).toBe('2026-11-27');
    expect(daily.report()).toEqual([]);
    // Eight days later the day is still in the look-back window on the seventh, not after.
    clock.set('2026-12-03T04:00:00Z');
    trusted = false;
    expect(daily.report()).toEqual([]);
    trusted = true;
    const [rec] = daily.report();
    expect(rec).toMatchObject({ serviceDate: '2026-11-27', revision: 1, counts: [{ meal: 'lunch', method: 'manual', meals: 1 }], voided: 0 });
    expect(notified).toBe(1);
    expect(outbox.takeOldest(10).map((e) => e.eventId)).toContain(rec!.eventId);

    if (meal.status !== 'recorded') throw new Error('unreachable');
    expect(checkIns.void({ eventId: meal.checkIn.eventId, staffId: 'S01', reason: '录错了' }).status).toBe('voided');
    expect(daily.report()).toMatchObject([{ serviceDate: '2026-11-27', revision: 2, counts: [], voided: 1 }]);
    clock.set('2026-12-05T04:00:00Z');
    // Out of the look-back: a change now would not be reported, and nothing is.
    expect(daily.report()).toEqual([]);
  });
});
