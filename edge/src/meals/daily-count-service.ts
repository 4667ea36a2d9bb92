/**
 * The daily aggregate (common/records.ts `daily`): once a service date's last meal window is
 * over, the box reports the meals it counted that day, per meal and method, and the check-ins
 * staff voided; the server reconciles that with the meals it counted from this box
 * (server/src/modules/reconciliation/). A day already reported is looked at again for a week:
 * when its counts change (a void the next morning, a check-in held while the clock was untrusted
 * and corrected later) the next revision goes. The record and the row saying what was reported
 * are written in one transaction, and the record goes through the outbox like every record, so a
 * report survives kill -9 and days offline and is sent exactly once per revision.
 *
 * Nothing is reported while the clock is untrusted: "today" is not known then. A box that was off
 * at the end of a day reports it when it is next running (within the look-back).
 */
import { CHECK_IN_METHODS, MEALS, type CheckInMethod, type DailyCountRecord, type Meal } from '../../../common/contract.ts';
import { isTrustAware, type Clock, type Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import { localTime, type MealWindow } from '../../../common/meal-windows.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import { addDays } from './today-service.ts';

/** Days looked at again after their first report (a void or a correction may change them). */
export const DAILY_LOOKBACK_DAYS = 7;
/** How often the box looks: a day's report goes within this of its last window's end. */
export const DAILY_REPORT_EVERY_MS = 5 * 60_000;

export interface DailyCountServiceDeps {
  db: Db;
  outbox: Pick<OutboxRepository, 'enqueue'>;
  centreId: string;
  deviceId: string;
  clock: Clock;
  ids: Ids;
  windows: readonly MealWindow[];
  timeZone: string;
  /** Told after a report is queued (the forwarder, to send it at once). */
  onQueued?: () => void;
  lookbackDays?: number;
  everyMs?: number;
  logger?: Logger;
}

export interface DailyCountService {
  /** Queues a report for each finished day whose counts are new or changed; returns the records queued. */
  report(): DailyCountRecord[];
  start(): void;
  stop(): void;
}

type Counts = Pick<DailyCountRecord, 'counts' | 'voided'>;

const mealOrder = (m: Meal) => MEALS.indexOf(m);
const methodOrder = (m: CheckInMethod) => CHECK_IN_METHODS.indexOf(m);

/** The last service date whose meal windows are all over at `now`. */
export function lastFinishedDate(now: Date, windows: readonly MealWindow[], timeZone: string): string {
  const { date, minutes } = localTime(now, timeZone);
  const lastEnd = Math.max(...windows.map((w) => w.end));
  return minutes >= lastEnd ? date : addDays(date, -1);
}

export function createDailyCountService(deps: DailyCountServiceDeps): DailyCountService {
  const { db, outbox, centreId, deviceId, clock, ids, windows, timeZone, onQueued, logger } = deps;
  const lookback = deps.lookbackDays ?? DAILY_LOOKBACK_DAYS;
  const everyMs = deps.everyMs ?? DAILY_REPORT_EVERY_MS;

  const countsIn = db.prepare<[string, string], { serviceDate: string; meal: Meal; method: CheckInMethod; meals: number }>(
    'SELECT service_date AS serviceDate, meal, method, count(*) AS meals FROM check_ins WHERE service_date BETWEEN ? AND ? GROUP BY service_date, meal, method',
  );
  const voidedIn = db.prepare<[string, string], { serviceDate: string; voided: number }>(
    'SELECT service_date AS serviceDate, count(*) AS voided FROM voided_check_ins WHERE service_date BETWEEN ? AND ? GROUP BY service_date',
  );
  const reportedIn = db.prepare<[string, string], { serviceDate: string; revision: number; counts: string }>(
    'SELECT service_date AS serviceDate, revision, counts FROM daily_counts WHERE service_date BETWEEN ? AND ?',
  );
  const upsert = db.prepare<{ serviceDate: string; revision: number; counts: string; eventId: string; sentAt: string }>(
    `INSERT INTO daily_counts (service_date, revision, counts, event_id, sent_at) VALUES (@serviceDate, @revision, @counts, @eventId, @sentAt)
     ON CONFLICT (service_date) DO UPDATE SET revision = @revision, counts = @counts, event_id = @eventId, sent_at = @sentAt`,
  );

  const reportTx = db.transaction((from: string, to: string, at: string): DailyCountRecord[] => {
    const days = new Map<string, Counts>();
    const day = (d: string) => {
      let c = days.get(d);
      if (!c) days.set(d, (c = { counts: [], voided: 0 }));
      return c;
    };
    for (const r of countsIn.all(from, to)) day(r.serviceDate).counts.push({ meal: r.meal, method: r.method, meals: r.meals });
    for (const r of voidedIn.all(from, to)) day(r.serviceDate).voided = r.voided;
    const reported = new Map(reportedIn.all(from, to).map((r) => [r.serviceDate, r]));
    // A day reported before whose meals are all gone now (voided) reports its zero.
    for (const d of reported.keys()) day(d);
    const queued: DailyCountRecord[] = [];
    for (const [serviceDate, c] of [...days].sort(([a], [b]) => a.localeCompare(b))) {
      c.counts.sort((a, b) => mealOrder(a.meal) - mealOrder(b.meal) || methodOrder(a.method) - methodOrder(b.method));
      const text = JSON.stringify(c);
      const prior = reported.get(serviceDate);
      if (prior?.counts === text) continue;
      const record: DailyCountRecord = { type: 'daily', eventId: ids.next(), centreId, deviceId, at, serviceDate, revision: (prior?.revision ?? 0) + 1, counts: c.counts, voided: c.voided };
      upsert.run({ serviceDate, revision: record.revision, counts: text, eventId: record.eventId, sentAt: at });
      outbox.enqueue(record, at);
      queued.push(record);
    }
    return queued;
  });

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    try {
      service.report();
    } catch (err) {
      // The next tick tries again: nothing was queued (the transaction rolled back).
      logger?.error({ err: (err as Error).message }, 'daily count report failed');
    }
  };

  const service: DailyCountService = {
    report() {
      if (isTrustAware(clock) && !clock.reading().trusted) return [];
      const now = clock.now();
      const to = lastFinishedDate(now, windows, timeZone);
      const queued = reportTx(addDays(to, -(lookback - 1)), to, now.toISOString());
      for (const r of queued) logger?.info({ serviceDate: r.serviceDate, revision: r.revision, meals: r.counts.reduce((s, c) => s + c.meals, 0), voided: r.voided }, 'daily count queued');
      if (queued.length) onQueued?.();
      return queued;
    },
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, everyMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return service;
}
