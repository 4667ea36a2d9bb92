/**
 * The time request/reply between edge and server over real MQTT: malformed messages on either
 * side are dead-lettered or ignored, never a crash; the broker rules (embedded aedes hooks and
 * the generated Mosquitto ACL) let a box ask only on its own topic.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDeviceInbound, parseEventBatch, parseTimeRequest, topics } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { TrustedClock } from '../../edge/src/clock/trusted-clock.ts';
import { serverSettings } from '../../server/src/config.ts';
import { aclFile } from '../../server/src/modules/devices/broker-config.ts';
import { mayPublish, maySubscribe } from '../../server/src/modules/devices/topic-acl.ts';
import { startServer } from '../../server/src/server.ts';
import { edgeTempDir, openEdgeDb, quietEdgeLogger, startBroker, TestClock, testCheckInService, waitUntil } from '../helpers/edge-fixtures.ts';
import { connectDevice, nextMessage, quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';

const LUNCH = '2026-11-28T04:00:00.000Z';
const EPOCH = '1970-01-01T00:05:00.000Z';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function edgeParts(): { db: Db; clock: TrustedClock } {
  const tmp = edgeTempDir();
  const db = openEdgeDb(tmp.dir);
  cleanups.push(() => {
    db.close();
    tmp.cleanup();
  });
  const clock = new TrustedClock({ system: new TestClock(EPOCH), mono: { nowMs: () => performance.now() }, bootId: '0190f5a2-0000-4000-8000-00000000b002', logger: quietEdgeLogger });
  clock.start();
  return { db, clock };
}

describe('time messages', () => {
  it('contract: parses time requests and replies, and tells a reply from a receipt', () => {
    expect(parseTimeRequest('{"v":1,"id":"abc-1"}').ok).toBe(true);
    expect(parseTimeRequest('{"v":1,"id":"../#"}')).toMatchObject({ ok: false, error: expect.stringContaining('schema') });
    expect(parseTimeRequest('{"v":1,"id":"a","extra":1}').ok).toBe(false);
    expect(parseDeviceInbound('{"v":1,"eventIds":[]}')).toMatchObject({ ok: true, value: { kind: 'receipt' } });
    expect(parseDeviceInbound(`{"v":1,"time":{"id":"a","serverTime":"${LUNCH}"}}`)).toMatchObject({ ok: true, value: { kind: 'time', reply: { time: { id: 'a', serverTime: LUNCH } } } });
    expect(parseDeviceInbound('{"v":1,"time":{"id":"a","serverTime":"noon"}}')).toMatchObject({ ok: false, error: expect.stringMatching(/^time reply schema/) });
    expect(parseDeviceInbound('{"v":1,"time":{"id":"a"}}').ok).toBe(false);
    expect(parseDeviceInbound('not json').ok).toBe(false);
  });

  it('broker rules: a box may ask for the time on its own topic only, on aedes and in the Mosquitto ACL', () => {
    const me = { kind: 'device', centreId: 'c1', deviceId: 'd1' } as const;
    expect(mayPublish(me, topics.time('c1', 'd1'))).toBe(true);
    expect(mayPublish(me, topics.time('c1', 'd2'))).toBe(false);
    expect(maySubscribe(me, topics.allTime)).toBe(false);
    expect(aclFile([{ centreId: 'c1', deviceId: 'd1', username: 'c1/d1' }])).toContain(`topic write ${topics.time('c1', 'd1')}\n`);
  });

  it('server: answers a time request on the box\'s receipts topic with its own clock, dead-letters malformed ones, and keeps going', async () => {
    const tmp = edgeTempDir('mealcheck-server-');
    cleanups.push(() => tmp.cleanup());
    const server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger, clock: new TestClock(LUNCH) });
    cleanups.push(() => server.stop());
    const device = await connectDevice(server.mqttUrl, { clientId: 'edge-c1-d1' });
    cleanups.push(() => device.endAsync(true));
    await device.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
    for (const bad of ['not json', '{"v":1}', '{"v":2,"id":"a"}', '{"v":1,"id":"has space"}', JSON.stringify({ v: 1, id: 'x'.repeat(65) })]) {
      await device.publishAsync(topics.time('c1', 'd1'), bad, { qos: 1 });
    }
    const reply = nextMessage(device, topics.receipts('c1', 'd1'));
    await device.publishAsync(topics.time('c1', 'd1'), JSON.stringify({ v: 1, id: 'req-1' }), { qos: 1 });
    expect(JSON.parse((await reply).toString())).toEqual({ v: 1, time: { id: 'req-1', serverTime: LUNCH } });
    expect(server.db.prepare("SELECT count(*) AS n FROM dead_letters WHERE topic LIKE '%/time'").get()).toEqual({ n: 5 });
    // A device registered with credentials (topic rules on) still gets its answer: the aedes hooks allow the topic.
    const password = await server.registerDevice('c1', 'd2');
    const { db, clock } = edgeParts();
    const f = new Forwarder(
      { url: server.mqttUrl, centreId: 'c1', deviceId: 'd2', username: 'c1/d2', password, reconnectMinMs: 50, reconnectMaxMs: 200, connectTimeoutMs: 2_000 },
      { outbox: createOutboxRepository(db), clock, logger: quietEdgeLogger, time: clock },
    );
    cleanups.push(() => f.stop());
    await f.start();
    await waitUntil(() => clock.isSynced(), 'a registered box to learn the time', 15_000);
    expect(Math.abs(clock.now().getTime() - Date.parse(LUNCH))).toBeLessThan(5_000);
    expect(f.stats().connected).toBe(true);
  }, 30_000);

  it('edge: ignores malformed, implausible and unsolicited replies, stays connected, and syncs on a good one', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const srv: MqttClient = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'fake-server' });
    cleanups.push(() => srv.endAsync(true));
    await srv.subscribeAsync(topics.time('c1', 'd1'), { qos: 0 });
    const receipts = topics.receipts('c1', 'd1');
    let answered = 0;
    srv.on('message', (_t, payload) => {
      const id = (JSON.parse(payload.toString()) as { id: string }).id;
      answered++;
      if (answered === 1) {
        for (const bad of [
          'not json',
          '{"v":1,"time":{"id":"' + id + '"}}',
          '{"v":1,"time":{"id":"' + id + '","serverTime":"yesterday"}}',
          JSON.stringify({ v: 1, time: { id: 'someone-else', serverTime: LUNCH } }),
          // A server whose own clock is unset must not set ours.
          JSON.stringify({ v: 1, time: { id, serverTime: '1970-01-01T00:00:00.000Z' } }),
        ]) {
          srv.publish(receipts, bad, { qos: 0 });
        }
      } else {
        srv.publish(receipts, JSON.stringify({ v: 1, time: { id, serverTime: LUNCH } }), { qos: 0 });
      }
    });
    const { db, clock } = edgeParts();
    const f = new Forwarder(
      { url: broker.url, centreId: 'c1', deviceId: 'd1', timeRetryMs: 300, receiptTimeoutMs: 1_000, reconnectMinMs: 50, reconnectMaxMs: 200 },
      { outbox: createOutboxRepository(db), clock, logger: quietEdgeLogger, time: clock },
    );
    cleanups.push(() => f.stop());
    await f.start();
    await waitUntil(() => answered >= 1, 'the first time request', 10_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(clock.isSynced()).toBe(false);
    expect(f.stats().connected).toBe(true);
    await waitUntil(() => clock.isSynced(), 'the sync on a good reply', 10_000);
    expect(clock.status()).toMatchObject({ state: 'server' });
    expect(Math.abs(clock.now().getTime() - Date.parse(LUNCH))).toBeLessThan(5_000);
    expect(f.stats().connected).toBe(true);
  }, 30_000);

  it('edge: a broker that drops the connection on each time request (a server older than the edge) does not stop delivery', async () => {
    // As aedes does when its topic rules do not know the `time` topic: MQTT 3.1.1 can only drop.
    const aedes = await Aedes.createBroker({
      authorizePublish: (_client, packet, done) => done(packet.topic.endsWith('/time') ? new Error('not allowed') : null),
    });
    const tcp = createServer(aedes.handle);
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    });
    const url = `mqtt://127.0.0.1:${(tcp.address() as { port: number }).port}`;
    const srv = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'old-server' });
    cleanups.push(() => srv.endAsync(true));
    await srv.subscribeAsync(topics.allEvents, { qos: 1 });
    srv.on('message', (topic, payload) => {
      const parsed = parseEventBatch(payload);
      const t = topics.parse(topic);
      if (parsed.ok && t) srv.publish(topics.receipts(t.centreId, t.deviceId), JSON.stringify({ v: 1, eventIds: parsed.value.events.map((e) => e.eventId) }), { qos: 1 });
    });
    const { db, clock } = edgeParts();
    // The system clock is plausible here, so the check-in is not held.
    const plain = new TestClock(LUNCH);
    const { service, outbox, elders } = testCheckInService(db, plain, { centreId: 'c1', deviceId: 'd1' });
    elders.upsertElder('E1', '王秀英');
    expect(service.record({ elderId: 'E1', method: 'face' }).status).toBe('recorded');
    let drops = 0;
    const f = new Forwarder({ url, centreId: 'c1', deviceId: 'd1', protocolVersion: 4, reconnectMinMs: 50, reconnectMaxMs: 100, receiptTimeoutMs: 1_000 }, { outbox, clock, logger: quietEdgeLogger, time: clock });
    f.on('disconnected', () => drops++);
    cleanups.push(() => f.stop());
    await f.start();
    await waitUntil(() => outbox.pendingCount() === 0, 'delivery once time requests are paused', 15_000);
    expect(drops).toBe(3);
    expect(clock.isSynced()).toBe(false);
  }, 30_000);
});
