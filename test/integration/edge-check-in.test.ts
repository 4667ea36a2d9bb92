import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventBatch, type MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import type { ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import type { CheckIn } from '../../edge/src/meals/check-in.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';
import { edgeTempDir, openEdgeDb, TestClock, testCheckInService } from '../helpers/edge-fixtures.ts';

// 11:00 and 12:00 in Shanghai (UTC+8) on 2025-03-10.
const LUNCH = '2025-03-10T03:00:00.000Z';

function build(db: Db, clock: TestClock): { service: CheckInService; elders: ElderRepository } {
  return testCheckInService(db, clock);
}

function rows(db: Db): { checkIns: number; outbox: { event_id: string; payload: string }[] } {
  return {
    checkIns: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM check_ins').get()!.n,
    outbox: db.prepare<[], { event_id: string; payload: string }>('SELECT event_id, payload FROM outbox ORDER BY seq').all(),
  };
}

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let service: CheckInService;
let elders: ElderRepository;
beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock(LUNCH);
  ({ service, elders } = build(db, clock));
  elders.upsertElder('e1', '王秀英');
  elders.upsertElder('e2', '李建国');
});
afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

describe('check-in service', () => {
  it('records a check-in and its outbox row together', () => {
    const seen: CheckIn[] = [];
    service.onRecorded((c) => seen.push(c));
    const r = service.record({ elderId: 'e1', method: 'face', score: 0.31, cameraId: 'door' });
    expect(r).toEqual({
      status: 'recorded',
      checkIn: {
        eventId: '00000000-0000-7000-8000-000000000001',
        elderId: 'e1',
        elderName: '王秀英',
        serviceDate: '2025-03-10',
        meal: 'lunch',
        at: LUNCH,
        method: 'face',
        score: 0.31,
        cameraId: 'door',
      },
    });
    expect(kioskMessage(r).text).toBe('王秀英 午餐签到成功');
    expect(seen).toHaveLength(1);

    const { checkIns, outbox } = rows(db);
    expect(checkIns).toBe(1);
    expect(outbox).toHaveLength(1);
    const event = JSON.parse(outbox[0]!.payload) as MealEvent;
    expect(event).toEqual({
      eventId: '00000000-0000-7000-8000-000000000001',
      elderId: 'e1',
      centreId: 'c-001',
      deviceId: 'door1',
      serviceDate: '2025-03-10',
      meal: 'lunch',
      at: LUNCH,
      method: 'face',
      score: 0.31,
      cameraId: 'door',
      bootId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      seq: 1,
    });
    // What the outbox holds is what the server accepts.
    expect(parseEventBatch(JSON.stringify({ v: 1, events: [event] })).ok).toBe(true);
  });

  it('allows one check-in per elder per meal window', () => {
    const first = service.record({ elderId: 'e1', method: 'face' });
    clock.set('2025-03-10T04:00:00Z');
    const again = service.record({ elderId: 'e1', method: 'manual', staffId: 'S1' });
    expect(again.status).toBe('already-checked-in');
    expect(again).toEqual({ status: 'already-checked-in', checkIn: first.status === 'recorded' ? first.checkIn : null });
    expect(kioskMessage(again).text).toBe('王秀英 本餐已签到');
    expect(service.record({ elderId: 'e2', method: 'face' }).status).toBe('recorded');

    clock.set('2025-03-10T10:00:00Z'); // 18:00 local: dinner
    expect(service.record({ elderId: 'e1', method: 'face' })).toMatchObject({ status: 'recorded', checkIn: { meal: 'dinner' } });
    clock.set('2025-03-11T03:00:00Z'); // next day's lunch
    expect(service.record({ elderId: 'e1', method: 'face' })).toMatchObject({ status: 'recorded', checkIn: { meal: 'lunch', serviceDate: '2025-03-11' } });

    expect(rows(db).checkIns).toBe(4);
    expect(rows(db).outbox).toHaveLength(4);
    expect(service.countForDay('2025-03-10')).toBe(3);
    expect(service.countAll()).toBe(4);
    expect(service.today()).toBe('2025-03-11');
    expect(service.listForDay('2025-03-10').map((c) => [c.elderName, c.meal])).toEqual([
      ['王秀英', 'lunch'],
      ['李建国', 'lunch'],
      ['王秀英', 'dinner'],
    ]);
  });

  it('refuses outside meal windows and for unknown elders, writing nothing', () => {
    clock.set('2025-03-10T07:00:00Z'); // 15:00 local
    expect(service.record({ elderId: 'e1', method: 'face' })).toEqual({ status: 'outside-meal-window' });
    clock.set(LUNCH);
    expect(service.record({ elderId: 'ghost', method: 'face' })).toEqual({ status: 'unknown-elder', elderId: 'ghost' });
    expect(service.record({ elderId: 'e1', method: 'face', score: Number.NaN })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/score/) });
    expect(service.record({ elderId: 'e1', method: 'face', cameraId: 'a b' })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/camera/) });
    expect(rows(db)).toEqual({ checkIns: 0, outbox: [] });
  });

  it('reports not-recorded and keeps no check-in when the outbox write fails', () => {
    db.exec('DROP TABLE outbox');
    const seen: CheckIn[] = [];
    service.onRecorded((c) => seen.push(c));
    const r = service.record({ elderId: 'e1', method: 'face' });
    expect(r).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/outbox/) });
    expect(kioskMessage(r).tone).toBe('error');
    expect(seen).toEqual([]);
    // Rolled back: the elder can try again, nothing half-written.
    expect(db.prepare('SELECT count(*) AS n FROM check_ins').get()).toEqual({ n: 0 });
  });

  it('reports not-recorded when the disk is full, and never leaves a check-in without its outbox row', () => {
    for (let i = 0; i < 400; i++) elders.upsertElder(`x${i}`, `老人${i}`);
    // The database may not grow any more: the next pages it needs fail with SQLITE_FULL.
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const results = Array.from({ length: 400 }, (_, i) => service.record({ elderId: `x${i}`, method: 'face' }));
    const failed = results.filter((r) => r.status === 'not-recorded');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({ reason: expect.stringMatching(/^SQLITE_FULL/) });
    const recorded = results.filter((r) => r.status === 'recorded').length;
    const { checkIns, outbox } = rows(db);
    expect(checkIns).toBe(recorded);
    expect(outbox).toHaveLength(recorded);
  });

  it('reports not-recorded on a read-only database', () => {
    // query_only behaves the same for root and other users (file modes do not stop root).
    db.pragma('query_only = ON');
    expect(service.record({ elderId: 'e1', method: 'face' })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/^SQLITE_READONLY/) });
    db.pragma('query_only = OFF');
    expect(rows(db)).toEqual({ checkIns: 0, outbox: [] });
  });

  it('survives a listener that throws', () => {
    service.onRecorded(() => {
      throw new Error('boom');
    });
    expect(service.record({ elderId: 'e1', method: 'face' }).status).toBe('recorded');
  });
});
