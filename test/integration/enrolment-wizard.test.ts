/**
 * Enrolment at the door camera (edge/src/elders/enrolment-wizard.ts and its routes): consent
 * checked before any frame, live quality feedback on the camera's newest frame, 3-5 good frames
 * kept in memory, an optional ID-card photo, the look-alike check naming the elder with a
 * manager's override, templates active at the door within seconds. The model and the camera are
 * the only fakes.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { createEnrolmentWizard, MAX_CAPTURES, SESSION_TTL_MS, WizardError, type EnrolmentWizard } from '../../edge/src/elders/enrolment-wizard.ts';
import { EnrolmentError } from '../../edge/src/elders/enrolment.ts';
import type { Frame } from '../../edge/src/capture/frame-source.ts';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { Edge } from '../../edge/src/main.ts';
import { elderWebPlugins } from '../../edge/src/web/elder-routes.ts';
import { testRegistry, type TestRegistry } from '../helpers/elder-registry.ts';
import { captureLogger, edgeTempDir, openEdgeDb, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, fakeImage, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { LiveFakeCamera } from '../helpers/live-camera.ts';
import { loginAs, staffTestApp, type StaffSession } from '../helpers/staff-session.ts';

const wang = syntheticDescriptor(1);
const li = syntheticDescriptor(2);

/** Scenes the fake engine knows: one good face, a twin of it, a small one, a crowd, nobody. */
function engine(): FakeEngine {
  return new FakeEngine({
    empty: [],
    wang: [fakeFace({ descriptor: wang })],
    'wang-2': [fakeFace({ descriptor: descriptorAt(wang, 0.05, 5) })],
    twin: [fakeFace({ descriptor: descriptorAt(wang, 0.1, 9) })],
    li: [fakeFace({ descriptor: li })],
    far: [fakeFace({ descriptor: wang, box: { width: 24, height: 30 } })],
    crowd: [fakeFace({ descriptor: wang }), fakeFace({ descriptor: li, box: { x: 300 } })],
    idcard: [fakeFace({ descriptor: descriptorAt(wang, 0.08, 7) })],
  });
}

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let reg: TestRegistry;
let scene: string | undefined;
let wizard: EnrolmentWizard;
let audit: Array<{ action: string; subject?: string | null; details?: Record<string, unknown> }>;

const frame = (): Frame | undefined => (scene === undefined ? undefined : { seq: 0, at: 0, image: fakeImage(scene) });

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock('2025-03-10T03:00:00Z');
  reg = testRegistry(db, { clock });
  scene = undefined;
  audit = [];
  wizard = createEnrolmentWizard({ engine: engine(), store: reg.store, latestFrame: frame, clock, minFaceSize: 40, lookalikeDistance: 0.4, audit: { append: (e) => void audit.push(e) } });
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('enrolment wizard', () => {
  it('refuses to start without consent, for an unknown or a suspended elder', () => {
    reg.registry.create({ elderId: 'E1', name: '王秀英' }, 'S01');
    expect(() => wizard.start('E1', 'S01')).toThrow(/no valid consent/);
    expect(() => wizard.start('E404', 'S01')).toThrow(EnrolmentError);
    reg.registry.recordConsent('E1', { signedBy: 'elder' }, 'S01');
    reg.registry.setStatus('E1', 'suspended', 'S01');
    expect(() => wizard.start('E1', 'S01')).toThrow(/is suspended/);
    expect(wizard.size()).toBe(0);
  });

  it('gives live feedback on the newest frame and keeps only good frames', async () => {
    reg.register('E1', '王秀英');
    const s = wizard.start('E1', 'S01');
    expect(await wizard.preview(s.id)).toEqual({ code: 'no-frame' });
    for (const [label, code] of [
      ['empty', 'no-face'],
      ['far', 'too-small'],
      ['crowd', 'several-faces'],
      ['wang', 'ok'],
    ] as const) {
      scene = label;
      expect((await wizard.preview(s.id)).code).toBe(code);
    }
    expect(wizard.get(s.id)?.captures).toBe(0);
    scene = 'far';
    expect(await wizard.capture(s.id)).toMatchObject({ feedback: { code: 'too-small', faceSize: 24 }, session: { captures: 0 } });
    scene = 'wang';
    expect(await wizard.capture(s.id)).toMatchObject({ feedback: { code: 'ok', faceSize: 100 }, session: { captures: 1 } });
  });

  it('needs 3 frames, takes at most 5, saves the templates with an optional ID-card photo, and ends the session', async () => {
    reg.register('E1', '王秀英');
    const s = wizard.start('E1', 'S01');
    scene = 'wang';
    await wizard.capture(s.id);
    await wizard.capture(s.id);
    await expect(wizard.finish(s.id, { allowLookalike: false })).rejects.toThrow(/take at least 3/);
    for (let i = 2; i < MAX_CAPTURES; i++) await wizard.capture(s.id);
    await expect(wizard.capture(s.id)).rejects.toThrow(WizardError);
    expect((await wizard.addPhoto(s.id, new TextEncoder().encode('crowd'))).session.idPhoto).toBe(false);
    expect((await wizard.addPhoto(s.id, new TextEncoder().encode('idcard'))).session.idPhoto).toBe(true);
    const r = await wizard.finish(s.id, { allowLookalike: false });
    expect(r.templates.map((t) => t.photo)).toEqual(['live-1', 'live-2', 'live-3', 'live-4', 'live-5', 'idcard']);
    expect(reg.elders.countTemplates('E1')).toBe(6);
    expect(db.prepare('SELECT source FROM templates ORDER BY id').pluck().all()).toEqual(['live-1', 'live-2', 'live-3', 'live-4', 'live-5', 'idcard']);
    expect(audit.filter((a) => a.action === 'enrolment')).toEqual([expect.objectContaining({ subject: 'E1', details: expect.objectContaining({ templates: 6, lookalikeOverride: false }) as unknown })]);
    expect(wizard.get(s.id)).toBeUndefined();
  });

  it('names the look-alike ("looks like 王秀英, E1"); the override enrols and is audited', async () => {
    reg.register('E1', '王秀英');
    reg.register('E2', '王秀兰');
    const first = wizard.start('E1', 'S01');
    scene = 'wang';
    for (let i = 0; i < 3; i++) await wizard.capture(first.id);
    await wizard.finish(first.id, { allowLookalike: false });

    const s = wizard.start('E2', 'S01');
    scene = 'twin';
    for (let i = 0; i < 3; i++) await wizard.capture(s.id);
    const err = await wizard.finish(s.id, { allowLookalike: false }).then(
      () => undefined,
      (e: unknown) => e as WizardError,
    );
    expect(err?.enrolment?.problems[0]).toMatchObject({ code: 'looks-like-enrolled', lookalike: { elderId: 'E1', name: '王秀英' } });
    expect(reg.elders.countTemplates('E2')).toBe(0);
    // The session stays for the override.
    const r = await wizard.finish(s.id, { allowLookalike: true });
    expect(r.templates).toHaveLength(3);
    expect(audit.find((a) => a.action === 'override')).toMatchObject({ subject: 'E2', details: { of: 'looks-like-enrolled', elders: 'E1' } });
  });

  it('drops a session left alone (and its frames) after the time-out', async () => {
    reg.register('E1', '王秀英');
    const s = wizard.start('E1', 'S01');
    scene = 'wang';
    await wizard.capture(s.id);
    clock.advance(SESSION_TTL_MS + 1);
    expect(wizard.size()).toBe(0);
    await expect(wizard.capture(s.id)).rejects.toThrow(/start again/);
  });
});

describe('enrolment routes', () => {
  let app: FastifyInstance;
  let staff: StaffSession;
  let other: StaffSession;
  let manager: StaffSession;
  beforeEach(async () => {
    const built = staffTestApp(db, clock, { plugins: elderWebPlugins(reg.registry, wizard) });
    app = built.app;
    staff = await loginAs(app, built.staff, { role: 'staff' });
    other = await loginAs(app, built.staff, { role: 'staff' });
    manager = await loginAs(app, built.staff, { role: 'manager' });
    reg.register('E1', '王秀英');
    reg.register('E2', '王秀兰');
  });
  afterEach(async () => {
    await app.close();
  });

  const start = async (s: StaffSession, elderId = 'E1') => (await app.inject({ method: 'POST', url: '/api/v1/enrolments', headers: s.headers, payload: { elderId } })).json<{ session: { id: string } }>().session.id;

  it('401 without a session and 403 without the CSRF token, on every route', async () => {
    const id = await start(staff);
    const routes = [
      { method: 'POST' as const, url: '/api/v1/enrolments', payload: { elderId: 'E1' } },
      { method: 'GET' as const, url: `/api/v1/enrolments/${id}` },
      { method: 'POST' as const, url: `/api/v1/enrolments/${id}/preview`, payload: {} },
      { method: 'POST' as const, url: `/api/v1/enrolments/${id}/capture`, payload: {} },
      { method: 'POST' as const, url: `/api/v1/enrolments/${id}/finish`, payload: {} },
      { method: 'DELETE' as const, url: `/api/v1/enrolments/${id}` },
    ];
    for (const r of routes) {
      expect((await app.inject(r)).statusCode, `${r.method} ${r.url}`).toBe(401);
      if (r.method !== 'GET') expect((await app.inject({ ...r, headers: { cookie: staff.cookie } })).statusCode, `${r.method} ${r.url} without CSRF`).toBe(403);
    }
    const photo = await app.inject({ method: 'POST', url: `/api/v1/enrolments/${id}/photo`, headers: { 'content-type': 'image/jpeg' }, payload: Buffer.from('idcard') });
    expect(photo.statusCode).toBe(401);
  });

  it("another staff member's session is 403, a manager may take it over", async () => {
    const id = await start(staff);
    expect((await app.inject({ method: 'POST', url: `/api/v1/enrolments/${id}/capture`, headers: other.headers, payload: {} })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/api/v1/enrolments/${id}`, headers: { cookie: manager.cookie } })).statusCode).toBe(200);
  });

  it('a whole enrolment over the API: refused without consent, feedback, captures, the ID-card photo, look-alike, override by a manager only', async () => {
    reg.registry.create({ elderId: 'E9', name: '赵志刚' }, 'S01');
    const noConsent = await app.inject({ method: 'POST', url: '/api/v1/enrolments', headers: staff.headers, payload: { elderId: 'E9' } });
    expect(noConsent.statusCode).toBe(409);
    expect(noConsent.json()).toMatchObject({ problems: [{ code: 'no-consent' }] });

    const id = await start(staff);
    scene = 'empty';
    expect((await app.inject({ method: 'POST', url: `/api/v1/enrolments/${id}/preview`, headers: staff.headers, payload: {} })).json()).toEqual({ feedback: { code: 'no-face' } });
    scene = 'wang';
    for (let i = 1; i <= 3; i++) {
      const c = await app.inject({ method: 'POST', url: `/api/v1/enrolments/${id}/capture`, headers: staff.headers, payload: {} });
      expect(c.json()).toMatchObject({ feedback: { code: 'ok' }, session: { captures: i } });
    }
    const p = await app.inject({ method: 'POST', url: `/api/v1/enrolments/${id}/photo`, headers: { ...staff.headers, 'content-type': 'image/jpeg' }, payload: Buffer.from('idcard') });
    expect(p.json()).toMatchObject({ feedback: { code: 'ok' }, session: { idPhoto: true } });
    const done = await app.inject({ method: 'POST', url: `/api/v1/enrolments/${id}/finish`, headers: staff.headers, payload: {} });
    expect(done.json()).toEqual({ elderId: 'E1', name: '王秀英', templates: 4 });
    // Nothing about the frames comes back: no image, no descriptor.
    expect(done.body + p.body).not.toMatch(/descriptor|base64|image\//);

    const twin = await start(staff, 'E2');
    scene = 'twin';
    for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: `/api/v1/enrolments/${twin}/capture`, headers: staff.headers, payload: {} });
    const alike = await app.inject({ method: 'POST', url: `/api/v1/enrolments/${twin}/finish`, headers: staff.headers, payload: {} });
    expect(alike.statusCode).toBe(409);
    // One problem per frame, each naming the elder it looks like.
    const problems = alike.json<{ problems: Array<{ code: string; photo: string; lookalike: { elderId: string; name: string } }> }>().problems;
    expect(problems.map((x) => [x.code, x.photo, x.lookalike.elderId, x.lookalike.name])).toEqual([1, 2, 3].map((i) => ['looks-like-enrolled', `live-${i}`, 'E1', '王秀英']));
    expect((await app.inject({ method: 'POST', url: `/api/v1/enrolments/${twin}/finish`, headers: staff.headers, payload: { allowLookalike: true } })).statusCode).toBe(403);
    const overridden = await app.inject({ method: 'POST', url: `/api/v1/enrolments/${twin}/finish`, headers: manager.headers, payload: { allowLookalike: true } });
    expect(overridden.json()).toEqual({ elderId: 'E2', name: '王秀兰', templates: 3 });
  });

  it('the wizard page: refuses without consent, links the consent form; with consent, shows the steps', async () => {
    reg.registry.create({ elderId: 'E9', name: '赵志刚' }, 'S01');
    const refused = await app.inject({ url: '/staff/elders/E9/enrol', headers: { cookie: staff.cookie } });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('还没有签署知情同意');
    expect(refused.body).toContain('/staff/elders/E9/consent');
    const ok = await app.inject({ url: '/staff/elders/E1/enrol', headers: { cookie: staff.cookie } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('id="enrol-start"');
    expect(ok.body).toContain('请看镜头');
    // Staff see no override button: that is a manager's.
    expect(ok.body).not.toContain('id="enrol-override"');
    expect((await app.inject({ url: '/staff/elders/E1/enrol', headers: { cookie: manager.cookie } })).body).toContain('id="enrol-override"');
  });
});

describe('enrolment at the door camera of a running edge', () => {
  it('frames from the door camera become templates, and the door recognises the elder within seconds, no restart', async () => {
    const dir = edgeTempDir();
    const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', `${dir.dir}/edge`, '--server', 'mqtt://127.0.0.1:1', '--http-port', '0'], {});
    const camera = new LiveFakeCamera('door', 'empty');
    const log = captureLogger('info');
    const edge = new Edge(config, { engine: engine(), source: camera, clock: new TestClock('2026-11-28T04:00:00Z'), logger: log.logger });
    const checkIns: string[] = [];
    edge.on('check-in', (e) => checkIns.push(`${e.elderId}:${e.result.status}`));
    try {
      await edge.start();
      edge.registry.create({ elderId: 'E1', name: '王秀英' }, 'S01', { signedBy: 'elder' });
      const s = edge.wizard.start('E1', 'S01');
      camera.show('wang');
      // The newest frame the door's recognition took is what the wizard sees.
      let seen = await edge.wizard.preview(s.id);
      for (let i = 0; seen.code !== 'ok' && i < 500; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = await edge.wizard.preview(s.id);
      }
      expect(seen).toEqual({ code: 'ok', faceSize: 100 });
      for (let i = 0; i < 3; i++) expect((await edge.wizard.capture(s.id)).feedback.code).toBe('ok');
      await edge.wizard.finish(s.id, { allowLookalike: false });
      expect(edge.elders.countTemplates('E1')).toBe(3);
      // She steps away and comes back: checked in, by the templates just made. Away until the
      // running edge has picked them up (its template watcher polls every second), or the door
      // would decide on her, still unknown, before the reload.
      camera.show('empty');
      await waitUntil(() => (camera.shown.get('empty') ?? 0) > 20, 'she stepped away', 10_000, 20);
      await waitUntil(() => log.lines.some((l) => l.msg === 'templates reloaded' && l.templates === 3), 'the edge reloading her templates', 10_000, 20);
      camera.show('wang-2');
      await waitUntil(() => checkIns.length > 0, 'her check-in at the door', 15_000, 20);
      expect(checkIns).toEqual(['E1:recorded']);
    } finally {
      await edge.stop();
      dir.cleanup();
    }
  }, 40_000);
});
