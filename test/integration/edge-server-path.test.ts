/**
 * The whole delivery path with real parts: the edge's composition root (SQLite, check-in
 * service, forwarder), the server (Fastify, SQLite, ingest) and its embedded aedes broker.
 * Only the model seam is faked (canned faces per frame), since what is under test is the
 * path from a decided face to a meal counted by the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { edgeTempDir, quietEdgeLogger, reservePort, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { batch, connectDevice, nextMessage, TEST_TOKEN, quietLogger } from '../helpers/server-fixtures.ts';
import { topics, type MealEvent, type Receipt } from '../../common/contract.ts';

const CENTRE = 'c-101';
const DEVICE = 'door-1';
// 12:00 in Shanghai: inside the default lunch window (11:00-13:30).
const LUNCH = '2026-11-28T04:00:00Z';

const people = { wang: syntheticDescriptor(1), li: syntheticDescriptor(2), zhao: syntheticDescriptor(3), stranger: syntheticDescriptor(99) };

/** Each visit is three frames of one face, then empty frames so the track ends. */
function visits(...who: (keyof typeof people)[]): string[] {
  return who.flatMap((w) => [w, w, w, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty']);
}

const engine = () =>
  new FakeEngine({
    empty: [],
    ...Object.fromEntries(Object.entries(people).map(([k, d]) => [k, [fakeFace({ descriptor: d })]])),
  });

async function enrolElders(dbFile: string): Promise<void> {
  const db = openEdgeDatabase(dbFile);
  const elders = createElderRepository(db);
  for (const [id, name, d] of [
    ['E1', '王秀英', people.wang],
    ['E2', '李桂兰', people.li],
    ['E3', '赵志刚', people.zhao],
  ] as const) {
    elders.upsertElder(id, name);
    elders.addTemplate(id, d, 'synthetic', FACE_API_MODEL);
  }
  db.close();
}

async function mealsAtServer(server: RunningServer): Promise<{ total: number; rows: unknown[] }> {
  const res = await server.app.inject({
    url: '/api/v1/stats/meals?from=2026-11-28&to=2026-11-28&groupBy=centre,day,meal',
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('edge → broker → server → receipt', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  async function setUp(mqttPort: number, startServerFirst: boolean) {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const settings = serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort, adminToken: TEST_TOKEN });
    let server: RunningServer | undefined;
    // One clock for both: the edge learns the time from the server, so they must agree.
    const clock = new TestClock(LUNCH);
    if (startServerFirst) {
      server = await startServer(settings, { logger: quietLogger, clock });
      cleanups.push(() => server!.stop());
    }
    const mqttUrl = server ? server.mqttUrl : `mqtt://127.0.0.1:${mqttPort}`;
    const config = loadEdgeConfig(['--centre', CENTRE, '--device', DEVICE, '--data', `${tmp.dir}/edge`, '--server', mqttUrl, '--http-port', '0'], {});
    await enrolElders(config.dbFile);
    const source = new MemoryFrameSource(visits('wang', 'stranger', 'li', 'wang', 'zhao'), 'cam1');
    const edge = new Edge({ ...config, realtime: false }, { engine: engine(), source, clock, logger: quietEdgeLogger });
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    const results: string[] = [];
    edge.on('check-in', (e) => results.push(`${e.elderId}:${e.result.status}`));
    cleanups.push(() => edge.stop());
    await edge.start();
    return { settings, clock, edge, ended, results, getServer: () => server, setServer: (s: RunningServer) => (server = s) };
  }

  it('delivers every check-in once, removes it from the outbox on the receipt, and counts no meal for a stranger', async () => {
    const { edge, ended, results, getServer } = await setUp(0, true);
    await ended;
    // wang twice: the second visit is "already checked in", not a second meal.
    expect(results).toEqual(['E1:recorded', 'E2:recorded', 'E1:already-checked-in', 'E3:recorded']);
    expect(edge.pipeline?.counters().unknown).toBe(1);
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'outbox drained by receipts', 20_000);
    const stats = await mealsAtServer(getServer()!);
    expect(stats.total).toBe(3);
    expect(stats.total).toBe(edge.checkIns.countAll());
    expect(stats.rows).toEqual([{ centreId: CENTRE, day: '2026-11-28', meal: 'lunch', meals: 3, voided: 0 }]);
    // The status page reports the same figures.
    const status = (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as { checkIns: { total: number }; outboxPending: number };
    expect(status.checkIns.total).toBe(3);
    expect(status.outboxPending).toBe(0);
  });

  it('meals by hand and a void made through the staff API reach the server: it counts them, and not the voided one', async () => {
    const { edge, ended, getServer } = await setUp(0, true);
    await ended;
    // A staff member logs in on the edge's own HTTP server, as the staff pages do.
    await edge.staff.add({ staffId: 'S01', name: '张丽', role: 'staff', pin: '246810' }, null);
    const login = await fetch(`${edge.statusUrl}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: 'S01', pin: '246810' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const api = async (path: string, body: object) => {
      const res = await fetch(`${edge.statusUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { checkIn: { eventId: string } } };
    };
    edge.elders.upsertElder('E4', '孙玉兰');
    edge.elders.upsertElder('E5', '周建国');
    expect((await api('/api/v1/meals', { elderId: 'E4', method: 'manual' })).status).toBe(201);
    expect((await api('/api/v1/meals', { elderId: 'E5', method: 'proxy', proxyName: '周明' })).status).toBe(201);
    // The face check-in of E2 was wrong: voided, and E2 is recorded as a delivery instead.
    const wrong = edge.checkIns.listForDay('2026-11-28').find((c) => c.elderId === 'E2')!;
    expect((await api(`/api/v1/meals/${wrong.eventId}/void`, { reason: '认错人' })).status).toBe(200);
    expect((await api('/api/v1/meals', { elderId: 'E2', method: 'delivery' })).status).toBe(201);
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'meals by hand, the void and the audit rows receipted', 20_000);

    const server = getServer()!;
    const stats = await mealsAtServer(server);
    // 3 faces + manual + proxy + delivery - the voided face.
    expect(stats.total).toBe(5);
    expect(stats.rows).toEqual([{ centreId: CENTRE, day: '2026-11-28', meal: 'lunch', meals: 5, voided: 1 }]);
    expect(stats.total).toBe(edge.checkIns.countAll());
    expect(server.db.prepare("SELECT elder_id AS e, method, staff_id AS s, proxy_name AS p FROM meals WHERE method <> 'face' ORDER BY elder_id").all()).toEqual([
      { e: 'E2', method: 'delivery', s: 'S01', p: null },
      { e: 'E4', method: 'manual', s: 'S01', p: null },
      { e: 'E5', method: 'proxy', s: 'S01', p: '周明' },
    ]);
    expect(server.db.prepare('SELECT voids, state, staff_id AS s FROM meal_voids').all()).toEqual([{ voids: wrong.eventId, state: 'applied', s: 'S01' }]);
    // The staff actions reached the server's audit copy too.
    expect(server.db.prepare("SELECT count(*) FROM records WHERE type = 'audit' AND payload LIKE '%manual-meal%'").pluck().get()).toBe(3);
    const status = (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as { checkIns: Record<string, number> };
    expect(status.checkIns).toMatchObject({ today: 5, manual: 1, delivery: 1, proxy: 1, voided: 1 });
  });

  it('keeps recording while the server and broker are down, and delivers when they come up', async () => {
    const port = await reservePort();
    const { edge, ended, results, settings, clock, setServer } = await setUp(port, false);
    await ended;
    expect(results.filter((r) => r.endsWith(':recorded'))).toHaveLength(3);
    expect(edge.forwarder.stats().connected).toBe(false);
    expect(edge.forwarder.stats().pending).toBe(3);

    const server = await startServer(settings, { logger: quietLogger, clock });
    setServer(server);
    cleanups.push(() => server.stop());
    // The forwarder retries with backoff (1 s doubling, jittered): allow a few rounds.
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'outbox drained after the server came up', 45_000, 100);
    const stats = await mealsAtServer(server);
    expect(stats.total).toBe(3);
  }, 90_000);

  it('a check-in whose eventId the server already holds with other content is a conflict: kept there, counted in both statuses', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const port = await reservePort();
    const clock = new TestClock(LUNCH);
    const config = loadEdgeConfig(['--centre', CENTRE, '--device', DEVICE, '--data', `${tmp.dir}/edge`, '--server', `mqtt://127.0.0.1:${port}`, '--http-port', '0'], {});
    await enrolElders(config.dbFile);
    // Wang checks in while the server is away: the event waits in the outbox.
    const first = new Edge({ ...config, realtime: false }, { engine: engine(), source: new MemoryFrameSource(visits('wang'), 'cam1'), clock, logger: quietEdgeLogger });
    const ended = new Promise<void>((r) => first.once('camera-end', () => r()));
    await first.start();
    await ended;
    await first.stop();
    const edgeDb = openEdgeDatabase(config.dbFile);
    const [queued] = edgeDb.prepare('SELECT payload FROM outbox').pluck().all() as string[];
    edgeDb.close();
    const event = JSON.parse(queued!) as MealEvent;

    // The server comes up and first gets another event under that eventId (a forgery, or a box
    // restored from a backup that reuses ids): that one counts.
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: port, adminToken: TEST_TOKEN }), { logger: quietLogger, clock });
    cleanups.push(() => server.stop());
    const other = await connectDevice(server.mqttUrl, { clientId: 'someone-else' });
    await other.subscribeAsync(topics.receipts(CENTRE, DEVICE), { qos: 1 });
    const plain = nextMessage(other, topics.receipts(CENTRE, DEVICE));
    await other.publishAsync(topics.events(CENTRE, DEVICE), JSON.stringify(batch({ ...event, elderId: 'E2' })), { qos: 1 });
    expect(JSON.parse((await plain).toString())).toEqual({ v: 1, eventIds: [event.eventId] });

    // The box comes back and sends its version: the server names it as a conflict. (Time
    // replies share the receipts topic: skip them.)
    const named = (async () => {
      for (;;) {
        const m = JSON.parse((await nextMessage(other, topics.receipts(CENTRE, DEVICE))).toString()) as Receipt | { time: unknown };
        if ('eventIds' in m) return m;
      }
    })();
    const edge = new Edge({ ...config, realtime: false }, { engine: engine(), source: new MemoryFrameSource([], 'cam1'), clock, logger: quietEdgeLogger });
    cleanups.push(() => edge.stop());
    await edge.start();
    expect(await named).toEqual({ v: 1, eventIds: [event.eventId], conflicts: [event.eventId] });
    await other.endAsync();
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'the conflicting row receipted', 20_000);

    const status = (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as { conflicts: number; outboxPending: number };
    expect(status).toMatchObject({ conflicts: 1, outboxPending: 0 });
    const db = openEdgeDatabase(config.dbFile);
    expect(db.prepare('SELECT event_id AS eventId, payload FROM receipt_conflicts').all()).toEqual([{ eventId: event.eventId, payload: queued }]);
    db.close();

    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const serverStatus = await server.app.inject({ url: '/api/v1/status', headers: auth });
    expect(serverStatus.json()).toMatchObject({ ingest: { meals: 1, conflicts: 1 } });
    const conflicts = (await server.app.inject({ url: '/api/v1/stats/conflicts', headers: auth })).json() as { conflicts: Array<{ original: { elderId: string }; version: MealEvent }> };
    expect(conflicts.conflicts).toEqual([expect.objectContaining({ original: expect.objectContaining({ elderId: 'E2' }), version: expect.objectContaining({ elderId: 'E1' }) })]);
    // The meal that counts is the first one the server had; the box's version is not counted.
    expect((await mealsAtServer(server)).total).toBe(1);
  }, 90_000);
});
