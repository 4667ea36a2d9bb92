/**
 * Real cameras through real ffmpeg: one edge with four cameras (RTSP through Debian's relay,
 * MJPEG over HTTP, HTTP snapshots, a looped video file) sharing one face engine. Every camera
 * recognises the enrolled elders; a stream that is killed goes down and comes back when it
 * is started again, without restarting the edge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { testRegistry } from '../helpers/elder-registry.ts';
import { enrolElder } from '../../edge/src/elders/enrolment.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import type { CheckInEvent } from '../../edge/src/recognition/pipeline.ts';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import type { EdgeStatus } from '../../edge/src/web/status-server.ts';
import { edgeTempDir, quietEdgeLogger, reservePort } from '../helpers/edge-fixtures.ts';
import { makeTestClip, mjpegServer, requireCaptureTools, RtspCamera, SnapshotServer, type Respawning } from '../helpers/capture-streams.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';


async function waitFor<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await get();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not reached in ${ms} ms; last: ${JSON.stringify(last)}`);
}

describe('edge with real cameras through ffmpeg', () => {
  const tmp = edgeTempDir('mealcheck-capture-');
  const servers: Array<Respawning | SnapshotServer | RtspCamera> = [];
  let edge: Edge;
  let mjpeg: Respawning;
  let rtsp: RtspCamera;
  const seen = new Map<string, Set<string>>();

  const status = async (): Promise<EdgeStatus> => (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as EdgeStatus;
  const camera = (s: EdgeStatus, id: string) => s.cameras?.find((c) => c.id === id);

  beforeAll(async () => {
    requireCaptureTools();
    const { photos, frames, clip } = await makeTestClip(tmp.dir);

    // Enrol E1 and E2 with the same engine the edge uses.
    const dataDir = join(tmp.dir, 'edge');
    const db = openEdgeDatabase(join(dataDir, 'edge.db'));
    const engine = new FaceApiEngine({ logger: quietEdgeLogger });
    await engine.start();
    try {
      const { store, register } = testRegistry(db);
      for (const [i, photo] of photos.entries()) {
        register(`E${i + 1}`, `老人${i + 1}`);
        await enrolElder({ engine, elders: store, elderId: `E${i + 1}`, photos: [photo] });
      }
    } finally {
      await engine.stop();
      db.close();
    }

    const [mjpegPort, snapPort, rtspPort, rtspSourcePort] = [await reservePort(), await reservePort(), await reservePort(), await reservePort()];
    // The RTSP camera is up (a frame can be read) before the edge starts.
    rtsp = new RtspCamera(clip, rtspPort, rtspSourcePort);
    servers.push(rtsp);
    await rtsp.start();
    await rtsp.waitForFrame();
    mjpeg = mjpegServer(clip, mjpegPort);
    mjpeg.start();
    const snap = new SnapshotServer(frames, snapPort);
    await snap.start();
    servers.push(mjpeg, snap);

    const cameras = [
      `rtsp=${rtsp.url}`,
      `mjpeg=http://127.0.0.1:${mjpegPort}/stream`,
      `snap=snapshot+http://127.0.0.1:${snapPort}/snap.jpg`,
      `file=${clip}`,
    ].join(',');
    const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', dataDir, '--server', 'mqtt://127.0.0.1:1', '--camera', cameras, '--camera-loop', '--fps', '3', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS]);
    edge = new Edge(config, { logger: quietEdgeLogger });
    edge.on('check-in', (e: CheckInEvent) => {
      const s = seen.get(e.cameraId) ?? new Set<string>();
      s.add(e.elderId);
      seen.set(e.cameraId, s);
    });
    await edge.start();
  }, 120_000);

  afterAll(async () => {
    await edge?.stop();
    for (const s of servers.reverse()) await s.stop();
    tmp.cleanup();
  }, 60_000);

  it('recognises the enrolled elders from every kind of camera, tagging check-ins with the camera', async () => {
    await waitFor(
      'both elders recognised on every camera',
      () => [...seen.entries()].map(([k, v]) => `${k}:${[...v].sort().join('+')}`).sort(),
      (v) => ['file', 'mjpeg', 'rtsp', 'snap'].every((id) => v.includes(`${id}:E1+E2`)),
      150_000,
    );
    const s = await status();
    for (const id of ['rtsp', 'mjpeg', 'snap', 'file']) {
      const c = camera(s, id)!;
      expect(c.state).toBe('running');
      expect(c.fps).toBeGreaterThan(0);
      expect(c.received).toBeGreaterThan(0);
      expect(c.lastFrameAgeMs).not.toBeNull();
    }
    expect(camera(s, 'rtsp')).toMatchObject({ kind: 'stream', width: 640, height: 480 });
    expect(camera(s, 'mjpeg')).toMatchObject({ kind: 'stream', width: 640, height: 480 });
    expect(camera(s, 'snap')).toMatchObject({ kind: 'snapshot', width: 640, height: 480 });
    expect(s.checkIns.total).toBe(2);
  }, 180_000);

  it('killed streams (MJPEG, RTSP) go down and come back when restarted, without restarting the edge', async () => {
    const before = (await status()).checkIns.total;
    const restarts = camera(await status(), 'rtsp')?.restarts ?? 0;
    await Promise.all([mjpeg.stop(), rtsp.stop()]);
    const down = await waitFor('mjpeg and rtsp down', status, (s) => camera(s, 'mjpeg')?.state === 'down' && camera(s, 'rtsp')?.state === 'down', 20_000);
    expect(camera(down, 'mjpeg')?.fps).toBe(0);
    expect(camera(down, 'rtsp')?.fps).toBe(0);
    expect(camera(down, 'file')?.state).toBe('running');
    expect(down.checkIns.total).toBe(before);

    mjpeg.start();
    await rtsp.start();
    const up = await waitFor('mjpeg and rtsp back', status, (s) => camera(s, 'mjpeg')?.state === 'running' && camera(s, 'rtsp')?.state === 'running', 45_000);
    expect(camera(up, 'mjpeg')!.restarts).toBeGreaterThanOrEqual(1);
    expect(camera(up, 'rtsp')!.restarts).toBeGreaterThan(restarts);
    expect(up.checkIns.total).toBe(before);
  }, 90_000);
});
