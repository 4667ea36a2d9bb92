/**
 * What goes down from the bureau to the boxes, with real parts: the server (SQLite, ingest,
 * Fastify, its embedded aedes broker), edges built by their composition root (SQLite, registry,
 * outbox, forwarder, review queue). Only the model seam is faked.
 *
 * - a bureau decision (deceased) reaches the box: its check-in is refused with the status, the
 *   staff API shows the bureau set it, staff cannot undo it, and a restart offline still refuses;
 * - an erasure is acknowledged by both boxes of a centre, whose databases then hold none of the
 *   elder's templates or crops; the server lists it completed; meals stay counted;
 * - stale, malformed, oversize and foreign config payloads are ignored with a log line and a count;
 * - the config document carries no names, ID numbers or face data;
 * - the subsidy rules go down in it: the box keeps and shows them, a change of rule issues a new
 *   version that reaches the box, and a rule of a format the box does not know is skipped.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_MAX_BYTES, topics, type CentreConfig, type ConfigRule } from '../../common/contract.ts';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { ElderInputError } from '../../edge/src/elders/registry-service.ts';
import { Edge } from '../../edge/src/main.ts';
import { createReviewRepository } from '../../edge/src/review/review-repository.ts';
import type { EdgeStatus } from '../../edge/src/web/status-server.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { idNumberKeyOf } from '../../server/src/modules/elders/id-number-key.ts';
import { captureLogger, edgeTempDir, quietEdgeLogger, reservePort, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';

const CENTRE = 'c-101';
// 12:00 in Shanghai: lunch, by the default windows of both sides.
const LUNCH = '2026-11-28T04:00:00Z';
const ID_NUMBER = '11010519491231002X';
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

describe('bureau → config document → boxes → acks', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  async function setUp() {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const clock = new TestClock(LUNCH);
    const server = await startServer(serverSettings({ dataDir: `${tmp.dir}/server`, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock, configPollMs: 200 });
    cleanups.push(() => server.stop());
    return { tmp, clock, server };
  }

  async function startBox(s: { tmp: { dir: string }; clock: TestClock; server: RunningServer }, deviceId: string, opts: { serverUrl?: string; logger?: typeof quietEdgeLogger } = {}): Promise<Edge> {
    const config = loadEdgeConfig(['--centre', CENTRE, '--device', deviceId, '--data', `${s.tmp.dir}/${deviceId}`, '--server', opts.serverUrl ?? s.server.mqttUrl, '--http-port', '0'], {});
    const edge = new Edge(config, { engine: new FakeEngine(), sources: [], clock: s.clock, logger: opts.logger ?? quietEdgeLogger });
    cleanups.push(() => edge.stop());
    await edge.start();
    return edge;
  }

  const elderRecords = (server: RunningServer): number => server.db.prepare("SELECT count(*) FROM records WHERE type = 'elder'").pluck().get() as number;

  async function configOf(server: RunningServer): Promise<{ document: CentreConfig | null; devices: Array<{ deviceId: string; configVersion: number | null }> }> {
    const res = await server.app.inject({ url: `/api/v1/centres/${CENTRE}/config`, headers: auth });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  it('the bureau marks an elder deceased: the box refuses them, says the bureau set it, and still does after a restart offline', async () => {
    const s = await setUp();
    const { server } = s;
    const edge = await startBox(s, 'door-1');
    // The first document (the server's ID-number key) reaches the box before staff register anyone.
    await waitUntil(() => edge.centreConfig.applied() !== undefined, 'first config document', 20_000);
    edge.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_NUMBER, category: '特困' }, 'S01', { signedBy: 'elder' });
    edge.registry.create({ elderId: 'E002', name: '李桂兰' }, 'S01');
    await waitUntil(() => elderRecords(server) === 3, 'registry records at the server', 20_000);

    // Unknown elder: 404, nothing issued.
    const unknown = await server.app.inject({ method: 'POST', url: `/api/v1/centres/${CENTRE}/elders/E999/decisions`, headers: auth, payload: { status: 'deceased', effectiveOn: '2026-11-20', reason: '家属告知' } });
    expect(unknown.statusCode).toBe(404);
    const bad = await server.app.inject({ method: 'POST', url: `/api/v1/centres/${CENTRE}/elders/E001/decisions`, headers: auth, payload: { status: 'deceased', effectiveOn: '2026-02-30', reason: '家属告知' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toContain('effectiveOn');
    expect((await server.app.inject({ method: 'POST', url: `/api/v1/centres/${CENTRE}/elders/E001/decisions`, payload: { status: 'deceased', effectiveOn: '2026-11-20', reason: 'x' } })).statusCode).toBe(401);

    const decided = await server.app.inject({
      method: 'POST',
      url: `/api/v1/centres/${CENTRE}/elders/E001/decisions`,
      headers: auth,
      payload: { status: 'deceased', effectiveOn: '2026-11-20', reason: '家属告知，死亡证明已核', category: '特困' },
    });
    expect(decided.statusCode).toBe(201);
    expect(decided.json()).toMatchObject({ decision: { status: 'deceased', effectiveOn: '2026-11-20', decidedBy: 'admin-token' }, elder: { elderId: 'E001', status: 'deceased', statusSource: 'bureau', idNumber: '**************002X' } });

    // Down to the box: status applied, the bureau's word kept, the door refuses them.
    await waitUntil(() => edge.registry.get('E001')?.status === 'deceased', 'bureau status applied on the box', 20_000);
    expect(edge.registry.get('E001')?.bureau).toMatchObject({ status: 'deceased', since: '2026-11-20', category: '特困' });
    const refused = edge.checkIns.record({ elderId: 'E001', method: 'face', score: 0.3, cameraId: 'cam1' });
    expect(refused).toMatchObject({ status: 'elder-inactive', elderId: 'E001', elderStatus: 'deceased' });
    expect(edge.checkIns.record({ elderId: 'E002', method: 'face', score: 0.3, cameraId: 'cam1' }).status).toBe('recorded');
    // Staff on the box cannot overrule the bureau.
    expect(() => edge.registry.setStatus('E001', 'active', 'S01')).toThrow(ElderInputError);
    try {
      edge.registry.setStatus('E001', 'active', 'S01');
    } catch (err) {
      expect((err as ElderInputError).issues[0]?.code).toBe('status.bureau');
    }

    // The staff API says the bureau set it, and from when.
    await edge.staff.add({ staffId: 'S01', name: '张丽', role: 'staff', pin: '246810' }, null);
    const login = await fetch(`${edge.statusUrl}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: 'S01', pin: '246810' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('mealcheck_staff='))!.split(';')[0]!;
    const one = await fetch(`${edge.statusUrl}/api/v1/elders/E001`, { headers: { cookie } });
    expect(await one.json()).toMatchObject({ elder: { elderId: 'E001', status: 'deceased', bureau: { status: 'deceased', since: '2026-11-20' } } });
    const page = await (await fetch(`${edge.statusUrl}/staff/elders/E001`, { headers: { cookie } })).text();
    expect(page).toContain('id="elder-bureau"');
    expect(page).toContain('2026-11-20');
    expect(page).not.toContain('id="status-active"');

    // The box acknowledged the version; the server's effective view has the bureau's word.
    const issued = (await configOf(server)).document!;
    await waitUntil(() => server.db.prepare('SELECT config_version FROM device_configs WHERE device_id = ?').pluck().get('door-1') === issued.version, 'ack of the config version', 20_000);
    expect((await configOf(server)).devices).toEqual([{ deviceId: 'door-1', configVersion: issued.version, ackedAt: expect.any(String) as string }]);
    const list = await server.app.inject({ url: `/api/v1/centres/${CENTRE}/elders`, headers: auth });
    expect(list.json<{ elders: unknown[] }>().elders).toMatchObject([
      { elderId: 'E001', status: 'deceased', statusSource: 'bureau', boxStatus: 'deceased' },
      { elderId: 'E002', status: 'active', statusSource: 'box', decision: null },
    ]);
    const history = await server.app.inject({ url: `/api/v1/centres/${CENTRE}/elders/E001/decisions`, headers: auth });
    expect(history.json<{ decisions: unknown[] }>().decisions).toMatchObject([{ status: 'deceased', reason: '家属告知，死亡证明已核' }]);
    expect(server.db.prepare("SELECT count(*) FROM server_audit WHERE action = 'elder-decision'").pluck().get()).toBe(1);

    // No names, ID numbers or face data in the document (the route's copy and the retained one).
    const retained = await new Promise<string>((resolve, reject) => {
      const c = mqtt.connect(server.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
      cleanups.push(() => void c.end(true));
      c.on('error', reject);
      c.on('message', (_t, p) => resolve(p.toString()));
      c.on('connect', () => c.subscribe(topics.config(CENTRE), { qos: 1 }));
    });
    for (const json of [JSON.stringify(issued), retained]) {
      expect(json).not.toContain('王秀英');
      expect(json).not.toContain('李桂兰');
      expect(json).not.toContain(ID_NUMBER);
      expect(json).not.toContain('002X');
      // The server's public ID-number key is the one key of that kind (what the box seals numbers to).
      expect(json.replace('"idNumberKey"', '')).not.toMatch(/descriptor|embedding|template|photo|image|crop|name|idNumber|phone/i);
    }
    expect(issued.idNumberKey).toEqual(idNumberKeyOf(server.db).public);
    expect(JSON.parse(retained)).toEqual(issued);
    expect(Object.keys(issued).sort()).toEqual(['centreId', 'elders', 'erasures', 'idNumberKey', 'issuedAt', 'rules', 'v', 'version']);
    expect(issued.elders).toEqual([{ elderId: 'E001', status: 'deceased', since: '2026-11-20', category: '特困' }]);

    // The centre's windows set on the server go down too and replace the box's.
    const put = await server.app.inject({ method: 'PUT', url: `/api/v1/centres/${CENTRE}`, headers: auth, payload: { mealWindows: 'breakfast=06:30-08:30,lunch=11:00-12:30,dinner=17:00-18:30' } });
    expect(put.statusCode).toBe(200);
    await waitUntil(() => edge.meals.windows.find((w) => w.meal === 'lunch')?.end === 12 * 60 + 30, 'windows applied', 20_000);
    expect(edge.centreConfig.applied()?.document).toMatchObject({ mealWindows: 'breakfast=06:30-08:30,lunch=11:00-12:30,dinner=17:00-18:30', timeZone: 'Asia/Shanghai' });

    // Restarted with the server unreachable: still refused, the windows still the server's.
    await edge.stop();
    const offline = await startBox(s, 'door-1', { serverUrl: `mqtt://127.0.0.1:${await reservePort()}` });
    expect(offline.forwarder.stats().connected).toBe(false);
    expect(offline.checkIns.record({ elderId: 'E001', method: 'face', score: 0.3, cameraId: 'cam1' })).toMatchObject({ status: 'elder-inactive', elderStatus: 'deceased' });
    expect(offline.registry.get('E001')?.bureau?.status).toBe('deceased');
    expect(offline.meals.windows.find((w) => w.meal === 'lunch')?.end).toBe(12 * 60 + 30);
  });

  it("an erasure reaches both boxes of a centre: their templates and crops of the elder go, both ack, it completes, meals stay", async () => {
    const s = await setUp();
    const { server } = s;
    const boxes = [await startBox(s, 'door-1'), await startBox(s, 'door-2')];
    for (const [i, edge] of boxes.entries()) {
      edge.registry.create({ elderId: 'E001', name: '王秀英' }, 'S01', { signedBy: 'elder' });
      edge.registry.create({ elderId: 'E002', name: '李桂兰' }, 'S01', { signedBy: 'elder' });
      edge.elders.addTemplate('E001', syntheticDescriptor(1 + i), 'live-1', FACE_API_MODEL);
      edge.elders.addTemplate('E001', syntheticDescriptor(3 + i), 'live-2', FACE_API_MODEL);
      edge.elders.addTemplate('E002', syntheticDescriptor(5 + i), 'live-1', FACE_API_MODEL);
      const reviews = createReviewRepository(edge.db);
      // A doubtful face near E001 (maybe them), and a stranger's near E002 only.
      reviews.insert({ id: `r-${i}-1`, kind: 'margin', at: LUNCH, cameraId: 'cam1', nearest: [{ elderId: 'E002', distance: 0.5 }, { elderId: 'E001', distance: 0.52 }] }, Buffer.from('jpeg-1'));
      reviews.insert({ id: `r-${i}-2`, kind: 'unknown', at: LUNCH, cameraId: 'cam1', nearest: [{ elderId: 'E002', distance: 0.7 }] }, Buffer.from('jpeg-2'));
      // One meal per elder and window city-wide: E001 eats at door-1, E002 at door-2.
      expect(edge.checkIns.record({ elderId: i === 0 ? 'E001' : 'E002', method: 'face', score: 0.3, cameraId: 'cam1' }).status).toBe('recorded');
    }
    const meals = (): number => server.db.prepare('SELECT count(*) FROM meals').pluck().get() as number;
    await waitUntil(() => meals() === 2 && elderRecords(server) >= 8, 'meals and elders of both boxes at the server', 20_000);

    const requested = await server.app.inject({ method: 'POST', url: `/api/v1/centres/${CENTRE}/erasures`, headers: auth, payload: { elderId: 'E001', reason: '本人撤回人脸授权' } });
    expect(requested.statusCode).toBe(201);
    const erasure = requested.json<{ erasureId: string; state: string; devices: Array<{ deviceId: string; acked: boolean }> }>();
    expect(erasure).toMatchObject({ state: 'pending', devices: [{ deviceId: 'door-1', acked: false }, { deviceId: 'door-2', acked: false }] });
    // A second request while one is pending is refused, naming it.
    const again = await server.app.inject({ method: 'POST', url: `/api/v1/centres/${CENTRE}/erasures`, headers: auth, payload: { elderId: 'E001', reason: '再次' } });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ message: string }>().message).toContain(erasure.erasureId);

    const completed = async () => (await server.app.inject({ url: `/api/v1/centres/${CENTRE}/erasures?state=completed`, headers: auth })).json<{ erasures: Array<{ erasureId: string; devices: unknown[] }> }>().erasures;
    for (let i = 0; i < 400 && (await completed()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [done] = await completed();
    expect(done).toMatchObject({
      erasureId: erasure.erasureId,
      devices: [
        { deviceId: 'door-1', acked: true, templates: 2, crops: 1 },
        { deviceId: 'door-2', acked: true, templates: 2, crops: 1 },
      ],
    });
    for (const edge of boxes) {
      expect(edge.elders.countTemplates('E001')).toBe(0);
      expect(edge.elders.countTemplates('E002')).toBe(1);
      const reviews = createReviewRepository(edge.db);
      expect(reviews.countCropsOf('E001')).toBe(0);
      // The stranger's crop near E002 alone stays.
      expect(reviews.countCrops()).toBe(1);
      expect(edge.audit.recent(5).find((r) => r.action === 'erasure')).toMatchObject({ subject: 'E001', details: { erasureId: erasure.erasureId, templates: 2, crops: 1 } });
    }
    // Completed erasures drop out of the document; the meals counted stay.
    await waitUntil(() => server.db.prepare('SELECT document FROM centre_configs WHERE centre_id = ?').pluck().get(CENTRE) !== undefined, 'document', 5_000);
    for (let i = 0; i < 100 && ((await configOf(server)).document?.erasures.length ?? 1) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await configOf(server)).document?.erasures).toEqual([]);
    expect(meals()).toBe(2);
    expect(server.db.prepare('SELECT action FROM server_audit ORDER BY id').pluck().all()).toEqual(['erasure-request', 'erasure-ack', 'erasure-ack', 'erasure-complete']);
    const acks = JSON.stringify(server.db.prepare("SELECT payload FROM records WHERE type = 'ack'").pluck().all());
    expect(acks).not.toMatch(/descriptor|embedding|photo|image|jpeg/i);
  });

  it('subsidy rules go down in the config document: the box keeps and shows them, a rule change reaches it as a new version', async () => {
    const s = await setUp();
    const { server } = s;
    const api = async (method: 'PUT' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
      const res = await server.app.inject({ method, url: `/api/v1${url}`, headers: auth, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json<{ id: number }>();
    };
    await api('PUT', '/categories/low-income', { name: '低保' });
    await api('PUT', '/categories/over-80', { name: '高龄' });
    const lunch = await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'lunch', amountFen: 500, maxPerDay: 1, effectiveFrom: '2026-01-01' });
    // Ended before the centre's today: not sent.
    await api('POST', '/subsidy-rules', { category: 'over-80', meal: 'any', amountFen: 200, effectiveFrom: '2025-01-01', effectiveTo: '2025-12-31' });
    const any = await api('POST', '/subsidy-rules', { category: 'over-80', meal: 'any', amountFen: 300, maxMealsPerMonth: 40, maxFenPerMonth: 9000, effectiveFrom: '2026-01-01' });

    // A box of a centre the bureau set nothing else for: it gets a document for the rules alone.
    const edge = await startBox(s, 'door-1');
    await waitUntil(() => edge.centreConfig.rules().rules.length === 2, 'rules on the box', 20_000);
    const first = edge.centreConfig.rules();
    const lunchRule: ConfigRule = { v: 1, id: lunch.id, code: 'low-income', category: '低保', meal: 'lunch', amountFen: 500, maxPerDay: 1, effectiveFrom: '2026-01-01' };
    const anyRule: ConfigRule = { v: 1, id: any.id, code: 'over-80', category: '高龄', meal: 'any', amountFen: 300, maxMealsPerMonth: 40, maxFenPerMonth: 9000, effectiveFrom: '2026-01-01' };
    expect(first).toMatchObject({ rules: [lunchRule, anyRule], skipped: 0 });
    const issued = (await configOf(server)).document!;
    expect(issued).toMatchObject({ version: first.version, elders: [], erasures: [], rules: [lunchRule, anyRule] });
    expect(issued.mealWindows).toBeUndefined();
    const acked = (version: number) => server.db.prepare('SELECT config_version FROM device_configs WHERE device_id = ?').pluck().get('door-1') === version;
    await waitUntil(() => acked(first.version!), 'ack of the rules version', 20_000);

    // A new lunch amount from 12-01: the old rule ends the day before. Each change re-issues the document.
    await api('PATCH', `/subsidy-rules/${lunch.id}`, { effectiveTo: '2026-11-30' });
    const newLunch = await api('POST', '/subsidy-rules', { category: 'low-income', meal: 'lunch', amountFen: 600, maxPerDay: 1, effectiveFrom: '2026-12-01' });
    await waitUntil(() => edge.centreConfig.rules().rules.length === 3, 'the changed rules on the box', 20_000);
    const second = edge.centreConfig.rules();
    expect(second.version).toBeGreaterThan(first.version!);
    expect(second.rules).toEqual([{ ...lunchRule, effectiveTo: '2026-11-30' }, { ...lunchRule, id: newLunch.id, amountFen: 600, effectiveFrom: '2026-12-01' }, anyRule]);
    await waitUntil(() => acked(second.version!), 'ack of the new version', 20_000);
    // A category renamed on the server: the boxes get the new name (what they record on an elder).
    await api('PUT', '/categories/over-80', { name: '高龄老人' });
    await waitUntil(() => edge.centreConfig.rules().rules.at(-1)?.category === '高龄老人', 'renamed category on the box', 20_000);
    // Nothing personal in the rules.
    expect(JSON.stringify((await configOf(server)).document).replace('"idNumberKey"', '')).not.toMatch(/name|idNumber|descriptor|template/i);

    // The box's status and its health page show them to staff.
    const status = (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as EdgeStatus;
    expect(status.centreConfig).toMatchObject({ version: edge.centreConfig.rules().version, skippedRules: 0 });
    expect(status.centreConfig?.rules).toHaveLength(3);
    await edge.staff.add({ staffId: 'S01', name: '张丽', role: 'staff', pin: '246810' }, null);
    const login = await fetch(`${edge.statusUrl}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: 'S01', pin: '246810' }) });
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('mealcheck_staff='))!.split(';')[0]!;
    const page = await (await fetch(`${edge.statusUrl}/staff/health`, { headers: { cookie } })).text();
    expect(page).toContain('id="subsidy-rules"');
    const rows = [...page.matchAll(/<tr data-rule="(\d+)">(.*?)<\/tr>/g)].map((m) => [Number(m[1]), m[2]!.replace(/<[^>]+>/g, '|').replace(/\|+/g, '|')]);
    expect(rows).toEqual([
      [lunch.id, '|低保|午餐|5.00 元|每日 1 餐|2026-01-01 至 2026-11-30|'],
      [newLunch.id, '|低保|午餐|6.00 元|每日 1 餐|2026-12-01 起|'],
      [any.id, '|高龄老人|不限餐次|3.00 元|每月 40 餐 · 每月 90.00 元|2026-01-01 起|'],
    ]);

    // A rule of a later format in an otherwise good document: skipped and counted, the rest applied.
    const c = await mqtt.connectAsync(server.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    const held = edge.centreConfig.applied()!.document;
    await c.publishAsync(topics.config(CENTRE), JSON.stringify({ ...held, version: held.version + 10, rules: [...held.rules, { v: 2, id: 99, code: 'x', perMeal: { fen: 1 } }] }), { qos: 1, retain: true });
    await waitUntil(() => edge.centreConfig.rules().version === held.version + 10, 'the later-format document applied', 20_000);
    expect(edge.centreConfig.rules()).toMatchObject({ skipped: 1 });
    expect(edge.centreConfig.rules().rules).toHaveLength(3);
    const skippedPage = await (await fetch(`${edge.statusUrl}/staff/health`, { headers: { cookie } })).text();
    expect(skippedPage).toContain('id="rules-skipped"');

    // Restarted offline: the rules are still there (kept with the applied document).
    await edge.stop();
    const offline = await startBox(s, 'door-1', { serverUrl: `mqtt://127.0.0.1:${await reservePort()}` });
    expect(offline.centreConfig.rules().rules.map((r) => r.id)).toEqual([lunch.id, newLunch.id, any.id]);
  });

  it('stale, malformed, oversize and foreign config payloads are ignored with a log line and a count', async () => {
    const s = await setUp();
    const { server } = s;
    const { logger, lines } = captureLogger('info');
    const edge = await startBox(s, 'door-1', { logger });
    edge.registry.create({ elderId: 'E001', name: '王秀英' }, 'S01', { signedBy: 'elder' });
    await waitUntil(() => elderRecords(server) === 2, 'registry records at the server', 20_000);
    const r = await server.app.inject({ method: 'POST', url: `/api/v1/centres/${CENTRE}/elders/E001/decisions`, headers: auth, payload: { status: 'suspended', effectiveOn: '2026-11-01', reason: '外出探亲' } });
    expect(r.statusCode).toBe(201);
    await waitUntil(() => edge.centreConfig.counters().applied === 1, 'document applied', 20_000);
    const applied = edge.centreConfig.applied()!.document;

    // A publisher on the (still open) embedded broker sends junk to the centre's topic.
    const c = await mqtt.connectAsync(server.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    const topic = topics.config(CENTRE);
    const active = { ...applied, elders: [{ elderId: 'E001', status: 'active', since: '2026-11-02' }] };
    await c.publishAsync(topic, '{not json', { qos: 1 });
    await c.publishAsync(topic, JSON.stringify({ ...active, version: applied.version + 1, extra: 1 }), { qos: 1 });
    await c.publishAsync(topic, JSON.stringify({ ...active, version: applied.version + 1, rules: [{ pad: 'x'.repeat(CONFIG_MAX_BYTES) }] }), { qos: 1 });
    await c.publishAsync(topic, JSON.stringify({ ...active, version: applied.version + 1, centreId: 'c-999' }), { qos: 1 });
    await c.publishAsync(topic, JSON.stringify({ ...active, version: applied.version }), { qos: 1 });
    await waitUntil(() => edge.centreConfig.counters().malformed === 4 && edge.centreConfig.counters().stale >= 1, 'junk counted', 20_000);
    expect(edge.centreConfig.counters().applied).toBe(1);
    expect(edge.registry.get('E001')?.status).toBe('suspended');
    const ignored = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('config document ignored')).map((l) => l.msg);
    expect(ignored.filter((m) => m.includes('malformed'))).toHaveLength(3);
    expect(ignored.some((m) => m.includes('for centre c-999'))).toBe(true);
    expect(lines.some((l) => l.msg === 'config document ignored: malformed' && String(l.error).includes(`exceeds ${CONFIG_MAX_BYTES}`))).toBe(true);
    expect(lines.some((l) => l.msg === 'config document ignored: malformed' && String(l.error).includes('invalid JSON'))).toBe(true);
    // The box is still alive and applies the next good version.
    await c.publishAsync(topic, JSON.stringify({ ...active, version: applied.version + 1 }), { qos: 1 });
    await waitUntil(() => edge.registry.get('E001')?.status === 'active', 'good version applied', 20_000);
  });
});
