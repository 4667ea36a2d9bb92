/**
 * Reconciliation (issue 14, item 6): each box reports what it counted per service date
 * (common/records.ts `daily`); the server compares that with the meals it counted from that box,
 * per meal and method, and says for each box and day whether they agree.
 *
 * What the server counts from a box is `meals` (voided meals are out of it, as on the box).
 * Events the server keeps for review (event_reviews: a date that does not fit, a closed month...)
 * are counted by the box and not by the server: they are a difference, shown with their number
 * so the operator sees where it comes from. A box's day without a report yet (the day is not
 * over, the box was off since) is `unreported`, not a difference.
 */
import { CHECK_IN_METHODS, MEALS, type CheckInMethod, type DailyCountRecord, type Meal } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { RecordHandler } from '../records/record-ingest.ts';
import { dayNumber } from '../stats/stats-query.ts';

export type DayState = 'match' | 'differs' | 'unreported';

export interface CountPair {
  meal: Meal;
  method: CheckInMethod;
  /** What the box reported; null when it has not reported the day. */
  box: number | null;
  server: number;
}

export interface ReconciledDay {
  centreId: string;
  deviceId: string;
  serviceDate: string;
  state: DayState;
  /** Every meal and method either side counted, sorted. */
  counts: CountPair[];
  /** Meals of the day, each side (box null when unreported). */
  boxMeals: number | null;
  serverMeals: number;
  /** Voids on the box's side and the server's (a void still on its way shows here). */
  boxVoided: number | null;
  serverVoided: number;
  /** Events of this box and day the server keeps for review: counted by the box, not (yet) here. */
  inReview: number;
  /** The box's revision held, and when it made it. */
  revision: number | null;
  reportedAt: string | null;
}

export interface ReconciliationQuery {
  /** YYYY-MM: the centre's local service dates of that month. */
  month: string;
  /** One centre, or every centre in `centreIds`, or all. */
  centreId?: string;
  centreIds?: readonly string[];
  /** Only days that differ (the bureau's list of what to look into). */
  onlyDifferences?: boolean;
}

export interface ReconciliationRepository {
  /** The `daily` record handler for record ingest: keeps the highest revision per box and day. */
  readonly handler: RecordHandler<'daily'>;
  reconcile(q: ReconciliationQuery): ReconciledDay[];
}

interface BoxRow {
  centreId: string;
  deviceId: string;
  serviceDate: string;
  revision: number;
  counts: string;
  voided: number;
  reportedAt: string;
}

interface Range {
  from: string;
  to: string;
  centre: string | null;
}

const pairKey = (meal: Meal, method: CheckInMethod) => `${meal}/${method}`;

export function monthRange(month: string): { from: string; to: string } | null {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) return null;
  const mm = Number(m[2]);
  if (mm < 1 || mm > 12) return null;
  const last = new Date(Date.UTC(Number(m[1]), mm, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

export function createReconciliationRepository(db: Db): ReconciliationRepository {
  const heldRevision = db.prepare<[string, string, string], number>('SELECT revision FROM box_daily_counts WHERE centre_id = ? AND service_date = ? AND device_id = ?').pluck();
  const upsert = db.prepare<{ centreId: string; deviceId: string; serviceDate: string; revision: number; counts: string; voided: number; eventId: string; reportedAt: string; receivedAt: string }>(
    `INSERT INTO box_daily_counts (centre_id, device_id, service_date, revision, counts, voided, event_id, reported_at, received_at)
     VALUES (@centreId, @deviceId, @serviceDate, @revision, @counts, @voided, @eventId, @reportedAt, @receivedAt)
     ON CONFLICT (centre_id, service_date, device_id) DO UPDATE SET revision = @revision, counts = @counts, voided = @voided, event_id = @eventId, reported_at = @reportedAt, received_at = @receivedAt`,
  );
  // One statement per side over the whole range: a month of the city is one pass each.
  // `@centre IS NULL OR centre_id = @centre` lets one prepared statement serve one centre and all.
  const boxRows = db.prepare<Range, BoxRow>(
    `SELECT centre_id AS centreId, device_id AS deviceId, service_date AS serviceDate, revision, counts, voided, reported_at AS reportedAt
     FROM box_daily_counts WHERE service_date BETWEEN @from AND @to AND (@centre IS NULL OR centre_id = @centre)`,
  );
  const mealRows = db.prepare<Range, { centreId: string; deviceId: string; serviceDate: string; meal: Meal; method: CheckInMethod; n: number }>(
    `SELECT centre_id AS centreId, device_id AS deviceId, service_date AS serviceDate, meal, method, count(*) AS n
     FROM meals WHERE service_date BETWEEN @from AND @to AND (@centre IS NULL OR centre_id = @centre) GROUP BY centre_id, device_id, service_date, meal, method`,
  );
  const voidRows = db.prepare<Range, { centreId: string; deviceId: string; serviceDate: string; n: number }>(
    `SELECT centre_id AS centreId, device_id AS deviceId, service_date AS serviceDate, count(*) AS n
     FROM voided_meals WHERE service_date BETWEEN @from AND @to AND (@centre IS NULL OR centre_id = @centre) GROUP BY centre_id, device_id, service_date`,
  );
  const reviewRows = db.prepare<Range, { centreId: string; deviceId: string; serviceDate: string; n: number }>(
    `SELECT centre_id AS centreId, device_id AS deviceId, service_date AS serviceDate, count(*) AS n
     FROM event_reviews WHERE service_date BETWEEN @from AND @to AND (@centre IS NULL OR centre_id = @centre) GROUP BY centre_id, device_id, service_date`,
  );

  const handler: RecordHandler<'daily'> = {
    type: 'daily',
    apply(r: DailyCountRecord, receivedAt: Date) {
      // Not a calendar date: kept in `records` as received, never a day of the reconciliation.
      if (dayNumber(r.serviceDate) === null) return;
      const held = heldRevision.get(r.centreId, r.serviceDate, r.deviceId);
      // An older revision arriving late (outbox order across reconnects) never replaces a newer one.
      if (held !== undefined && held >= r.revision) return;
      upsert.run({ centreId: r.centreId, deviceId: r.deviceId, serviceDate: r.serviceDate, revision: r.revision, counts: JSON.stringify(r.counts), voided: r.voided, eventId: r.eventId, reportedAt: r.at, receivedAt: receivedAt.toISOString() });
    },
  };

  return {
    handler,
    reconcile(q) {
      const range = monthRange(q.month);
      if (!range) throw new RangeError(`"${q.month}" is not a month YYYY-MM`);
      const params: Range = { from: range.from, to: range.to, centre: q.centreId ?? null };
      const allowed = q.centreIds ? new Set(q.centreIds) : null;
      const days = new Map<string, ReconciledDay & { pairs: Map<string, CountPair> }>();
      const day = (centreId: string, deviceId: string, serviceDate: string) => {
        const key = `${centreId}\u0000${deviceId}\u0000${serviceDate}`;
        let d = days.get(key);
        if (!d) {
          d = { centreId, deviceId, serviceDate, state: 'unreported', counts: [], boxMeals: null, serverMeals: 0, boxVoided: null, serverVoided: 0, inReview: 0, revision: null, reportedAt: null, pairs: new Map() };
          days.set(key, d);
        }
        return d;
      };
      const pair = (d: { pairs: Map<string, CountPair> }, meal: Meal, method: CheckInMethod, reported: boolean) => {
        const k = pairKey(meal, method);
        let p = d.pairs.get(k);
        if (!p) d.pairs.set(k, (p = { meal, method, box: reported ? 0 : null, server: 0 }));
        return p;
      };
      for (const r of boxRows.all(params)) {
        const d = day(r.centreId, r.deviceId, r.serviceDate);
        d.revision = r.revision;
        d.reportedAt = r.reportedAt;
        d.boxVoided = r.voided;
        d.boxMeals = 0;
        for (const c of JSON.parse(r.counts) as DailyCountRecord['counts']) {
          pair(d, c.meal, c.method, true).box = c.meals;
          d.boxMeals += c.meals;
        }
      }
      for (const r of mealRows.all(params)) {
        const d = day(r.centreId, r.deviceId, r.serviceDate);
        pair(d, r.meal, r.method, d.revision !== null).server = r.n;
        d.serverMeals += r.n;
      }
      for (const r of voidRows.all(params)) day(r.centreId, r.deviceId, r.serviceDate).serverVoided = r.n;
      for (const r of reviewRows.all(params)) day(r.centreId, r.deviceId, r.serviceDate).inReview = r.n;

      const out: ReconciledDay[] = [];
      for (const { pairs, ...d } of days.values()) {
        if (allowed && !allowed.has(d.centreId)) continue;
        d.counts = [...pairs.values()].sort((a, b) => MEALS.indexOf(a.meal) - MEALS.indexOf(b.meal) || CHECK_IN_METHODS.indexOf(a.method) - CHECK_IN_METHODS.indexOf(b.method));
        if (d.revision === null) d.state = 'unreported';
        else d.state = d.counts.every((p) => p.box === p.server) && d.boxVoided === d.serverVoided ? 'match' : 'differs';
        if (q.onlyDifferences && d.state !== 'differs') continue;
        out.push(d);
      }
      return out.sort((a, b) => a.centreId.localeCompare(b.centreId) || a.serviceDate.localeCompare(b.serviceDate) || a.deviceId.localeCompare(b.deviceId));
    },
  };
}
