/**
 * Meals by hand, voids and today's view on the edge, against a real migrated SQLite database:
 * the check-in service's rules (window, once per meal, unknown and suspended elders, the
 * untrusted clock), the void service (outbox record, slot freed), the staff meal service (audit
 * in the same transaction, who may void what), the elder search and the today service.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClockReading, TrustAwareClock } from '../../common/clock.ts';
import type { BatchEvent, MealEvent, VoidRecord } from '../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, parseMealWindows } from '../../common/meal-windows.ts';
import type { Db } from '../../common/sqlite.ts';
import { createAuditLog } from '../../edge/src/audit/audit-log.ts';
import { createClockRepository } from '../../edge/src/clock/clock-repository.ts';
import { createElderRepository, type ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import { createCheckInService, type CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { createClockCorrector } from '../../edge/src/meals/clock-correction.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';
import { createStaffMealService } from '../../edge/src/meals/staff-meal-service.ts';
import { addDays, createTodayService, REGULAR_MIN_DAYS } from '../../edge/src/meals/today-service.ts';
import { createOutboxRepository, type OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { counterIds, edgeTempDir, openEdgeDb, quietEdgeLogger, TestClock, testCheckInService } from '../helpers/edge-fixtures.ts';

// 12:00 in Shanghai on 2025-03-10: lunch (11:00-13:30).
const LUNCH = '2025-03-10T04:00:00.000Z';
const windows = parseMealWindows(DEFAULT_MEAL_WINDOWS);
const STAFF = { staffId: 'S01', role: 'staff' as const };
const MANAGER = { staffId: 'M01', role: 'manager' as const };

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let service: CheckInService;
let elders: ElderRepository;
let outbox: OutboxRepository;

const events = (): BatchEvent[] => outbox.takeOldest(100).map((r) => r.event);
const hasColumn = (table: string, column: string) => (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]).includes(column);
/**
 * The registry's status column (edge migration 007, elders branch), for databases from before
 * it, and the services built again on it (a repository reads the columns when it is made).
 */
function withStatusColumn(): void {
  if (!hasColumn('elders', 'status')) db.exec("ALTER TABLE elders ADD COLUMN status TEXT NOT NULL DEFAULT 'active'");
  ({ service, elders, outbox } = testCheckInService(db, clock));
}

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock(LUNCH);
  ({ service, elders, outbox } = testCheckInService(db, clock));
  elders.upsertElder('E1', '王秀英');
  elders.upsertElder('E2', '李建国');
  elders.upsertElder('E3', '赵桂兰');
});
afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

describe('meals by hand', () => {
  it('records manual, delivery and proxy meals with the staff id (and the collector), and forwards them', () => {
    const manual = service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    const delivery = service.record({ elderId: 'E2', method: 'delivery', staffId: 'S01' });
    const proxy = service.record({ elderId: 'E3', method: 'proxy', staffId: 'S02', proxyName: '赵明（儿子）' });
    expect([manual.status, delivery.status, proxy.status]).toEqual(['recorded', 'recorded', 'recorded']);
    expect(proxy).toMatchObject({ checkIn: { elderName: '赵桂兰', meal: 'lunch', serviceDate: '2025-03-10', at: LUNCH, method: 'proxy', staffId: 'S02', proxyName: '赵明（儿子）' } });
    const sent = events() as MealEvent[];
    expect(sent.map((e) => [e.elderId, e.method, e.staffId, e.proxyName])).toEqual([
      ['E1', 'manual', 'S01', undefined],
      ['E2', 'delivery', 'S01', undefined],
      ['E3', 'proxy', 'S02', '赵明（儿子）'],
    ]);
    expect(db.prepare('SELECT staff_id AS s, proxy_name AS p FROM check_ins WHERE elder_id = ?').get('E3')).toEqual({ s: 'S02', p: '赵明（儿子）' });
    expect(service.listForDay('2025-03-10').map((c) => c.method)).toEqual(['manual', 'delivery', 'proxy']);
  });

  it('allows one meal per elder per window, whatever the method', () => {
    expect(service.record({ elderId: 'E1', method: 'face', score: 0.3 }).status).toBe('recorded');
    const again = service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    expect(again).toMatchObject({ status: 'already-checked-in', checkIn: { method: 'face' } });
    expect(service.record({ elderId: 'E2', method: 'delivery', staffId: 'S01' }).status).toBe('recorded');
    expect(service.record({ elderId: 'E2', method: 'face', score: 0.3 })).toMatchObject({ status: 'already-checked-in', checkIn: { method: 'delivery' } });
    // The next window is another meal.
    clock.set('2025-03-10T10:00:00.000Z'); // 18:00, dinner
    expect(service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' })).toMatchObject({ status: 'recorded', checkIn: { meal: 'dinner' } });
    expect(events()).toHaveLength(3);
  });

  it('refuses outside a meal window, an unknown elder, a suspended elder, and a request without staff', () => {
    withStatusColumn();
    db.prepare("UPDATE elders SET status = 'suspended' WHERE elder_id = 'E3'").run();
    const suspended = service.record({ elderId: 'E3', method: 'manual', staffId: 'S01' });
    expect(suspended).toEqual({ status: 'elder-inactive', elderId: 'E3', elderName: '赵桂兰', elderStatus: 'suspended' });
    expect(kioskMessage(suspended).tone).toBe('error');
    expect(service.record({ elderId: 'E9', method: 'manual', staffId: 'S01' })).toEqual({ status: 'unknown-elder', elderId: 'E9' });
    expect(service.record({ elderId: 'E1', method: 'manual' })).toEqual({ status: 'not-recorded', reason: 'a manual meal needs the id of the staff member who records it' });
    clock.set('2025-03-10T06:00:00.000Z'); // 14:00, between lunch and dinner
    expect(service.record({ elderId: 'E1', method: 'delivery', staffId: 'S01' })).toEqual({ status: 'outside-meal-window' });
    expect(events()).toHaveLength(0);
  });

  it('while the clock is untrusted, holds a meal by hand like a face check-in and keeps its staff id through the correction', () => {
    const repo = createClockRepository(db);
    const reading: ClockReading = { trusted: false, system: new Date('1970-01-01T00:10:00.000Z'), monoMs: 5_000 };
    const untrusted: TrustAwareClock = { now: () => reading.system, reading: () => reading };
    const checkIns = createCheckInRepository(db);
    const held = createCheckInService({ db, elders, checkIns, outbox, clock: untrusted, ids: counterIds(), windows, timeZone: 'Asia/Shanghai', centreId: 'c-001', deviceId: 'door1', logger: quietEdgeLogger, bootId: '00000000-0000-4000-8000-000000000b00', unsynced: repo });
    const r = held.record({ elderId: 'E1', method: 'proxy', staffId: 'S01', proxyName: '王强' });
    expect(r).toMatchObject({ status: 'recorded', checkIn: { provisional: true, staffId: 'S01', proxyName: '王强' } });
    const all = createOutboxRepository(db);
    expect(all.heldCount()).toBe(1);
    const corrector = createClockCorrector({ db, clocks: repo, checkIns, outbox: all, windows, timeZone: 'Asia/Shanghai', bootId: '00000000-0000-4000-8000-000000000b00', logger: quietEdgeLogger });
    expect(corrector.correctHeld(() => new Date(LUNCH), new Date(LUNCH))).toMatchObject({ corrected: 1 });
    expect(db.prepare('SELECT meal, staff_id AS s, proxy_name AS p FROM check_ins').get()).toEqual({ meal: 'lunch', s: 'S01', p: '王强' });
    expect(events()).toEqual([expect.objectContaining({ method: 'proxy', staffId: 'S01', proxyName: '王强', meal: 'lunch', clock: 'corrected' })]);
  });
});

describe('voids', () => {
  it('takes a check-in out of the count, forwards a void record in the same transaction, and frees the meal for a new check-in', () => {
    const wrong = service.record({ elderId: 'E1', method: 'face', score: 0.4, cameraId: 'door' });
    if (wrong.status !== 'recorded') throw new Error(wrong.status);
    clock.advance(60_000);
    const v = service.void({ eventId: wrong.checkIn.eventId, staffId: 'S01', reason: ' 认错人，是李建国 ' });
    expect(v).toMatchObject({ status: 'voided', checkIn: { eventId: wrong.checkIn.eventId, elderName: '王秀英', voided: { staffId: 'S01', reason: '认错人，是李建国', at: '2025-03-10T04:01:00.000Z' } } });
    expect(service.countForDay('2025-03-10')).toBe(0);
    const [meal, record] = events() as [MealEvent, VoidRecord];
    expect(record).toEqual({
      type: 'void',
      eventId: v.status === 'voided' ? v.checkIn.voided!.voidEventId : '',
      centreId: 'c-001',
      deviceId: 'door1',
      at: '2025-03-10T04:01:00.000Z',
      voids: meal.eventId,
      reason: '认错人，是李建国',
      staffId: 'S01',
    });
    // Listed with the day, marked voided; found by id; voided once.
    expect(service.listForDay('2025-03-10')).toEqual([]);
    expect(service.listForDay('2025-03-10', { voided: true })).toEqual([expect.objectContaining({ eventId: meal.eventId, voided: expect.objectContaining({ reason: '认错人，是李建国' }) })]);
    expect(service.void({ eventId: meal.eventId, staffId: 'S02', reason: 'again' })).toMatchObject({ status: 'already-voided', checkIn: { voided: { staffId: 'S01' } } });
    // The elder really has not eaten yet: they can be checked in for lunch again.
    expect(service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' })).toMatchObject({ status: 'recorded', checkIn: { method: 'manual' } });
    expect(events()).toHaveLength(3);
  });

  it('refuses a void of an unknown check-in, without a reason or with a bad staff id, changing nothing', () => {
    const r = service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    if (r.status !== 'recorded') throw new Error(r.status);
    expect(service.void({ eventId: '00000000-0000-7000-8000-0000000000ff', staffId: 'S01', reason: 'x' })).toEqual({ status: 'not-found', eventId: '00000000-0000-7000-8000-0000000000ff' });
    expect(service.void({ eventId: r.checkIn.eventId, staffId: 'S01', reason: '   ' })).toEqual({ status: 'invalid', reason: 'a void needs a reason' });
    expect(service.void({ eventId: r.checkIn.eventId, staffId: 'S 1', reason: 'x' })).toEqual({ status: 'invalid', reason: 'invalid staff id "S 1"' });
    expect(service.void({ eventId: r.checkIn.eventId, staffId: 'S01', reason: '很'.repeat(201) })).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/at most 200/) as string });
    expect(service.countForDay('2025-03-10')).toBe(1);
    expect(events()).toHaveLength(1);
  });

  it('reports a failed write as not-recorded and leaves the check-in counted', () => {
    const r = service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    if (r.status !== 'recorded') throw new Error(r.status);
    db.exec("CREATE TRIGGER no_void BEFORE INSERT ON voided_check_ins BEGIN SELECT RAISE(FAIL, 'disk full'); END");
    expect(service.void({ eventId: r.checkIn.eventId, staffId: 'S01', reason: 'x' })).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/disk full/) as string });
    expect(service.countForDay('2025-03-10')).toBe(1);
    expect(events()).toHaveLength(1);
  });
});

describe('staff meal service', () => {
  const audit = () => createAuditLog({ db, clock, ids: counterIds() });
  const auditRows = () => db.prepare('SELECT staff_id AS staffId, action, subject, details FROM audit_log ORDER BY seq').all() as Array<{ staffId: string; action: string; subject: string; details: string }>;

  it('audits each meal by hand and void in its transaction', () => {
    const staff = createStaffMealService({ db, checkIns: service, audit: audit() });
    const r = staff.record(STAFF, { elderId: 'E1', method: 'proxy', proxyName: '王强' });
    if (r.status !== 'recorded') throw new Error(r.status);
    expect(staff.record(STAFF, { elderId: 'E1', method: 'manual' }).status).toBe('already-checked-in');
    const v = staff.void(STAFF, { eventId: r.checkIn.eventId, reason: '家属没来' });
    expect(v.status).toBe('voided');
    expect(auditRows().map((a) => ({ ...a, details: JSON.parse(a.details) as unknown }))).toEqual([
      { staffId: 'S01', action: 'manual-meal', subject: r.checkIn.eventId, details: { elderId: 'E1', method: 'proxy', meal: 'lunch', serviceDate: '2025-03-10', proxyName: '王强', provisional: false } },
      { staffId: 'S01', action: 'void', subject: r.checkIn.eventId, details: { elderId: 'E1', method: 'proxy', meal: 'lunch', serviceDate: '2025-03-10', reason: '家属没来', voidEventId: v.status === 'voided' ? v.checkIn.voided!.voidEventId : '' } },
    ]);
  });

  it('records nothing when the audit row cannot be written', () => {
    db.exec("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(FAIL, 'disk full'); END");
    const staff = createStaffMealService({ db, checkIns: service, audit: audit() });
    expect(() => staff.record(STAFF, { elderId: 'E1', method: 'manual' })).toThrow(/disk full/);
    expect(service.countAll()).toBe(0);
    expect(events()).toHaveLength(0);
  });

  it("lets staff void today's check-ins and only a manager an earlier day's", () => {
    const staff = createStaffMealService({ db, checkIns: service, audit: audit() });
    const yesterday = staff.record(STAFF, { elderId: 'E1', method: 'manual' });
    if (yesterday.status !== 'recorded') throw new Error(yesterday.status);
    clock.advance(24 * 3600_000);
    const today = staff.record(STAFF, { elderId: 'E1', method: 'manual' });
    if (today.status !== 'recorded') throw new Error(today.status);
    expect(staff.void(STAFF, { eventId: yesterday.checkIn.eventId, reason: '录错' })).toMatchObject({ status: 'forbidden', reason: expect.stringMatching(/takes a manager/) as string });
    expect(staff.void(STAFF, { eventId: today.checkIn.eventId, reason: '录错' }).status).toBe('voided');
    expect(staff.void(MANAGER, { eventId: yesterday.checkIn.eventId, reason: '录错' }).status).toBe('voided');
  });
});

describe('elder search', () => {
  it('finds elders by id, by name and, with the registry, by the tail of the ID-card number; best match first', () => {
    elders.upsertElder('E10', '王建华');
    expect(elders.searchElders('E1').map((m) => m.elderId)).toEqual(['E1', 'E10']);
    expect(elders.searchElders('王').map((m) => m.name)).toEqual(['王建华', '王秀英']);
    expect(elders.searchElders('秀英')).toEqual([{ elderId: 'E1', name: '王秀英', status: 'active' }]);
    expect(elders.searchElders('  ')).toEqual([]);
    expect(elders.searchElders('%')).toEqual([]);
    if (!hasColumn('elders', 'id_number')) db.exec('ALTER TABLE elders ADD COLUMN id_number TEXT');
    withStatusColumn();
    db.prepare("UPDATE elders SET id_number = '11010519491231002X' WHERE elder_id = 'E2'").run();
    db.prepare("UPDATE elders SET status = 'suspended' WHERE elder_id = 'E3'").run();
    const registry = createElderRepository(db);
    expect(registry.searchElders('002x')).toEqual([{ elderId: 'E2', name: '李建国', idTail: '002X', status: 'active' }]);
    expect(registry.searchElders('赵')).toEqual([{ elderId: 'E3', name: '赵桂兰', status: 'suspended' }]);
    // Three digits are not an ID-card tail.
    expect(registry.searchElders('02X')).toEqual([]);
  });
});

describe("today's view", () => {
  const checkIns = () => createCheckInRepository(db);
  const today = () => createTodayService({ checkIns: checkIns(), elders, windows, timeZone: 'Asia/Shanghai', clock, staffName: (id) => (id === 'S01' ? '张丽' : undefined) }).today();

  it('shows the open window, meals so far by method, voids, every check-in and the totals per window', () => {
    clock.set('2025-03-10T00:30:00.000Z'); // 08:30, breakfast
    service.record({ elderId: 'E1', method: 'face', score: 0.3, cameraId: 'door' });
    clock.set(LUNCH);
    service.record({ elderId: 'E1', method: 'manual', staffId: 'S01' });
    const d = service.record({ elderId: 'E2', method: 'delivery', staffId: 'S01' });
    const p = service.record({ elderId: 'E3', method: 'proxy', staffId: 'S02', proxyName: '赵明' });
    if (p.status !== 'recorded' || d.status !== 'recorded') throw new Error('not recorded');
    service.void({ eventId: p.checkIn.eventId, staffId: 'S01', reason: '没来取' });

    const v = today();
    expect(v).toMatchObject({ serviceDate: '2025-03-10', now: LUNCH, current: { meal: 'lunch', start: '11:00', end: '13:30', state: 'open', total: 2, byMethod: { face: 0, manual: 1, delivery: 1, proxy: 0 }, voided: 1 } });
    expect(v.windows.map((w) => [w.meal, w.state, w.total, w.voided])).toEqual([
      ['breakfast', 'past', 1, 0],
      ['lunch', 'open', 2, 1],
      ['dinner', 'later', 0, 0],
    ]);
    expect(v.totals).toEqual({ total: 3, byMethod: { face: 1, manual: 1, delivery: 1, proxy: 0 }, voided: 1 });
    expect(v.checkIns.map((c) => [c.elderName, c.meal, c.method, c.cameraId, c.staffId, c.staffName, c.voided?.reason])).toEqual([
      ['王秀英', 'breakfast', 'face', 'door', undefined, undefined, undefined],
      ['王秀英', 'lunch', 'manual', undefined, 'S01', '张丽', undefined],
      ['李建国', 'lunch', 'delivery', undefined, 'S01', '张丽', undefined],
      ['赵桂兰', 'lunch', 'proxy', undefined, 'S02', undefined, '没来取'],
    ]);
  });

  it(`expects the regulars of the window (${REGULAR_MIN_DAYS} of the last 7 days) not yet seen, and not a suspended one`, () => {
    withStatusColumn();
    const repo = checkIns();
    let n = 0;
    const past = (elderId: string, daysAgo: number, meal: 'lunch' | 'dinner' = 'lunch') =>
      repo.insert({ eventId: `00000000-0000-7000-8000-${(++n).toString(16).padStart(12, 'a')}`, elderId, serviceDate: addDays('2025-03-10', -daysAgo), meal, at: LUNCH, method: 'face' });
    for (const d of [1, 2, 3, 5]) past('E1', d); // a regular
    for (const d of [1, 2, 4]) past('E2', d); // a regular, already seen today
    for (const d of [1, 2]) past('E3', d); // two days only
    for (const d of [1, 2, 3]) past('E3', d, 'dinner'); // a regular of dinner, not lunch
    for (const d of [8, 9, 10]) past('E1', d, 'dinner'); // too long ago
    elders.upsertElder('E4', '孙玉兰');
    for (const d of [1, 2, 3]) past('E4', d); // regular, but suspended since
    db.prepare("UPDATE elders SET status = 'suspended' WHERE elder_id = 'E4'").run();
    service.record({ elderId: 'E2', method: 'face', score: 0.3 });

    expect(today().expected).toEqual({ meal: 'lunch', minDays: 3, lookbackDays: 7, elders: [{ elderId: 'E1', elderName: '王秀英', days: 4, lastDate: '2025-03-09' }] });
    // Between meals, the next window's regulars.
    clock.set('2025-03-10T07:00:00.000Z'); // 15:00
    expect(today()).toMatchObject({ current: null, expected: { meal: 'dinner', elders: [{ elderId: 'E3', days: 3 }] } });
    clock.set('2025-03-10T13:00:00.000Z'); // 21:00, after the last window
    expect(today().expected).toBeNull();
  });
});
