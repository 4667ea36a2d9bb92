/**
 * Forwards the outbox to the server over MQTT and removes rows only when the server's receipt
 * names them. A PUBACK means only that the broker took the message: a broker may lose it when
 * it crashes, and an ACL-denied publish may still be PUBACKed. So:
 *
 * - outbox rows go out in `seq` order, in batches, with at most `maxInFlight` unreceipted
 *   batches at a time;
 * - a receipt deletes the rows it names; nothing else deletes them;
 * - when the oldest unreceipted batch is older than `receiptTimeoutMs`, and after every
 *   (re)connect, everything still in the outbox is sent again from the oldest row (the server
 *   ingests idempotently by eventId);
 * - a broker that is down never stops the edge: the forwarder retries forever with backoff,
 *   and check-ins keep being recorded into the outbox meanwhile.
 *
 * The time protocol rides on the same connection: the forwarder runs a time-sync client
 * (clock/time-sync-client.ts), which asks the server for the time on every connect and then now
 * and then, for a box without a real-time clock; its answers arrive on `receipts`.
 *
 * MQTT 5 is asked for first. A broker that refuses it (an old Mosquitto, aedes 1.x) gets
 * 3.1.1 on the next attempt: nothing here needs 5, since receipts, not
 * PUBACKs, decide what the server has.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { CONTRACT_VERSION, parseDeviceInbound, topics, type DeviceStatus, type EventBatch, type Receipt } from '../../../common/contract.ts';
import type { Clock } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { OutboxRepository, ReceiptConflictLog } from './outbox-repository.ts';
import { TimeSyncClient, type TimeSampleSink } from '../clock/time-sync-client.ts';

export interface ForwarderOptions {
  /** e.g. `mqtt://127.0.0.1:1883` or `mqtts://server:8883`. */
  url: string;
  centreId: string;
  deviceId: string;
  username?: string;
  password?: string;
  /** PEM CA certificate(s) the broker's TLS certificate must chain to (mqtts://); default: Node's CAs. */
  ca?: Buffer;
  /** Events per EventBatch (the contract allows 500). Default 100. */
  batchSize?: number;
  /** Unreceipted batches allowed at once. Default 4. */
  maxInFlight?: number;
  /** Re-send when a batch has no receipt after this long. Default 10 s. */
  receiptTimeoutMs?: number;
  /** Give up one connection attempt after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** Reconnect delay starts here and doubles per failed attempt up to the max. Default 1 s / 30 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Safety net: look at the outbox this often even without notify(). Default 5 s. */
  pollIntervalMs?: number;
  /** MQTT keepalive in seconds. Default 30. */
  keepaliveSeconds?: number;
  /** Protocol asked for first. Default 5. */
  protocolVersion?: 5 | 4;
  /** Fall back to 3.1.1 when the broker refuses 5. Default true. */
  allowProtocolFallback?: boolean;
  /**
   * Outbox rows at which the alarm goes up (status `outboxAlarm`, an error in the log). A centre
   * records a few hundred meals a day, so the default 5,000 means days without delivery.
   */
  outboxAlarmThreshold?: number;
  /** Ask the server for the time this often until the first answer. Default 15 s. */
  timeRetryMs?: number;
  /** ...and this often after it (a better sample replaces a worse one). Default 10 min. */
  timeRefreshMs?: number;
}

export interface ForwarderDeps {
  outbox: OutboxRepository;
  clock: Clock;
  logger: Logger;
  /** Where eventIds the server names as conflicts are recorded; without it they are only logged. */
  conflicts?: ReceiptConflictLog;
  /** Where the server's time answers go; without it the forwarder never asks for the time. */
  time?: TimeSampleSink;
  /**
   * Where the centre's config documents go (bureau/config-service.ts), each payload as it came;
   * with it the forwarder subscribes to `topics.config(centreId)` (retained: the newest arrives
   * on every connect). A port, so sync/ does not depend on what applies them.
   */
  config?: { receive(payload: Buffer): unknown };
}

export interface ForwarderStats {
  connected: boolean;
  /** Rows in the outbox (sent or not) still waiting for a receipt. */
  pending: number;
  /** Events sent and not yet receipted. */
  inFlight: number;
  /** ISO 8601 time of the last valid receipt, or null. */
  lastReceiptAt: string | null;
  /** ISO 8601 time the current (or last) connection came up, or null. */
  lastConnectedAt: string | null;
  /** The outbox holds at least `outboxAlarmThreshold` rows. */
  outboxAlarm: boolean;
  /** EventIds the server named as conflicts, ever (absent without a conflict log). */
  conflicts?: number;
}

export interface ForwarderEvents {
  connected: [];
  disconnected: [];
  /** A valid receipt arrived; `deleted` rows left the outbox. */
  receipt: [eventIds: string[], deleted: number];
  /** A batch went out (also on re-sends). */
  sent: [eventIds: string[]];
}

interface InFlightBatch {
  ids: Set<string>;
  sentAt: number;
}

/** Resolves after `ms` or when `p` settles, whichever is first; never rejects. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    p.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      () => {
        clearTimeout(t);
        resolve();
      },
    );
  });
}

export class Forwarder extends EventEmitter<ForwarderEvents> {
  private readonly o: Required<Omit<ForwarderOptions, 'username' | 'password' | 'ca'>> & Pick<ForwarderOptions, 'username' | 'password' | 'ca'>;
  private client: MqttClient | null = null;
  private running = false;
  private connected = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;
  private lastPollAt = 0;
  /** Highest outbox seq sent since the last full re-send; the next batch starts after it. */
  private cursor = 0;
  private readonly inFlight: InFlightBatch[] = [];
  private lastReceiptAt: string | null = null;
  private lastConnectedAt: string | null = null;
  private alarm = false;
  private lastAlarmCheckAt = 0;
  /** The time protocol on this connection, when the forwarder has a clock to feed. */
  private readonly timeSync: TimeSyncClient | null;

  constructor(
    opts: ForwarderOptions,
    private readonly deps: ForwarderDeps,
  ) {
    super();
    this.o = {
      batchSize: 100,
      maxInFlight: 4,
      receiptTimeoutMs: 10_000,
      connectTimeoutMs: 10_000,
      reconnectMinMs: 1_000,
      reconnectMaxMs: 30_000,
      pollIntervalMs: 5_000,
      keepaliveSeconds: 30,
      protocolVersion: 5,
      allowProtocolFallback: true,
      outboxAlarmThreshold: 5_000,
      timeRetryMs: 15_000,
      timeRefreshMs: 600_000,
      // An option passed as undefined (e.g. straight from an unset setting) keeps its default.
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ForwarderOptions),
    };
    this.o.batchSize = Math.min(Math.max(1, this.o.batchSize), 500);
    this.timeSync = deps.time
      ? new TimeSyncClient({ topic: topics.time(this.o.centreId, this.o.deviceId), retryMs: this.o.timeRetryMs, refreshMs: this.o.timeRefreshMs }, { time: deps.time, logger: deps.logger })
      : null;
  }

  private get topicEvents(): string {
    return topics.events(this.o.centreId, this.o.deviceId);
  }
  private get topicReceipts(): string {
    return topics.receipts(this.o.centreId, this.o.deviceId);
  }
  private get topicStatus(): string {
    return topics.status(this.o.centreId, this.o.deviceId);
  }
  private get topicConfig(): string {
    return topics.config(this.o.centreId);
  }

  /** Starts connecting and returns at once: it does not wait for the broker. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { logger } = this.deps;
    const offline: DeviceStatus = { v: CONTRACT_VERSION, state: 'offline' };
    const client = mqtt.connect(this.o.url, {
      protocolVersion: this.o.protocolVersion,
      clientId: `edge-${this.o.centreId}-${this.o.deviceId}`,
      username: this.o.username,
      password: this.o.password,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      clean: true,
      keepalive: this.o.keepaliveSeconds,
      connectTimeout: this.o.connectTimeoutMs,
      // We reconnect ourselves, with backoff; MQTT.js only knows a fixed period.
      reconnectPeriod: 0,
      will: { topic: this.topicStatus, payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    // Socket errors (refused, reset, timeout) end in 'close', where we schedule the retry.
    client.on('error', (err: Error & { code?: unknown }) => {
      // CONNACK return code 1 (3.1.1) / reason 0x84 (5): the broker does not speak MQTT 5.
      if ((err.code === 1 || err.code === 0x84) && client.options.protocolVersion === 5 && this.o.allowProtocolFallback) {
        logger.warn({ url: this.o.url }, 'broker refuses MQTT 5; using MQTT 3.1.1');
        client.options.protocolVersion = 4;
        this.failures = 0;
        return;
      }
      logger.warn({ err: err.message, url: this.o.url }, 'mqtt error');
    });
    const tickMs = Math.max(50, Math.min(1_000, Math.floor(this.o.receiptTimeoutMs / 4)));
    this.tickTimer = setInterval(() => this.tick(), tickMs);
    this.tickTimer.unref();
    logger.info({ url: this.o.url, clientId: client.options.clientId }, 'forwarder started');
  }

  /** Publishes `offline` when it can, then disconnects. Bounded: never hangs on a dead broker. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.reconnectTimer = this.tickTimer = null;
    const client = this.client;
    this.client = null;
    if (!client) return;
    if (client.connected) {
      const offline: DeviceStatus = { v: CONTRACT_VERSION, state: 'offline', at: this.deps.clock.now().toISOString() };
      await within(client.publishAsync(this.topicStatus, JSON.stringify(offline), { qos: 1, retain: true }), 1_000);
      await within(client.endAsync(false), 1_000);
    }
    // end(true) on a client whose socket is already gone may never call back: do not await it.
    if (!client.disconnected) client.end(true);
    client.removeAllListeners('connect');
    client.removeAllListeners('close');
    client.removeAllListeners('message');
    this.timeSync?.closed(false);
    this.setDisconnected();
    this.deps.logger.info('forwarder stopped');
  }

  /** A check-in was recorded: send it soon instead of at the next poll. */
  notify(): void {
    if (!this.running || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Held outbox rows were released (meals/clock-correction.ts): their seq may be behind the send
   * cursor, so go through the outbox from the oldest row again.
   */
  rescan(): void {
    if (this.running && this.connected) this.resendAll('held rows released');
  }

  /** The MQTT protocol level in use (5, or 4 after a fallback); null before start(). */
  protocolVersion(): number | null {
    return this.client?.options.protocolVersion ?? null;
  }

  stats(): ForwarderStats {
    let pending = -1;
    try {
      pending = this.deps.outbox.pendingCount();
    } catch (err) {
      this.deps.logger.error({ err }, 'cannot count outbox');
    }
    if (pending >= 0) this.updateAlarm(pending);
    let conflicts: number | undefined;
    try {
      conflicts = this.deps.conflicts?.conflictCount();
    } catch (err) {
      this.deps.logger.error({ err }, 'cannot count receipt conflicts');
    }
    return {
      connected: this.connected,
      pending,
      inFlight: this.inFlight.reduce((n, b) => n + b.ids.size, 0),
      lastReceiptAt: this.lastReceiptAt,
      lastConnectedAt: this.lastConnectedAt,
      outboxAlarm: this.alarm,
      ...(conflicts !== undefined ? { conflicts } : {}),
    };
  }

  /** Raises or clears the outbox alarm, logging each change once. */
  private updateAlarm(pending: number): void {
    const threshold = this.o.outboxAlarmThreshold;
    if (!this.alarm && pending >= threshold) {
      this.alarm = true;
      this.deps.logger.error({ pending, threshold, connected: this.connected, lastReceiptAt: this.lastReceiptAt }, 'OUTBOX ALARM: meals are piling up undelivered');
    } else if (this.alarm && pending < threshold * 0.9) {
      // 10% hysteresis, so a queue hovering at the threshold does not flap in the log.
      this.alarm = false;
      this.deps.logger.warn({ pending, threshold }, 'outbox alarm cleared');
    }
  }

  private onConnect(): void {
    const client = this.client;
    if (!client) return;
    this.connected = true;
    this.failures = 0;
    this.lastConnectedAt = this.deps.clock.now().toISOString();
    this.deps.logger.info({ url: this.o.url }, 'mqtt connected');
    this.timeSync?.connected((topic, payload, done) => client.publish(topic, payload, { qos: 0 }, done));
    const online: DeviceStatus = { v: CONTRACT_VERSION, state: 'online', at: this.lastConnectedAt };
    client.publish(this.topicStatus, JSON.stringify(online), { qos: 1, retain: true }, (err) => {
      if (err) this.deps.logger.warn({ err: err.message }, 'could not publish online status');
    });
    // Send only once the receipt subscription is in place, so no receipt can be missed.
    client.subscribe(this.topicReceipts, { qos: 1 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos >= 0x80)) {
        // Keep sending: the server still commits; rows stay and are re-sent until a receipt.
        this.deps.logger.error({ err: err?.message, granted }, 'cannot subscribe to receipts');
      }
      if (client !== this.client || !client.connected) return;
      this.emit('connected');
      // Before the backlog, so the server answers it before it works through the batches.
      this.timeSync?.ask();
      this.resendAll('connected');
    });
    if (this.deps.config) {
      client.subscribe(this.topicConfig, { qos: 1 }, (err, granted) => {
        // The box keeps the document it applied last; the next connect tries again.
        if (err || granted?.some((g) => g.qos >= 0x80)) this.deps.logger.error({ err: err?.message, granted }, 'cannot subscribe to the centre config');
      });
    }
  }

  private onClose(): void {
    if (this.connected) this.deps.logger.warn({ url: this.o.url }, 'mqtt connection lost');
    // Before setDisconnected: a connection that drops right after each time request (an old
    // broker's rules) makes the client stop asking for a while.
    this.timeSync?.closed(this.connected);
    this.setDisconnected();
    this.scheduleReconnect();
  }

  private setDisconnected(): void {
    const was = this.connected;
    this.connected = false;
    // Whatever was in flight is re-sent after the next connect.
    this.inFlight.length = 0;
    this.cursor = 0;
    if (was) this.emit('disconnected');
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const base = Math.min(this.o.reconnectMaxMs, this.o.reconnectMinMs * 2 ** Math.min(this.failures, 20));
    // Jitter, so the boxes of a whole city do not reconnect in step after a server restart.
    const delay = Math.round(base * (0.75 + Math.random() * 0.25));
    this.failures++;
    this.deps.logger.debug({ delay, failures: this.failures }, 'mqtt reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.running && this.client && !this.client.connected) this.client.reconnect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topicConfig && this.deps.config) {
      this.deps.config.receive(payload);
      return;
    }
    if (topic !== this.topicReceipts) return;
    const parsed = parseDeviceInbound(payload);
    if (!parsed.ok) {
      this.deps.logger.warn({ topic, error: parsed.error, bytes: payload.length }, 'invalid receipt ignored');
      return;
    }
    if (parsed.value.kind === 'time') {
      if (this.timeSync) this.timeSync.reply(parsed.value.reply);
      else this.deps.logger.debug({ id: parsed.value.reply.time.id }, 'time reply to no pending request ignored');
      return;
    }
    this.onReceipt(parsed.value.receipt);
  }

  private onReceipt(receipt: Receipt): void {
    const ids = receipt.eventIds;
    if (receipt.conflicts?.length) {
      // The server already had these eventIds with other content: it kept this box's version for
      // review and will not count it. Nothing here can fix that; record it for staff, then forget
      // the rows like any receipted ones so they are not sent forever.
      try {
        this.deps.conflicts?.recordConflicts(receipt.conflicts, this.deps.clock.now().toISOString());
      } catch (err) {
        // Not deleted either: the re-send gets the conflict named again.
        this.deps.logger.error({ err }, 'cannot record receipt conflicts');
        return;
      }
      this.deps.logger.warn({ conflicts: receipt.conflicts }, 'the server already had these eventIds with other content: kept for review there, not counted');
    }
    let deleted: number;
    try {
      deleted = this.deps.outbox.deleteByEventIds(ids);
    } catch (err) {
      // The rows stay; the next receipt for the re-send deletes them.
      this.deps.logger.error({ err }, 'cannot delete receipted outbox rows');
      return;
    }
    const named = new Set(ids);
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const b = this.inFlight[i]!;
      for (const id of b.ids) if (named.has(id)) b.ids.delete(id);
      if (b.ids.size === 0) this.inFlight.splice(i, 1);
    }
    this.lastReceiptAt = this.deps.clock.now().toISOString();
    this.deps.logger.debug({ receipted: ids.length, deleted }, 'receipt');
    this.emit('receipt', ids, deleted);
    this.pump();
  }

  private tick(): void {
    if (performance.now() - this.lastAlarmCheckAt >= this.o.pollIntervalMs) {
      this.lastAlarmCheckAt = performance.now();
      this.stats();
    }
    if (!this.connected) return;
    this.timeSync?.tick();
    const oldest = this.inFlight[0];
    if (oldest && performance.now() - oldest.sentAt >= this.o.receiptTimeoutMs) {
      this.deps.logger.warn({ unreceipted: oldest.ids.size, timeoutMs: this.o.receiptTimeoutMs }, 'no receipt in time; re-sending');
      this.resendAll('receipt timeout');
      return;
    }
    if (performance.now() - this.lastPollAt >= this.o.pollIntervalMs) this.pump();
  }

  private resendAll(why: string): void {
    this.inFlight.length = 0;
    this.cursor = 0;
    this.deps.logger.debug({ why }, 'sending outbox from the oldest row');
    this.pump();
  }

  /** Fills the in-flight window with the next outbox rows, in seq order. */
  private pump(): void {
    const client = this.client;
    if (!this.running || !client || !this.connected) return;
    this.lastPollAt = performance.now();
    while (this.inFlight.length < this.o.maxInFlight && client.connected) {
      let rows;
      try {
        rows = this.deps.outbox.takeOldest(this.o.batchSize, this.cursor);
      } catch (err) {
        this.deps.logger.error({ err }, 'cannot read outbox');
        return;
      }
      if (rows.length === 0) return;
      const ids = rows.map((r) => r.eventId);
      const batch: EventBatch = { v: CONTRACT_VERSION, events: rows.map((r) => r.event) };
      this.cursor = rows[rows.length - 1]!.seq;
      this.inFlight.push({ ids: new Set(ids), sentAt: performance.now() });
      const v5 = client.options.protocolVersion === 5;
      const props = v5 ? { properties: { payloadFormatIndicator: true, contentType: 'application/json' } } : {};
      client.publish(this.topicEvents, JSON.stringify(batch), { qos: 1, ...props }, (err) => {
        // A lost publish is re-sent after the receipt timeout or the next connect.
        if (err) this.deps.logger.warn({ err: err.message, events: ids.length }, 'publish failed');
      });
      try {
        this.deps.outbox.bumpAttempts(ids, this.deps.clock.now().toISOString());
      } catch (err) {
        this.deps.logger.warn({ err }, 'cannot count outbox attempts');
      }
      this.emit('sent', ids);
    }
  }
}
