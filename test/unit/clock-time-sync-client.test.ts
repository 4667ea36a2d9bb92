/**
 * The edge's side of the time protocol, on its own: what it publishes and when, what it makes of
 * replies, and how it backs off from a broker that drops the connection on each request. The
 * clock it feeds is the real TrustedClock; the system and monotonic clocks are moved by hand, and
 * the MQTT connection is the publish function it is given (the forwarder's part, tested with a
 * real broker in clock-time-messages.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Monotonic } from '../../common/clock.ts';
import type { TimeReply } from '../../common/contract.ts';
import { TimeSyncClient, type TimePublish } from '../../edge/src/clock/time-sync-client.ts';
import { TrustedClock } from '../../edge/src/clock/trusted-clock.ts';
import { captureLogger, TestClock } from '../helpers/edge-fixtures.ts';

const TOPIC = 'mealcheck/v1/centres/c1/devices/d1/time';
const LUNCH = '2026-11-28T04:00:00.000Z';
const MIN = 60_000;

class FakeMonotonic implements Monotonic {
  constructor(public ms = 1_000) {}
  nowMs(): number {
    return this.ms;
  }
}

function setup(opts: { retryMs?: number; refreshMs?: number } = {}) {
  const mono = new FakeMonotonic();
  const { logger, lines } = captureLogger('debug');
  const clock = new TrustedClock({ system: new TestClock('1970-01-01T00:05:00.000Z'), mono, bootId: 'b1', logger });
  clock.start();
  const client = new TimeSyncClient({ topic: TOPIC, retryMs: opts.retryMs ?? 15_000, refreshMs: opts.refreshMs ?? 10 * MIN }, { time: clock, logger });
  const sent: string[] = [];
  const publish: TimePublish = (topic, payload, done) => {
    expect(topic).toBe(TOPIC);
    sent.push((JSON.parse(payload) as { id: string }).id);
    done();
  };
  const reply = (id: string, serverTime = LUNCH): TimeReply => ({ v: 1, time: { id, serverTime } });
  const messages = () => lines.map((l) => l.msg);
  return { mono, clock, client, sent, publish, reply, messages };
}

describe('time-sync client', () => {
  it('asks only on a live connection, and a reply to its request sets the clock', () => {
    const { mono, clock, client, sent, publish, reply } = setup();
    client.ask();
    client.tick();
    expect(sent).toEqual([]); // not connected
    client.connected(publish);
    expect(sent).toEqual([]); // connected, but not asked yet (receipts not subscribed)
    client.ask();
    expect(sent).toHaveLength(1);
    client.reply(reply('someone-else'));
    expect(clock.isSynced()).toBe(false);
    mono.ms += 40;
    client.reply(reply(sent[0]!));
    expect(clock.isSynced()).toBe(true);
    // The server's time at the midpoint of the 40 ms round trip, plus the 20 ms since.
    expect(clock.now().toISOString()).toBe(new Date(Date.parse(LUNCH) + 20).toISOString());
    // The same reply again: its request is answered already.
    client.reply(reply(sent[0]!, '2026-11-28T05:00:00.000Z'));
    expect(clock.now().toISOString()).toBe(new Date(Date.parse(LUNCH) + 20).toISOString());
  });

  it('asks every retryMs until answered, then every refreshMs', () => {
    const { mono, client, sent, publish, reply } = setup({ retryMs: 15_000, refreshMs: 10 * MIN });
    client.connected(publish);
    client.ask();
    mono.ms += 14_999;
    client.tick();
    expect(sent).toHaveLength(1);
    mono.ms += 1;
    client.tick();
    expect(sent).toHaveLength(2);
    client.reply(reply(sent[1]!));
    mono.ms += 15_000;
    client.tick();
    expect(sent).toHaveLength(2); // synced: the next one is due in 10 min
    mono.ms += 10 * MIN - 15_000;
    client.tick();
    expect(sent).toHaveLength(3);
  });

  it('keeps the four newest requests: a reply to an older one is ignored', () => {
    const { clock, client, sent, publish, reply, messages } = setup();
    client.connected(publish);
    for (let i = 0; i < 5; i++) client.ask();
    client.reply(reply(sent[0]!));
    expect(clock.isSynced()).toBe(false);
    expect(messages()).toContain('time reply to no pending request ignored');
    client.reply(reply(sent[1]!));
    expect(clock.isSynced()).toBe(true);
  });

  it('logs a reply it cannot use, and forgets pending requests when the connection closes', () => {
    const { clock, client, sent, publish, reply, messages } = setup();
    client.connected(publish);
    client.ask();
    // A server whose own clock is unset must not set ours.
    client.reply(reply(sent[0]!, '1970-01-01T00:00:00.000Z'));
    expect(messages()).toContain('time reply not used');
    client.ask();
    client.closed(true);
    client.tick();
    expect(sent).toHaveLength(2); // nothing goes out while closed
    client.connected(publish);
    client.reply(reply(sent[1]!));
    expect(clock.isSynced()).toBe(false);
  });

  it('stops asking for 30 min after three connections dropped right after an unanswered request', () => {
    const { mono, client, sent, publish, messages } = setup();
    const dropRightAfterAsking = () => {
      client.connected(publish);
      client.ask();
      mono.ms += 500;
      client.closed(true);
    };
    dropRightAfterAsking();
    dropRightAfterAsking();
    // A drop long after the request is not the request's doing.
    client.connected(publish);
    client.ask();
    mono.ms += 5_000;
    client.closed(true);
    expect(messages()).not.toContainEqual(expect.stringMatching(/^the connection drops right after each time request/));
    // A failed connection attempt (never up) does not count either.
    client.ask();
    client.closed(false);
    dropRightAfterAsking();
    expect(messages()).toContainEqual(expect.stringMatching(/^the connection drops right after each time request/));
    expect(sent).toHaveLength(4);

    client.connected(publish);
    client.ask();
    mono.ms += 29 * MIN;
    client.tick();
    expect(sent).toHaveLength(4);
    mono.ms += MIN;
    client.tick();
    expect(sent).toHaveLength(5);
  });

  it('says so once when 8 requests in a row go unanswered', () => {
    const { client, publish, messages } = setup();
    client.connected(publish);
    for (let i = 0; i < 20; i++) client.ask();
    expect(messages().filter((m) => m.startsWith('no answer to 8 time requests'))).toHaveLength(1);
  });
});
