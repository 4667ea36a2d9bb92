/**
 * Held face check-ins through the edge's composition root: `--antispoof-threshold` wired to the
 * check-in service, the staff routes on the edge's HTTP server, and a confirmed meal delivered
 * to the real server (embedded broker) while a rejected one never is. Only the model seam is
 * faked: canned faces with canned anti-spoof scores.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer } from '../../server/src/server.ts';
import { edgeTempDir, quietEdgeLogger, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { TEST_TOKEN, quietLogger } from '../helpers/server-fixtures.ts';

// 12:00 in Shanghai: lunch.
const LUNCH = '2026-11-28T04:00:00Z';
const wang = syntheticDescriptor(1);
const li = syntheticDescriptor(2);

describe('held check-ins through the edge program', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  it('holds suspect faces, and delivers only what staff confirm', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    // One clock for both: the edge learns the time from the server (clock sanity), so a server
    // on the real clock would move the edge out of lunch halfway through the test.
    const clock = new TestClock(LUNCH);
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock });
    cleanups.push(() => server.stop());
    const config = loadEdgeConfig(['--centre', 'c-101', '--device', 'door-1', '--data', `${tmp.dir}/edge`, '--server', server.mqttUrl, '--http-port', '0', '--antispoof-threshold', '0.5'], {});
    expect(config.antispoofThreshold).toBe(0.5);
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    elders.addTemplate('E1', wang, 'synthetic', FACE_API_MODEL);
    elders.upsertElder('E2', '李桂兰');
    elders.addTemplate('E2', li, 'synthetic', FACE_API_MODEL);
    db.close();

    // A photo of 王秀英 and a phone screen showing 李桂兰: both score low in every frame.
    const engine = new FakeEngine({ empty: [], wang: [{ ...fakeFace({ descriptor: wang }), antispoof: 0.1 }], li: [{ ...fakeFace({ descriptor: li }), antispoof: 0.2 }] });
    const frames = ['wang', 'wang', 'wang', ...Array<string>(6).fill('empty'), 'li', 'li', 'li', ...Array<string>(6).fill('empty')];
    const edge = new Edge({ ...config, realtime: false }, { engine, source: new MemoryFrameSource(frames, 'cam1'), clock, logger: quietEdgeLogger });
    const results: string[] = [];
    edge.on('check-in', (e) => results.push(`${e.elderId}:${e.result.status}`));
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    cleanups.push(() => edge.stop());
    await edge.start();
    await ended;

    expect(results).toEqual(['E1:pending-confirmation', 'E2:pending-confirmation']);
    expect(edge.pipeline?.counters()).toMatchObject({ recognised: 2, recorded: 0, held: 2 });
    const status = async () => (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as { pendingConfirmations: number; outboxPending: number; checkIns: { total: number } };
    expect(await status()).toMatchObject({ pendingConfirmations: 2, outboxPending: 0, checkIns: { total: 0 } });

    const list = (await (await fetch(`${edge.statusUrl}/api/v1/confirmations`)).json()) as { confirmations: { id: string; elderId: string }[] };
    const idOf = (elderId: string) => list.confirmations.find((c) => c.elderId === elderId)!.id;
    const decide = (id: string, what: 'confirm' | 'reject') =>
      fetch(`${edge.statusUrl}/api/v1/confirmations/${id}/${what}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: 'staff-1' }) });

    // Staff get to it after lunch has closed: the meal is still lunch.
    clock.set('2026-11-28T06:00:00Z');
    expect((await decide(idOf('E1'), 'confirm')).status).toBe(200);
    expect((await decide(idOf('E2'), 'reject')).status).toBe(200);

    await waitUntil(() => edge.forwarder.stats().pending === 0 && edge.checkIns.countAll() === 1, 'the confirmed meal delivered', 20_000);
    const res = await server.app.inject({ url: '/api/v1/stats/meals?from=2026-11-28&to=2026-11-28&groupBy=centre,day,meal', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.json()).toMatchObject({ total: 1, rows: [{ centreId: 'c-101', day: '2026-11-28', meal: 'lunch', meals: 1 }] });
    expect(await status()).toMatchObject({ pendingConfirmations: 0, outboxPending: 0, checkIns: { total: 1 } });
  }, 60_000);
});
