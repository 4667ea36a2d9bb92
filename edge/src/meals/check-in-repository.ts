/**
 * SQL for check-ins: `check_ins`, one row per elder per service date and meal (the meals that
 * count), and `voided_check_ins`, where a check-in staff voided is kept whole with its void
 * (edge migration 008). A void moves the row from one to the other, so the UNIQUE constraint of
 * check_ins keeps meaning "one meal per elder per window" and the elder can be checked in again.
 */
import type { CheckInMethod, Meal } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { CheckIn, CheckInVoid, DoorVisit } from './check-in.ts';

/** A check-in as stored (the elder's name is joined in by the service, not stored here). */
export type CheckInRecord = Omit<CheckIn, 'elderName'>;

/** Check-ins of one service date and meal, per method, and those voided. */
export interface MealTally {
  byMethod: Record<CheckInMethod, number>;
  voided: number;
}

/**
 * An elder who usually has this meal here: checked in for it (any method, voided ones not
 * counted) on at least `minDays` of the service dates looked at.
 */
export interface RegularElder {
  elderId: string;
  elderName: string;
  /** Days of the period with this meal. */
  days: number;
  /** The latest of them, YYYY-MM-DD. */
  lastDate: string;
}

export interface CheckInRepository {
  /** Throws on a UNIQUE violation or any SQLite error; the service decides what that means. */
  insert(c: CheckInRecord): void;
  find(elderId: string, serviceDate: string, meal: Meal): CheckInRecord | undefined;
  /** A check-in by its eventId: a counted one, or a voided one (with `voided`). */
  get(eventId: string): CheckInRecord | undefined;
  /**
   * Moves the check-in `eventId` to voided_check_ins with `v`. Inside the void's transaction;
   * false when no counted check-in has this id (nothing changed). Throws on any SQLite error.
   */
  markVoided(eventId: string, v: CheckInVoid): boolean;
  /** A day's check-ins, oldest first, with the elder's current name when still enrolled. */
  listForDay(serviceDate: string): (CheckInRecord & { elderName?: string })[];
  /** A day's voided check-ins, oldest first (by the time of the check-in). */
  listVoidedForDay(serviceDate: string): (CheckInRecord & { elderName?: string })[];
  /** A day's check-ins per meal and method, and its voided ones per meal. */
  tallyForDay(serviceDate: string): Record<Meal, MealTally>;
  /**
   * Elders checked in for `meal` on at least `minDays` distinct dates from `from` to `to`
   * (inclusive) and not (yet) on `today`, still in the elders table, most regular first.
   */
  regulars(meal: Meal, from: string, to: string, minDays: number, today: string): RegularElder[];
  countForDay(serviceDate: string): number;
  countAll(): number;
}

/** The columns of a DoorVisit, as check_ins and confirmations both store them. */
export interface DoorVisitRow {
  elder_id: string;
  service_date: string;
  meal: string;
  at: string;
  method: string;
  score: number | null;
  camera_id: string | null;
  antispoof: number | null;
  /** check_ins and voided_check_ins only (edge migration 008). */
  staff_id?: string | null;
  proxy_name?: string | null;
}

/** A stored door visit (the elder's name is not stored: joined in by the readers). */
export function doorVisitOf(r: DoorVisitRow): Omit<DoorVisit, 'elderName'> {
  const v: Omit<DoorVisit, 'elderName'> = {
    elderId: r.elder_id,
    serviceDate: r.service_date,
    // The tables' CHECK constraints keep these within the contract's unions.
    meal: r.meal as Meal,
    at: r.at,
    method: r.method as CheckInMethod,
  };
  if (r.score !== null) v.score = r.score;
  if (r.camera_id !== null) v.cameraId = r.camera_id;
  if (r.antispoof !== null) v.antispoof = r.antispoof;
  if (r.staff_id !== undefined && r.staff_id !== null) v.staffId = r.staff_id;
  if (r.proxy_name !== undefined && r.proxy_name !== null) v.proxyName = r.proxy_name;
  return v;
}

interface Row extends DoorVisitRow {
  event_id: string;
  name?: string | null;
}

interface VoidedRow extends Row {
  void_event_id: string;
  reason: string;
  voided_by: string;
  voided_at: string;
}

function toRecord(r: Row): CheckInRecord & { elderName?: string } {
  const c: CheckInRecord & { elderName?: string } = { eventId: r.event_id, ...doorVisitOf(r) };
  if (r.name !== undefined && r.name !== null) c.elderName = r.name;
  return c;
}

function toVoided(r: VoidedRow): CheckInRecord & { elderName?: string } {
  return { ...toRecord(r), voided: { voidEventId: r.void_event_id, reason: r.reason, staffId: r.voided_by, at: r.voided_at } };
}

const emptyTally = (): MealTally => ({ byMethod: { face: 0, manual: 0, delivery: 0, proxy: 0 }, voided: 0 });

export function createCheckInRepository(db: Db): CheckInRepository {
  const base = 'c.event_id, c.elder_id, c.service_date, c.meal, c.at, c.method, c.score, c.camera_id, c.antispoof, c.staff_id, c.proxy_name';
  const voidCols = `${base}, c.void_event_id, c.reason, c.voided_by, c.voided_at`;
  const insert = db.prepare<[string, string, string, string, string, string, number | null, string | null, number | null, string | null, string | null]>(
    'INSERT INTO check_ins (event_id, elder_id, service_date, meal, at, method, score, camera_id, antispoof, staff_id, proxy_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const find = db.prepare<[string, string, string], Row>(`SELECT ${base} FROM check_ins c WHERE c.elder_id = ? AND c.service_date = ? AND c.meal = ?`);
  const getLive = db.prepare<[string], Row>(`SELECT ${base} FROM check_ins c WHERE c.event_id = ?`);
  const getVoided = db.prepare<[string], VoidedRow>(`SELECT ${voidCols} FROM voided_check_ins c WHERE c.event_id = ?`);
  const copyToVoided = db.prepare<[string, string, string, string, string]>(
    `INSERT INTO voided_check_ins (event_id, elder_id, service_date, meal, at, method, score, camera_id, antispoof, staff_id, proxy_name, void_event_id, reason, voided_by, voided_at)
     SELECT event_id, elder_id, service_date, meal, at, method, score, camera_id, antispoof, staff_id, proxy_name, ?, ?, ?, ? FROM check_ins WHERE event_id = ?`,
  );
  const deleteLive = db.prepare<[string]>('DELETE FROM check_ins WHERE event_id = ?');
  const listDay = db.prepare<[string], Row>(
    `SELECT ${base}, e.name FROM check_ins c LEFT JOIN elders e ON e.elder_id = c.elder_id WHERE c.service_date = ? ORDER BY c.at, c.event_id`,
  );
  const listVoidedDay = db.prepare<[string], VoidedRow>(
    `SELECT ${voidCols}, e.name FROM voided_check_ins c LEFT JOIN elders e ON e.elder_id = c.elder_id WHERE c.service_date = ? ORDER BY c.at, c.event_id`,
  );
  const tallyLive = db.prepare<[string], { meal: Meal; method: CheckInMethod; n: number }>(
    'SELECT meal, method, count(*) AS n FROM check_ins WHERE service_date = ? GROUP BY meal, method',
  );
  const tallyVoided = db.prepare<[string], { meal: Meal; n: number }>('SELECT meal, count(*) AS n FROM voided_check_ins WHERE service_date = ? GROUP BY meal');
  const regulars = db.prepare<[string, string, string, string, string, number], { elder_id: string; name: string; days: number; last_date: string }>(
    `SELECT c.elder_id, e.name, count(DISTINCT c.service_date) AS days, max(c.service_date) AS last_date
     FROM check_ins c JOIN elders e ON e.elder_id = c.elder_id
     WHERE c.meal = ? AND c.service_date BETWEEN ? AND ?
       AND NOT EXISTS (SELECT 1 FROM check_ins t WHERE t.elder_id = c.elder_id AND t.service_date = ? AND t.meal = ?)
     GROUP BY c.elder_id HAVING count(DISTINCT c.service_date) >= ?
     ORDER BY days DESC, last_date DESC, c.elder_id`,
  );
  const countDay = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM check_ins WHERE service_date = ?');
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM check_ins');

  return {
    insert(c) {
      insert.run(c.eventId, c.elderId, c.serviceDate, c.meal, c.at, c.method, c.score ?? null, c.cameraId ?? null, c.antispoof ?? null, c.staffId ?? null, c.proxyName ?? null);
    },
    find(elderId, serviceDate, meal) {
      const r = find.get(elderId, serviceDate, meal);
      return r && toRecord(r);
    },
    get(eventId) {
      const live = getLive.get(eventId);
      if (live) return toRecord(live);
      const voided = getVoided.get(eventId);
      return voided && toVoided(voided);
    },
    markVoided(eventId, v) {
      if (copyToVoided.run(v.voidEventId, v.reason, v.staffId, v.at, eventId).changes !== 1) return false;
      deleteLive.run(eventId);
      return true;
    },
    listForDay(serviceDate) {
      return listDay.all(serviceDate).map(toRecord);
    },
    listVoidedForDay(serviceDate) {
      return listVoidedDay.all(serviceDate).map(toVoided);
    },
    tallyForDay(serviceDate) {
      const out: Record<Meal, MealTally> = { breakfast: emptyTally(), lunch: emptyTally(), dinner: emptyTally() };
      for (const r of tallyLive.all(serviceDate)) out[r.meal].byMethod[r.method] = r.n;
      for (const r of tallyVoided.all(serviceDate)) out[r.meal].voided = r.n;
      return out;
    },
    regulars(meal, from, to, minDays, today) {
      return regulars.all(meal, from, to, today, meal, minDays).map((r) => ({ elderId: r.elder_id, elderName: r.name, days: r.days, lastDate: r.last_date }));
    },
    countForDay(serviceDate) {
      return countDay.get(serviceDate)?.n ?? 0;
    },
    countAll() {
      return countAll.get()?.n ?? 0;
    },
  };
}
