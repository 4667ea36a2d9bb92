/**
 * MQTT ingest: takes event batches from the edge boxes, stores them idempotently and answers
 * each with a receipt naming the eventIds the server has committed. The receipt, not the
 * broker's PUBACK, is what lets an edge delete a meal from its outbox.
 *
 * It also answers each box's time requests (`time` topic) on the box's `receipts` topic with the
 * server's clock, so a box without a real-time clock learns the time (edge: clock/trusted-clock.ts).
 *
 * Every message is acknowledged to the broker, valid or not: a bad message is kept in
 * dead_letters, never redelivered forever (no poison loop). Valid event batches are committed in
 * groups (group commit: one fsync for up to GROUP_MAX batches) and acknowledged as they are
 * queued. Nothing is lost by either, because an edge re-sends whatever has no receipt.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  CONTRACT_VERSION,
  DeviceStatusSchema,
  isMealEvent,
  MAX_PAYLOAD_BYTES,
  parseEventBatch,
  parseTimeRequest,
  topics,
  type DeviceStatus,
  type EventBatch,
  type MealEvent,
  type Receipt,
  type RecordEvent,
  type TimeReply,
} from '../../../../common/contract.ts';
import type { Clock } from '../../../../common/clock.ts';
import { redactUrl, type Logger } from '../../../../common/logger.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { deadLetterDevice, type DeadLetterRepository, type DeadLetterStatus } from './dead-letter-repository.ts';
import type { DeviceRepository } from './device-repository.ts';
import type { RecordIngest } from '../records/record-ingest.ts';
import type { IngestResult, MealRepository } from './meal-repository.ts';

/** How long a broker keeps the ingest session (subscription and queued events) while the server is away. */
export const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;

export interface MqttIngestOptions {
  /** Broker URL; credentials may be in it (`mqtt://user:pass@host:1883`). */
  url: string;
  /** 5 for brokers that speak it (Mosquitto); 4 for the embedded aedes. */
  protocolVersion: 4 | 5;
  /** Fixed per server, so the broker keeps the persistent session across restarts. */
  clientId: string;
  /** Credentials, when not in the URL (the embedded broker's generated server login). */
  username?: string;
  password?: string;
  /** CA certificates (PEM) for an mqtts:// broker with a private CA; default: the system's. */
  ca?: Buffer;
  db: Db;
  meals: MealRepository;
  /** Records (voids, elders, audit rows) in the batches; without it, every record is rejected to dead letters. */
  records?: RecordIngest;
  deadLetters: DeadLetterRepository;
  devices: DeviceRepository;
  clock: Clock;
  logger: Logger;
  /** How long `start()` waits for the first subscription before carrying on (it keeps retrying). */
  readyTimeoutMs?: number;
}

export type MessageOutcome =
  | { kind: 'ingested'; result: IngestResult }
  | { kind: 'status'; state: DeviceStatus['state'] }
  /** A time request, answered with `serverTime`. */
  | { kind: 'time'; serverTime: string }
  | { kind: 'ignored' }
  | { kind: 'dead-letter'; reason: string }
  | { kind: 'failed'; reason: string };

export interface MqttIngest {
  /** Connects and subscribes; resolves once subscribed, or after `readyTimeoutMs` if the broker is away. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the first subscription is in place. */
  readonly ready: Promise<void>;
  /** Handles one message; exposed so the message handling can be tested without a broker. */
  handle(topic: string, payload: Buffer): MessageOutcome;
  /**
   * Takes one message as the broker's stream delivers it (group commit: a valid event batch
   * waits for the others read with it); `done` acknowledges it to the broker. Exposed for tests.
   */
  receive(topic: string, payload: Buffer, done: () => void): void;
  /** What this process has handled since it started (for GET /metrics), and the broker link. */
  stats(): IngestStats;
  /**
   * Publishes a retained QoS 1 message on this client (the centres' config documents,
   * bureau/centre-config.ts); resolves on the broker's PUBACK. Offline, MQTT.js keeps it queued
   * and sends it on reconnect; before start() it rejects.
   */
  publishRetained(topic: string, payload: string): Promise<void>;
}

export interface IngestStats {
  connected: boolean;
  /** Messages by outcome (an event batch is one message). */
  messages: Record<MessageOutcome['kind'], number>;
  /** Events of committed batches by what became of them. */
  events: { stored: number; known: number; duplicates: number; forReview: number; conflicts: number; rejected: number };
}

const statusCheck = TypeCompiler.Compile(DeviceStatusSchema);

/**
 * Event batches committed together at most (group commit, see onMessage): 16 batches of up to
 * 500 events. Measured with 100-event batches in one process, synchronous=FULL: 5.5 ms a batch
 * one by one, 3.2 ms in groups of 4, 3.9 in groups of 16 (npm run soak for the whole path).
 */
export const GROUP_MAX = 16;

/** Logged (at most once a minute per device) while rejected messages are dropped, not kept. */
export const DEAD_LETTER_ALARM = 'DEAD LETTER ALARM: rejected messages of this device are no longer kept, only counted (GET /api/v1/dead-letters)';
/** At most one log line a minute per device about its dead letters not being kept. */
const DROP_LOG_INTERVAL_MS = 60_000;

function summary(s: DeadLetterStatus) {
  return { rows: s.rows, bytes: s.bytes, dropped: s.dropped, devices: s.devices.slice(0, 5).map((d) => `${d.device || '(unknown)'}: ${d.rows} kept, ${d.dropped} dropped`) };
}

export function createMqttIngest(opts: MqttIngestOptions): MqttIngest {
  const log = opts.logger;
  let client: MqttClient | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  // A flood of junk must not become a flood of log lines: one line per kept dead letter, and for
  // those not kept (a bound or the rate reached) one alarm line per device a minute.
  const dropsLoggedAt = new Map<string, number>();
  const recordDeadLetter = (topic: string, reason: string, payload: Buffer | string, now: Date): void => {
    const outcome = opts.deadLetters.record(topic, reason, payload, now);
    if (outcome.kind === 'stored') log.warn({ topic, reason, bytes: payload.length }, 'message rejected to dead letters');
    if (outcome.kind !== 'dropped') return;
    const device = deadLetterDevice(topic);
    const last = dropsLoggedAt.get(device);
    if (last !== undefined && now.getTime() - last < DROP_LOG_INTERVAL_MS) return;
    dropsLoggedAt.set(device, now.getTime());
    log.error({ device, bound: outcome.reason, status: summary(opts.deadLetters.status()) }, DEAD_LETTER_ALARM);
  };
  const counts: Omit<IngestStats, 'connected'> = {
    messages: { ingested: 0, status: 0, time: 0, ignored: 0, 'dead-letter': 0, failed: 0 },
    events: { stored: 0, known: 0, duplicates: 0, forReview: 0, conflicts: 0, rejected: 0 },
  };
  let connected = false;
  /** Counts a handled message's outcome (dead letters and event batches count where they are made). */
  const counted = (o: MessageOutcome): MessageOutcome => {
    if (o.kind !== 'dead-letter') counts.messages[o.kind]++;
    return o;
  };
  const deadLetter = (topic: string, reason: string, payload: Buffer): MessageOutcome => {
    counts.messages['dead-letter']++;
    recordDeadLetter(topic, reason, payload, opts.clock.now());
    return { kind: 'dead-letter', reason };
  };

  /** One batch: its meal events to the meal store, its records to their handlers; one result. */
  const ingestBatch = (batch: EventBatch, centreId: string, deviceId: string, now: Date): IngestResult => {
    const meals: MealEvent[] = [];
    const records: RecordEvent[] = [];
    for (const e of batch.events) (isMealEvent(e) ? meals : records).push(e as never);
    const m = meals.length ? opts.meals.ingest({ events: meals }, centreId, deviceId, now) : undefined;
    if (records.length === 0) return m!;
    const r: IngestResult = opts.records
      ? opts.records.ingest(records, centreId, deviceId, now)
      : { receipted: [], stored: 0, known: 0, duplicates: 0, forReview: 0, conflicts: [], rejected: records.map((e) => ({ eventId: e.eventId, reason: `this server takes no ${e.type} records`, event: e })) };
    if (!m) return r;
    return {
      receipted: [...m.receipted, ...r.receipted],
      stored: m.stored + r.stored,
      known: m.known + r.known,
      duplicates: m.duplicates,
      forReview: m.forReview,
      conflicts: [...m.conflicts, ...r.conflicts],
      rejected: [...m.rejected, ...r.rejected],
    };
  };

  interface PendingBatch {
    topic: string;
    centreId: string;
    deviceId: string;
    batch: EventBatch;
    /** As received, for the dead letter of a batch the server fails to store. */
    payload: Buffer;
  }

  /**
   * Stores event batches in ONE transaction (one fsync with synchronous=FULL), then receipts
   * each: group commit. Each batch has a savepoint of its own, so one that fails (a server
   * error) is rolled back alone, gets no receipt and is re-sent by its edge; the others commit.
   */
  const ingestBatches = (pending: readonly PendingBatch[]): MessageOutcome[] => {
    const now = opts.clock.now();
    const outcomes = opts.db.transaction(() =>
      pending.map((p): MessageOutcome => {
        try {
          return {
            kind: 'ingested',
            result: opts.db.transaction(() => {
              const r = ingestBatch(p.batch, p.centreId, p.deviceId, now);
              for (const x of r.rejected) recordDeadLetter(p.topic, x.reason, JSON.stringify(x.event), now);
              opts.devices.seen(p.centreId, p.deviceId, now);
              return r;
            })(),
          };
        } catch (err) {
          // Rolled back alone; kept for an operator to see, and no receipt, so the edge re-sends.
          log.error({ err, topic: p.topic }, 'event batch not stored; the edge will re-send');
          recordDeadLetter(p.topic, `server error: ${(err as Error).message}`, p.payload, now);
          return { kind: 'failed', reason: (err as Error).message };
        }
      }),
    )();
    // Committed: only now may the edges learn that these events are safe.
    pending.forEach((p, i) => {
      const o = outcomes[i]!;
      counts.messages[o.kind === 'ingested' ? 'ingested' : 'failed']++;
      if (o.kind !== 'ingested') return;
      publishReceipts(p.centreId, p.deviceId, o.result);
      const { stored, known, duplicates, forReview, conflicts, rejected } = o.result;
      const e = counts.events;
      e.stored += stored;
      e.known += known;
      e.duplicates += duplicates;
      e.forReview += forReview;
      e.conflicts += conflicts.length;
      e.rejected += rejected.length;
      const { centreId, deviceId, topic } = p;
      if (rejected.length > 0) log.warn({ topic, rejected: rejected.map((x) => x.reason) }, 'events rejected to dead letters');
      if (forReview > 0) log.warn({ centreId, deviceId, forReview }, 'events kept for review (date, meal or clock not confirmed), not counted');
      if (conflicts.length > 0) log.warn({ centreId, deviceId, conflicts }, 'eventIds already held with other content: new versions kept as conflicts, not counted');
      log.info({ centreId, deviceId, stored, known, duplicates, forReview, conflicts: conflicts.length, rejected: rejected.length }, 'event batch ingested');
    });
    return outcomes;
  };

  const handleEvents = (topic: string, centreId: string, deviceId: string, payload: Buffer): MessageOutcome => {
    const parsed = parseEventBatch(payload);
    if (!parsed.ok) return deadLetter(topic, parsed.error, payload);
    return ingestBatches([{ topic, centreId, deviceId, batch: parsed.value, payload }])[0]!;
  };

  // Group commit of the broker's stream: valid event batches wait here until every message
  // already read off the socket is handled (setImmediate), or GROUP_MAX are waiting, then
  // commit together. Their PUBACKs go out before the commit. That is safe: a broker's PUBACK
  // never releases a meal on the edge (DESIGN: only a receipt does), so a batch lost with a
  // crashing server is re-sent by its edge when no receipt comes.
  let group: PendingBatch[] = [];
  let flushScheduled = false;
  const flushGroup = () => {
    flushScheduled = false;
    const g = group;
    group = [];
    if (g.length === 0) return;
    try {
      ingestBatches(g);
    } catch (err) {
      // The database failed as a whole (disk full...): no receipts, the edges re-send.
      counts.messages.failed += g.length;
      log.error({ err, batches: g.length }, 'event batches not stored; the edges will re-send');
    }
  };
  /** Takes a message off the broker's stream; `done` sends its PUBACK. */
  const onMessage = (topic: string, payload: Buffer, done: () => void) => {
    const t = payload.length <= MAX_PAYLOAD_BYTES ? topics.parse(topic) : null;
    const parsed = t?.kind === 'events' ? parseEventBatch(payload) : undefined;
    if (!t || !parsed?.ok) {
      // Status, time, and anything to dead-letter: handled at once, as before.
      handle(topic, payload);
      done();
      return;
    }
    group.push({ topic, centreId: t.centreId, deviceId: t.deviceId, batch: parsed.value, payload });
    if (group.length >= GROUP_MAX) {
      // Back-pressure: the broker sends no more until this group is committed.
      flushGroup();
    } else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushGroup);
    }
    done();
  };

  const handleStatus = (topic: string, centreId: string, deviceId: string, payload: Buffer): MessageOutcome => {
    // An empty retained message only clears the topic.
    if (payload.length === 0) return { kind: 'ignored' };
    if (payload.length > 4096) return deadLetter(topic, `status payload of ${payload.length} bytes is too large`, payload);
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return deadLetter(topic, `invalid JSON: ${(err as Error).message}`, payload);
    }
    if (!statusCheck.Check(value)) {
      const first = [...statusCheck.Errors(value)].slice(0, 3).map((e) => `${e.path || '/'} ${e.message}`);
      return deadLetter(topic, `schema: ${first.join('; ')}`, payload);
    }
    const status = value as DeviceStatus;
    opts.devices.setStatus(centreId, deviceId, status.state, opts.clock.now(), status.at);
    log.info({ centreId, deviceId, state: status.state }, 'device status');
    return { kind: 'status', state: status.state };
  };

  const handleTime = (topic: string, centreId: string, deviceId: string, payload: Buffer): MessageOutcome => {
    const parsed = parseTimeRequest(payload);
    if (!parsed.ok) return deadLetter(topic, parsed.error, payload);
    // Read as late as possible: the box takes this as the time at the midpoint of its round trip.
    const serverTime = opts.clock.now().toISOString();
    const reply: TimeReply = { v: CONTRACT_VERSION, time: { id: parsed.value.id, serverTime } };
    const receipts = topics.receipts(centreId, deviceId);
    // QoS 0: an answer that arrives late is worth nothing; the box asks again.
    client?.publish(receipts, JSON.stringify(reply), { qos: 0 }, (err) => {
      if (err) log.debug({ err: err.message, topic: receipts }, 'time reply not published');
    });
    log.debug({ centreId, deviceId, serverTime }, 'time request answered');
    return { kind: 'time', serverTime };
  };

  const handle = (topic: string, payload: Buffer): MessageOutcome => {
    try {
      if (payload.length > MAX_PAYLOAD_BYTES) return deadLetter(topic, `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`, payload);
      const t = topics.parse(topic);
      if (!t) return deadLetter(topic, 'topic is not a mealcheck device topic', payload);
      switch (t.kind) {
        case 'events':
          return handleEvents(topic, t.centreId, t.deviceId, payload);
        case 'status':
          return counted(handleStatus(topic, t.centreId, t.deviceId, payload));
        case 'time':
          return counted(handleTime(topic, t.centreId, t.deviceId, payload));
        case 'receipts':
          // Our own receipts, should a broad subscription ever deliver them back.
          return counted({ kind: 'ignored' });
      }
    } catch (err) {
      // The database failed (disk full, locked too long...). No receipt goes out, so the edge
      // will re-send; the message is still acknowledged so it cannot block the stream.
      log.error({ err, topic }, 'message handling failed; the edge will re-send');
      try {
        recordDeadLetter(topic, `server error: ${(err as Error).message}`, payload, opts.clock.now());
      } catch {
        // Already logged; the database is unusable right now.
      }
      counts.messages.failed++;
      return { kind: 'failed', reason: (err as Error).message };
    }
  };

  /**
   * Conflicts go in a receipt of their own: an edge older than the `conflicts` field refuses a
   * receipt that has it (additionalProperties: false), and must still get its ordinary receipts.
   */
  function publishReceipts(centreId: string, deviceId: string, result: IngestResult): void {
    const conflicts = new Set(result.conflicts);
    const plain = conflicts.size ? result.receipted.filter((id) => !conflicts.has(id)) : result.receipted;
    if (plain.length > 0) publishReceipt(centreId, deviceId, { v: CONTRACT_VERSION, eventIds: plain });
    if (conflicts.size > 0) publishReceipt(centreId, deviceId, { v: CONTRACT_VERSION, eventIds: [...conflicts], conflicts: [...conflicts] });
  }

  function publishReceipt(centreId: string, deviceId: string, receipt: Receipt): void {
    const topic = topics.receipts(centreId, deviceId);
    // Never awaited inside the message handler: the PUBACK for this publish arrives on the
    // same incoming stream that is waiting for the handler to finish.
    client?.publish(topic, JSON.stringify(receipt), { qos: 1 }, (err) => {
      if (err) log.warn({ err: err.message, topic }, 'receipt not published; the edge will re-send and get one then');
    });
  }

  return {
    ready,
    handle,
    receive: onMessage,
    stats: () => ({ connected, messages: { ...counts.messages }, events: { ...counts.events } }),
    publishRetained(topic, payload) {
      return new Promise<void>((resolve, reject) => {
        if (!client) {
          reject(new Error('ingest not started'));
          return;
        }
        client.publish(topic, payload, { qos: 1, retain: true }, (err) => (err ? reject(err) : resolve()));
      });
    },

    async start() {
      if (client) throw new Error('ingest already started');
      const dl = opts.deadLetters.status();
      if (dl.alarm) log.error({ status: summary(dl) }, 'DEAD LETTER ALARM: dead letters were dropped or nearly fill their bounds; look at GET /api/v1/dead-letters, then clear them');
      const options: IClientOptions = {
        clientId: opts.clientId,
        ...(opts.username !== undefined ? { username: opts.username, password: opts.password } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
        protocolVersion: opts.protocolVersion,
        clean: false,
        reconnectPeriod: 1000,
        connectTimeout: 10_000,
        ...(opts.protocolVersion === 5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS } } : {}),
      };
      const c = mqtt.connect(opts.url, options);
      client = c;
      c.handleMessage = (packet: IPublishPacket, done) => {
        onMessage(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload, () => done());
      };
      c.on('error', (err) => log.warn({ err: err.message }, 'mqtt ingest client error'));
      c.on('offline', () => {
        connected = false;
        log.warn('mqtt ingest client offline; retrying');
      });
      c.on('close', () => (connected = false));
      let subscribed = false;
      c.on('connect', (connack) => {
        connected = true;
        log.info({ sessionPresent: connack.sessionPresent, protocolVersion: opts.protocolVersion }, 'mqtt ingest connected');
        if (subscribed) return; // mqtt.js resubscribes by itself after a reconnect
        c.subscribe(
          { [topics.allEvents]: { qos: 1 }, [topics.allStatus]: { qos: 1 }, [topics.allTime]: { qos: 0 } },
          (err, granted) => {
            if (err) {
              log.error({ err: err.message }, 'mqtt ingest subscribe failed');
              return;
            }
            const refused = (granted ?? []).filter((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2);
            if (refused.length > 0) {
              log.error({ refused: refused.map((g) => g.topic) }, 'broker refused the ingest subscription');
              return;
            }
            subscribed = true;
            log.info({ topics: [topics.allEvents, topics.allStatus, topics.allTime] }, 'mqtt ingest subscribed');
            resolveReady();
          },
        );
      });
      const timeoutMs = opts.readyTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const outcome = await Promise.race([ready.then(() => 'ready' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') log.warn({ url: redactUrl(opts.url), timeoutMs }, 'MQTT broker not reachable yet; ingest keeps retrying');
    },

    async stop() {
      const c = client;
      // What is waiting is committed and receipted while the client can still publish.
      flushGroup();
      client = undefined;
      if (c) await c.endAsync();
      opts.deadLetters.flush();
    },
  };
}
