/**
 * The edge's trusted clock and the correction of check-ins recorded while it was untrusted, on
 * real SQLite (edge and server databases). The system clock and the monotonic clock are fakes
 * moved by hand (the Clock seam): what is under test is what the edge makes of them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Monotonic } from '../../common/clock.ts';
import { parseEventBatch, type MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import { createCheckInService, type CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';
import { DEFAULT_MEAL_WINDOWS, nearestMeal, parseMealWindows, shortestGapBetweenMeals } from '../../common/meal-windows.ts';
import { createClockCorrector } from '../../edge/src/meals/clock-correction.ts';
import { createClockRepository, type ClockRepository } from '../../edge/src/clock/clock-repository.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { TrustedClock } from '../../edge/src/clock/trusted-clock.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createStatsRepository } from '../../server/src/modules/stats/stats-repository.ts';
import { counterIds, edgeTempDir, openEdgeDb, quietEdgeLogger, TestClock } from '../helpers/edge-fixtures.ts';
import { openServerDb } from '../helpers/server-fixtures.ts';

const EPOCH = '1970-01-01T00:05:00.000Z';
const HOUR = 3_600_000;
const windows = parseMealWindows(DEFAULT_MEAL_WINDOWS);
const TZ = 'Asia/Shanghai';
const BOOT = '0190f5a2-0000-4000-8000-00000000b001';

class FakeMonotonic implements Monotonic {
  constructor(public ms = 1_000) {}
  nowMs(): number {
    return this.ms;
  }
}

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let repo: ClockRepository;
beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  repo = createClockRepository(db);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

function trusted(system: TestClock, mono: FakeMonotonic, checkpoints: ClockRepository | undefined = repo): TrustedClock {
  const c = new TrustedClock({ system, mono, bootId: BOOT, logger: quietEdgeLogger, ...(checkpoints ? { checkpoints } : {}) });
  c.start();
  return c;
}

describe('trusted clock', () => {
  it('trusts a system clock only when it is not before the build-time floor or the last trusted time', () => {
    const mono = new FakeMonotonic();
    expect(trusted(new TestClock(EPOCH), mono).reading().trusted).toBe(false);
    expect(trusted(new TestClock('2025-06-01T00:00:00Z'), mono).reading().trusted).toBe(false);
    const fine = trusted(new TestClock('2026-11-28T04:00:00Z'), mono);
    expect(fine.reading()).toMatchObject({ trusted: true, source: 'system' });
    fine.stop(); // saves the checkpoint
    expect(repo.loadCheckpoint()).toEqual({ trustedAt: '2026-11-28T04:00:00.000Z', source: 'system', bootId: BOOT });
    // A later start whose clock is well before the checkpoint (restored from an old save)...
    expect(trusted(new TestClock('2026-11-27T12:00:00Z'), mono).status().state).toBe('untrusted');
    // ...but a clock a little behind it (NTP stepped it back) is still fine.
    expect(trusted(new TestClock('2026-11-28T03:59:30Z'), mono).status().state).toBe('system');
    expect(trusted(new TestClock('2026-11-28T03:58:00Z'), mono).status().state).toBe('untrusted');
    // A clock starting just after the checkpoint may be fake-hwclock's shutdown time restored
    // hours later: untrusted until the server answers. Hours after it: a real clock.
    const restored = trusted(new TestClock('2026-11-28T04:01:00Z'), mono);
    expect(restored.status().state).toBe('untrusted');
    restored.addSample({ serverMs: Date.parse('2026-11-28T09:30:00Z'), sentMono: mono.nowMs(), receivedMono: mono.nowMs() + 20 });
    expect(restored.status().state).toBe('server');
    // (The sync saved 09:30 as the new checkpoint.)
    expect(trusted(new TestClock('2026-11-28T12:00:00Z'), mono).status().state).toBe('system');
  });

  it('learns the time from samples: keeps the best round trip, refuses implausible ones', () => {
    const system = new TestClock(EPOCH);
    const mono = new FakeMonotonic(10_000);
    const clock = trusted(system, mono);
    const server = Date.parse('2026-11-28T04:00:00.000Z');
    expect(clock.addSample({ serverMs: server, sentMono: 10_000, receivedMono: 25_000 })).toMatchObject({ used: false, reason: expect.stringContaining('round trip') });
    expect(clock.addSample({ serverMs: Date.parse('1970-01-02T00:00:00Z'), sentMono: 10_000, receivedMono: 10_010 })).toMatchObject({ used: false, reason: expect.stringContaining('implausible') });
    expect(clock.addSample({ serverMs: Number.NaN, sentMono: 10_000, receivedMono: 10_010 }).used).toBe(false);
    expect(clock.isSynced()).toBe(false);

    let synced = 0;
    clock.on('synced', () => synced++);
    mono.ms = 10_400;
    // Round trip 400 ms: the server's time is taken at the midpoint (10_200).
    expect(clock.addSample({ serverMs: server, sentMono: 10_000, receivedMono: 10_400 })).toEqual({ used: true, first: true });
    expect(clock.reading()).toMatchObject({ trusted: true, source: 'server', at: new Date(server + 200) });
    // The run started at mono 10_000, 200 ms before the sample's midpoint.
    expect(clock.timeAtMono(0)!.getTime()).toBe(server - 200);
    // A worse sample does not replace it; a better one does.
    mono.ms = 20_000;
    expect(clock.addSample({ serverMs: server + 9_000, sentMono: 19_000, receivedMono: 20_000 }).used).toBe(false);
    expect(clock.addSample({ serverMs: server + 9_850, sentMono: 19_900, receivedMono: 20_000 }).used).toBe(true);
    expect(clock.now().toISOString()).toBe(new Date(server + 9_900).toISOString());
    expect(synced).toBe(1);
    // Setting the system clock later does not move the learnt time.
    system.set('2030-01-01T00:00:00Z');
    expect(clock.now().toISOString()).toBe(new Date(server + 9_900).toISOString());
    // The server's time replaces a checkpoint a fast system clock left ahead.
    repo.saveCheckpoint({ trustedAt: '2027-01-01T00:00:00.000Z', source: 'system', bootId: 'x' });
    clock.stop();
    expect(repo.loadCheckpoint()).toMatchObject({ trustedAt: new Date(server + 9_900).toISOString(), source: 'server' });
  });
});

describe('meal windows for an untrusted clock', () => {
  it('names the nearest meal and knows the shortest gap between two meals', () => {
    expect(nearestMeal(new Date('2026-11-28T04:00:00Z'), windows, TZ)).toEqual({ serviceDate: '2026-11-28', meal: 'lunch', inWindow: true });
    expect(nearestMeal(new Date('2026-11-28T06:00:00Z'), windows, TZ)).toEqual({ serviceDate: '2026-11-28', meal: 'lunch', inWindow: false }); // 14:00
    expect(nearestMeal(new Date('2026-11-28T08:00:00Z'), windows, TZ)).toEqual({ serviceDate: '2026-11-28', meal: 'dinner', inWindow: false }); // 16:00
    expect(shortestGapBetweenMeals(windows)).toBe(2 * HOUR); // breakfast ends 09:00, lunch starts 11:00
    expect(shortestGapBetweenMeals(parseMealWindows('lunch=11:00-13:00'))).toBe(22 * HOUR);
  });
});

describe('correcting check-ins recorded while the clock was untrusted', () => {
  it('while untrusted: a check-in is provisional (no meal shown), and a suspect face goes to staff by hand, not into a hold with a guessed date', () => {
    const clock = trusted(new TestClock(EPOCH), new FakeMonotonic(0));
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '老人E1');
    elders.upsertElder('E2', '老人E2');
    const service = createCheckInService({ db, elders, checkIns: createCheckInRepository(db), outbox: createOutboxRepository(db), clock, ids: counterIds(), windows, timeZone: TZ, centreId: 'c1', deviceId: 'd1', logger: quietEdgeLogger, bootId: BOOT, unsynced: repo, antispoofThreshold: 0.5 });
    const live = service.record({ elderId: 'E1', method: 'face', antispoof: 0.9 });
    expect(live).toMatchObject({ status: 'recorded', checkIn: { provisional: true } });
    expect(kioskMessage(live)).toEqual({ tone: 'ok', text: '老人E1 签到成功' });
    const suspect = service.record({ elderId: 'E2', method: 'face', antispoof: 0.1 });
    expect(suspect).toMatchObject({ status: 'not-recorded', reason: expect.stringMatching(/by hand/) as string });
    expect(db.prepare('SELECT count(*) AS n FROM confirmations').get()).toEqual({ n: 0 });
    // Staff check the elder in by hand: recorded (held until the time is known).
    expect(service.record({ elderId: 'E2', method: 'manual', staffId: 'S1' })).toMatchObject({ status: 'recorded', checkIn: { provisional: true } });
  });

  function build(clock: TrustedClock): { service: CheckInService; outbox: ReturnType<typeof createOutboxRepository>; correct: () => ReturnType<ReturnType<typeof createClockCorrector>['correctHeld']> } {
    const elders = createElderRepository(db);
    for (const id of ['E1', 'E2', 'E3']) elders.upsertElder(id, `老人${id}`);
    const outbox = createOutboxRepository(db);
    const checkIns = createCheckInRepository(db);
    const service = createCheckInService({ db, elders, checkIns, outbox, clock, ids: counterIds(), windows, timeZone: TZ, centreId: 'c1', deviceId: 'd1', logger: quietEdgeLogger, bootId: BOOT, unsynced: repo });
    const corrector = createClockCorrector({ db, clocks: repo, checkIns, outbox, windows, timeZone: TZ, bootId: BOOT, logger: quietEdgeLogger });
    return { service, outbox, correct: () => corrector.correctHeld((m) => clock.timeAtMono(m)!, clock.now()) };
  }

  const outboxEvents = (): (MealEvent & { held: number })[] =>
    (db.prepare('SELECT payload, held FROM outbox ORDER BY seq').all() as { payload: string; held: number }[]).map((r) => ({ ...(JSON.parse(r.payload) as MealEvent), held: r.held }));

  it('rewrites time, date and meal from the server time; a second check-in for the meal and one outside every window are sent visibly, not dropped', () => {
    const mono = new FakeMonotonic(0);
    const clock = trusted(new TestClock(EPOCH), mono);
    const { service, outbox, correct } = build(clock);

    // The run started at mono 0, which the server will say was 11:00 in Shanghai (lunch).
    const at = (h: number, elderId: string) => {
      mono.ms = h * HOUR;
      return service.record({ elderId, method: 'face', score: 0.3 }).status;
    };
    expect(at(0, 'E1')).toBe('recorded');
    expect(at(0, 'E2')).toBe('recorded');
    expect(at(1, 'E2')).toBe('already-checked-in'); // an hour later: closer than any two meals
    expect(at(2 + 1 / 6, 'E2')).toBe('recorded'); // 13:10: the box cannot tell; the correction will
    expect(at(3, 'E1')).toBe('recorded'); // 14:00: between meals
    expect(service.countAll()).toBe(4);
    expect(outbox.heldCount()).toBe(4);
    expect(outbox.takeOldest(10)).toEqual([]);
    // Held rows carry the monotonic stamp and the box's own (wrong) time.
    expect(outboxEvents()[0]).toMatchObject({ clock: 'unverified', monoMs: 0, edgeAt: EPOCH, bootId: BOOT, held: 1 });

    mono.ms = 4 * HOUR;
    expect(clock.addSample({ serverMs: Date.parse('2026-11-28T07:00:00.000Z'), sentMono: 4 * HOUR, receivedMono: 4 * HOUR }).used).toBe(true);
    expect(correct()).toEqual({ corrected: 2, duplicates: 1, outsideWindow: 1, unverified: 0, missing: 0 });
    expect(outbox.heldCount()).toBe(0);

    const events = outboxEvents();
    expect(events.map((e) => [e.elderId, e.at, e.serviceDate, e.meal, e.clock, e.review ?? null, e.held])).toEqual([
      ['E1', '2026-11-28T03:00:00.000Z', '2026-11-28', 'lunch', 'corrected', null, 0],
      ['E2', '2026-11-28T03:00:00.000Z', '2026-11-28', 'lunch', 'corrected', null, 0],
      ['E2', '2026-11-28T05:10:00.000Z', '2026-11-28', 'lunch', 'corrected', null, 0],
      ['E1', '2026-11-28T06:00:00.000Z', '2026-11-28', 'lunch', 'corrected', 'outside-window', 0],
    ]);
    for (const e of events) expect(e.edgeAt).toBe(EPOCH);
    expect(repo.countByStatus()).toEqual({ held: 0, corrected: 2, duplicate: 1, 'outside-window': 1, unverified: 0 });
    expect(service.listForDay('2026-11-28').map((c) => `${c.elderId}:${c.meal}:${c.at}`)).toEqual(['E1:lunch:2026-11-28T03:00:00.000Z', 'E2:lunch:2026-11-28T03:00:00.000Z']);
    // After the sync the service records with the server's time.
    mono.ms = 4 * HOUR + 60_000;
    expect(service.record({ elderId: 'E3', method: 'manual', staffId: 'S1' })).toMatchObject({ status: 'outside-meal-window' });

    // What the server makes of them: two meals, a duplicate attempt, one kept for review.
    const wire = { v: 1 as const, events: events.map(({ held: _held, ...e }) => e) };
    expect(parseEventBatch(JSON.stringify(wire)).ok).toBe(true);
    const stmp = edgeTempDir('mealcheck-server-');
    const sdb = openServerDb(stmp.dir);
    try {
      const r = createMealRepository(sdb).ingest(wire, 'c1', 'd1', new Date('2026-11-28T07:00:05Z'));
      expect(r).toMatchObject({ stored: 2, duplicates: 1, forReview: 1, rejected: [] });
      expect(r.receipted).toHaveLength(4);
      const stats = createStatsRepository(sdb);
      expect(stats.mealCounts({ from: '2026-11-28', to: '2026-11-28', groupBy: ['meal'] })).toEqual({ rows: [{ meal: 'lunch', meals: 2, voided: 0 }], total: 2, voided: 0, clockFlagged: 0, clockReview: 1 });
      expect(stats.clockReviews(10)).toEqual([expect.objectContaining({ elderId: 'E1', reason: 'outside-window', clockState: 'corrected', edgeAt: EPOCH, bootId: BOOT })]);
    } finally {
      sdb.close();
      stmp.cleanup();
    }
  });

  it('releases the held check-ins of an earlier run as unverified', () => {
    const mono = new FakeMonotonic(0);
    const clock = trusted(new TestClock(EPOCH), mono);
    const { service, outbox } = build(clock);
    expect(service.record({ elderId: 'E1', method: 'face' }).status).toBe('recorded');
    const later = createClockCorrector({ db, clocks: repo, checkIns: createCheckInRepository(db), outbox, windows, timeZone: TZ, bootId: 'another-run', logger: quietEdgeLogger });
    expect(later.releaseEarlierRuns(new Date())).toMatchObject({ unverified: 1, missing: 0 });
    const [row] = outbox.takeOldest(10);
    expect(row!.event).toMatchObject({ elderId: 'E1', clock: 'unverified', at: EPOCH, edgeAt: EPOCH, bootId: BOOT, monoMs: 0 });
    expect(later.releaseEarlierRuns(new Date()).unverified).toBe(0);
  });
});
