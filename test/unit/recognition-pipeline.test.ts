import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderFrameSource } from '../../edge/src/capture/folder-source.ts';
import { createLogger } from '../../common/logger.ts';
import type { Frame, FrameSource } from '../../edge/src/capture/frame-source.ts';
import type { CheckInRecorder, CheckInRequest, CheckInResult } from '../../edge/src/meals/check-in.ts';
import { Matcher, packTemplates } from '../../edge/src/recognition/matcher.ts';
import { RecognitionPipeline, type CheckInEvent, type PipelineErrorEvent, type RecognitionPipelineOptions, type UnknownEvent } from '../../edge/src/recognition/pipeline.ts';
import { ImageError, type DetectedFace } from '../../edge/src/vision/face-engine.ts';
import { descriptorAt, FakeEngine, fakeFace, fakeImage, MemoryFrameSource, syntheticDescriptor, type FakeScene } from '../helpers/fake-engine.ts';

const A = syntheticDescriptor(1);
const B = syntheticDescriptor(2);
const STRANGER = syntheticDescriptor(3);
const logger = createLogger('test', 'silent');

/** Remembers who has eaten, like the real recorder's once-per-meal rule. */
class FakeRecorder implements CheckInRecorder {
  readonly requests: CheckInRequest[] = [];
  private readonly done = new Set<string>();
  constructor(private readonly behaviour: 'normal' | 'throws' | 'closed' | 'holds' = 'normal') {}
  record(req: CheckInRequest): CheckInResult {
    this.requests.push(req);
    if (this.behaviour === 'throws') throw new Error('disk I/O error');
    if (this.behaviour === 'closed') return { status: 'outside-meal-window' };
    if (this.behaviour === 'holds') {
      const confirmation = { id: `hold-${req.elderId}`, elderId: req.elderId, elderName: req.elderId.toUpperCase(), serviceDate: '2025-01-01', meal: 'lunch' as const, at: '2025-01-01T11:30:00.000Z', method: req.method, status: 'pending' as const };
      return { status: 'pending-confirmation', confirmation };
    }
    const checkIn = { eventId: `ev-${req.elderId}`, elderId: req.elderId, elderName: req.elderId.toUpperCase(), serviceDate: '2025-01-01', meal: 'lunch' as const, at: '2025-01-01T11:30:00.000Z', method: req.method };
    if (this.done.has(req.elderId)) return { status: 'already-checked-in', checkIn };
    this.done.add(req.elderId);
    return { status: 'recorded', checkIn };
  }
}

/** A face of `base` seen at position x (moving a little per frame keeps the track). */
const face = (base: Float32Array, seed: number, x = 100, size = 100): DetectedFace => fakeFace({ descriptor: descriptorAt(base, 0.1, seed), box: { x, y: 100, width: size, height: size } });
/** The same, with the engine's anti-spoof score (the field the real engine fills from @vladmandic/human). */
const scored = (antispoof: number, base: Float32Array, seed: number, x = 100, size = 100): DetectedFace => ({ ...face(base, seed, x, size), antispoof });

function setup(scenes: Record<string, FakeScene>, frames: string[], opts: { recorder?: FakeRecorder; options?: Partial<RecognitionPipelineOptions>; gallery?: 'a+b' | 'empty' } = {}) {
  const engine = new FakeEngine(scenes);
  const source = new MemoryFrameSource(frames);
  const recorder = opts.recorder ?? new FakeRecorder();
  const matcher = new Matcher(
    opts.gallery === 'empty'
      ? undefined
      : packTemplates([
          { elderId: 'a', descriptor: A },
          { elderId: 'b', descriptor: B },
        ]),
  );
  // The fake faces match at distance ~0.1, which the strong single-frame path would decide at
  // once; these tests are about the multi-frame rule, so it is off unless a test turns it on.
  const pipeline = new RecognitionPipeline({ source, engine, matcher, recorder, logger, options: { cameraId: 'door-1', retryDelayMs: 0, ...opts.options, voter: { strongDistance: 0, ...opts.options?.voter } } });
  const checkIns: CheckInEvent[] = [];
  const unknowns: UnknownEvent[] = [];
  const errors: PipelineErrorEvent[] = [];
  let frameEvents = 0;
  let ended = 0;
  pipeline.on('check-in', (e) => checkIns.push(e));
  pipeline.on('unknown', (e) => unknowns.push(e));
  pipeline.on('error', (e) => errors.push(e));
  pipeline.on('frame', () => frameEvents++);
  pipeline.on('end', () => ended++);
  const run = async () => {
    await pipeline.start();
    await pipeline.done();
  };
  return { engine, source, recorder, matcher, pipeline, checkIns, unknowns, errors, run, frames: () => frameEvents, ended: () => ended };
}

/** n frames of one scene each, named `${prefix}-${i}`, with scenes built per frame. */
function walk(prefix: string, n: number, facesAt: (i: number) => DetectedFace[]): { scenes: Record<string, FakeScene>; frames: string[] } {
  const scenes: Record<string, FakeScene> = {};
  const frames: string[] = [];
  for (let i = 0; i < n; i++) {
    scenes[`${prefix}-${i}`] = facesAt(i);
    frames.push(`${prefix}-${i}`);
  }
  return { scenes, frames };
}

describe('RecognitionPipeline', () => {
  it('checks an elder in once per track, after two agreeing frames', async () => {
    const w = walk('a', 8, (i) => [face(A, 100 + i, 100 + 3 * i)]);
    const t = setup(w.scenes, w.frames);
    await t.run();
    expect(t.recorder.requests).toEqual([{ elderId: 'a', method: 'face', score: expect.any(Number) as number, cameraId: 'door-1' }]);
    expect(t.checkIns).toHaveLength(1);
    expect(t.checkIns[0]).toMatchObject({ cameraId: 'door-1', trackId: 1, elderId: 'a', agreeing: 2, votes: 2, result: { status: 'recorded' }, frame: { seq: 1, label: 'a-1' } });
    expect(t.checkIns[0]!.distance).toBeCloseTo(0.1, 3);
    expect(t.unknowns).toEqual([]);
    // Decided after frame 1: the other six frames are detected but never matched.
    expect(t.pipeline.counters()).toMatchObject({ frames: 8, faces: 8, matched: 2, decisions: 1, recognised: 1, recorded: 1, unknown: 0, errors: 0 });
    expect(t.frames()).toBe(8);
    expect(t.ended()).toBe(1);
  });

  it('tells when the door is deciding (请稍候): from the first undecided vote to the decision, and for a stranger until the door gives up', async () => {
    const w = walk('a', 4, (i) => [face(A, 100 + i, 100 + 3 * i)]);
    const s = walk('s', 7, (i) => [face(STRANGER, 200 + i, 300 + 3 * i)]);
    const t = setup({ ...w.scenes, ...s.scenes, empty: [] }, [...w.frames, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty', ...s.frames]);
    const seen: string[] = [];
    t.pipeline.on('deciding', (e) => seen.push(`${e.deciding ? 'deciding' : 'done'}@${e.frame.label}`));
    t.pipeline.on('check-in', (e) => seen.push(`check-in@${e.frame.label}`));
    t.pipeline.on('unknown', (e) => seen.push(`unknown@${e.frame.label}`));
    await t.run();
    // Two agreeing frames: deciding after the first, decided on the second; the stranger is
    // matched five times (maxAttempts) before being called unknown.
    expect(seen).toEqual(['deciding@a-0', 'check-in@a-1', 'done@a-1', 'deciding@s-0', 'unknown@s-4', 'done@s-4']);
  });

  it('checks an elder in on the first frame when the match is strong (the default path)', async () => {
    const w = walk('a', 4, (i) => [face(A, 100 + i, 100 + 3 * i)]);
    const t = setup(w.scenes, w.frames, { options: { voter: { strongDistance: 0.34 } } });
    await t.run();
    expect(t.checkIns).toHaveLength(1);
    expect(t.checkIns[0]).toMatchObject({ elderId: 'a', agreeing: 1, votes: 1, result: { status: 'recorded' }, frame: { seq: 0 } });
    expect(t.pipeline.counters()).toMatchObject({ frames: 4, matched: 1, recorded: 1 });
  });

  it('waits for a second frame when the match is not strong enough', async () => {
    const w = walk('a', 4, (i) => [face(A, 100 + i, 100 + 3 * i)]);
    const t = setup(w.scenes, w.frames, { options: { voter: { strongDistance: 0.05 } } });
    await t.run();
    expect(t.checkIns[0]).toMatchObject({ elderId: 'a', agreeing: 2, votes: 2, frame: { seq: 1 } });
  });

  it('counts a stranger once, not once per frame', async () => {
    const w = walk('s', 12, (i) => [face(STRANGER, 200 + i, 100 + 2 * i)]);
    const t = setup(w.scenes, w.frames);
    await t.run();
    expect(t.recorder.requests).toEqual([]);
    expect(t.unknowns).toHaveLength(1);
    expect(t.unknowns[0]).toMatchObject({ trackId: 1, reason: 'above-threshold', votes: 5 });
    expect(t.pipeline.counters()).toMatchObject({ frames: 12, matched: 5, decisions: 1, unknown: 1 });
  });

  it('handles an elder and a stranger in the same frames', async () => {
    const w = walk('x', 6, (i) => [face(A, 300 + i, 100 + i), face(STRANGER, 400 + i, 400 + i)]);
    const t = setup(w.scenes, w.frames);
    await t.run();
    expect(t.checkIns.map((c) => c.elderId)).toEqual(['a']);
    expect(t.unknowns).toHaveLength(1);
    expect(t.unknowns[0]!.trackId).not.toBe(t.checkIns[0]!.trackId);
  });

  it('skips bad frames (ImageError) and goes on', async () => {
    const w = walk('a', 4, (i) => [face(A, 500 + i, 100 + i)]);
    const frames = ['junk', w.frames[0]!, 'junk', 'empty', w.frames[1]!, 'junk'];
    const t = setup({ ...w.scenes, empty: new ImageError('empty', 'the image is empty') }, frames);
    await t.run();
    expect(t.checkIns).toHaveLength(1);
    expect(t.pipeline.counters()).toMatchObject({ frames: 6, imageErrors: 4, errors: 4 });
    expect(t.errors.map((e) => e.kind)).toEqual(['image', 'image', 'image', 'image']);
    expect(t.errors[0]!.frame).toMatchObject({ seq: 0, label: 'junk' });
  });

  it('logs and retries when the engine fails, without ending the loop', async () => {
    const w = walk('a', 3, (i) => [face(A, 600 + i, 100 + i)]);
    const frames = [w.frames[0]!, 'boom', 'boom', w.frames[1]!, w.frames[2]!];
    const t = setup({ ...w.scenes, boom: new Error('worker crashed') }, frames);
    await t.run();
    expect(t.errors.map((e) => e.kind)).toEqual(['engine', 'engine']);
    expect(t.errors[0]!.error.message).toBe('worker crashed');
    expect(t.checkIns).toHaveLength(1);
    expect(t.pipeline.counters()).toMatchObject({ errors: 2, imageErrors: 0, recorded: 1 });
  });

  it('does not throw when errors happen and nobody listens for them', async () => {
    const engine = new FakeEngine({});
    const pipeline = new RecognitionPipeline({ source: new MemoryFrameSource(['junk', 'junk']), engine, matcher: new Matcher(), recorder: new FakeRecorder(), logger, options: { cameraId: 'c' } });
    await pipeline.start();
    await pipeline.done();
    expect(pipeline.counters().imageErrors).toBe(2);
  });

  it('never matches faces below the minimum size', async () => {
    const w = walk('far', 8, (i) => [face(A, 700 + i, 100 + i, 30)]);
    const t = setup(w.scenes, w.frames, { options: { minFaceSize: 40 } });
    await t.run();
    expect(t.checkIns).toEqual([]);
    expect(t.unknowns).toEqual([]); // a far-away face is nobody yet, not a stranger
    expect(t.pipeline.counters()).toMatchObject({ faces: 8, small: 8, matched: 0, decisions: 0 });
  });

  it('an elder walking up: small at first, checked in once close enough', async () => {
    const w = walk('up', 6, (i) => [face(A, 800 + i, 100, 25 + 10 * i)]);
    const t = setup(w.scenes, w.frames, { options: { minFaceSize: 40 } });
    await t.run();
    expect(t.checkIns).toHaveLength(1);
    expect(t.checkIns[0]!.trackId).toBe(1);
    expect(t.pipeline.counters()).toMatchObject({ small: 2 });
  });

  it('gives the same elder a second track after leaving, and passes the recorder\'s answer on', async () => {
    const first = walk('a', 3, (i) => [face(A, 900 + i, 100 + i)]);
    const gone = walk('none', 6, () => []);
    const back = walk('b', 3, (i) => [face(A, 950 + i, 100 + i)]);
    const t = setup({ ...first.scenes, ...gone.scenes, ...back.scenes }, [...first.frames, ...gone.frames, ...back.frames]);
    await t.run();
    expect(t.checkIns.map((c) => [c.trackId, c.result.status])).toEqual([
      [1, 'recorded'],
      [2, 'already-checked-in'],
    ]);
  });

  it('hands the recorder the median anti-spoof score of the frames that agreed', async () => {
    // Frame 0 is too small to match (its score must not count), frames 1-3 agree on a (votes
    // needed: 3), frame 4 comes after the decision.
    const scores = [0.01, 0.9, 0.3, 0.7, 0.02];
    const w = walk('a', 5, (i) => [scored(scores[i]!, A, 2000 + i, 100 + i, i === 0 ? 20 : 100)]);
    const t = setup(w.scenes, w.frames, { options: { voter: { minAgreeing: 3 } } });
    await t.run();
    expect(t.recorder.requests).toEqual([{ elderId: 'a', method: 'face', score: expect.any(Number) as number, cameraId: 'door-1', antispoof: 0.7 }]);
    expect(t.checkIns[0]).toMatchObject({ elderId: 'a', agreeing: 3, antispoof: 0.7, result: { status: 'recorded' } });
  });

  it('asks for no anti-spoof check when the engine gives no score', async () => {
    const w = walk('a', 3, (i) => [face(A, 2100 + i, 100 + i)]);
    const t = setup(w.scenes, w.frames);
    await t.run();
    expect(t.recorder.requests[0]).not.toHaveProperty('antispoof');
    expect(t.checkIns[0]).not.toHaveProperty('antispoof');
  });

  it('passes a check-in held for staff on, and counts it apart from recorded ones', async () => {
    const w = walk('a', 3, (i) => [scored(0.05, A, 2200 + i, 100 + i)]);
    const t = setup(w.scenes, w.frames, { recorder: new FakeRecorder('holds') });
    await t.run();
    expect(t.checkIns.map((c) => c.result.status)).toEqual(['pending-confirmation']);
    expect(t.pipeline.counters()).toMatchObject({ recognised: 1, recorded: 0, held: 1 });
  });

  it('passes outside-meal-window on', async () => {
    const w = walk('a', 3, (i) => [face(A, 1000 + i, 100 + i)]);
    const t = setup(w.scenes, w.frames, { recorder: new FakeRecorder('closed') });
    await t.run();
    expect(t.checkIns.map((c) => c.result)).toEqual([{ status: 'outside-meal-window' }]);
    expect(t.pipeline.counters()).toMatchObject({ recognised: 1, recorded: 0 });
  });

  it('turns a throwing recorder into not-recorded, so the elder is told', async () => {
    const w = walk('a', 3, (i) => [face(A, 1100 + i, 100 + i)]);
    const t = setup(w.scenes, w.frames, { recorder: new FakeRecorder('throws') });
    await t.run();
    expect(t.checkIns.map((c) => c.result)).toEqual([{ status: 'not-recorded', reason: 'disk I/O error' }]);
    expect(t.errors.map((e) => e.kind)).toEqual(['recorder']);
  });

  it('at the end, decides open tracks with too few votes as unknown', async () => {
    // One frame of elder a (one vote, below the rule), then the source ends.
    const t = setup({ one: [face(A, 1200)] }, ['one']);
    await t.run();
    expect(t.checkIns).toEqual([]);
    expect(t.unknowns).toEqual([expect.objectContaining({ trackId: 1, reason: 'no-agreement', bestElderId: 'a', votes: 1, frame: { seq: 0, at: expect.any(Number) as number, label: 'one' } })]);
    expect(t.ended()).toBe(1);
  });

  it('decides a track that ends mid-stream (unseen for maxMissedFrames)', async () => {
    const w = walk('s', 2, (i) => [face(STRANGER, 1300 + i, 100 + i)]);
    const gone = walk('none', 3, () => []);
    const t = setup({ ...w.scenes, ...gone.scenes }, [...w.frames, ...gone.frames], { options: { tracker: { maxMissedFrames: 2 } } });
    await t.run();
    expect(t.unknowns).toHaveLength(1);
    expect(t.unknowns[0]!.frame.label).toBe('none-1');
  });

  it('a gallery replaced while running (Matcher.replace) lets a newly enrolled elder be recognised', async () => {
    // Seen before enrolment (no templates: unknown), leaves, enrolled, comes back.
    const w = walk('a', 3, (i) => [face(A, 1400 + i, 100 + i)]);
    const gone = walk('none', 6, () => []);
    const t = setup({ ...w.scenes, ...gone.scenes }, [...w.frames, ...gone.frames, ...w.frames], { gallery: 'empty' });
    let reloaded = false;
    t.pipeline.on('unknown', (e) => {
      expect(e.reason).toBe('no-templates');
      if (!reloaded) t.matcher.replace(packTemplates([{ elderId: 'a', descriptor: A }]));
      reloaded = true;
    });
    await t.run();
    expect(t.unknowns).toHaveLength(1);
    expect(t.checkIns.map((c) => c.elderId)).toEqual(['a']);
  });

  it('a throwing listener does not end the loop', async () => {
    const w = walk('a', 3, (i) => [face(A, 1500 + i, 100 + i)]);
    const t = setup(w.scenes, w.frames);
    t.pipeline.prependListener('frame', () => {
      throw new Error('bad listener');
    });
    await t.run();
    expect(t.checkIns).toHaveLength(1);
    expect(t.pipeline.counters().frames).toBe(3);
  });

  it('stop() ends a source that never ends, and finishes open tracks', async () => {
    // An endless camera: the same stranger forever, one frame per pull.
    let seq = 0;
    let stopped = false;
    const source: FrameSource = {
      id: 'endless',
      start: async () => {},
      stop: async () => {
        stopped = true;
      },
      next: async (): Promise<Frame | null> => {
        if (stopped) return null;
        await new Promise((r) => setTimeout(r, 1));
        return { seq: seq++, at: seq, image: fakeImage('s') };
      },
    };
    const engine = new FakeEngine({ s: [face(STRANGER, 1600)] });
    const pipeline = new RecognitionPipeline({ source, engine, matcher: new Matcher(packTemplates([{ elderId: 'a', descriptor: A }])), recorder: new FakeRecorder(), logger, options: { cameraId: 'c' } });
    let ended = false;
    pipeline.on('end', () => (ended = true));
    await pipeline.start();
    while (pipeline.counters().frames < 3) await new Promise((r) => setTimeout(r, 5));
    await pipeline.stop();
    expect(ended).toBe(true);
    await expect(pipeline.done()).resolves.toBeUndefined();
    // 3+ frames of one stranger: undecided (cap 5) or decided, counted once either way.
    expect(pipeline.counters().unknown).toBe(1);
  });

  it('keeps retrying a failing source until it recovers', async () => {
    let calls = 0;
    const source: FrameSource = {
      id: 'flaky',
      start: async () => {},
      stop: async () => {},
      next: async () => {
        calls++;
        if (calls <= 3) throw new Error('camera unplugged');
        return calls <= 6 ? { seq: calls, at: calls, image: fakeImage(`a-${calls - 4}`) } : null;
      },
    };
    const w = walk('a', 3, (i) => [face(A, 1700 + i, 100 + i)]);
    const pipeline = new RecognitionPipeline({ source, engine: new FakeEngine(w.scenes), matcher: new Matcher(packTemplates([{ elderId: 'a', descriptor: A }])), recorder: new FakeRecorder(), logger, options: { cameraId: 'c', retryDelayMs: 1 } });
    const kinds: string[] = [];
    pipeline.on('error', (e) => kinds.push(e.kind));
    await pipeline.start();
    await pipeline.done();
    expect(kinds).toEqual(['source', 'source', 'source']);
    expect(pipeline.counters()).toMatchObject({ frames: 3, recorded: 1, errors: 3 });
  });

  it('stop() before start() resolves done()', async () => {
    const t = setup({}, []);
    await t.pipeline.stop();
    await expect(t.pipeline.done()).resolves.toBeUndefined();
  });

  it('runs over a folder of frames (the demo path)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mealcheck-pipeline-'));
    try {
      const w = walk('a', 4, (i) => [face(A, 1800 + i, 100 + i)]);
      for (const [i, label] of w.frames.entries()) await writeFile(join(dir, `frame-${i + 1}.jpg`), label);
      await writeFile(join(dir, 'frame-10.jpg'), 'not a jpeg');
      const source = new FolderFrameSource({ dir, realtime: false });
      const recorder = new FakeRecorder();
      const pipeline = new RecognitionPipeline({ source, engine: new FakeEngine(w.scenes), matcher: new Matcher(packTemplates([{ elderId: 'a', descriptor: A }])), recorder, logger, options: { cameraId: 'demo' } });
      await pipeline.start();
      await pipeline.done();
      expect(recorder.requests.map((r) => r.elderId)).toEqual(['a']);
      expect(pipeline.counters()).toMatchObject({ frames: 5, imageErrors: 1, recorded: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
