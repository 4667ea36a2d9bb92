import { describe, expect, it } from 'vitest';
import { backoffDelay, RateMeter } from '../../edge/src/capture/camera-health.ts';
import { CameraSpecError, parseCameraList, parseFrameSize, redactSource } from '../../edge/src/capture/camera-spec.ts';
import { ffmpegArgs } from '../../edge/src/capture/ffmpeg-source.ts';
import { LatestFrame } from '../../edge/src/capture/latest-frame.ts';
import type { Frame } from '../../edge/src/capture/frame-source.ts';

describe('parseCameraList', () => {
  it.each([
    ['/dev/video0', 'v4l2', '/dev/video0'],
    ['rtsp://user:pw@10.0.0.5:554/stream1', 'stream', 'rtsp://user:pw@10.0.0.5:554/stream1'],
    ['http://10.0.0.5/video.mjpg', 'stream', 'http://10.0.0.5/video.mjpg'],
    ['snapshot+http://10.0.0.5/snap.jpg?ch=1', 'snapshot', 'http://10.0.0.5/snap.jpg?ch=1'],
    ['snapshot+https://cam/snap.jpg', 'snapshot', 'https://cam/snap.jpg'],
    ['/data/clips/door.mp4', 'file', '/data/clips/door.mp4'],
    ['./frames', 'folder', './frames'],
  ])('%s is a %s camera', (value, kind, source) => {
    expect(parseCameraList(value)).toEqual([{ id: 'cam1', kind, source }]);
  });

  it('takes several cameras, named or numbered by position', () => {
    expect(parseCameraList('door1=rtsp://a/1, /dev/video2 ,door2=snapshot+http://b/s.jpg')).toEqual([
      { id: 'door1', kind: 'stream', source: 'rtsp://a/1' },
      { id: 'cam2', kind: 'v4l2', source: '/dev/video2' },
      { id: 'door2', kind: 'snapshot', source: 'http://b/s.jpg' },
    ]);
  });

  it('reports every problem at once, hiding passwords', () => {
    let err: unknown;
    try {
      parseCameraList('a=rtsp://u:secret@[bad/x,a=/dev/video0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CameraSpecError);
    const problems = (err as CameraSpecError).problems;
    expect(problems).toHaveLength(2);
    expect(problems.join()).not.toContain('secret');
    expect(problems[1]).toContain('"a" is used twice');
  });
});

describe('helpers', () => {
  it('redacts passwords anywhere in a line', () => {
    expect(redactSource('rtsp://admin:12345@cam/x')).toBe('rtsp://admin:***@cam/x');
    expect(redactSource('failed: http://u:p@h/s and more')).toBe('failed: http://u:***@h/s and more');
    expect(redactSource('/dev/video0')).toBe('/dev/video0');
  });

  it.each([
    ['640x480', { width: 640, height: 480 }],
    ['1280x720', { width: 1280, height: 720 }],
    ['641x480', null],
    ['640', null],
    ['8x8', null],
  ])('frame size %s', (v, want) => expect(parseFrameSize(v)).toEqual(want));

  it('backs off doubling, capped', () => {
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, 500, 5000))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });

  it('measures the receive rate over the last seconds only', () => {
    const m = new RateMeter();
    m.reset(0);
    for (let t = 0; t < 10_000; t += 200) m.tick(t);
    expect(m.fps(10_000)).toBe(5);
    expect(m.fps(20_000)).toBe(0);
  });
});

describe('ffmpegArgs', () => {
  const base = { fps: 5, width: 640, height: 480 };
  it('asks for raw RGB frames of the configured size and rate on stdout', () => {
    const a = ffmpegArgs({ ...base, spec: { id: 'c', kind: 'v4l2', source: '/dev/video0' } });
    expect(a.join(' ')).toContain('-f v4l2 -i /dev/video0');
    expect(a.slice(-7)).toEqual(['-vf', 'fps=5,scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
  });
  it('sets network timeouts on streams and paces files', () => {
    expect(ffmpegArgs({ ...base, spec: { id: 'c', kind: 'stream', source: 'rtsp://h/x' } })).toContain('-timeout');
    expect(ffmpegArgs({ ...base, spec: { id: 'c', kind: 'stream', source: 'http://h/x' } })).toContain('-rw_timeout');
    const file = ffmpegArgs({ ...base, loop: true, spec: { id: 'c', kind: 'file', source: 'a.mp4' } }).join(' ');
    expect(file).toContain('-re -stream_loop -1 -i a.mp4');
  });
});

describe('LatestFrame', () => {
  const frame = (seq: number): Frame => ({ seq, at: seq, image: { kind: 'encoded', bytes: new Uint8Array(1) } });
  it('gives the newest frame and drops the ones nobody took: no backlog', async () => {
    const slot = new LatestFrame();
    for (let i = 0; i < 5; i++) slot.put(frame(i));
    expect((await slot.take())?.seq).toBe(4);
    expect(slot.dropped).toBe(4);
    const pending = slot.take();
    slot.put(frame(5));
    expect((await pending)?.seq).toBe(5);
    slot.end();
    expect(await slot.take()).toBeNull();
  });
});
