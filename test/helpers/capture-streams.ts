/**
 * Real camera stand-ins for capture tests, all built from the photos shipped in
 * @vladmandic/face-api: a clip made with ffmpeg, served as an RTSP stream (ffmpeg pushing to
 * Debian's rtsp-server-perl relay), as MJPEG over HTTP (ffmpeg -f mpjpeg -listen 1) and as
 * an HTTP snapshot server. Each can be killed and started again on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { renderScene, type DemoPerson } from '../../scripts/demo/demo-scene.ts';
import { cropAround, sampleBytes } from './vision-samples.ts';

// Face boxes in sample1.jpg (as in the e2e test): two elders to enrol.
const SAMPLE1_FACES = [
  { x: 414, y: 355, width: 177, height: 240 },
  { x: 838, y: 421, width: 186, height: 228 },
];

/** Throws a message that says what to install when ffmpeg or the RTSP relay is missing. */
export function requireCaptureTools(): void {
  const missing: string[] = [];
  if (spawnSync('ffmpeg', ['-version']).status !== 0) missing.push('ffmpeg');
  if (spawnSync('sh', ['-c', 'command -v rtsp-server-perl']).status !== 0) missing.push('rtsp-server-perl');
  if (missing.length) throw new Error(`capture tests need the Debian packages ${missing.join(', ')}: apt-get install -y ${missing.join(' ')} (.ci/run does this)`);
}

export interface TestClip {
  /** Enrolment photo per elder (E1, E2). */
  photos: string[];
  /** Rendered frames (JPEG), one per second of the clip. */
  frames: string[];
  /** H.264 MP4 of the frames, 1 frame a second shown at 10 fps. */
  clip: string;
}

/** Renders two elders walking past the door and encodes the clip with ffmpeg. */
export async function makeTestClip(dir: string): Promise<TestClip> {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  const group = sampleBytes(1);
  const people: DemoPerson[] = [];
  const photos: string[] = [];
  for (const [i, box] of SAMPLE1_FACES.entries()) {
    const jpeg = await cropAround(group, box, { margin: 0.7 });
    const file = join(dir, 'photos', `E${i + 1}.jpg`);
    writeFileSync(file, jpeg);
    photos.push(file);
    people.push({ id: `E${i + 1}`, name: `E${i + 1}`, enrolled: true, portrait: jpeg, enrolPhotos: [jpeg], source: file });
  }
  const frameDir = join(dir, 'frames');
  await renderScene(people, frameDir, { framesPerVisit: 6, gapFrames: 2, repeatVisits: 0 });
  const frames = readdirSync(frameDir).sort().map((f) => join(frameDir, f));
  const clip = join(dir, 'clip.mp4');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-framerate', '1', '-i', join(frameDir, 'frame-%05d.jpg'), '-vf', 'fps=10,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', clip]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make the clip: ${r.stderr.toString()}`);
  return { photos, frames, clip };
}

/** A child process that is started again whenever it exits, until stop(). */
export class Respawning {
  private child: ChildProcess | null = null;
  private stopped = true;
  constructor(
    private readonly cmd: string,
    private readonly args: string[],
  ) {}
  start(): void {
    this.stopped = false;
    this.spawn();
  }
  private spawn(): void {
    if (this.stopped) return;
    // CAPTURE_TEST_LOG=dir: each process's output goes to dir/<command>-<time>.log, for debugging.
    const dir = process.env.CAPTURE_TEST_LOG;
    const out = dir ? openSync(join(dir, `${this.cmd}-${Date.now()}.log`), 'w') : 'ignore';
    const child = spawn(this.cmd, this.args, { stdio: ['ignore', out, out] });
    if (typeof out === 'number') closeSync(out);
    this.child = child;
    child.on('exit', () => {
      if (this.child === child) setTimeout(() => this.spawn(), 100);
    });
  }
  /** Kills it (SIGKILL: the camera "disappears"), and resolves when it is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
  }
}

/** MJPEG over HTTP from the clip, looped; `-listen 1` serves one client, so it is respawned. */
export function mjpegServer(clip: string, port: number): Respawning {
  return new Respawning('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-c:v', 'mjpeg', '-q:v', '5', '-f', 'mpjpeg', '-listen', '1', `http://127.0.0.1:${port}/stream`]);
}

let relayPath: string | undefined;
function relayScript(): string {
  relayPath ??= spawnSync('sh', ['-c', 'command -v rtsp-server-perl']).stdout.toString().trim() || '/usr/bin/rtsp-server-perl';
  return relayPath;
}

/** The RTSP relay: publishers ANNOUNCE on `serverPort`, clients read on `clientPort`. */
export function rtspRelay(clientPort: number, serverPort: number): Respawning {
  // Its RTP ports start at a fixed number (20000); two relays on one machine (parallel test
  // runs, a relay left over by hand) collide there and answer RECORD with 404. The
  // --rtp_start_port option does not help: whenever a connection closes while nothing is
  // mounted (a port probe, an early reader), the relay resets to $RTSP::Server::RTP_START_PORT.
  // So that package variable is set before running the stock script.
  const rtpStart = 30_000 + 2 * Math.floor(Math.random() * 10_000);
  const script = `require RTSP::Server; $RTSP::Server::RTP_START_PORT = ${rtpStart}; do '${relayScript()}'; die $@ if $@;`;
  const logLevel = process.env.CAPTURE_TEST_LOG ? '4' : '1';
  return new Respawning('perl', ['-e', script, '--', '--clientport', String(clientPort), '--serverport', String(serverPort), '--rtp_start_port', String(rtpStart), '--loglevel', logLevel]);
}

/** Resolves when something accepts TCP connections on the port. */
export async function waitForPort(port: number, ms = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** ffmpeg pushing the looped clip to the relay (RTP over UDP). */
export function rtspPusher(clip: string, serverPort: number, path: string): Respawning {
  return new Respawning('ffmpeg', ['-hide_banner', '-loglevel', 'warning', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'rtsp', `rtsp://127.0.0.1:${serverPort}/${path}`]);
}

/**
 * An RTSP camera: the relay and a pusher, read at `url`. The relay only unmounts a path on a
 * TEARDOWN: a publisher that just disappears (SIGKILL, or exits between ANNOUNCE and RECORD)
 * leaves the mount behind, every later ANNOUNCE gets 403 and readers get an SDP with no RTP
 * behind it ("Consider increasing analyzeduration"). So the camera goes away and comes back
 * as a whole, relay included, like a camera losing power; and the pusher is started only
 * once the relay listens. The relay serves readers over UDP only (no TCP interleaving).
 */
export class RtspCamera {
  private relay: Respawning;
  private pusher: Respawning;
  readonly url: string;
  constructor(
    clip: string,
    private readonly clientPort: number,
    private readonly serverPort: number,
    path = 'door',
  ) {
    this.relay = rtspRelay(clientPort, serverPort);
    this.pusher = rtspPusher(clip, serverPort, path);
    this.url = `rtsp://127.0.0.1:${clientPort}/${path}`;
  }
  async start(): Promise<void> {
    this.relay.start();
    await waitForPort(this.serverPort);
    await waitForPort(this.clientPort);
    this.pusher.start();
  }
  /** Resolves when a reader gets a decoded frame from the stream (or throws after `ms`). */
  async waitForFrame(ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    let err = '';
    while (Date.now() < end) {
      const r = await new Promise<{ ok: boolean; err: string }>((resolve) => {
        const p = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-timeout', '5000000', '-i', this.url, '-an', '-frames:v', '1', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let e = '';
        p.stderr!.on('data', (d: Buffer) => (e += d.toString()));
        const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
        p.on('exit', (code) => (clearTimeout(t), resolve({ ok: code === 0, err: e.trim() })));
      });
      if (r.ok) return;
      err = r.err;
      await new Promise((res) => setTimeout(res, 300));
    }
    throw new Error(`no frame from ${this.url} in ${ms} ms: ${err}`);
  }
  async stop(): Promise<void> {
    await this.pusher.stop();
    await this.relay.stop();
  }
}

/** An IP camera's snapshot URL: GET /snap.jpg answers the frame of the current second. */
export class SnapshotServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly jpegs: Buffer[];
  constructor(
    frames: string[],
    readonly port: number,
  ) {
    this.jpegs = frames.map((f) => readFileSync(f));
  }
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.url !== '/snap.jpg') return void res.writeHead(404).end();
      const jpeg = this.jpegs[Math.floor(Date.now() / 1000) % this.jpegs.length]!;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length }).end(jpeg);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
