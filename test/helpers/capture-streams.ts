/**
 * Real camera stand-ins for capture tests, all built from the photos shipped in
 * @vladmandic/face-api: a clip made with ffmpeg, served as an RTSP stream (ffmpeg pushing to
 * Debian's rtsp-server-perl relay), as MJPEG over HTTP (ffmpeg -f mpjpeg -listen 1) and as
 * an HTTP snapshot server. Each can be killed and started again on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
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
    const child = spawn(this.cmd, this.args, { stdio: 'ignore' });
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

/** The RTSP relay: publishers ANNOUNCE on `serverPort`, clients read on `clientPort`. */
export function rtspRelay(clientPort: number, serverPort: number): Respawning {
  // Its RTP ports start at a fixed number by default; two relays on one machine (parallel test
  // runs) would collide and answer RECORD with 404.
  const rtpStart = 30_000 + 2 * Math.floor(Math.random() * 10_000);
  return new Respawning('rtsp-server-perl', ['--clientport', String(clientPort), '--serverport', String(serverPort), '--rtp_start_port', String(rtpStart), '--loglevel', '1']);
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
  return new Respawning('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'rtsp', `rtsp://127.0.0.1:${serverPort}/${path}`]);
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
