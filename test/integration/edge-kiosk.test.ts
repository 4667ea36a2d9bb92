/**
 * The kiosk path of a real edge: pipeline → event hub → /kiosk/events (server-sent events over
 * real HTTP) with the box's voice; the status's new fields; a missing espeak-ng as a status
 * problem. Real Edge, SQLite and Fastify on a port; only the camera and model seams are faked.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import type { KioskDecision } from '../../edge/src/kiosk/kiosk-hub.ts';
import type { EdgeStatus } from '../../edge/src/web/status-server.ts';
import { MAX_KIOSK_STREAMS } from '../../edge/src/web/kiosk-routes.ts';
import { connectKioskStream } from '../../scripts/demo/kiosk-client.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';
import { captureLogger, edgeTempDir } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, PushFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';

const wang = syntheticDescriptor(11);
const stranger = syntheticDescriptor(99);

let tmp: ReturnType<typeof edgeTempDir>;
let edge: Edge;
let camera: PushFrameSource;
let base: string;

async function startEdge(extra: string[] = [], deps: { speechCommand?: string } = {}) {
  const dataDir = join(tmp.dir, 'edge');
  const db = openEdgeDatabase(join(dataDir, 'edge.db'));
  const elders = createElderRepository(db);
  elders.upsertElder('E1', '王秀英');
  elders.addTemplate('E1', wang, 'wang-1.jpg', FACE_API_MODEL);
  db.close();
  const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', dataDir, '--server', 'mqtt://127.0.0.1:1', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS, ...extra], {});
  camera = new PushFrameSource('door');
  const engine = new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: wang })], stranger: [fakeFace({ descriptor: stranger })] });
  const { logger, lines } = captureLogger('info');
  edge = new Edge(config, { engine, sources: [camera], logger, ...deps });
  await edge.start();
  base = edge.statusUrl;
  return { lines };
}

beforeEach(() => {
  tmp = edgeTempDir();
});
afterEach(async () => {
  await edge?.stop();
  tmp.cleanup();
});

const decisionOf = (data: string) => JSON.parse(data) as KioskDecision;

describe('the kiosk stream of a running edge', () => {
  it('sends hello, then the check-in with the masked name and playable audio; already checked in; 请稍候 and unknown for a stranger', async () => {
    await startEdge();
    const page = await fetch(`${base}/`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/kiosk');
    const html = await fetch(`${base}/kiosk`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('欢迎就餐');

    const stream = await connectKioskStream(`${base}/kiosk/events`);
    const hello = await stream.next((e) => e.event === 'hello');
    expect(hello.retry).toBe(2000);
    expect(JSON.parse(hello.data).tick).toMatchObject({ type: 'tick' });
    expect(edge.kiosk.clients).toBe(1);

    // An exact match decides on its first frame (the voter's strong distance).
    camera.push('wang');
    const decision = await stream.next((e) => e.event === 'decision');
    const d = decisionOf(decision.data);
    expect(decision.id).toBe(d.id);
    expect(d).toMatchObject({ camera: 'door', tone: 'ok', name: '王*英', speech: expect.stringMatching(/^(早|午|晚)餐签到成功$/) });
    expect(d.message).toBe(d.speech);
    expect(decision.data).not.toContain('E1');
    expect(decision.data).not.toContain('王秀英');
    const wav = await fetch(`${base}${d.audio}`);
    expect(wav.status).toBe(200);
    expect(wav.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await wav.arrayBuffer()).subarray(0, 4).toString('latin1')).toBe('RIFF');

    // She walks off and comes back: the track ends, a new one says she has eaten.
    camera.push('empty', 'empty', 'empty', 'empty', 'empty', 'empty', 'wang');
    const again = decisionOf((await stream.next((e) => e.event === 'decision' && e.id !== d.id)).data);
    expect(again).toMatchObject({ tone: 'info', name: '王*英', message: '本餐已签到' });

    // A stranger: several frames are matched (deciding) before the door gives up.
    camera.push('empty', 'empty', 'empty', 'empty', 'empty', 'empty', 'stranger', 'stranger');
    await stream.next((e) => e.event === 'deciding' && JSON.parse(e.data).deciding === true);
    camera.push('stranger', 'stranger', 'stranger');
    const unknown = decisionOf((await stream.next((e) => e.event === 'decision' && decisionOf(e.data).tone === 'error')).data);
    expect(unknown).toMatchObject({ message: '请联系工作人员', speech: '请联系工作人员' });
    await stream.next((e) => e.event === 'deciding' && JSON.parse(e.data).deciding === false && stream.events.indexOf(e) > stream.events.findIndex((x) => x.data.includes('请联系工作人员')));
    expect(stream.events.filter((e) => e.event === 'decision')).toHaveLength(3);
    expect(edge.kiosk.published).toBe(3);

    // A page that reconnects right away is shown the decision it missed, once.
    const back = await connectKioskStream(`${base}/kiosk/events`, { 'last-event-id': again.id });
    const replay = await back.next((e) => e.event === 'decision');
    expect(replay.id).toBe(unknown.id);
    back.close();

    // Stopping the edge ends the stream (the page then reconnects by itself) and does not hang.
    await edge.stop();
    await stream.ended;
  });

  it('only one camera\'s decisions with ?camera=, and refuses a bad camera id', async () => {
    await startEdge();
    expect((await fetch(`${base}/kiosk/events?camera=${encodeURIComponent('../x')}`)).status).toBe(400);
    expect((await fetch(`${base}/kiosk?camera=${encodeURIComponent('<b>')}`)).status).toBe(400);
    const side = await connectKioskStream(`${base}/kiosk/events?camera=side`);
    const door = await connectKioskStream(`${base}/kiosk/events?camera=door`);
    camera.push('wang');
    await door.next((e) => e.event === 'decision');
    expect(side.events.filter((e) => e.event === 'decision' || e.event === 'deciding')).toEqual([]);
    side.close();
    door.close();
  });

  it(`refuses a kiosk stream beyond ${MAX_KIOSK_STREAMS} at once, and takes one again when a screen goes`, async () => {
    await startEdge();
    const open = await Promise.all(Array.from({ length: MAX_KIOSK_STREAMS }, () => connectKioskStream(`${base}/kiosk/events`)));
    const refused = await fetch(`${base}/kiosk/events`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toMatch(/kiosk screens are connected already/);
    open[0]!.close();
    await open[0]!.ended;
    let again: Response;
    // The server sees the socket close a moment after the client does.
    do again = await fetch(`${base}/kiosk/events`);
    while (again.status === 503);
    expect(again.status).toBe(200);
    await again.body?.cancel();
    for (const c of open) c.close();
  });

  it('serves no audio for an id it never issued', async () => {
    await startEdge();
    expect((await fetch(`${base}/kiosk/audio/${'0'.repeat(32)}.wav`)).status).toBe(404);
    expect((await fetch(`${base}/kiosk/audio/passwd`)).status).toBe(400);
  });

  it('reports the kiosk, disk, temperature, version and outbox age in the status', async () => {
    await startEdge(['--kiosk-name', 'full']);
    const stream = await connectKioskStream(`${base}/kiosk/events`);
    await stream.next((e) => e.event === 'hello');
    camera.push('wang');
    const d = decisionOf((await stream.next((e) => e.event === 'decision')).data);
    expect(d.name).toBe('王秀英');
    expect(d.speech).toBe(`王秀英 ${d.message}`);
    const s = (await (await fetch(`${base}/api/v1/status`)).json()) as EdgeStatus;
    expect(s.kiosk).toMatchObject({ clients: 1, voice: { engine: 'espeak-ng', voice: 'cmn', state: 'ready' } });
    expect(s.disk!.path).toBe(join(tmp.dir, 'edge'));
    expect(s.disk!.freeBytes).toBeGreaterThan(0);
    expect(s.disk!.totalBytes).toBeGreaterThanOrEqual(s.disk!.freeBytes);
    expect(s.version).toMatch(/^mealcheck \d+\.\d+\.\d+/);
    expect('cpuTemperatureC' in s).toBe(true);
    // The check-in waits for a server that is not there: it is the outbox's oldest row.
    expect(s.outboxPending).toBe(1);
    expect(Date.parse(s.outboxOldestAt!)).toBeGreaterThan(Date.now() - 60_000);
    stream.close();
  });

  it('a missing espeak-ng is a status problem and one log line; the kiosk still shows the text, without audio', async () => {
    const { lines } = await startEdge([], { speechCommand: join(tmp.dir, 'no-espeak-ng') });
    const stream = await connectKioskStream(`${base}/kiosk/events`);
    camera.push('wang');
    await stream.next((e) => e.event === 'decision');
    // The warm-up may still be finding out: ask until it has.
    let s: EdgeStatus;
    do s = (await (await fetch(`${base}/api/v1/status`)).json()) as EdgeStatus;
    while (s.kiosk!.voice.state === 'ready');
    expect(s.kiosk!.voice.state).toBe('missing');
    expect(s.state).toBe('degraded');
    expect(s.problems).toContain(`kiosk voice: ${join(tmp.dir, 'no-espeak-ng')} is not installed (apt-get install espeak-ng); the kiosk shows text only`);
    const health = (await (await fetch(`${base}/health`)).json()) as { status: string; problems: string[] };
    expect(health.status).toBe('degraded');
    camera.push('empty', 'empty', 'empty', 'empty', 'empty', 'empty', 'wang');
    const later = decisionOf((await stream.next((e) => e.event === 'decision' && decisionOf(e.data).message === '本餐已签到')).data);
    expect(later.audio).toBeUndefined();
    expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('kiosk voice:'))).toHaveLength(1);
    stream.close();
  });
});
