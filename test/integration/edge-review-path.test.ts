/**
 * The review queue through the edge's composition root: a stranger at the camera is kept for
 * review (crop in the box's SQLite), a staff member assigns it through the edge's own review
 * service, and the meal reaches the real server (embedded broker) once; the crop is then gone,
 * and it never appeared in the edge's log or in what the server received. Only the camera and
 * model seams are faked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer } from '../../server/src/server.ts';
import { captureLogger, edgeTempDir, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, labelledJpeg, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { TEST_TOKEN, quietLogger } from '../helpers/server-fixtures.ts';

const LUNCH = '2026-11-28T04:00:00Z';
const wang = syntheticDescriptor(1);
const li = syntheticDescriptor(2);

describe('the review queue through the edge program', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  it('keeps a stranger, and the meal staff assign reaches the server with reviewedBy', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const clock = new TestClock(LUNCH);
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock });
    cleanups.push(() => server.stop());
    const config = loadEdgeConfig(['--centre', 'c-101', '--device', 'door-1', '--data', `${tmp.dir}/edge`, '--server', server.mqttUrl, '--http-port', '0', '--review-retention-hours', '2'], {});
    expect(config.review.retentionMs).toBe(7_200_000);
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    elders.addTemplate('E1', wang, 'synthetic', FACE_API_MODEL);
    elders.upsertElder('E2', '李桂兰');
    elders.addTemplate('E2', li, 'synthetic', FACE_API_MODEL);
    db.close();

    const engine = new FakeEngine({ stranger: [fakeFace({ descriptor: descriptorAt(syntheticDescriptor(9), 0.05, 2) })] });
    const frame = await labelledJpeg('stranger');
    const { logger, lines } = captureLogger('debug');
    const edge = new Edge({ ...config, realtime: false }, { engine, source: new MemoryFrameSource([frame, frame, frame, frame, frame], 'cam1'), clock, logger });
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    cleanups.push(() => edge.stop());
    await edge.start();
    await ended;
    await edge.reviews.idle();

    const [item] = edge.reviews.list();
    expect(item).toMatchObject({ kind: 'unknown', cameraId: 'cam1', hasCrop: true });
    expect(item!.nearest.map((n) => n.name).sort()).toEqual(['李桂兰', '王秀英']);
    const jpeg = edge.reviews.crop(item!.id)!;
    const r = edge.reviews.assign({ staffId: 'S01', role: 'staff' }, item!.id, 'E1');
    expect(r).toMatchObject({ status: 'assigned', checkIn: { elderId: 'E1', method: 'face', reviewedBy: 'S01' } });

    await waitUntil(() => edge.forwarder.stats().pending === 0 && edge.checkIns.countAll() === 1, 'the assigned meal delivered', 20_000);
    const res = await server.app.inject({ url: '/api/v1/stats/meals?from=2026-11-28&to=2026-11-28&groupBy=centre,day,meal', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.json()).toMatchObject({ total: 1, rows: [{ centreId: 'c-101', day: '2026-11-28', meal: 'lunch', meals: 1 }] });
    // The server keeps who assigned it (server migration 014).
    expect(server.db.prepare('SELECT elder_id AS elderId, method, reviewed_by AS reviewedBy, staff_id AS staffId FROM meals').all()).toEqual([{ elderId: 'E1', method: 'face', reviewedBy: 'S01', staffId: null }]);
    expect(edge.reviews.crop(item!.id)).toBeUndefined();
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(jpeg.toString('base64').slice(20, 80));
    expect(logged).not.toContain(jpeg.toString('hex').slice(40, 120));
  }, 60_000);
});
