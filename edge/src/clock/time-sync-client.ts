/**
 * The edge's side of the time protocol (contract v1 `TimeRequest`/`TimeReply`): asks the server
 * for the time on the box's own `time` topic and hands each answer, with the monotonic times the
 * request left and the reply came, to the trusted clock as a sample (trusted-clock.ts).
 *
 * It rides on the forwarder's MQTT connection (sync/forwarder.ts), which tells it when the
 * connection comes up and goes down, ticks it, and passes on the time replies that arrive on
 * the `receipts` topic. It knows nothing else of MQTT: it publishes through the function it is
 * given at each connect.
 *
 * - a request on every connect (the forwarder asks before it sends the backlog of meals, so the
 *   answer is not queued behind it), then every `retryMs` until the first answer of the run,
 *   then every `refreshMs` (a better sample replaces a worse one);
 * - QoS 0: a late answer is worth nothing, a lost one is asked again;
 * - a broker whose rules predate the `time` topic may drop the connection on each request (MQTT
 *   3.1.1 has no per-message refusal): after three drops right after an unanswered request it
 *   stops asking for half an hour, so the time request cannot cut off the delivery of meals.
 */
import { randomUUID } from 'node:crypto';
import { CONTRACT_VERSION, type TimeReply, type TimeRequest } from '../../../common/contract.ts';
import type { Logger } from '../../../common/logger.ts';
import type { TrustedClock } from './trusted-clock.ts';

/** What the client needs of the clock: somewhere for samples, and the monotonic time they use. */
export type TimeSampleSink = Pick<TrustedClock, 'addSample' | 'isSynced' | 'monoNow'>;

/** Publishes `payload` on `topic` at QoS 0; `done` gets the error when it could not be sent. */
export type TimePublish = (topic: string, payload: string, done: (err?: Error) => void) => void;

export interface TimeSyncOptions {
  /** The box's own `time` topic (topics.time). */
  topic: string;
  /** Ask this often until the first answer of the run. */
  retryMs: number;
  /** ...and this often after it. */
  refreshMs: number;
}

export interface TimeSyncDeps {
  time: TimeSampleSink;
  logger: Logger;
}

/** Requests that may still be answered; older ones are forgotten. */
const MAX_PENDING = 4;
/** Unanswered requests after which the log says that nobody seems to answer them. */
const UNANSWERED_WARNING = 8;
/** A connection lost this soon after a request (ms) counts as dropped because of it. */
const DROP_WINDOW_MS = 3_000;
const DROPS_BEFORE_PAUSE = 3;
const PAUSE_MS = 30 * 60_000;

export class TimeSyncClient {
  /** Time requests waiting for an answer: id -> monotonic send time (a few at most). */
  private readonly requests = new Map<string, number>();
  private publish: TimePublish | null = null;
  private lastRequestAt = -Infinity;
  /** Connections lost right after a time request that got no answer (see closed()). */
  private drops = 0;
  /** Time requests sent since the last answer. */
  private unanswered = 0;
  /** Monotonic time before which no time request goes out (after repeated drops). */
  private pausedUntil = -Infinity;

  constructor(
    private readonly o: TimeSyncOptions,
    private readonly deps: TimeSyncDeps,
  ) {}

  /** The connection is up: requests go out through `publish` until closed(). */
  connected(publish: TimePublish): void {
    this.publish = publish;
  }

  /** Asks now (the forwarder calls it once the replies' topic is subscribed). */
  ask(): void {
    this.request();
  }

  /**
   * The connection is gone (`wasUp`: it had been up, not an attempt that failed). Pending
   * requests are forgotten: their answers, if any, went to the old connection.
   */
  closed(wasUp: boolean): void {
    const now = this.deps.time.monoNow();
    if (wasUp && this.requests.size > 0 && now - this.lastRequestAt < DROP_WINDOW_MS && ++this.drops >= DROPS_BEFORE_PAUSE) {
      this.drops = 0;
      this.pausedUntil = now + PAUSE_MS;
      this.deps.logger.error(
        { topic: this.o.topic },
        'the connection drops right after each time request: not asking the server for the time for 30 min (is the server older than the edge? re-run broker-config for Mosquitto)',
      );
    }
    this.requests.clear();
    this.publish = null;
  }

  /** Called now and then while connected: asks again when it is time to. */
  tick(): void {
    const { time } = this.deps;
    if (time.monoNow() - this.lastRequestAt >= (time.isSynced() ? this.o.refreshMs : this.o.retryMs)) this.request();
  }

  /** A time reply arrived (already parsed against the contract). */
  reply(reply: TimeReply): void {
    const { time, logger } = this.deps;
    const sentAt = this.requests.get(reply.time.id);
    if (sentAt === undefined) {
      logger.debug({ id: reply.time.id }, 'time reply to no pending request ignored');
      return;
    }
    this.requests.delete(reply.time.id);
    this.drops = 0;
    this.unanswered = 0;
    const verdict = time.addSample({ serverMs: Date.parse(reply.time.serverTime), sentMono: sentAt, receivedMono: time.monoNow() });
    if (!verdict.used && verdict.reason !== 'a better sample is kept') logger.warn({ reason: verdict.reason, serverTime: reply.time.serverTime }, 'time reply not used');
  }

  private request(): void {
    const publish = this.publish;
    if (!publish) return;
    const sentAt = this.deps.time.monoNow();
    if (sentAt < this.pausedUntil) return;
    const id = randomUUID();
    this.lastRequestAt = sentAt;
    if (this.requests.size >= MAX_PENDING) this.requests.delete(this.requests.keys().next().value!);
    this.requests.set(id, sentAt);
    if (++this.unanswered === UNANSWERED_WARNING) {
      // Mosquitto drops a refused QoS 0 publish silently: without an answer the clock stays as it is.
      this.deps.logger.warn({ topic: this.o.topic }, 'no answer to 8 time requests: is the server older than the edge, or the broker ACL not regenerated (mealcheck broker-config)?');
    }
    const request: TimeRequest = { v: CONTRACT_VERSION, id };
    publish(this.o.topic, JSON.stringify(request), (err) => {
      if (err) this.deps.logger.debug({ err: err.message }, 'time request not sent');
    });
  }
}
