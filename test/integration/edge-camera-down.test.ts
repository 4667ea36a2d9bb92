/**
 * A camera that cannot be opened is loud but not fatal: the edge starts and keeps running
 * (manual check-ins are recorded and forwarded), its status and GET /health say `degraded`
 * with the reason, the log repeats the error at growing intervals, and the edge is `ok` again
 * once the camera appears. Real ffmpeg (a V4L2 device that does not exist), a real folder
 * camera, a real server with its embedded broker; only the model seam is faked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { Edge } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer } from '../../server/src/server.ts';
import { captureLogger, edgeTempDir, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine } from '../helpers/fake-engine.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';
import { allDayCentre, quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';


type Health = { status: string; problems: string[] };
type Status = { state: string; problems: string[]; cameras: Array<{ id: string; state: string; error?: string }> };

describe('an edge whose camera cannot be opened', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  const get = async <T,>(edge: Edge, path: string): Promise<{ code: number; body: T }> => {
    const res = await fetch(`${edge.statusUrl}${path}`);
    return { code: res.status, body: (await res.json()) as T };
  };

  it('runs degraded with the reason, still records and forwards meals, and logs the error at growing intervals', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const server = await startServer(serverSettings({ dataDir: join(tmp.dir, 'server'), httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger });
    cleanups.push(() => server.stop());
    // The server checks meals against the centre's windows: the same whole-day ones as the edge.
    allDayCentre(server.db, 'c-1');
    const config = loadEdgeConfig(['--centre', 'c-1', '--device', 'd-1', '--data', join(tmp.dir, 'edge'), '--server', server.mqttUrl, '--camera', 'door=/dev/video9', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS], {});
    const { logger, lines } = captureLogger('info');
    const edge = new Edge(config, { engine: new FakeEngine(), logger });
    cleanups.push(() => edge.stop());
    await edge.start();

    const reason = 'camera door: cannot open /dev/video9: No such file or directory';
    await waitUntil(() => edge.cameraStatus()[0]?.state === 'down', 'the camera marked down');
    const health = await get<Health>(edge, '/health');
    expect(health).toEqual({ code: 200, body: { status: 'degraded', problems: [reason] } });
    const status = await get<Status>(edge, '/api/v1/status');
    expect(status.body).toMatchObject({ state: 'degraded', problems: [reason], cameras: [{ id: 'door', state: 'down', error: 'cannot open /dev/video9: No such file or directory' }] });

    // Staff check an elder in by hand: recorded and delivered, camera or not.
    edge.elders.upsertElder('E1', '王秀英');
    expect(edge.checkIns.record({ elderId: 'E1', method: 'manual', staffId: 'S1' })).toMatchObject({ status: 'recorded' });
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'the manual meal delivered', 20_000);
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const stats = await server.app.inject({ url: `/api/v1/stats/meals?from=${day(-1)}&to=${day(1)}&groupBy=centre`, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(stats.json()).toMatchObject({ total: 1 });

    // The log: `camera down` once, then the error again 1 s, 2 s, 4 s... apart, one line per
    // attempt it reports, fewer lines than attempts.
    const down = () => lines.filter((l) => l.msg === 'camera down' && l.camera === 'door');
    const again = () => lines.filter((l) => l.msg === 'camera still down, retrying' && l.camera === 'door');
    await waitUntil(() => again().length >= 3, 'the error repeated three times', 30_000);
    expect(down()).toHaveLength(1);
    expect(down()[0]).toMatchObject({ reason: 'cannot open /dev/video9: No such file or directory', source: '/dev/video9' });
    const repeats = again();
    expect(repeats.map((l) => l.nextReportAfterS).slice(0, 3)).toEqual([2, 4, 8]);
    expect(repeats.every((l) => l.reason === 'cannot open /dev/video9: No such file or directory')).toBe(true);
    const attempts = repeats.map((l) => l.attempts as number);
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    expect(attempts.at(-1)!).toBeGreaterThan(repeats.length + 1);
    // Still degraded, still serving.
    expect((await get<Health>(edge, '/health')).body.status).toBe('degraded');
  }, 60_000);

  it('is ok again when a missing folder camera appears, without a restart', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const frames = join(tmp.dir, 'frames');
    const config = loadEdgeConfig(['--centre', 'c-1', '--device', 'd-1', '--data', join(tmp.dir, 'edge'), '--server', 'mqtt://127.0.0.1:1', '--camera', `door=${frames}`, '--camera-loop', '--fps', '10', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS], {});
    const { logger, lines } = captureLogger('info');
    const engine = new FakeEngine({ empty: [] });
    const edge = new Edge(config, { engine, logger });
    cleanups.push(() => edge.stop());
    // Before, a missing folder stopped the edge at start.
    await edge.start();

    await waitUntil(() => edge.cameraStatus()[0]?.state === 'down', 'the camera marked down');
    const health = await get<Health>(edge, '/health');
    expect(health.code).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.problems).toEqual([expect.stringMatching(new RegExp(`^camera door: frame folder ${frames} cannot be read: ENOENT`)) as string]);

    mkdirSync(frames);
    for (let i = 0; i < 3; i++) writeFileSync(join(frames, `f${i}.jpg`), 'empty');
    await waitUntil(() => edge.cameraStatus()[0]?.state === 'running' && engine.calls.length > 0, 'the camera up and its frames analysed', 20_000);
    expect(await get<Health>(edge, '/health')).toEqual({ code: 200, body: { status: 'ok', problems: [] } });
    expect((await get<Status>(edge, '/api/v1/status')).body).toMatchObject({ state: 'ok', problems: [], cameras: [{ id: 'door', state: 'running' }] });
    expect(lines.find((l) => l.msg === 'camera up again')).toMatchObject({ camera: 'door' });
  }, 60_000);

  it('says so when no camera is configured', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const config = loadEdgeConfig(['--centre', 'c-1', '--device', 'd-1', '--data', join(tmp.dir, 'edge'), '--server', 'mqtt://127.0.0.1:1', '--http-port', '0'], {});
    const edge = new Edge(config, { engine: new FakeEngine(), logger: captureLogger('silent').logger });
    cleanups.push(() => edge.stop());
    await edge.start();
    const health = await get<Health>(edge, '/health');
    expect(health).toEqual({ code: 200, body: { status: 'degraded', problems: [expect.stringMatching(/^no camera configured/) as string] } });
  });
});
