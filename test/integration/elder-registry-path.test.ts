/**
 * The elder registry end to end with real parts: the edge's composition root (SQLite, registry,
 * outbox, forwarder), the server (ingest, registry, Fastify) and its embedded aedes broker. An
 * elder registered on the box shows up at GET /api/v1/elders; a suspension and a removal follow;
 * a suspended elder is not recognised at the door. Only the model seam is faked.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { createElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { testRegistry } from '../helpers/elder-registry.ts';
import { edgeTempDir, quietEdgeLogger, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';

const CENTRE = 'c-101';
const DEVICE = 'door-1';
const LUNCH = '2026-11-28T04:00:00Z';
const wang = syntheticDescriptor(1);
const li = syntheticDescriptor(2);

interface ListedElder {
  elderId: string;
  name: string | null;
  idNumber: string | null;
  status: string | null;
  revision: number;
  removed: boolean;
}

async function serverElders(server: RunningServer, qs = ''): Promise<ListedElder[]> {
  const res = await server.app.inject({ url: `/api/v1/elders?centreId=${CENTRE}${qs}`, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(res.statusCode).toBe(200);
  return res.json<{ elders: ListedElder[] }>().elders;
}

describe('elder registry: edge → broker → server', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  async function setUp(frames: string[] = []) {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const clock = new TestClock(LUNCH);
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock });
    cleanups.push(() => server.stop());
    const config = loadEdgeConfig(['--centre', CENTRE, '--device', DEVICE, '--data', `${tmp.dir}/edge`, '--server', server.mqttUrl, '--http-port', '0'], {});
    return { server, clock, config, frames };
  }

  it('an elder registered on the box is listed by the server, masked; suspension and removal follow, exactly once each', async () => {
    const { server, clock, config } = await setUp();
    const edge = new Edge(config, { engine: new FakeEngine(), sources: [], clock, logger: quietEdgeLogger });
    cleanups.push(() => edge.stop());
    await edge.start();
    // The centre's config document (with the server's ID-number key) comes first here.
    await waitUntil(() => edge.centreConfig.applied() !== undefined, 'config document applied', 20_000);

    edge.registry.create({ elderId: 'E001', name: '王秀英', idNumber: '11010519491231002X', category: '特困' }, 'S01', { signedBy: 'elder' });
    edge.registry.create({ elderId: 'E002', name: '李桂兰' }, 'S01');
    // Wait for the elder records themselves: the audit rows of the same changes travel too, and a
    // server without the audit feature's handler keeps those unreceipted.
    const elderRecords = (): number => server.db.prepare("SELECT count(*) FROM records WHERE type = 'elder'").pluck().get() as number;
    await waitUntil(() => elderRecords() === 3, 'registry records stored', 20_000);
    expect(await serverElders(server)).toMatchObject([
      { elderId: 'E001', name: '王秀英', idNumber: '**************002X', status: 'active', revision: 2, removed: false },
      { elderId: 'E002', name: '李桂兰', idNumber: null, status: 'active', revision: 1 },
    ]);

    edge.registry.setStatus('E002', 'suspended', 'S01');
    edge.registry.remove('E001', 'M01');
    await waitUntil(() => elderRecords() === 5, 'changes stored', 20_000);
    expect(await serverElders(server)).toMatchObject([{ elderId: 'E002', status: 'suspended', revision: 2 }]);
    expect(await serverElders(server, '&includeRemoved=true')).toMatchObject([{ elderId: 'E001', removed: true, revision: 3 }, { elderId: 'E002' }]);
    // Exactly once: five records sent, five held, none twice, no conflict.
    expect(server.db.prepare("SELECT count(*) FROM records WHERE type = 'elder'").pluck().get()).toBe(5);
    expect(server.db.prepare('SELECT count(*) FROM record_conflicts').pluck().get()).toBe(0);
    // Nothing biometric reached the server.
    // Nothing biometric reached the server: no record field holds face data (the audit rows say
    // how many templates a removal deleted, a count).
    const all = JSON.stringify(server.db.prepare('SELECT payload FROM records').pluck().all());
    expect(all).not.toMatch(/descriptor|embedding|photo|image|crop/i);
    expect(JSON.stringify(server.db.prepare("SELECT payload FROM records WHERE type = 'elder'").pluck().all())).not.toMatch(/template/i);
    expect(all).not.toContain('11010519491231002X');
  });

  it('an ID number registered before the server\'s key reached the box goes up sealed once it does, never in clear on the wire', async () => {
    const { server, clock, config } = await setUp();
    // Registered offline, before this box ever talked to the server.
    const db = openEdgeDatabase(config.dbFile);
    testRegistry(db, { clock, centreId: CENTRE, deviceId: DEVICE }).registry.create({ elderId: 'E001', name: '王秀英', idNumber: '11010519491231002X' }, 'S01', { signedBy: 'elder' });
    db.close();
    // Every message on the broker, as a subscriber on # sees it (no box is registered: anonymous is allowed).
    const tap = await mqtt.connectAsync(server.mqttUrl, { clientId: 'privacy-tap' });
    cleanups.push(() => tap.endAsync());
    const seen: Buffer[] = [];
    tap.on('message', (_t, p) => seen.push(Buffer.from(p)));
    await tap.subscribeAsync('#');

    const edge = new Edge(config, { engine: new FakeEngine(), sources: [], clock, logger: quietEdgeLogger });
    cleanups.push(() => edge.stop());
    await edge.start();
    await waitUntil(() => createElderRegistryRepository(server.db).get(CENTRE, 'E001')?.idNumber === '11010519491231002X', 'the sealed number reached the registry', 20_000);
    expect((await serverElders(server, '&idNumbers=full'))[0]!.idNumber).toBe('11010519491231002X');
    const [elder] = await serverElders(server);
    expect(elder).toMatchObject({ elderId: 'E001', idNumber: '**************002X', revision: 3 });
    const changes = server.db.prepare("SELECT json_extract(payload, '$.change') FROM records WHERE type = 'elder' ORDER BY json_extract(payload, '$.revision')").pluck().all();
    expect(changes).toEqual(['created', 'consent', 'sealed']);
    const wire = Buffer.concat(seen).toString('latin1');
    expect(seen.length).toBeGreaterThan(3);
    expect(wire).toContain('"idNumberSealed":"v1.');
    expect(wire).not.toContain('11010519491231002X');
  });

  it('a suspended elder is not recognised at the door; an active one is', async () => {
    const { server, clock, config } = await setUp();
    const db = openEdgeDatabase(config.dbFile);
    const { registry, elders, register } = testRegistry(db, { clock, centreId: CENTRE, deviceId: DEVICE });
    register('E1', '王秀英');
    register('E2', '李桂兰');
    elders.addTemplate('E1', wang, 'live-1', FACE_API_MODEL);
    elders.addTemplate('E2', li, 'live-1', FACE_API_MODEL);
    registry.setStatus('E2', 'suspended', 'S01');
    db.close();

    const frames = ['wang', 'wang', 'wang', ...Array<string>(6).fill('empty'), 'li', 'li', 'li', ...Array<string>(6).fill('empty')];
    const engine = new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: wang })], li: [fakeFace({ descriptor: li })] });
    const edge = new Edge({ ...config, realtime: false }, { engine, source: new MemoryFrameSource(frames, 'cam1'), clock, logger: quietEdgeLogger });
    const results: string[] = [];
    edge.on('check-in', (e) => results.push(`${e.elderId}:${e.result.status}`));
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    cleanups.push(() => edge.stop());
    await edge.start();
    await ended;
    expect(results).toEqual(['E1:recorded']);
    expect(edge.pipeline?.counters().unknown).toBe(1);
    // The registry records made before the edge ran go up too.
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'outbox drained', 20_000);
    expect((await serverElders(server)).map((e) => [e.elderId, e.status])).toEqual([
      ['E1', 'active'],
      ['E2', 'suspended'],
    ]);
  });
});
