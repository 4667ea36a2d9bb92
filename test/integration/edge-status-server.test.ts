import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { Db } from '../../common/sqlite.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import { problemsOf, StatusServer, statusSource, type EdgeStatus, type PipelineStatus } from '../../edge/src/web/status-server.ts';
import { createReviewRepository, type ReviewRepository } from '../../edge/src/review/review-repository.ts';
import type { ReviewService } from '../../edge/src/review/review-service.ts';
import { edgeTempDir, openEdgeDb, quietEdgeLogger, TestClock, testCheckInService } from '../helpers/edge-fixtures.ts';
import { reviewParts } from '../helpers/review-fixtures.ts';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let service: CheckInService;
let clock: TestClock;
let server: StatusServer;
let pipeline: PipelineStatus = {};
let reviews: ReviewService;
let reviewRepo: ReviewRepository;

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock('2025-03-09T03:00:00.000Z');
  const built = testCheckInService(db, clock, { antispoofThreshold: 0.5 });
  const { elders, outbox } = built;
  service = built.service;
  elders.upsertElder('e1', '王秀英');
  elders.upsertElder('e2', '李建国');
  ({ reviews } = reviewParts(db, clock, service, elders));
  reviewRepo = createReviewRepository(db);
  // Not started: its stats are what an edge with no broker reports.
  const forwarder = new Forwarder({ url: 'mqtt://127.0.0.1:1', centreId: 'c-001', deviceId: 'door1' }, { outbox, clock, logger: quietEdgeLogger });
  pipeline = {};
  server = new StatusServer({
    port: 0,
    logger: quietEdgeLogger,
    confirmations: service,
    status: statusSource({ centreId: 'c-001', deviceId: 'door1', startedAt: new Date('2025-03-09T00:00:00Z'), checkIns: service, forwarder, pipeline: () => pipeline, reviews: () => reviews.summary() }),
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
    const face = service.record({ elderId: 'e1', method: 'face' });
    service.record({ elderId: 'e2', method: 'manual', staffId: 'S1' });
    // Staff void the face check-in and record the elder's meal as taken home instead.
    if (face.status === 'recorded') service.void({ eventId: face.checkIn.eventId, staffId: 'S1', reason: '送餐，不是到店' });
    service.record({ elderId: 'e1', method: 'delivery', staffId: 'S1' });
    pipeline = { engine: { backend: 'wasm', detector: 'ssdMobilenetv1' }, cameras: [{ id: 'cam1', state: 'running', frames: 12, lastFrameAt: null }], unknown: 3 };

    const res = await server.build().inject({ method: 'GET', url: '/api/v1/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json<EdgeStatus>()).toEqual({
      centreId: 'c-001',
      deviceId: 'door1',
      state: 'ok',
      problems: [],
      checkIns: { serviceDate: '2025-03-10', today: 2, total: 3, manual: 1, delivery: 1, proxy: 0, voided: 1 },
      outboxPending: 5,
      outboxAlarm: false,
      mqtt: { connected: false, lastReceiptAt: null },
      engine: { backend: 'wasm', detector: 'ssdMobilenetv1' },
      cameras: [{ id: 'cam1', state: 'running', frames: 12, lastFrameAt: null }],
      unknown: 3,
      pendingConfirmations: 0,
      reviews: { pending: 0, oldestAt: null, byKind: { unknown: 0, margin: 0, antispoof: 0, clock: 0 } },
      rssMb: expect.any(Number) as number,
      startedAt: '2025-03-09T00:00:00.000Z',
    });
    expect(res.json<EdgeStatus>().rssMb).toBeGreaterThan(10);
  });

  it('counts the undecided review items by kind, with the oldest one\'s time; decided ones and holds decided elsewhere do not count', async () => {
    clock.set('2025-03-10T03:00:00.000Z');
    const item = (id: string, kind: 'unknown' | 'margin' | 'antispoof' | 'clock', at: string, confirmationId?: string) =>
      reviewRepo.insert({ id, kind, at, cameraId: 'door', nearest: [{ elderId: 'e1', distance: 0.52 }], ...(confirmationId ? { confirmationId } : {}) }, Buffer.from([0xff, 0xd8]));
    item('r1', 'unknown', '2025-03-10T03:10:00.000Z');
    item('r2', 'unknown', '2025-03-10T02:58:00.000Z');
    item('r3', 'clock', '2025-03-10T03:05:00.000Z');
    item('r4', 'margin', '2025-03-10T02:30:00.000Z');
    const held = service.record({ elderId: 'e2', method: 'face', antispoof: 0.1 });
    if (held.status !== 'pending-confirmation') throw new Error(held.status);
    item('r5', 'antispoof', '2025-03-10T02:00:00.000Z', held.confirmation.id);
    const get = async () => (await server.build().inject({ method: 'GET', url: '/api/v1/status' })).json<EdgeStatus>().reviews;
    expect(await get()).toEqual({ pending: 5, oldestAt: '2025-03-10T02:00:00.000Z', byKind: { unknown: 2, margin: 1, antispoof: 1, clock: 1 } });
    // Staff dismiss one; the anti-spoof hold is rejected through the confirmations API, not the queue.
    expect(reviews.dismiss({ staffId: 'S1', role: 'staff' }, 'r4').status).toBe('dismissed');
    expect(service.reject(held.confirmation.id, 'S1').status).toBe('rejected');
    expect(await get()).toEqual({ pending: 3, oldestAt: '2025-03-10T02:58:00.000Z', byKind: { unknown: 2, margin: 0, antispoof: 0, clock: 1 } });
    expect(reviewRepo.get('r5')).toMatchObject({ status: 'dismissed', hasCrop: false });
  });

  it('says degraded, and why, on /api/v1/status and GET /health (200: a watchdog must not restart the box for it)', async () => {
    const inject = async (url: string) => {
      const res = await server.build().inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      return res.json<Record<string, unknown>>();
    };
    pipeline = { cameras: [{ id: 'door', state: 'running', frames: 3 }] };
    expect(await inject('/health')).toEqual({ status: 'ok', problems: [] });

    pipeline = { cameras: [{ id: 'door', state: 'down', error: 'cannot open /dev/video9: No such file or directory' }, { id: 'side', state: 'running' }, { id: 'clip', state: 'ended' }] };
    expect(await inject('/health')).toEqual({ status: 'degraded', problems: ['camera door: cannot open /dev/video9: No such file or directory'] });
    expect(await inject('/api/v1/status')).toMatchObject({ state: 'degraded', problems: ['camera door: cannot open /dev/video9: No such file or directory'] });

    pipeline = { cameras: [] };
    expect(await inject('/health')).toEqual({ status: 'degraded', problems: [expect.stringMatching(/^no camera configured \(--camera\): recognition is off/) as string] });
  });

  it.each([
    { name: 'the outbox alarm', status: { outboxPending: 6000, outboxAlarm: true }, problem: /^outbox: 6000 meals waiting for the server/ },
    { name: 'an untrusted clock', status: { clock: { state: 'untrusted' as const, floor: '2026-11-01T00:00:00.000Z', heldCheckIns: 2 } }, problem: /^clock: the box's time cannot be trusted.*2 check-in\(s\) held/ },
    { name: 'a camera down without a reason', status: { cameras: [{ id: 'cam1', state: 'down' }] }, problem: /^camera cam1: down$/ },
  ])('names $name as a problem', ({ status, problem }) => {
    const base = { centreId: 'c', deviceId: 'd', checkIns: { serviceDate: '2026-11-28', today: 0, total: 0 }, outboxPending: 0, mqtt: { connected: true, lastReceiptAt: null }, startedAt: '2026-11-28T00:00:00.000Z' };
    expect(problemsOf(base)).toEqual([]);
    expect(problemsOf({ ...base, ...status })).toEqual([expect.stringMatching(problem) as string]);
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

describe('staff confirmation of held check-ins', () => {
  const url = '/api/v1/confirmations';
  const NO_SUCH = '00000000-0000-7000-8000-00000000dead';

  /** A face check-in held for staff (anti-spoof score 0.2, threshold 0.5). */
  function hold(elderId = 'e1'): string {
    const r = service.record({ elderId, method: 'face', score: 0.3, cameraId: 'door', antispoof: 0.2 });
    if (r.status !== 'pending-confirmation') throw new Error(`expected a hold, got ${r.status}`);
    return r.confirmation.id;
  }
  const post = (path: string, payload: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    server.build().inject({ method: 'POST', url: `${url}/${path}`, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });

  it('lists, confirms and rejects over real HTTP', async () => {
    clock.set('2025-03-10T03:00:00.000Z');
    const first = hold('e1');
    const second = hold('e2');
    await server.start();
    const base = `http://127.0.0.1:${server.port()}${url}`;

    const list = await fetch(base);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({
      confirmations: [
        { id: first, elderId: 'e1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T03:00:00.000Z', method: 'face', score: 0.3, cameraId: 'door', antispoof: 0.2, status: 'pending' },
        expect.objectContaining({ id: second, elderName: '李建国', status: 'pending' }),
      ],
    });
    const status = await (await fetch(`http://127.0.0.1:${server.port()}/api/v1/status`)).json();
    expect(status).toMatchObject({ pendingConfirmations: 2, checkIns: { today: 0 }, outboxPending: 0 });

    clock.advance(120_000);
    const ok = await fetch(`${base}/${first}/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: 'staff-7' }) });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { confirmation: { status: string; eventId: string }; checkIn: { eventId: string } };
    expect(body).toEqual({
      confirmation: expect.objectContaining({ id: first, status: 'confirmed', decidedBy: 'staff-7', decidedAt: '2025-03-10T03:02:00.000Z' }) as unknown,
      checkIn: { eventId: body.confirmation.eventId, elderId: 'e1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T03:00:00.000Z', method: 'face', score: 0.3, cameraId: 'door', antispoof: 0.2 },
    });

    const no = await fetch(`${base}/${second}/reject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: 'staff-7', reason: '手机屏幕' }) });
    expect(no.status).toBe(200);
    expect(await no.json()).toEqual({ confirmation: expect.objectContaining({ id: second, status: 'rejected', reason: '手机屏幕' }) as unknown });

    expect(await (await fetch(`http://127.0.0.1:${server.port()}/api/v1/status`)).json()).toMatchObject({ pendingConfirmations: 0, checkIns: { today: 1 }, outboxPending: 1 });
    expect(await (await fetch(base)).json()).toEqual({ confirmations: [] });
    const audit = (await (await fetch(`${base}?status=all`)).json()) as { confirmations: { id: string; status: string }[] };
    expect(audit.confirmations.map((c) => c.status).sort()).toEqual(['confirmed', 'rejected']);
    expect(await (await fetch(`${base}/${second}`)).json()).toMatchObject({ id: second, status: 'rejected', decidedBy: 'staff-7' });
  });

  it('answers 404 for an unknown id and 409 for a decision already made', async () => {
    const id = hold();
    expect(await post(`${NO_SUCH}/confirm`, { staffId: 'staff-7' })).toMatchObject({ statusCode: 404 });
    expect((await post(`${NO_SUCH}/reject`, { staffId: 'staff-7' })).json()).toEqual({ error: `no held check-in ${NO_SUCH}` });
    expect((await server.build().inject({ method: 'GET', url: `${url}/${NO_SUCH}` })).statusCode).toBe(404);

    expect((await post(`${id}/reject`, { staffId: 'staff-7' })).statusCode).toBe(200);
    const again = await post(`${id}/confirm`, { staffId: 'staff-8' });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ error: string }>().error).toMatch(/already rejected \(by staff-7\)/);
    expect((await post(`${id}/reject`, { staffId: 'staff-7' })).statusCode).toBe(409);
    expect(service.countAll()).toBe(0);
  });

  it('answers 409 when the elder already has the meal', async () => {
    const id = hold();
    // Meanwhile the elder was recognised without suspicion: the hold is superseded.
    expect(service.record({ elderId: 'e1', method: 'face', antispoof: 0.9 }).status).toBe('recorded');
    const res = await post(`${id}/confirm`, { staffId: 'staff-7' });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ error: string }>().error).toMatch(/already superseded/);
    expect(service.countAll()).toBe(1);
  });

  it.each<{ name: string; path: string; payload: unknown; headers?: Record<string, string>; code: number; error: RegExp }>([
    { name: 'no body', path: 'confirm', payload: '', code: 400, error: /body/i },
    { name: 'invalid JSON', path: 'confirm', payload: '{"staffId": "s1"', code: 400, error: /JSON/i },
    { name: 'no staffId', path: 'confirm', payload: {}, code: 400, error: /staffId/ },
    { name: 'staffId not an id', path: 'confirm', payload: { staffId: 'a b/c' }, code: 400, error: /staffId/ },
    { name: 'body not an object', path: 'reject', payload: ['staff-7'], code: 400, error: /body/ },
    { name: 'reason too long', path: 'reject', payload: { staffId: 'staff-7', reason: 'x'.repeat(501) }, code: 400, error: /reason/ },
    { name: 'a form (another site posting)', path: 'confirm', payload: 'staffId=staff-7', headers: { 'content-type': 'application/x-www-form-urlencoded' }, code: 415, error: /content-type/i },
    { name: 'text/plain (another site posting)', path: 'confirm', payload: '{"staffId":"staff-7"}', headers: { 'content-type': 'text/plain' }, code: 400, error: /body/ },
  ])('refuses a malformed request: $name', async ({ path, payload, headers, code, error }) => {
    const id = hold();
    const res = await post(`${id}/${path}`, payload, headers);
    expect(res.statusCode).toBe(code);
    expect(res.json<{ error: string }>().error).toMatch(error);
    expect(service.getConfirmation(id)?.status).toBe('pending');
  });

  it('refuses a malformed id or query', async () => {
    const bad = await post('not-an-id/confirm', { staffId: 'staff-7' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: string }>().error).toMatch(/params\/id/);
    expect((await server.build().inject({ method: 'GET', url: `${url}?status=maybe` })).statusCode).toBe(400);
    expect((await server.build().inject({ method: 'GET', url: `${url}?limit=0` })).statusCode).toBe(400);
  });

  it('answers 500 without internals when the database refuses the write, and keeps the hold', async () => {
    const id = hold();
    db.exec('DROP TABLE outbox');
    const res = await post(`${id}/confirm`, { staffId: 'staff-7' });
    expect(res.statusCode).toBe(500);
    expect(res.json<{ error: string }>().error).not.toMatch(/outbox|SQLITE/);
    expect(service.getConfirmation(id)?.status).toBe('pending');
  });

  it('is absent when the edge gives the server no confirmations', async () => {
    const bare = new StatusServer({ port: 0, logger: quietEdgeLogger, status: () => ({}) as EdgeStatus });
    expect((await bare.build().inject({ method: 'GET', url })).statusCode).toBe(404);
    await bare.stop();
  });

  it('answers only to requests addressed to this box (no DNS rebinding)', async () => {
    const id = hold();
    const res = await post(`${id}/confirm`, { staffId: 'staff-7' }, { host: 'evil.example:8081' });
    expect(res.statusCode).toBe(403);
    expect((await server.build().inject({ method: 'GET', url, headers: { host: 'evil.example' } })).statusCode).toBe(403);
    expect(service.getConfirmation(id)?.status).toBe('pending');
    expect((await post(`${id}/confirm`, { staffId: 'staff-7' }, { host: '127.0.0.1:8081' })).statusCode).toBe(200);
  });
});

describe('feature plugins', () => {
  it("registers each feature's routes in order, in one scope: a hook of the first applies to the routes of the next", async () => {
    const server = new StatusServer({
      port: 0,
      status: () => ({}) as EdgeStatus,
      plugins: [
        (app) => {
          app.decorateRequest('who', '');
          app.addHook('onRequest', async (req) => {
            (req as unknown as { who: string }).who = String(req.headers['x-who'] ?? 'nobody');
          });
        },
        (app) => {
          app.get('/feature', async (req) => ({ who: (req as unknown as { who: string }).who }));
        },
      ],
    });
    const res = await server.build().inject({ method: 'GET', url: '/feature', headers: { 'x-who': 'S01' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ who: 'S01' });
    await server.stop();
  });
});
