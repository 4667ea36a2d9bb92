/**
 * Face check-ins held for staff when the anti-spoof hint is low: real SQLite, the real check-in
 * service, and (for the pipeline path) the fake engine at the model seam.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventBatch, type MealEvent } from '../../common/contract.ts';
import { createLogger } from '../../common/logger.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import type { ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import type { CheckIn } from '../../edge/src/meals/check-in.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';
import { Matcher, packTemplates } from '../../edge/src/recognition/matcher.ts';
import { RecognitionPipeline, type CheckInEvent } from '../../edge/src/recognition/pipeline.ts';
import { EDGE_MIGRATIONS, edgeTempDir, openEdgeDb, TestClock, testCheckInService } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor, type FakeScene } from '../helpers/fake-engine.ts';

// 11:00 in Shanghai (UTC+8) on 2025-03-10: lunch (11:00-13:30).
const LUNCH = '2025-03-10T03:00:00.000Z';
const THRESHOLD = 0.5;

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let service: CheckInService;
let elders: ElderRepository;

function open(threshold = THRESHOLD): void {
  db = openEdgeDb(tmp.dir);
  ({ service, elders } = testCheckInService(db, clock, { antispoofThreshold: threshold }));
}

function tables(): { checkIns: { event_id: string; antispoof: number | null }[]; outbox: MealEvent[]; confirmations: { status: string }[] } {
  return {
    checkIns: db.prepare<[], { event_id: string; antispoof: number | null }>('SELECT event_id, antispoof FROM check_ins ORDER BY at').all(),
    outbox: db.prepare<[], { payload: string }>('SELECT payload FROM outbox ORDER BY seq').all().map((r) => JSON.parse(r.payload) as MealEvent),
    confirmations: db.prepare<[], { status: string }>('SELECT status FROM confirmations ORDER BY at').all(),
  };
}

function held(elderId = 'e1', antispoof = 0.2): string {
  const r = service.record({ elderId, method: 'face', score: 0.3, cameraId: 'door', antispoof });
  if (r.status !== 'pending-confirmation') throw new Error(`expected a held check-in, got ${r.status}`);
  return r.confirmation.id;
}

beforeEach(() => {
  tmp = edgeTempDir();
  clock = new TestClock(LUNCH);
  open();
  elders.upsertElder('e1', '王秀英');
  elders.upsertElder('e2', '李建国');
});
afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

describe('anti-spoof hold', () => {
  it('holds a suspect face for staff instead of recording it, and tells the elder to wait', () => {
    const r = service.record({ elderId: 'e1', method: 'face', score: 0.31, cameraId: 'door', antispoof: 0.2 });
    expect(r).toEqual({
      status: 'pending-confirmation',
      confirmation: { id: expect.any(String) as string, elderId: 'e1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: LUNCH, method: 'face', score: 0.31, cameraId: 'door', antispoof: 0.2, status: 'pending' },
    });
    expect(kioskMessage(r)).toEqual({ tone: 'info', text: '请稍候，工作人员确认' });
    expect(tables()).toEqual({ checkIns: [], outbox: [], confirmations: [{ status: 'pending' }] });
    expect(service.countPendingConfirmations()).toBe(1);
    expect(service.listConfirmations().map((c) => [c.elderName, c.status])).toEqual([['王秀英', 'pending']]);
  });

  it('a second suspect attempt for the same meal reuses the open hold', () => {
    const first = held('e1', 0.2);
    clock.advance(60_000);
    expect(held('e1', 0.1)).toBe(first);
    expect(service.countPendingConfirmations()).toBe(1);
  });

  it('records a live face with its score, which stays off the wire', () => {
    const r = service.record({ elderId: 'e1', method: 'face', score: 0.3, antispoof: 0.93 });
    expect(r).toMatchObject({ status: 'recorded', checkIn: { antispoof: 0.93 } });
    const { checkIns, outbox } = tables();
    expect(checkIns).toEqual([{ event_id: expect.any(String) as string, antispoof: 0.93 }]);
    expect(outbox[0]).not.toHaveProperty('antispoof');
    expect(parseEventBatch(JSON.stringify({ v: 1, events: outbox })).ok).toBe(true);
    expect(service.listForDay('2025-03-10')[0]).toMatchObject({ elderId: 'e1', antispoof: 0.93 });
  });

  it('a missing score never blocks a check-in', () => {
    expect(service.record({ elderId: 'e1', method: 'face', score: 0.3 }).status).toBe('recorded');
    expect(service.record({ elderId: 'e2', method: 'manual', staffId: 'S1' }).status).toBe('recorded');
    expect(tables().checkIns.map((c) => c.antispoof)).toEqual([null, null]);
  });

  it('threshold 0 (the default) never holds, whatever the score', () => {
    db.close();
    open(0);
    expect(service.record({ elderId: 'e1', method: 'face', antispoof: 0 })).toMatchObject({ status: 'recorded', checkIn: { antispoof: 0 } });
    expect(service.countPendingConfirmations()).toBe(0);
  });

  it('meal rules come first: outside a window or already checked in is said as such, not held', () => {
    expect(service.record({ elderId: 'e1', method: 'face', antispoof: 0.9 }).status).toBe('recorded');
    expect(service.record({ elderId: 'e1', method: 'face', antispoof: 0.1 }).status).toBe('already-checked-in');
    clock.set('2025-03-10T07:00:00Z'); // 15:00 local
    expect(service.record({ elderId: 'e2', method: 'face', antispoof: 0.1 }).status).toBe('outside-meal-window');
    expect(service.countPendingConfirmations()).toBe(0);
  });

  it('refuses an impossible score rather than guessing', () => {
    for (const antispoof of [Number.NaN, -0.1, 1.5]) {
      expect(service.record({ elderId: 'e1', method: 'face', antispoof })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/antispoof/) });
    }
    expect(tables()).toEqual({ checkIns: [], outbox: [], confirmations: [] });
  });
});

describe('staff decisions on held check-ins', () => {
  it('confirm records once, like a check-in at the door, and goes to the outbox', () => {
    const id = held('e1', 0.2);
    const seen: CheckIn[] = [];
    service.onRecorded((c) => seen.push(c));
    clock.advance(5 * 60_000);
    const r = service.confirm(id, 'staff-7');
    expect(r).toEqual({
      status: 'recorded',
      confirmation: expect.objectContaining({ id, status: 'confirmed', decidedBy: 'staff-7', decidedAt: '2025-03-10T03:05:00.000Z', eventId: expect.any(String) as string }) as unknown,
      checkIn: { eventId: expect.any(String) as string, elderId: 'e1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: LUNCH, method: 'face', score: 0.3, cameraId: 'door', antispoof: 0.2 },
    });
    if (r.status !== 'recorded') throw new Error('unreachable');
    expect(r.confirmation.eventId).toBe(r.checkIn.eventId);
    expect(seen).toEqual([r.checkIn]);
    const t = tables();
    expect(t.checkIns).toEqual([{ event_id: r.checkIn.eventId, antispoof: 0.2 }]);
    expect(t.outbox).toHaveLength(1);
    expect(t.outbox[0]).toMatchObject({ eventId: r.checkIn.eventId, elderId: 'e1', serviceDate: '2025-03-10', meal: 'lunch', at: LUNCH, method: 'face' });
    expect(parseEventBatch(JSON.stringify({ v: 1, events: t.outbox })).ok).toBe(true);

    // Once: a second confirm, a reject, or the elder coming back change nothing.
    expect(service.confirm(id, 'staff-8')).toMatchObject({ status: 'already-decided', confirmation: { status: 'confirmed', decidedBy: 'staff-7' } });
    expect(service.reject(id, 'staff-8')).toMatchObject({ status: 'already-decided' });
    expect(service.record({ elderId: 'e1', method: 'face', antispoof: 0.9 }).status).toBe('already-checked-in');
    expect(tables().outbox).toHaveLength(1);
    expect(service.countPendingConfirmations()).toBe(0);
  });

  it('confirming after the window closed, or after midnight, records the meal of the moment at the door', () => {
    clock.set('2025-03-10T05:29:00Z'); // 13:29 local, the last minute of lunch
    const id = held('e1');
    clock.set('2025-03-10T16:30:00Z'); // 00:30 local the next day: no window open, another date
    expect(service.confirm(id, 'staff-7')).toMatchObject({ status: 'recorded', checkIn: { serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T05:29:00.000Z' } });
    expect(service.countForDay('2025-03-10')).toBe(1);
  });

  it('reject records nothing, forwards nothing, and is kept for audit', () => {
    const id = held('e1');
    const seen: CheckIn[] = [];
    service.onRecorded((c) => seen.push(c));
    expect(service.reject(id, 'staff-7', '照片')).toMatchObject({ status: 'rejected', confirmation: { id, status: 'rejected', decidedBy: 'staff-7', reason: '照片' } });
    expect(service.confirm(id, 'staff-7')).toMatchObject({ status: 'already-decided', confirmation: { status: 'rejected' } });
    expect(seen).toEqual([]);
    expect(tables()).toEqual({ checkIns: [], outbox: [], confirmations: [{ status: 'rejected' }] });
    expect(service.listConfirmations('rejected').map((c) => c.id)).toEqual([id]);
    expect(service.listConfirmations('pending')).toEqual([]);
    // A rejected attempt does not bar the elder: a later, live-looking face is checked in.
    expect(service.record({ elderId: 'e1', method: 'face', antispoof: 0.9 }).status).toBe('recorded');
  });

  it('an elder recognised normally later in the same meal gets one meal, and the hold is superseded', () => {
    const id = held('e1');
    clock.advance(30_000);
    const r = service.record({ elderId: 'e1', method: 'face', antispoof: 0.8 });
    expect(r.status).toBe('recorded');
    if (r.status !== 'recorded') throw new Error('unreachable');
    expect(service.getConfirmation(id)).toMatchObject({ status: 'superseded', eventId: r.checkIn.eventId });
    expect(service.confirm(id, 'staff-7')).toMatchObject({ status: 'already-decided', confirmation: { status: 'superseded' } });
    expect(tables().checkIns).toHaveLength(1);
    expect(tables().outbox).toHaveLength(1);
  });

  it('a hand check-in by staff also supersedes the hold', () => {
    const id = held('e1');
    expect(service.record({ elderId: 'e1', method: 'manual', staffId: 'S1' }).status).toBe('recorded');
    expect(service.getConfirmation(id)?.status).toBe('superseded');
  });

  it('confirm finds the meal already recorded: nothing more is recorded and the hold is superseded', () => {
    const id = held('e1');
    // A check-in written past the service (e.g. by an older edge version): the UNIQUE rule still holds.
    createCheckInRepository(db).insert({ eventId: '00000000-0000-7000-8000-0000000000ff', elderId: 'e1', serviceDate: '2025-03-10', meal: 'lunch', at: LUNCH, method: 'manual' });
    expect(service.confirm(id, 'staff-7')).toMatchObject({
      status: 'already-checked-in',
      checkIn: { eventId: '00000000-0000-7000-8000-0000000000ff' },
      confirmation: { status: 'superseded', eventId: '00000000-0000-7000-8000-0000000000ff', decidedBy: 'staff-7' },
    });
    expect(tables().checkIns).toHaveLength(1);
    expect(tables().outbox).toHaveLength(0);
  });

  it('unknown ids are not found', () => {
    expect(service.confirm('00000000-0000-7000-8000-00000000dead', 's')).toEqual({ status: 'not-found', id: '00000000-0000-7000-8000-00000000dead' });
    expect(service.reject('nope', 's')).toEqual({ status: 'not-found', id: 'nope' });
  });

  it('a failed commit records nothing and leaves the hold pending', () => {
    const id = held('e1');
    db.exec('DROP TABLE outbox');
    expect(service.confirm(id, 'staff-7')).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/outbox/) });
    expect(service.getConfirmation(id)?.status).toBe('pending');
    expect(db.prepare('SELECT count(*) AS n FROM check_ins').get()).toEqual({ n: 0 });
  });

  it('a hold survives closing and reopening the database, and can be confirmed after', () => {
    const id = held('e1', 0.25);
    db.close();
    clock.advance(10 * 60_000);
    open();
    expect(service.listConfirmations()).toEqual([expect.objectContaining({ id, elderName: '王秀英', antispoof: 0.25, status: 'pending' })]);
    expect(service.confirm(id, 'staff-7')).toMatchObject({ status: 'recorded', checkIn: { at: LUNCH, meal: 'lunch' } });
    db.close();
    open();
    expect(service.getConfirmation(id)).toMatchObject({ status: 'confirmed', decidedBy: 'staff-7' });
    expect(service.countAll()).toBe(1);
  });
});

describe('migration', () => {
  it('a database from before the anti-spoof hint keeps its check-ins, with no score', () => {
    db.close();
    const old = edgeTempDir();
    try {
      // The first version only: as a box upgraded from the previous release has it.
      const v1 = join(old.dir, 'migrations');
      mkdirSync(v1);
      copyFileSync(join(EDGE_MIGRATIONS, '001-initial.sql'), join(v1, '001-initial.sql'));
      const before = openDatabase(join(old.dir, 'edge.db'), { migrationsDir: v1 });
      before.prepare("INSERT INTO check_ins (event_id, elder_id, service_date, meal, at, method) VALUES ('ev1', 'e1', '2025-03-09', 'lunch', '2025-03-09T03:00:00.000Z', 'face')").run();
      before.close();
      db = openEdgeDb(old.dir);
      ({ service, elders } = testCheckInService(db, clock, { antispoofThreshold: THRESHOLD }));
      expect(service.listForDay('2025-03-09')).toEqual([expect.objectContaining({ eventId: 'ev1' })]);
      expect(service.listForDay('2025-03-09')[0]).not.toHaveProperty('antispoof');
      elders.upsertElder('e1', '王秀英');
      expect(service.confirm(held('e1'), 'staff-7').status).toBe('recorded');
    } finally {
      db.close();
      old.cleanup();
    }
  });
});

describe('pipeline to check-in service', () => {
  const A = syntheticDescriptor(1);
  const logger = createLogger('test', 'silent');

  async function walkIn(scores: (number | undefined)[]): Promise<CheckInEvent[]> {
    const scenes: Record<string, FakeScene> = {};
    const frames: string[] = [];
    scores.forEach((antispoof, i) => {
      const f = fakeFace({ descriptor: descriptorAt(A, 0.1, 50 + i), box: { x: 100 + i, y: 100, width: 100, height: 100 } });
      scenes[`f-${i}`] = [antispoof === undefined ? f : { ...f, antispoof }];
      frames.push(`f-${i}`);
    });
    elders.upsertElder('a', '张桂兰');
    const pipeline = new RecognitionPipeline({ source: new MemoryFrameSource(frames), engine: new FakeEngine(scenes), matcher: new Matcher(packTemplates([{ elderId: 'a', descriptor: A }])), recorder: service, logger, options: { cameraId: 'door', voter: { strongDistance: 0 } } });
    const events: CheckInEvent[] = [];
    pipeline.on('check-in', (e) => events.push(e));
    await pipeline.start();
    await pipeline.done();
    return events;
  }

  it('a photo held up to the camera goes to staff, not into the meals', async () => {
    const events = await walkIn([0.1, 0.3, 0.2]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ elderId: 'a', antispoof: expect.closeTo(0.2, 9) as number, result: { status: 'pending-confirmation' } });
    expect(kioskMessage(events[0]!.result).text).toBe('请稍候，工作人员确认');
    expect(service.listConfirmations()).toEqual([expect.objectContaining({ elderId: 'a', cameraId: 'door', antispoof: expect.closeTo(0.2, 9) as number })]);
    expect(tables().checkIns).toEqual([]);
  });

  it('a live face is checked in with its score; an engine without scores checks in as before', async () => {
    const live = await walkIn([0.9, 0.8]);
    expect(live[0]).toMatchObject({ result: { status: 'recorded', checkIn: { antispoof: expect.closeTo(0.85, 9) as number } } });
    db.close();
    tmp.cleanup();
    tmp = edgeTempDir();
    open();
    const unmeasured = await walkIn([undefined, undefined]);
    expect(unmeasured[0]?.result.status).toBe('recorded');
    expect(tables().checkIns).toEqual([{ event_id: expect.any(String) as string, antispoof: null }]);
  });
});
