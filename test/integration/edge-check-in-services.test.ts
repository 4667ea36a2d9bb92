/**
 * The parts behind the check-in service, each on its own, on real SQLite: the writer every way of
 * recording shares. (The service as a whole: edge-check-in, edge-antispoof, edge-clock-correction.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { createCheckInWriter, sqliteCode } from '../../edge/src/meals/check-in-writer.ts';
import type { CheckIn } from '../../edge/src/meals/check-in.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { captureLogger, edgeTempDir, openEdgeDb } from '../helpers/edge-fixtures.ts';

const LUNCH = '2025-03-10T03:00:00.000Z';
const BOOT = '0190f5a2-0000-4000-8000-00000000b001';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
});
afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

const record = (n: number) => ({ eventId: `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`, elderId: 'E1', serviceDate: '2025-03-10', meal: 'lunch' as const, at: LUNCH, method: 'face' as const });

describe('check-in writer', () => {
  it('stamps events with this box, this run and the next seq, and keeps the anti-spoof hint on the box', () => {
    const writer = createCheckInWriter({ outbox: createOutboxRepository(db), centreId: 'c1', deviceId: 'd1', bootId: BOOT });
    expect(writer.bootId).toBe(BOOT);
    expect(writer.event({ ...record(1), score: 0.3, cameraId: 'door', antispoof: 0.2 })).toEqual({ ...record(1), score: 0.3, cameraId: 'door', centreId: 'c1', deviceId: 'd1', bootId: BOOT, seq: 1 });
    expect(writer.event(record(2), { clock: 'unverified', monoMs: 5, edgeAt: '1970-01-01T00:00:00.000Z' })).toMatchObject({ seq: 2, clock: 'unverified', monoMs: 5, edgeAt: '1970-01-01T00:00:00.000Z' });
    // Without a given bootId each writer is a run of its own.
    const other = createCheckInWriter({ outbox: createOutboxRepository(db), centreId: 'c1', deviceId: 'd1' });
    expect(other.bootId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(other.event(record(3)).seq).toBe(1);
  });

  it('queues in the caller\'s transaction: rolled back with it', () => {
    const outbox = createOutboxRepository(db);
    const writer = createCheckInWriter({ outbox, centreId: 'c1', deviceId: 'd1', bootId: BOOT });
    const fails = db.transaction(() => {
      writer.enqueue(writer.event(record(1)), LUNCH);
      throw new Error('the check-in insert failed');
    });
    expect(() => fails()).toThrow('the check-in insert failed');
    expect(outbox.pendingCount()).toBe(0);
    writer.enqueue(writer.event(record(2)), LUNCH, { held: true });
    expect(outbox.takeOldest(10)).toEqual([]);
    expect(outbox.heldCount()).toBe(1);
  });

  it('turns a failed write into not-recorded, with its SQLite code, logged once with the caller\'s context', () => {
    const { logger, lines } = captureLogger('info');
    const writer = createCheckInWriter({ outbox: createOutboxRepository(db), centreId: 'c1', deviceId: 'd1', logger });
    expect(writer.attempt('x NOT recorded', {}, () => ({ status: 'fine' as const }))).toEqual({ status: 'fine' });
    db.exec('DROP TABLE outbox');
    const r = writer.attempt('check-in NOT recorded', { elderId: 'E1', meal: 'lunch' }, () => {
      writer.enqueue(writer.event(record(1)), LUNCH);
      return { status: 'recorded' as const };
    });
    expect(r).toEqual({ status: 'not-recorded', reason: expect.stringMatching(/^SQLITE_ERROR: no such table: outbox/) as string });
    expect(lines.filter((l) => l.level >= 50)).toEqual([expect.objectContaining({ msg: 'check-in NOT recorded', elderId: 'E1', meal: 'lunch', reason: (r as { reason: string }).reason })]);
    // An error without a SQLite code: its message alone.
    expect(writer.attempt('m', {}, () => {
      throw new Error('disk gone');
    })).toEqual({ status: 'not-recorded', reason: 'disk gone' });
    expect(sqliteCode(Object.assign(new Error('full'), { code: 'SQLITE_FULL' }))).toBe('SQLITE_FULL');
    expect(sqliteCode(null)).toBeUndefined();
  });

  it('tells every listener of a recorded check-in; one that throws is logged and does not stop the others', () => {
    const { logger, lines } = captureLogger('info');
    const writer = createCheckInWriter({ outbox: createOutboxRepository(db), centreId: 'c1', deviceId: 'd1', logger });
    const seen: string[] = [];
    writer.onRecorded(() => {
      throw new Error('listener bug');
    });
    const off = writer.onRecorded((c) => seen.push(c.eventId));
    const checkIn: CheckIn = { ...record(1), elderName: '王秀英' };
    writer.recorded(checkIn);
    off();
    writer.recorded(checkIn);
    expect(seen).toEqual([checkIn.eventId]);
    expect(lines.filter((l) => l.msg === 'check-in listener failed')).toHaveLength(2);
  });
});
