import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import { StatusServer, statusSource, type EdgeStatus, type PipelineStatus } from '../../edge/src/web/status-server.ts';
import { edgeTempDir, openEdgeDb, quietEdgeLogger, TestClock, testCheckInService } from '../helpers/edge-fixtures.ts';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let service: CheckInService;
let clock: TestClock;
let server: StatusServer;
let pipeline: PipelineStatus = {};

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock('2025-03-09T03:00:00.000Z');
  const built = testCheckInService(db, clock);
  const { elders, outbox } = built;
  service = built.service;
  elders.upsertElder('e1', '王秀英');
  elders.upsertElder('e2', '李建国');
  // Not started: its stats are what an edge with no broker reports.
  const forwarder = new Forwarder({ url: 'mqtt://127.0.0.1:1', centreId: 'c-001', deviceId: 'door1' }, { outbox, clock, logger: quietEdgeLogger });
  pipeline = {};
  server = new StatusServer({
    port: 0,
    logger: quietEdgeLogger,
    status: statusSource({ centreId: 'c-001', deviceId: 'door1', startedAt: new Date('2025-03-09T00:00:00Z'), checkIns: service, forwarder, pipeline: () => pipeline }),
  });
});

afterEach(async () => {
  await server.stop();
  db.close();
  tmp.cleanup();
});

describe('status server', () => {
  it('reports live figures', async () => {
    service.record({ elderId: 'e1', method: 'face' }); // yesterday's lunch
    clock.set('2025-03-10T03:00:00.000Z');
    service.record({ elderId: 'e1', method: 'face' });
    service.record({ elderId: 'e2', method: 'manual' });
    pipeline = { engine: { backend: 'wasm', detector: 'ssdMobilenetv1' }, cameras: [{ id: 'cam1', state: 'running', frames: 12, lastFrameAt: null }], unknown: 3 };

    const res = await server.build().inject({ method: 'GET', url: '/api/v1/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json<EdgeStatus>()).toEqual({
      centreId: 'c-001',
      deviceId: 'door1',
      checkIns: { serviceDate: '2025-03-10', today: 2, total: 3 },
      outboxPending: 3,
      outboxAlarm: false,
      mqtt: { connected: false, lastReceiptAt: null },
      engine: { backend: 'wasm', detector: 'ssdMobilenetv1' },
      cameras: [{ id: 'cam1', state: 'running', frames: 12, lastFrameAt: null }],
      unknown: 3,
      startedAt: '2025-03-09T00:00:00.000Z',
    });
  });

  it('sends only the declared fields', async () => {
    pipeline = { unknown: 0, descriptor: [0.1, 0.2] } as PipelineStatus;
    const res = await server.build().inject({ method: 'GET', url: '/api/v1/status' });
    expect(res.json()).not.toHaveProperty('descriptor');
    expect(res.json()).toMatchObject({ unknown: 0 });
  });

  it('listens on 127.0.0.1 on an ephemeral port and hides 5xx details', async () => {
    await server.start();
    expect(server.port()).toBeGreaterThan(0);
    expect(server.build().server.address()).toMatchObject({ address: '127.0.0.1' });
    const ok = await fetch(`http://127.0.0.1:${server.port()}/api/v1/status`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ centreId: 'c-001', checkIns: { today: 0 } });

    db.exec('DROP TABLE check_ins');
    const bad = await fetch(`http://127.0.0.1:${server.port()}/api/v1/status`);
    expect(bad.status).toBe(500);
    expect(await bad.json()).toEqual({ error: 'internal error' });
  });
});
