/**
 * The kiosk's event hub: the recognition pipelines tell it what the door decided, it turns each
 * decision into what the elder at the door may see and hear, and hands that to every kiosk page
 * connected (web/kiosk-routes.ts streams it as server-sent events).
 *
 * What leaves the hub is only what the screen shows: a tone, the name as `--kiosk-name` allows
 * (masked by default), the message, the audio's id. Never an elder id, a distance, a score, a
 * face or a descriptor.
 */
import type { Clock } from '../../../common/clock.ts';
import type { Meal } from '../../../common/contract.ts';
import { formatMinutes, localTime, type MealWindow } from '../../../common/meal-windows.ts';
import { joinKioskText, kioskMessageParts, MEAL_NAMES_ZH, UNKNOWN_FACE_MESSAGE, type KioskMessageParts, type KioskTone } from '../meals/kiosk-message.ts';
import type { CheckInEvent, DecidingEvent, UnknownEvent } from '../recognition/pipeline.ts';
import { kioskName, spokenName, type KioskNameMode } from './name-mask.ts';

/** One decision, as the page shows and says it. */
export interface KioskDecision {
  type: 'decision';
  /** `<run>-<n>`: increasing within one run of the edge; the stream's SSE id. */
  id: string;
  camera: string;
  tone: KioskTone;
  /** As `--kiosk-name` allows: masked (王*英), whole, or absent. */
  name?: string;
  message: string;
  /** What is said aloud (the name only under `full`): for speechSynthesis when there is no `audio`. */
  speech: string;
  /** `/kiosk/audio/<id>.wav` when the box's voice is ready. */
  audio?: string;
  /**
   * When the decision reached the hub, ms since the epoch on this box's system clock, to the
   * microsecond (performance.timeOrigin + performance.now()): the bench and tests compare it
   * with the page's own clock on the same machine to measure decision → screen.
   */
  decidedAt: number;
}

/** A face is being decided at a camera (请稍候), or no longer. */
export interface KioskDeciding {
  type: 'deciding';
  camera: string;
  deciding: boolean;
}

export interface KioskWindow {
  meal: Meal;
  /** 早餐, 午餐, 晚餐. */
  name: string;
  /** HH:MM in the centre's time zone. */
  start: string;
  end: string;
}

/** The time and the meal windows as the kiosk shows them, from the edge's (trusted) clock. */
export interface KioskTick {
  type: 'tick';
  /** The edge's time, ms since the epoch: the page shows this, not its own (a Pi has no RTC). */
  now: number;
  current: KioskWindow | null;
  /** The next window to open; `tomorrow` when it opens after midnight. */
  next: (KioskWindow & { tomorrow: boolean }) | null;
}

export type KioskStreamMessage = KioskDecision | KioskDeciding | KioskTick;

export interface KioskHubOptions {
  clock: Clock;
  windows: readonly MealWindow[];
  timeZone: string;
  nameMode: KioskNameMode;
  /** The box's voice: the id of a phrase's audio, or undefined without one. */
  speech?: { audioFor(text: string): string | undefined };
  /** Distinguishes this run's ids from an earlier run's (a page reconnecting after a restart). */
  runId?: string;
}

/**
 * Every phrase without a name (all of them under `--kiosk-name masked` or `none`): rendered when
 * the edge starts, so no elder waits for espeak-ng.
 */
export const KIOSK_PHRASES: readonly string[] = [
  ...Object.values(MEAL_NAMES_ZH).map((m) => `${m}签到成功`),
  '签到成功',
  '本餐已签到',
  UNKNOWN_FACE_MESSAGE.message,
  '现在不是就餐时间',
  '签到未成功，请联系工作人员',
  '请稍候，工作人员确认',
];

/** A page that reconnects within this long after a decision is still shown it. */
export const REPLAY_MS = 3000;
const RECENT = 20;

export class KioskHub {
  private readonly listeners = new Set<(m: KioskStreamMessage) => void>();
  private readonly recent: KioskDecision[] = [];
  private readonly runId: string;
  private seq = 0;
  private readonly decidingAt = new Map<string, boolean>();
  /** Decisions published in this run. */
  published = 0;

  constructor(private readonly o: KioskHubOptions) {
    this.runId = o.runId ?? Date.now().toString(36);
  }

  checkIn(e: CheckInEvent): KioskDecision {
    return this.decide(e.cameraId, kioskMessageParts(e.result));
  }

  unknown(e: UnknownEvent): KioskDecision {
    return this.decide(e.cameraId, UNKNOWN_FACE_MESSAGE);
  }

  deciding(e: DecidingEvent): void {
    this.decidingAt.set(e.cameraId, e.deciding);
    this.publish({ type: 'deciding', camera: e.cameraId, deciding: e.deciding });
  }

  /** Cameras where a face is being decided right now. */
  decidingCameras(): string[] {
    return [...this.decidingAt].filter(([, d]) => d).map(([c]) => c);
  }

  /** Receives every message from now on; returns the unsubscribe. A throwing listener is dropped. */
  subscribe(listener: (m: KioskStreamMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get clients(): number {
    return this.listeners.size;
  }

  /**
   * Decisions after `lastId` (an SSE Last-Event-ID) of this run made within REPLAY_MS: a page
   * that lost its connection for a moment still shows the elder standing there. A decision
   * older than that is for someone who has walked on; one of another run is never replayed.
   */
  since(lastId: string | undefined): KioskDecision[] {
    if (!lastId) return [];
    const [run, n] = lastId.split('-');
    if (run !== this.runId || !/^\d+$/.test(n ?? '')) return [];
    const after = Number(n);
    const oldest = wallNow() - REPLAY_MS;
    return this.recent.filter((d) => Number(d.id.split('-')[1]) > after && d.decidedAt >= oldest);
  }

  tick(): KioskTick {
    const now = this.o.clock.now();
    return { type: 'tick', now: now.getTime(), ...windowState(now, this.o.windows, this.o.timeZone) };
  }

  private decide(camera: string, parts: KioskMessageParts): KioskDecision {
    const decidedAt = wallNow();
    const name = kioskName(parts.name, this.o.nameMode);
    const speech = joinKioskText(spokenName(parts.name, this.o.nameMode), parts.message);
    const audio = this.o.speech?.audioFor(speech);
    const d: KioskDecision = { type: 'decision', id: `${this.runId}-${++this.seq}`, camera, tone: parts.tone, ...(name !== undefined ? { name } : {}), message: parts.message, speech, ...(audio ? { audio: `/kiosk/audio/${audio}.wav` } : {}), decidedAt };
    this.recent.push(d);
    if (this.recent.length > RECENT) this.recent.shift();
    this.published++;
    this.publish(d);
    return d;
  }

  private publish(m: KioskStreamMessage): void {
    for (const l of [...this.listeners]) {
      try {
        l(m);
      } catch {
        // A page whose socket broke mid-write: it reconnects; the others still get the message.
        this.listeners.delete(l);
      }
    }
  }
}

/** The box's wall clock, sub-millisecond. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The window open at `now` (if any) and the next one to open, in the centre's zone. */
export function windowState(now: Date, windows: readonly MealWindow[], timeZone: string): Pick<KioskTick, 'current' | 'next'> {
  const { minutes } = localTime(now, timeZone);
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  const view = (w: MealWindow): KioskWindow => ({ meal: w.meal, name: MEAL_NAMES_ZH[w.meal], start: formatMinutes(w.start), end: formatMinutes(w.end) });
  const current = sorted.find((w) => minutes >= w.start && minutes < w.end);
  const later = sorted.find((w) => w.start > minutes);
  const next = later ? { ...view(later), tomorrow: false } : sorted[0] ? { ...view(sorted[0]), tomorrow: true } : null;
  return { current: current ? view(current) : null, next };
}
