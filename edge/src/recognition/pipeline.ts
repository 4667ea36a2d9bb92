/**
 * The check-in loop for one camera: frame → faces → tracks → matches → votes → check-in.
 *
 * Expected outcomes (a stranger, an elder already checked in, a bad frame) are events and
 * counters, never exceptions: the loop runs for as long as the source gives frames. The engine
 * is shared with enrolment, so the pipeline uses it but does not start or stop it; the frame
 * source belongs to the pipeline (one pipeline per camera) and is started and stopped with it.
 */
import { EventEmitter } from 'node:events';
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../common/logger.ts';
import type { FrameSource, Frame } from '../capture/frame-source.ts';
import type { FrameGate } from '../capture/motion-gate.ts';
import type { CheckInRecorder, CheckInResult, CheckInReviewKind } from '../meals/check-in.ts';
import { ImageError, type DetectedFace, type DetectOptions, type EngineImage, type FaceBox, type FaceEngine } from '../vision/face-engine.ts';
import { withDefaults } from './defaults.ts';
import { checkQuality, type QualityOptions } from './quality.ts';
import type { Matcher, MatchResult } from './matcher.ts';
import { FaceTracker, type TrackerOptions } from './tracker.ts';
import { Voter, type VoteDecision, type VoterOptions, type VoteUnknownReason } from './voter.ts';

export interface RecognitionPipelineOptions {
  /** Camera id recorded on face check-ins (topic-safe, see `isValidId`). */
  cameraId: string;
  /** Faces whose shorter box side is below this (px) are tracked but never matched. */
  minFaceSize: number;
  /** First wait after an engine or source failure; doubles per failure in a row. */
  retryDelayMs: number;
  /** Longest wait between retries. */
  maxRetryDelayMs: number;
  tracker: Partial<TrackerOptions>;
  voter: Partial<VoterOptions>;
  /** Quality gate before matching (pose, light, blur); its size floor is `minFaceSize`. */
  quality: Partial<QualityOptions>;
}

/** A decided track's face is described on one frame in this many (see detectOptions). */
const REVERIFY_EVERY = 3;

export const DEFAULT_PIPELINE_OPTIONS: Readonly<Omit<RecognitionPipelineOptions, 'cameraId'>> = {
  minFaceSize: 40,
  retryDelayMs: 500,
  maxRetryDelayMs: 10_000,
  tracker: {},
  voter: {},
  quality: {},
};

export interface RecognitionPipelineDeps {
  source: FrameSource;
  engine: FaceEngine;
  /** Holds the centre's templates; the edge swaps them in place after an enrolment (Matcher.replace, Edge.reloadTemplates). */
  matcher: Matcher;
  recorder: CheckInRecorder;
  logger: Logger;
  options: Partial<RecognitionPipelineOptions> & Pick<RecognitionPipelineOptions, 'cameraId'>;
  /**
   * Motion gate: while no face is tracked, frames it calls unchanged are not analysed (a
   * static scene then costs a thumbnail per frame, not a detection). None: every frame is.
   */
  gate?: FrameGate;
  /**
   * Where faces that need a person go (review/review-service.ts): a stranger who stayed, a
   * match inside the margin, a held anti-spoof suspect, a check-in the recorder held for review
   * (`not-recorded` with `review`: the clock rules). None: nothing is kept.
   */
  review?: ReviewSink;
}

/** Unknown tracks with at least this many votes "stayed at the door" and are kept for review. */
export const REVIEW_MIN_VOTES = 2;

/**
 * A face the door could not settle, for staff: the frame it was largest in and its box, the
 * elders it came closest to. The image stays on the box (the sink crops and stores it there).
 */
export interface ReviewFace {
  kind: 'unknown' | 'margin' | 'antispoof' | CheckInReviewKind;
  cameraId: string;
  /** When it was at the door, ms since epoch (the frame's capture time). */
  at: number;
  image: EngineImage;
  box: FaceBox;
  nearest: Array<{ elderId: string; distance: number }>;
  /** The anti-spoof hold it is (`antispoof`). */
  confirmationId?: string;
}

/** The review queue's port: keeps a face for staff; never throws, never blocks the loop. */
export interface ReviewSink {
  keep(face: ReviewFace): void;
}

/** Per open track: its best look so far (largest matched face) and the elders it came close to. */
interface TrackLook {
  image: EngineImage;
  box: FaceBox;
  size: number;
  at: number;
  nearest: Map<string, number>;
}

/** Where and when a decision was made (never the image or descriptor: they stay in memory). */
export interface FrameRef {
  seq: number;
  at: number;
  label?: string;
}

export interface CheckInEvent {
  cameraId: string;
  trackId: number;
  elderId: string;
  /** Mean match distance over the agreeing frames (lower is closer). */
  distance: number;
  /** Frames that agreed / frames matched. */
  agreeing: number;
  votes: number;
  /** Anti-spoof hint: median over the agreeing frames that had one; absent = not measured. */
  antispoof?: number;
  /** What the recorder made of it (`pending-confirmation`: held for staff): tell the elder exactly this. */
  result: CheckInResult;
  frame: FrameRef;
}

export interface UnknownEvent {
  cameraId: string;
  trackId: number;
  reason: VoteUnknownReason;
  /** Closest enrolled elder, for staff review; never a check-in. */
  bestElderId?: string;
  distance?: number;
  votes: number;
  frame: FrameRef;
}

export interface FrameEvent {
  cameraId: string;
  frame: FrameRef;
  /** Faces detected, and how many of those were matched (large enough, track undecided). */
  faces: number;
  matched: number;
  /** Engine time for this frame. */
  detectMs: number;
}

/**
 * The door started or stopped deciding: `deciding` is true while some face is being voted on
 * (matched at least once, no decision yet), so the kiosk can say "请稍候". Emitted on change only.
 */
export interface DecidingEvent {
  cameraId: string;
  deciding: boolean;
  frame: FrameRef;
}

export type PipelineErrorKind = 'image' | 'engine' | 'source' | 'recorder' | 'listener';

export interface PipelineErrorEvent {
  cameraId: string;
  kind: PipelineErrorKind;
  error: Error;
  frame?: FrameRef;
}

export interface PipelineCounters {
  /** Frames taken from the source. */
  frames: number;
  /** Frames not analysed: the motion gate saw no change and no face was being tracked. */
  still: number;
  /** Faces detected, over all frames. */
  faces: number;
  /** Faces matched against the templates. */
  matched: number;
  /** Faces skipped for being smaller than `minFaceSize`. */
  small: number;
  /** Faces refused by the quality gate for pose, light or blur. */
  lowQuality: number;
  /** Tracks decided (recognised + unknown). */
  decisions: number;
  /** Recognised tracks handed to the recorder, and how many of those it recorded. */
  recognised: number;
  recorded: number;
  /** Recognised tracks held for staff: confirmation (anti-spoof hint below the threshold), or the review queue (the clock rules). */
  held: number;
  /** Tracks decided unknown: one per stranger, not per frame. */
  unknown: number;
  /** All failures; `imageErrors` is the share caused by bad frames. */
  errors: number;
  imageErrors: number;
}

export interface PipelineEvents {
  'check-in': [CheckInEvent];
  unknown: [UnknownEvent];
  frame: [FrameEvent];
  deciding: [DecidingEvent];
  /** Emitted only when someone listens (an unheard 'error' must not throw inside the loop). */
  error: [PipelineErrorEvent];
  /** The source has ended and every open track has been finished. */
  end: [PipelineCounters];
}

export class RecognitionPipeline extends EventEmitter<PipelineEvents> {
  private readonly source: FrameSource;
  private readonly gate: FrameGate | undefined;
  private readonly review: ReviewSink | undefined;
  /** Only with a review sink. */
  private readonly looks = new Map<number, TrackLook>();
  private readonly engine: FaceEngine;
  private readonly matcher: Matcher;
  private readonly recorder: CheckInRecorder;
  private readonly log: Logger;
  private readonly options: RecognitionPipelineOptions;
  private readonly tracker: FaceTracker;
  private readonly voter: Voter;
  private readonly counts: PipelineCounters = { frames: 0, still: 0, faces: 0, matched: 0, small: 0, lowQuality: 0, decisions: 0, recognised: 0, recorded: 0, held: 0, unknown: 0, errors: 0, imageErrors: 0 };
  private running = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private readonly retryAbort = new AbortController();
  private lastFrame: FrameRef | undefined;
  /** Per open track, frames in a row it came back without a descriptor. */
  private readonly undescribed = new Map<number, number>();
  /** Last `deciding` state told to listeners. */
  private deciding = false;

  constructor(deps: RecognitionPipelineDeps) {
    super();
    this.source = deps.source;
    this.gate = deps.gate;
    this.review = deps.review;
    this.engine = deps.engine;
    this.matcher = deps.matcher;
    this.recorder = deps.recorder;
    this.log = deps.logger;
    this.options = withDefaults<RecognitionPipelineOptions>({ ...DEFAULT_PIPELINE_OPTIONS, cameraId: deps.options.cameraId }, deps.options);
    this.tracker = new FaceTracker(this.options.tracker);
    this.voter = new Voter(this.options.voter);
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** Starts the source and the loop; resolves once frames are being pulled. */
  async start(): Promise<void> {
    if (this.loop) return; // once only: a pipeline is not restarted, build a new one
    await this.source.start();
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the source, finishes open tracks, resolves when the loop has ended. */
  async stop(): Promise<void> {
    if (!this.loop) {
      // Never started (or start() failed): nothing to finish, but done() must not hang.
      this.resolveFinished();
      return;
    }
    if (!this.running) return;
    this.stopping = true;
    this.retryAbort.abort();
    try {
      await this.source.stop();
    } finally {
      await this.loop;
    }
  }

  /** Resolves when the loop has ended (source ended or stop()), after 'end' is emitted. */
  done(): Promise<void> {
    return this.finished;
  }

  counters(): Readonly<PipelineCounters> {
    return { ...this.counts };
  }

  private async run(): Promise<void> {
    let failures = 0;
    try {
      while (!this.stopping) {
        let frame: Frame | null;
        try {
          frame = await this.source.next();
        } catch (err) {
          this.fail('source', err);
          await this.backoff(++failures);
          continue;
        }
        if (frame === null) break;
        this.counts.frames++;
        if (this.gate && !(await this.gate.changed(frame.image)) && this.tracker.open.length === 0) {
          this.counts.still++;
          continue;
        }

        let faces: DetectedFace[];
        const t0 = performance.now();
        try {
          faces = await this.engine.detect(frame.image, this.detectOptions());
        } catch (err) {
          if (err instanceof ImageError) {
            this.counts.imageErrors++;
            this.fail('image', err, frame);
            continue;
          }
          this.fail('engine', err, frame);
          await this.backoff(++failures);
          continue;
        }
        failures = 0;
        this.processFaces(frame, faces, performance.now() - t0);
      }
      this.finishTracks();
    } catch (err) {
      // A bug in the loop itself: log it loudly, and still end cleanly so done() resolves.
      this.fail('engine', err);
    } finally {
      this.running = false;
      this.safeEmit('end', this.counters());
      this.log.info({ camera: this.options.cameraId, ...this.counts }, 'recognition pipeline ended');
      this.resolveFinished();
    }
  }

  /**
   * Decided tracks need no descriptor, except every REVERIFY_EVERY-th frame: then the
   * tracker's appearance gate can still tell when the next elder in a queue steps into the
   * spot of one already checked in (their boxes overlap, their faces do not).
   */
  private detectOptions(): DetectOptions {
    const skipDescribe: FaceBox[] = [];
    for (const t of this.tracker.open) {
      if (this.voter.isDecided(t.id) && t.missed === 0 && (this.undescribed.get(t.id) ?? 0) < REVERIFY_EVERY - 1) skipDescribe.push(t.box);
    }
    return skipDescribe.length ? { skipDescribe } : {};
  }

  private processFaces(frame: Frame, faces: DetectedFace[], detectMs: number): void {
    const ref = frameRef(frame);
    this.lastFrame = ref;
    this.counts.faces += faces.length;
    // An undescribed face (a decided track's) follows its track by box alone.
    const update = this.tracker.update(
      frame.seq,
      faces.map((f) => f.box),
      faces.map((f) => (f.descriptor.length > 0 ? f.descriptor : undefined)),
    );
    let matched = 0;
    for (const a of update.assignments) {
      const face = faces[a.index]!;
      this.undescribed.set(a.trackId, face.descriptor.length > 0 ? 0 : (this.undescribed.get(a.trackId) ?? 0) + 1);
      if (this.voter.isDecided(a.trackId) || face.descriptor.length === 0) continue;
      const size = Math.min(face.box.width, face.box.height);
      const quality = checkQuality(face, { ...this.options.quality, minFaceSize: this.options.minFaceSize });
      if (!quality.ok) {
        if (quality.reason === 'too-small') this.counts.small++;
        else this.counts.lowQuality++;
        continue;
      }
      let match: MatchResult;
      try {
        match = this.matcher.match(face.descriptor);
      } catch (err) {
        // A malformed descriptor from the engine: skip the face, keep the loop.
        this.fail('engine', err, frame);
        continue;
      }
      matched++;
      this.counts.matched++;
      if (this.review) this.look(a.trackId, frame, face.box, size, match);
      // The anti-spoof score travels with the vote, so only frames that agreed on the elder count.
      const decision = this.voter.add(a.trackId, face.antispoof === undefined ? { match, faceSize: size } : { match, faceSize: size, antispoof: face.antispoof });
      if (decision) this.onDecision(a.trackId, decision, ref);
    }
    for (const t of update.ended) {
      this.undescribed.delete(t.id);
      const decision = this.voter.end(t.id);
      if (decision) this.onDecision(t.id, decision, ref);
      this.looks.delete(t.id);
    }
    this.updateDeciding(ref);
    this.safeEmit('frame', { cameraId: this.options.cameraId, frame: ref, faces: faces.length, matched, detectMs });
  }

  private finishTracks(): void {
    // Decisions made at the end are dated by the last frame processed.
    const last = this.lastFrame ?? { seq: -1, at: 0 };
    for (const t of this.tracker.finish()) {
      const decision = this.voter.end(t.id);
      if (decision) this.onDecision(t.id, decision, last);
    }
    this.looks.clear();
    this.updateDeciding(last);
  }

  private updateDeciding(frame: FrameRef): void {
    const deciding = this.tracker.open.some((t) => this.voter.isVoting(t.id));
    if (deciding === this.deciding) return;
    this.deciding = deciding;
    this.safeEmit('deciding', { cameraId: this.options.cameraId, deciding, frame });
  }

  private onDecision(trackId: number, d: VoteDecision, frame: FrameRef): void {
    this.counts.decisions++;
    const cameraId = this.options.cameraId;
    switch (d.kind) {
      case 'recognised': {
        this.counts.recognised++;
        let result: CheckInResult;
        try {
          result = this.recorder.record({ elderId: d.elderId, method: 'face', score: d.distance, cameraId, ...(d.antispoof !== undefined ? { antispoof: d.antispoof } : {}) });
        } catch (err) {
          // The recorder should return `not-recorded` itself; if it throws, the elder must
          // still be told that nothing was recorded.
          this.fail('recorder', err, frame);
          result = { status: 'not-recorded', reason: err instanceof Error ? err.message : String(err) };
        }
        if (result.status === 'recorded') this.counts.recorded++;
        if (result.status === 'pending-confirmation' || (result.status === 'not-recorded' && result.review !== undefined)) this.counts.held++;
        const antispoof = d.antispoof === undefined ? undefined : round(d.antispoof);
        this.log.info({ camera: cameraId, trackId, elderId: d.elderId, distance: round(d.distance), votes: d.votes, antispoof, status: result.status }, 'face check-in');
        const ev: CheckInEvent = { cameraId, trackId, elderId: d.elderId, distance: d.distance, agreeing: d.agreeing, votes: d.votes, result, frame };
        if (d.antispoof !== undefined) ev.antispoof = d.antispoof;
        if (result.status === 'pending-confirmation') this.keepForReview(trackId, 'antispoof', result.confirmation.id);
        else if (result.status === 'not-recorded' && result.review !== undefined) this.keepForReview(trackId, result.review);
        else this.looks.delete(trackId);
        this.safeEmit('check-in', ev);
        break;
      }
      case 'unknown': {
        this.counts.unknown++;
        this.log.info({ camera: cameraId, trackId, reason: d.reason, bestElderId: d.bestElderId, distance: d.distance === undefined ? undefined : round(d.distance), votes: d.votes }, 'unknown face');
        const ev: UnknownEvent = { cameraId, trackId, reason: d.reason, votes: d.votes, frame };
        if (d.bestElderId !== undefined) ev.bestElderId = d.bestElderId;
        if (d.distance !== undefined) ev.distance = d.distance;
        if (d.reason === 'above-threshold') {
          if (d.votes >= REVIEW_MIN_VOTES) this.keepForReview(trackId, 'unknown');
        } else if (d.reason !== 'no-templates') {
          this.keepForReview(trackId, 'margin');
        }
        this.looks.delete(trackId);
        this.safeEmit('unknown', ev);
        break;
      }
    }
  }

  /** Remembers the track's largest face (its frame is only referenced) and the elders near it. */
  private look(trackId: number, frame: Frame, box: FaceBox, size: number, match: MatchResult): void {
    let l = this.looks.get(trackId);
    if (!l || size > l.size) {
      l = { image: frame.image, box: { ...box }, size, at: frame.at, nearest: l?.nearest ?? new Map() };
      this.looks.set(trackId, l);
    }
    const near = (elderId: string | undefined, distance: number | undefined) => {
      if (elderId === undefined || distance === undefined) return;
      const d = l.nearest.get(elderId);
      if (d === undefined || distance < d) l.nearest.set(elderId, distance);
    };
    if (match.kind === 'recognised') {
      near(match.elderId, match.distance);
      near(match.secondElderId, match.secondDistance);
    } else {
      near(match.bestElderId, match.distance);
      near(match.secondElderId, match.secondDistance);
    }
  }

  private keepForReview(trackId: number, kind: ReviewFace['kind'], confirmationId?: string): void {
    const l = this.looks.get(trackId);
    this.looks.delete(trackId);
    if (!this.review || !l) return;
    const face: ReviewFace = { kind, cameraId: this.options.cameraId, at: l.at, image: l.image, box: l.box, nearest: [...l.nearest].map(([elderId, distance]) => ({ elderId, distance })) };
    if (confirmationId !== undefined) face.confirmationId = confirmationId;
    try {
      this.review.keep(face);
    } catch (err) {
      this.fail('listener', err);
    }
  }

  private fail(kind: PipelineErrorKind, err: unknown, frame?: Frame | FrameRef): void {
    this.counts.errors++;
    const error = err instanceof Error ? err : new Error(String(err));
    const ref = frame ? frameRef(frame) : undefined;
    if (kind === 'image') this.log.warn({ camera: this.options.cameraId, frame: ref, code: (error as ImageError).code, msg: error.message }, 'bad frame skipped');
    else this.log.error({ camera: this.options.cameraId, frame: ref, err: error }, `${kind} failure`);
    if (kind !== 'listener' && this.listenerCount('error') > 0) this.safeEmit('error', { cameraId: this.options.cameraId, kind, error, ...(ref ? { frame: ref } : {}) });
  }

  /** A throwing listener must not end the loop. */
  private safeEmit<K extends keyof PipelineEvents>(event: K, ...args: PipelineEvents[K]): void {
    try {
      // The generic parameters of EventEmitter<T>.emit do not narrow through K here.
      (this.emit as (e: K, ...a: PipelineEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.fail('listener', err);
    }
  }

  private async backoff(failures: number): Promise<void> {
    const ms = Math.min(this.options.maxRetryDelayMs, this.options.retryDelayMs * 2 ** Math.min(failures - 1, 16));
    if (this.stopping) return;
    // Even with no delay, yield to I/O: a source that fails at once would otherwise spin on microtasks.
    if (ms <= 0) return void (await yieldToIo());
    try {
      await sleep(ms, undefined, { signal: this.retryAbort.signal });
    } catch {
      // Aborted by stop().
    }
  }
}

function frameRef(f: Frame | FrameRef): FrameRef {
  return f.label === undefined ? { seq: f.seq, at: f.at } : { seq: f.seq, at: f.at, label: f.label };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
