/** The outbox alarm: an edge that cannot deliver says so in its status and its log. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import type { Db } from '../../common/sqlite.ts';
import { mealEvent } from '../helpers/server-fixtures.ts';
import { edgeTempDir, openEdgeDb, reservePort, TestClock } from '../helpers/edge-fixtures.ts';

describe('outbox alarm', () => {
  let tmp: ReturnType<typeof edgeTempDir>;
  let db: Db;
  beforeEach(() => {
    tmp = edgeTempDir();
    db = openEdgeDb(tmp.dir);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('goes up at the threshold, is logged once, and clears with hysteresis', async () => {
    const lines: Array<{ level: number; msg: string; pending?: number }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as (typeof lines)[number]);
        cb();
      },
    });
    const logger = pino({ level: 'warn' }, sink);
    const outbox = createOutboxRepository(db);
    // Nothing listens on this port: the edge is offline, as in a long outage.
    const f = new Forwarder(
      { url: `mqtt://127.0.0.1:${await reservePort()}`, centreId: 'c1', deviceId: 'd1', outboxAlarmThreshold: 10, reconnectMinMs: 50, reconnectMaxMs: 200 },
      { outbox, clock: new TestClock('2026-03-10T04:00:00Z'), logger },
    );
    await f.start();
    try {
      const events = Array.from({ length: 10 }, (_, i) => mealEvent({ elderId: `e${i}` }));
      for (const e of events.slice(0, 9)) outbox.enqueue(e, e.at);
      expect(f.stats()).toMatchObject({ pending: 9, outboxAlarm: false });
      outbox.enqueue(events[9]!, events[9]!.at);
      expect(f.stats()).toMatchObject({ pending: 10, outboxAlarm: true });
      f.stats();
      const alarms = () => lines.filter((l) => /OUTBOX ALARM/.test(l.msg));
      expect(alarms()).toHaveLength(1);
      expect(alarms()[0]).toMatchObject({ level: 50, pending: 10 });

      // 9 is still above 90% of the threshold: no flapping.
      outbox.deleteByEventIds([events[0]!.eventId]);
      expect(f.stats().outboxAlarm).toBe(true);
      outbox.deleteByEventIds([events[1]!.eventId]);
      expect(f.stats().outboxAlarm).toBe(false);
      expect(lines.filter((l) => /outbox alarm cleared/.test(l.msg))).toHaveLength(1);
    } finally {
      await f.stop();
    }
  });
});
