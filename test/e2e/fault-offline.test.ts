/**
 * An edge offline long enough to queue 70,000 events, then reconnecting: all arrive, once. The
 * outbox alarm is up while the queue is long and clears once it has drained.
 * Both profiles queue 70,000 (the bulk insert takes seconds; delivery is what is under test).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import type { MealEvent } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { DATABASE_FILE, startServer } from '../../server/src/server.ts';
import { counterIds, openEdgeDb, quietEdgeLogger, reservePort, waitUntil } from '../helpers/edge-fixtures.ts';
import { eventIds, FAULT_FULL, integrityCheck } from '../helpers/fault-processes.ts';
import { quietLogger, tempDir } from '../helpers/server-fixtures.ts';

const EVENTS = 70_000;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('fault: long outage', () => {
  it(`delivers ${EVENTS} queued check-ins once after the edge reconnects`, async () => {
    const tmp = tempDir('mealcheck-fault-offline-');
    cleanups.push(() => tmp.cleanup());
    const edgeDir = join(tmp.dir, 'edge');
    const serverDir = join(tmp.dir, 'server');
    const db = openEdgeDb(edgeDir);
    cleanups.push(() => db.close());
    const checkIns = createCheckInRepository(db);
    const outbox = createOutboxRepository(db);
    // Weeks of meals recorded while the link was down: check-in and outbox row together, as the
    // check-in service writes them (in one bulk transaction here, to keep the test short).
    const ids = counterIds();
    db.transaction(() => {
      for (let i = 0; i < EVENTS; i++) {
        const day = new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 3000) * 86_400_000).toISOString().slice(0, 10);
        const e: MealEvent = { eventId: ids.next(), elderId: `e${i % 3000}`, centreId: 'c1', deviceId: 'd1', serviceDate: day, meal: 'lunch', at: `${day}T04:00:00.000Z`, method: 'manual', staffId: 'S1' };
        checkIns.insert({ eventId: e.eventId, elderId: e.elderId, serviceDate: e.serviceDate, meal: e.meal, at: e.at, method: e.method });
        outbox.enqueue(e, e.at);
      }
    })();

    const port = await reservePort();
    const f = new Forwarder(
      { url: `mqtt://127.0.0.1:${port}`, centreId: 'c1', deviceId: 'd1', protocolVersion: 4, batchSize: 500, maxInFlight: 8, reconnectMinMs: 50, reconnectMaxMs: 500, receiptTimeoutMs: 30_000 },
      { outbox, clock: systemClock, logger: quietEdgeLogger },
    );
    cleanups.push(() => f.stop());
    await f.start();
    expect(f.stats()).toMatchObject({ connected: false, pending: EVENTS, outboxAlarm: true });

    // The server's clock the day after the last of those meals: it counts events up to five weeks old.
    const lastDay = Date.UTC(2026, 0, 1) + Math.floor((EVENTS - 1) / 3000) * 86_400_000;
    const serverClock = { now: () => new Date(lastDay + 86_400_000) };
    const server = await startServer(serverSettings({ dataDir: serverDir, httpPort: 0, mqttPort: port, adminToken: 'fault-test-token-0123456789', logLevel: 'silent' }), { logger: quietLogger, clock: serverClock });
    cleanups.push(() => server.stop());
    const t0 = Date.now();
    await waitUntil(() => f.stats().pending === 0, 'the outbox to drain', FAULT_FULL ? 600_000 : 300_000, 200);
    const seconds = (Date.now() - t0) / 1000;
    expect(f.stats().outboxAlarm).toBe(false);

    const serverDb = join(serverDir, DATABASE_FILE);
    const serverIds = eventIds(serverDb, 'SELECT event_id FROM meals');
    expect(serverIds.length).toBe(EVENTS);
    expect(serverIds).toEqual(eventIds(join(edgeDir, 'edge.db'), 'SELECT event_id FROM check_ins'));
    expect(eventIds(serverDb, 'SELECT event_id FROM duplicate_attempts')).toEqual([]);
    await f.stop();
    await server.stop();
    expect(integrityCheck(join(edgeDir, 'edge.db'))).toBe('ok');
    expect(integrityCheck(serverDb)).toBe('ok');
    console.log(`long outage: ${EVENTS} events delivered once in ${seconds.toFixed(1)} s (${Math.round(EVENTS / seconds)}/s)`);
  }, 900_000);
});
