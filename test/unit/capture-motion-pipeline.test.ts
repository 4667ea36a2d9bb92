/**
 * The pipeline's frame-cost logic: the motion gate (skip still frames while nothing is
 * tracked) and describing only faces whose track still needs a descriptor.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { FrameGate } from '../../edge/src/capture/motion-gate.ts';
import type { CheckInRecorder, CheckInRequest, CheckInResult } from '../../edge/src/meals/check-in.ts';
import { Matcher, packTemplates } from '../../edge/src/recognition/matcher.ts';
import { RecognitionPipeline, type CheckInEvent } from '../../edge/src/recognition/pipeline.ts';
import { iou } from '../../edge/src/vision/face-engine.ts';
import type { DetectedFace, DetectOptions, EngineImage, FaceBox } from '../../edge/src/vision/face-engine.ts';
import { descriptorAt, FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor, type FakeScene } from '../helpers/fake-engine.ts';

const A = syntheticDescriptor(11);
const B = syntheticDescriptor(12);
const logger = createLogger('test', 'silent');
const decoder = new TextDecoder();
const label = (image: EngineImage) => (image.kind === 'encoded' ? decoder.decode(image.bytes) : '?');

class Recorder implements CheckInRecorder {
  record(req: CheckInRequest): CheckInResult {
    return { status: 'recorded', checkIn: { eventId: 'e', elderId: req.elderId, elderName: req.elderId, serviceDate: '2025-01-01', meal: 'lunch', at: '2025-01-01T11:30:00.000Z', method: 'face' } };
  }
}

/** Says "changed" only for the labels given. */
class ScriptedGate implements FrameGate {
  readonly seen: string[] = [];
  constructor(private readonly moving: ReadonlySet<string>) {}
  async changed(image: EngineImage): Promise<boolean> {
    this.seen.push(label(image));
    return this.moving.has(label(image));
  }
}

/** A FakeEngine that honours skipDescribe the way the worker does (IoU >= 0.5: box only). */
class SkippingEngine extends FakeEngine {
  readonly skips: FaceBox[][] = [];
  override async detect(image: EngineImage, opts: DetectOptions = {}): Promise<DetectedFace[]> {
    const faces = await super.detect(image);
    const skip = opts.skipDescribe ?? [];
    this.skips.push([...skip]);
    return faces.map((f) => (skip.some((b) => iou(b, f.box) >= 0.5) ? { ...f, landmarks: [], descriptor: new Float32Array(0) } : f));
  }
}

const at = (base: Float32Array, seed: number, x: number): DetectedFace => fakeFace({ descriptor: descriptorAt(base, 0.1, seed), box: { x, y: 100, width: 100, height: 100 } });

function run(scenes: Record<string, FakeScene>, frames: string[], gate?: FrameGate, engine = new FakeEngine(scenes)) {
  const matcher = new Matcher(packTemplates([
    { elderId: 'a', descriptor: A },
    { elderId: 'b', descriptor: B },
  ]));
  const pipeline = new RecognitionPipeline({ source: new MemoryFrameSource(frames), engine, matcher, recorder: new Recorder(), logger, ...(gate ? { gate } : {}), options: { cameraId: 'door-1', voter: { strongDistance: 0 } } });
  const checkIns: CheckInEvent[] = [];
  pipeline.on('check-in', (e) => checkIns.push(e));
  return {
    engine,
    pipeline,
    checkIns,
    done: (async () => {
      await pipeline.start();
      await pipeline.done();
    })(),
  };
}

describe('pipeline with a motion gate', () => {
  it('does not analyse still frames while nothing is tracked', async () => {
    const t = run({ empty: [] }, ['empty', 'empty', 'empty', 'empty'], new ScriptedGate(new Set()));
    await t.done;
    expect(t.engine.calls).toEqual([]);
    expect(t.pipeline.counters()).toMatchObject({ frames: 4, still: 4 });
  });

  it('analyses a frame that moved, and every frame while a face is tracked, still or not', async () => {
    const frames = ['empty', 'a-0', 'a-1', 'a-2', 'gone', 'gone', 'gone', 'gone', 'gone', 'gone', 'gone'];
    const scenes: Record<string, FakeScene> = { empty: [], gone: [], 'a-0': [at(A, 1, 100)], 'a-1': [at(A, 2, 104)], 'a-2': [at(A, 3, 108)] };
    // Only the arrival moves; the elder then stands still, and leaves without the gate noticing.
    const gate = new ScriptedGate(new Set(['a-0']));
    const t = run(scenes, frames, gate);
    await t.done;
    expect(gate.seen).toEqual(frames);
    expect(t.checkIns.map((c) => c.elderId)).toEqual(['a']);
    // a-0..a-2 analysed, then 'gone' until the track ends (5 missed frames), then gated again.
    expect(t.engine.calls).toEqual(['a-0', 'a-1', 'a-2', 'gone', 'gone', 'gone', 'gone', 'gone']);
    expect(t.pipeline.counters()).toMatchObject({ frames: 11, still: 3 });
  });

  it('analyses every frame without a gate', async () => {
    const t = run({ empty: [] }, ['empty', 'empty', 'empty']);
    await t.done;
    expect(t.engine.calls).toEqual(['empty', 'empty', 'empty']);
    expect(t.pipeline.counters()).toMatchObject({ frames: 3, still: 0 });
  });
});

describe('pipeline describing only undecided tracks', () => {
  it('asks for no descriptor on a decided track, except one frame in three', async () => {
    const frames: string[] = [];
    const scenes: Record<string, FakeScene> = {};
    for (let i = 0; i < 9; i++) {
      scenes[`a-${i}`] = [at(A, i + 1, 100 + 2 * i)];
      frames.push(`a-${i}`);
    }
    const engine = new SkippingEngine(scenes);
    const t = run(scenes, frames, undefined, engine);
    await t.done;
    expect(t.checkIns.map((c) => c.elderId)).toEqual(['a']);
    // Decided on a-1; from a-2 on: skip, skip, describe, skip, skip, describe, ...
    expect(engine.skips.map((s) => s.length)).toEqual([0, 0, 1, 1, 0, 1, 1, 0, 1]);
    expect(t.pipeline.counters()).toMatchObject({ frames: 9, faces: 9, matched: 2, decisions: 1, errors: 0 });
  });

  it('still checks in the next elder who steps into the spot of one already decided', async () => {
    const frames: string[] = [];
    const scenes: Record<string, FakeScene> = {};
    for (let i = 0; i < 4; i++) {
      scenes[`a-${i}`] = [at(A, i + 1, 100 + 2 * i)];
      frames.push(`a-${i}`);
    }
    // B takes A's place at once: the boxes overlap, only the descriptor tells them apart.
    for (let i = 0; i < 6; i++) {
      scenes[`b-${i}`] = [at(B, 50 + i, 108 + 2 * i)];
      frames.push(`b-${i}`);
    }
    const engine = new SkippingEngine(scenes);
    const t = run(scenes, frames, undefined, engine);
    await t.done;
    expect(t.checkIns.map((c) => c.elderId)).toEqual(['a', 'b']);
    // a-3 was described (re-verification), so b-0 is left undescribed at most twice.
    const bDecidedAt = t.checkIns[1]!.frame.label!;
    expect(['b-1', 'b-2', 'b-3']).toContain(bDecidedAt);
  });
});
