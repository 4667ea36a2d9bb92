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
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { captureLogger, edgeTempDir, reservePort, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, labelledJpeg, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { TEST_TOKEN, quietLogger } from '../helpers/server-fixtures.ts';

const LUNCH = '2026-11-28T04:00:00Z';
// A Pi with no RTC, booted without network: its clock is untrusted until the server tells the time.
const EPOCH = '1970-01-01T00:05:00.000Z';
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

  it('keeps a suspect face the clock rules held (kind clock); assigned while the clock is untrusted, the meal reaches the server as lunch with reviewedBy', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const mqttPort = await reservePort();
    const config = loadEdgeConfig(
      ['--centre', 'c-101', '--device', 'door-1', '--data', `${tmp.dir}/edge`, '--server', `mqtt://127.0.0.1:${mqttPort}`, '--http-port', '0', '--antispoof-threshold', '0.5'],
      {},
    );
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    elders.addTemplate('E1', wang, 'synthetic', FACE_API_MODEL);
    elders.upsertElder('E2', '李桂兰');
    elders.addTemplate('E2', li, 'synthetic', FACE_API_MODEL);
    db.close();

    // 王秀英's face, but the anti-spoof hint finds it suspect, and the box does not know the time.
    const engine = new FakeEngine({ wang: [{ ...fakeFace({ descriptor: descriptorAt(wang, 0.05, 3) }), antispoof: 0.1 }] });
    const frame = await labelledJpeg('wang');
    const { logger, lines } = captureLogger('debug');
    const edge = new Edge({ ...config, realtime: false }, { engine, source: new MemoryFrameSource([frame, frame, frame, frame, frame], 'cam1'), clock: new TestClock(EPOCH), logger });
    const results: string[] = [];
    edge.on('check-in', (e) => results.push(e.result.status === 'not-recorded' ? `not-recorded:${e.result.review ?? ''}` : e.result.status));
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    cleanups.push(() => edge.stop());
    await edge.start();
    expect(edge.clock.status().state).toBe('untrusted');
    await ended;
    await edge.reviews.idle();

    // Nothing recorded and no anti-spoof hold (its date would be a guess): a review item instead.
    expect(results).toEqual(['not-recorded:clock']);
    expect(edge.checkIns.countAll()).toBe(0);
    expect(edge.checkIns.listConfirmations()).toEqual([]);
    const [item] = edge.reviews.list();
    expect(item).toMatchObject({ kind: 'clock', cameraId: 'cam1', hasCrop: true, status: 'pending' });
    expect(item!.confirmationId).toBeUndefined();
    expect(item!.nearest[0]).toMatchObject({ elderId: 'E1', name: '王秀英' });
    expect(edge.reviews.summary()).toMatchObject({ pending: 1, byKind: { clock: 1, unknown: 0, margin: 0, antispoof: 0 } });
    const status = (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as { reviews: unknown; clock: { state: string } };
    expect(status).toMatchObject({ reviews: { pending: 1, byKind: { clock: 1 } }, clock: { state: 'untrusted' } });
    const jpeg = edge.reviews.crop(item!.id)!;

    // Staff know her: assigned, the meal is recorded, held like any check-in while the time is unknown.
    const r = edge.reviews.assign({ staffId: 'S01', role: 'staff' }, item!.id, 'E1');
    expect(r).toMatchObject({ status: 'assigned', item: { status: 'assigned', hasCrop: false }, checkIn: { elderId: 'E1', method: 'face', reviewedBy: 'S01', provisional: true } });
    // Its outbox row waits for the time (the audit record of the decision goes out meanwhile).
    expect(edge.db.prepare('SELECT count(*) FROM outbox WHERE held = 1').pluck().get()).toBe(1);
    expect(edge.reviews.summary().pending).toBe(0);

    // The server comes: the box learns the time, corrects the check-in, and it arrives as lunch.
    const server: RunningServer = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort, adminToken: TEST_TOKEN }), { logger: quietLogger, clock: new TestClock(LUNCH) });
    cleanups.push(() => server.stop());
    await waitUntil(() => edge.clock.isSynced() && edge.forwarder.stats().pending === 0, 'the corrected meal delivered', 30_000, 50);
    expect(server.db.prepare('SELECT elder_id AS elderId, method, service_date AS serviceDate, meal, clock_state AS clockState, reviewed_by AS reviewedBy FROM meals').all()).toEqual([
      { elderId: 'E1', method: 'face', serviceDate: '2026-11-28', meal: 'lunch', clockState: 'corrected', reviewedBy: 'S01' },
    ]);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(jpeg.toString('base64').slice(20, 80));
  }, 60_000);
});
