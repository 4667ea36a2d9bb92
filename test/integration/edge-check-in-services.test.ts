/**
 * The parts behind the check-in service, each on its own, on real SQLite: the writer every way of
 * recording shares, the anti-spoof confirmations, the check-ins held while the clock is untrusted,
 * and the recording at a trusted time. (The service as a whole, the recorder port behind which
 * they sit: edge-check-in, edge-antispoof, edge-clock-correction.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidV7Ids } from '../../common/clock.ts';
import type { MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import { createCheckInWriter, sqliteCode } from '../../edge/src/meals/check-in-writer.ts';
import type { CheckIn } from '../../edge/src/meals/check-in.ts';
import { createConfirmationRepository } from '../../edge/src/meals/confirmation-repository.ts';
import { createConfirmationService } from '../../edge/src/meals/confirmation-service.ts';
import { createHeldCheckInService } from '../../edge/src/meals/held-check-in-service.ts';
import { createRecordingService } from '../../edge/src/meals/recording-service.ts';
import { createClockRepository } from '../../edge/src/clock/clock-repository.ts';
import { DEFAULT_MEAL_WINDOWS, parseMealWindows } from '../../common/meal-windows.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { captureLogger, counterIds, edgeTempDir, openEdgeDb, quietEdgeLogger, TestClock } from '../helpers/edge-fixtures.ts';

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

function outboxEvents(): MealEvent[] {
  return db.prepare<[], { payload: string }>('SELECT payload FROM outbox ORDER BY seq').all().map((r) => JSON.parse(r.payload) as MealEvent);
}

describe('confirmation service', () => {
  const LUNCH_SLOT = { serviceDate: '2025-03-10', meal: 'lunch' as const };
  function build(antispoofThreshold?: number) {
    const clock = new TestClock(LUNCH);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    const checkIns = createCheckInRepository(db);
    const writer = createCheckInWriter({ outbox: createOutboxRepository(db), centreId: 'c1', deviceId: 'd1', bootId: BOOT, logger: quietEdgeLogger });
    const seen: CheckIn[] = [];
    writer.onRecorded((c) => seen.push(c));
    const service = createConfirmationService({ db, writer, elders, checkIns, confirmations: createConfirmationRepository(db), ids: counterIds(), clock, logger: quietEdgeLogger, ...(antispoofThreshold !== undefined ? { antispoofThreshold } : {}) });
    const hold = (antispoof = 0.2) => service.hold({ elderId: 'E1', method: 'face', score: 0.3, cameraId: 'door', antispoof }, { elderId: 'E1', name: '王秀英' }, LUNCH_SLOT, new Date(LUNCH));
    return { clock, elders, checkIns, writer, seen, service, hold };
  }

  it('finds a face suspect only below the threshold, and never without a hint or with the threshold off', () => {
    const { service } = build(0.5);
    expect([0.1, 0.49, 0.5, 0.9].map((antispoof) => service.isSuspect({ elderId: 'E1', method: 'face', antispoof }))).toEqual([true, true, false, false]);
    expect(service.isSuspect({ elderId: 'E1', method: 'face' })).toBe(false);
    expect(build().service.isSuspect({ elderId: 'E1', method: 'face', antispoof: 0.01 })).toBe(false);
  });

  it('holds one check-in per elder and meal, and a confirmed hold is recorded as at the door, once', () => {
    const { clock, seen, service, hold } = build(0.5);
    const first = hold();
    expect(first).toMatchObject({ status: 'pending-confirmation', confirmation: { elderName: '王秀英', status: 'pending', at: LUNCH, ...LUNCH_SLOT, antispoof: 0.2 } });
    const id = (first as { confirmation: { id: string } }).confirmation.id;
    expect(hold(0.1)).toMatchObject({ status: 'pending-confirmation', confirmation: { id } });
    expect(service.countPending()).toBe(1);
    expect(service.list('pending', 10).map((c) => c.id)).toEqual([id]);
    expect(outboxEvents()).toEqual([]);

    // Staff confirm after the window closed: the meal and time stay those of the door.
    clock.set('2025-03-10T09:00:00.000Z');
    const r = service.confirm(id, 'staff-7');
    expect(r).toMatchObject({ status: 'recorded', confirmation: { status: 'confirmed', decidedBy: 'staff-7', decidedAt: '2025-03-10T09:00:00.000Z' }, checkIn: { elderName: '王秀英', at: LUNCH, ...LUNCH_SLOT } });
    const [event] = outboxEvents();
    expect(event).toMatchObject({ elderId: 'E1', at: LUNCH, meal: 'lunch', bootId: BOOT, seq: 1, score: 0.3, cameraId: 'door' });
    expect(event).not.toHaveProperty('antispoof');
    expect(event).not.toHaveProperty('clock');
    expect(seen.map((c) => c.eventId)).toEqual([event!.eventId]);
    expect(service.confirm(id, 'staff-8')).toMatchObject({ status: 'already-decided', confirmation: { decidedBy: 'staff-7' } });
    expect(service.reject(id, 'staff-8')).toMatchObject({ status: 'already-decided' });
    expect(outboxEvents()).toHaveLength(1);
    expect(service.countPending()).toBe(0);
  });

  it('a check-in recorded meanwhile supersedes the hold; confirming one whose meal is already recorded records nothing', () => {
    const { checkIns, writer, service, hold } = build(0.5);
    const id = (hold() as { confirmation: { id: string } }).confirmation.id;
    const rec = { eventId: '00000000-0000-7000-8000-0000000000aa', elderId: 'E1', ...LUNCH_SLOT, at: LUNCH, method: 'manual' as const, staffId: 'S1' };
    db.transaction(() => {
      checkIns.insert(rec);
      writer.enqueue(writer.event(rec), rec.at);
      service.supersedeOpen(rec);
    })();
    expect(service.get(id)).toMatchObject({ status: 'superseded', eventId: rec.eventId });
    // A hold made before the check-in whose supersede was missed (another process): confirming it finds the meal taken.
    db.prepare("UPDATE confirmations SET status = 'pending', event_id = NULL WHERE id = ?").run(id);
    expect(service.confirm(id, 'staff-7')).toMatchObject({ status: 'already-checked-in', confirmation: { status: 'superseded', eventId: rec.eventId }, checkIn: { eventId: rec.eventId, elderName: '王秀英' } });
    expect(outboxEvents()).toHaveLength(1);
  });

  it('rejects with a reason, forwarding nothing; unknown ids and failed writes are answered, not thrown', () => {
    const { service, hold } = build(0.5);
    expect(service.reject('no-such-id', 'staff-7')).toEqual({ status: 'not-found', id: 'no-such-id' });
    const id = (hold() as { confirmation: { id: string } }).confirmation.id;
    expect(service.reject(id, 'staff-7', 'a photo on a phone')).toMatchObject({ status: 'rejected', confirmation: { status: 'rejected', reason: 'a photo on a phone', decidedBy: 'staff-7' } });
    expect(outboxEvents()).toEqual([]);
    const id2 = (hold() as { confirmation: { id: string } }).confirmation.id;
    db.exec('DROP TABLE outbox');
    expect(service.confirm(id2, 'staff-7')).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/outbox/) as string });
    // Rolled back: still waiting for a decision.
    expect(service.get(id2)).toMatchObject({ status: 'pending' });
  });
});

describe('held check-in service (clock untrusted)', () => {
  const EPOCH = '1970-01-01T00:05:00.000Z';
  const HOUR = 3_600_000;
  const windows = parseMealWindows(DEFAULT_MEAL_WINDOWS);
  function build(bootId = BOOT, ids = counterIds()) {
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    const outbox = createOutboxRepository(db);
    const unsynced = createClockRepository(db);
    const writer = createCheckInWriter({ outbox, centreId: 'c1', deviceId: 'd1', bootId, logger: quietEdgeLogger });
    const seen: CheckIn[] = [];
    writer.onRecorded((c) => seen.push(c));
    const service = createHeldCheckInService({ db, writer, elders, unsynced, ids, windows, timeZone: 'Asia/Shanghai', isSuspect: (r) => (r.antispoof ?? 1) < 0.5, logger: quietEdgeLogger });
    const at = (monoMs: number, req: Partial<Parameters<typeof service.record>[0]> = {}) => service.record({ elderId: 'E1', method: 'face', ...req }, { trusted: false, system: new Date(EPOCH), monoMs });
    return { outbox, unsynced, seen, service, at };
  }

  it('records a provisional check-in with a held outbox row, stamped with the run and its monotonic time', () => {
    const { outbox, unsynced, seen, service, at } = build();
    const r = at(1_000, { score: 0.3, cameraId: 'door', antispoof: 0.9 });
    // 00:05 UTC is 08:05 in Shanghai: breakfast, the box's guess.
    expect(r).toMatchObject({ status: 'recorded', checkIn: { elderName: '王秀英', provisional: true, at: EPOCH, meal: 'breakfast', serviceDate: '1970-01-01', score: 0.3, cameraId: 'door' } });
    const checkIn = (r as { checkIn: CheckIn }).checkIn;
    expect(checkIn).not.toHaveProperty('antispoof');
    expect(seen).toEqual([checkIn]);
    expect(outbox.takeOldest(10)).toEqual([]);
    expect(outbox.heldEvent(checkIn.eventId)).toMatchObject({ clock: 'unverified', monoMs: 1_000, edgeAt: EPOCH, bootId: BOOT, seq: 1 });
    expect(unsynced.listHeld(BOOT)).toEqual([expect.objectContaining({ eventId: checkIn.eventId, monoMs: 1_000, bootId: BOOT, score: 0.3, cameraId: 'door', status: 'held' })]);
    expect(service.countHeld()).toBe(1);
  });

  it('counts one elder\'s check-ins closer than the shortest gap between meals as one, within this run only', () => {
    const { service, at } = build();
    const first = at(0);
    expect(at(2 * HOUR - 1)).toMatchObject({ status: 'already-checked-in', checkIn: { eventId: (first as { checkIn: CheckIn }).checkIn.eventId, provisional: true } });
    expect(at(2 * HOUR).status).toBe('recorded');
    expect(service.countHeld()).toBe(2);
    // Another run's held check-ins say nothing about this run's monotonic time.
    expect(build('another-run', uuidV7Ids).at(0).status).toBe('recorded');
  });

  it('refuses, writing nothing: a bad request, an unknown elder, a suspect face (staff check it in by hand), a failed write', () => {
    const { outbox, service, at } = build();
    expect(at(0, { score: -1 })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/score/) as string });
    expect(at(0, { elderId: 'E9' })).toEqual({ status: 'unknown-elder', elderId: 'E9' });
    expect(at(0, { antispoof: 0.1 })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/by hand/) as string });
    expect(service.countHeld()).toBe(0);
    db.exec('DROP TABLE outbox');
    expect(at(0, { method: 'manual', staffId: 'S1' })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/^SQLITE_ERROR: .*outbox/) as string });
    // Rolled back together: no held check-in without its outbox row.
    expect(service.countHeld()).toBe(0);
    expect(() => outbox.pendingCount()).toThrow();
  });
});

describe('recording service (clock trusted)', () => {
  const windows = parseMealWindows(DEFAULT_MEAL_WINDOWS);
  function build(checkIns: Pick<ReturnType<typeof createCheckInRepository>, 'find' | 'insert'> = createCheckInRepository(db)) {
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    const writer = createCheckInWriter({ outbox: createOutboxRepository(db), centreId: 'c1', deviceId: 'd1', bootId: BOOT, logger: quietEdgeLogger });
    const seen: CheckIn[] = [];
    writer.onRecorded((c) => seen.push(c));
    const confirmations = createConfirmationService({ db, writer, elders, checkIns, confirmations: createConfirmationRepository(db), ids: counterIds(), clock: new TestClock(LUNCH), antispoofThreshold: 0.5, logger: quietEdgeLogger });
    const service = createRecordingService({ db, writer, elders, checkIns, confirmations, ids: counterIds(), windows, timeZone: 'Asia/Shanghai' });
    return { seen, confirmations, service };
  }

  it('records at the time it is given, with the clock\'s source in the event, once per elder and meal', () => {
    const { seen, service } = build();
    expect(service.record({ elderId: 'E1', method: 'face' }, { at: new Date('2025-03-10T02:00:00.000Z') })).toEqual({ status: 'outside-meal-window' }); // 10:00
    const r = service.record({ elderId: 'E1', method: 'face', score: 0.3, antispoof: 0.9 }, { at: new Date(LUNCH), source: 'server' });
    expect(r).toMatchObject({ status: 'recorded', checkIn: { elderName: '王秀英', at: LUNCH, meal: 'lunch', serviceDate: '2025-03-10', antispoof: 0.9 } });
    expect(outboxEvents()).toEqual([expect.objectContaining({ clock: 'server', seq: 1, score: 0.3 })]);
    expect(outboxEvents()[0]).not.toHaveProperty('antispoof');
    expect(service.record({ elderId: 'E1', method: 'manual', staffId: 'S1' }, { at: new Date('2025-03-10T04:00:00.000Z') })).toMatchObject({ status: 'already-checked-in', checkIn: { eventId: (r as { checkIn: CheckIn }).checkIn.eventId } });
    // A plain clock says nothing of its source: no `clock` field.
    expect(service.record({ elderId: 'E1', method: 'face' }, { at: new Date('2025-03-10T10:00:00.000Z') }).status).toBe('recorded'); // dinner, 18:00
    expect(outboxEvents()[1]).not.toHaveProperty('clock');
    expect(seen).toHaveLength(2);
  });

  it('holds a suspect face for staff, and a check-in recorded later for the meal supersedes the hold', () => {
    const { confirmations, service } = build();
    const held = service.record({ elderId: 'E1', method: 'face', antispoof: 0.1 }, { at: new Date(LUNCH) });
    expect(held).toMatchObject({ status: 'pending-confirmation' });
    expect(outboxEvents()).toEqual([]);
    const r = service.record({ elderId: 'E1', method: 'manual', staffId: 'S1' }, { at: new Date('2025-03-10T03:30:00.000Z') });
    expect(r.status).toBe('recorded');
    expect(confirmations.get((held as { confirmation: { id: string } }).confirmation.id)).toMatchObject({ status: 'superseded', eventId: (r as { checkIn: CheckIn }).checkIn.eventId });
  });

  it('two cameras deciding on one elder at once: the UNIQUE constraint settles it, and the second hears already-checked-in', () => {
    const real = createCheckInRepository(db);
    // The other camera's check-in lands between this one's look and its write.
    let racing = true;
    const { seen, service } = build({
      find: (...args) => {
        if (!racing) return real.find(...args);
        racing = false;
        return undefined;
      },
      insert: (c) => real.insert(c),
    });
    real.insert({ eventId: '00000000-0000-7000-8000-0000000000cc', elderId: 'E1', serviceDate: '2025-03-10', meal: 'lunch', at: LUNCH, method: 'face' });
    expect(service.record({ elderId: 'E1', method: 'face' }, { at: new Date(LUNCH) })).toMatchObject({ status: 'already-checked-in', checkIn: { eventId: '00000000-0000-7000-8000-0000000000cc', elderName: '王秀英' } });
    expect(outboxEvents()).toEqual([]);
    expect(seen).toEqual([]);
  });
});
