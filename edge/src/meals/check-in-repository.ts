/** SQL for the `check_ins` table: one row per elder per service date and meal. */
import type { CheckInMethod, Meal } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { CheckIn, DoorVisit } from './check-in.ts';

/** A check-in as stored (the elder's name is joined in by the service, not stored here). */
export type CheckInRecord = Omit<CheckIn, 'elderName'>;

export interface CheckInRepository {
  /** Throws on a UNIQUE violation or any SQLite error; the service decides what that means. */
  insert(c: CheckInRecord): void;
  find(elderId: string, serviceDate: string, meal: Meal): CheckInRecord | undefined;
  /** A day's check-ins, oldest first, with the elder's current name when still enrolled. */
  listForDay(serviceDate: string): (CheckInRecord & { elderName?: string })[];
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
  return v;
}

interface Row extends DoorVisitRow {
  event_id: string;
}

function toRecord(r: Row): CheckInRecord {
  return { eventId: r.event_id, ...doorVisitOf(r) };
}

export function createCheckInRepository(db: Db): CheckInRepository {
  const cols = 'c.event_id, c.elder_id, c.service_date, c.meal, c.at, c.method, c.score, c.camera_id, c.antispoof';
  const insert = db.prepare<[string, string, string, string, string, string, number | null, string | null, number | null]>(
    'INSERT INTO check_ins (event_id, elder_id, service_date, meal, at, method, score, camera_id, antispoof) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const find = db.prepare<[string, string, string], Row>(`SELECT ${cols} FROM check_ins c WHERE c.elder_id = ? AND c.service_date = ? AND c.meal = ?`);
  const listDay = db.prepare<[string], Row & { name: string | null }>(
    `SELECT ${cols}, e.name FROM check_ins c LEFT JOIN elders e ON e.elder_id = c.elder_id WHERE c.service_date = ? ORDER BY c.at, c.event_id`,
  );
  const countDay = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM check_ins WHERE service_date = ?');
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM check_ins');

  return {
    insert(c) {
      insert.run(c.eventId, c.elderId, c.serviceDate, c.meal, c.at, c.method, c.score ?? null, c.cameraId ?? null, c.antispoof ?? null);
    },
    find(elderId, serviceDate, meal) {
      const r = find.get(elderId, serviceDate, meal);
      return r && toRecord(r);
    },
    listForDay(serviceDate) {
      return listDay.all(serviceDate).map((r) => {
        const c: CheckInRecord & { elderName?: string } = toRecord(r);
        if (r.name !== null) c.elderName = r.name;
        return c;
      });
    },
    countForDay(serviceDate) {
      return countDay.get(serviceDate)?.n ?? 0;
    },
    countAll() {
      return countAll.get()?.n ?? 0;
    },
  };
}
