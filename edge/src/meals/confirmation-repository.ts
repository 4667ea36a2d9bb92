/**
 * SQL for the `confirmations` table: face check-ins held for staff because their anti-spoof
 * hint was low, and what staff decided about them (kept for audit).
 */
import type { Meal } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { Confirmation, ConfirmationStatus } from './check-in.ts';
import { doorVisitOf, type DoorVisitRow } from './check-in-repository.ts';

/** A confirmation as stored (the elder's name is joined in on reads, not stored). */
export type ConfirmationRecord = Omit<Confirmation, 'elderName'>;

export interface ConfirmationRepository {
  /**
   * Stores a new pending confirmation. Throws on a UNIQUE violation (the elder already has an
   * open one for this meal) or any SQLite error.
   */
  insert(c: ConfirmationRecord): void;
  get(id: string): (ConfirmationRecord & { elderName?: string }) | undefined;
  /** The elder's open (pending) confirmation for this meal, if any. */
  findOpen(elderId: string, serviceDate: string, meal: Meal): ConfirmationRecord | undefined;
  /**
   * Confirmations with `status` (all when undefined), at most `limit`: pending ones oldest
   * first (a queue for staff), decided ones newest first (an audit trail).
   */
  list(status: ConfirmationStatus | undefined, limit: number): (ConfirmationRecord & { elderName?: string })[];
  countPending(): number;
  /** Decides a pending confirmation; false when it was not pending (nothing changed). */
  decide(id: string, d: { status: Exclude<ConfirmationStatus, 'pending'>; at: string; by?: string; reason?: string; eventId?: string }): boolean;
  /** Marks the elder's open confirmation for this meal superseded by check-in `eventId`; returns how many. */
  supersedeOpen(elderId: string, serviceDate: string, meal: Meal, at: string, eventId: string): number;
}

interface Row extends DoorVisitRow {
  id: string;
  status: string;
  decided_at: string | null;
  decided_by: string | null;
  reason: string | null;
  event_id: string | null;
  name?: string | null;
}

function toRecord(r: Row): ConfirmationRecord & { elderName?: string } {
  // The table's CHECK constraint keeps the status within its union.
  const c: ConfirmationRecord & { elderName?: string } = { id: r.id, ...doorVisitOf(r), status: r.status as ConfirmationStatus };
  if (r.decided_at !== null) c.decidedAt = r.decided_at;
  if (r.decided_by !== null) c.decidedBy = r.decided_by;
  if (r.reason !== null) c.reason = r.reason;
  if (r.event_id !== null) c.eventId = r.event_id;
  if (r.name !== undefined && r.name !== null) c.elderName = r.name;
  return c;
}

export function createConfirmationRepository(db: Db): ConfirmationRepository {
  const cols = 'c.id, c.elder_id, c.service_date, c.meal, c.at, c.method, c.score, c.camera_id, c.antispoof, c.status, c.decided_at, c.decided_by, c.reason, c.event_id';
  const insert = db.prepare<[string, string, string, string, string, string, number | null, string | null, number | null]>(
    'INSERT INTO confirmations (id, elder_id, service_date, meal, at, method, score, camera_id, antispoof) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const get = db.prepare<[string], Row>(`SELECT ${cols}, e.name FROM confirmations c LEFT JOIN elders e ON e.elder_id = c.elder_id WHERE c.id = ?`);
  const findOpen = db.prepare<[string, string, string], Row>(`SELECT ${cols} FROM confirmations c WHERE c.elder_id = ? AND c.service_date = ? AND c.meal = ? AND c.status = 'pending'`);
  const listPending = db.prepare<[number], Row>(
    `SELECT ${cols}, e.name FROM confirmations c LEFT JOIN elders e ON e.elder_id = c.elder_id WHERE c.status = 'pending' ORDER BY c.at, c.id LIMIT ?`,
  );
  const listStatus = db.prepare<[string, number], Row>(
    `SELECT ${cols}, e.name FROM confirmations c LEFT JOIN elders e ON e.elder_id = c.elder_id WHERE c.status = ? ORDER BY c.at DESC, c.id DESC LIMIT ?`,
  );
  const listAll = db.prepare<[number], Row>(`SELECT ${cols}, e.name FROM confirmations c LEFT JOIN elders e ON e.elder_id = c.elder_id ORDER BY c.at DESC, c.id DESC LIMIT ?`);
  const countPending = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM confirmations WHERE status = 'pending'");
  // `status = 'pending'` in the WHERE makes a decision happen once, whoever asks twice.
  const decide = db.prepare<[string, string, string | null, string | null, string | null, string]>(
    "UPDATE confirmations SET status = ?, decided_at = ?, decided_by = ?, reason = ?, event_id = ? WHERE id = ? AND status = 'pending'",
  );
  const supersede = db.prepare<[string, string, string, string, string]>(
    "UPDATE confirmations SET status = 'superseded', decided_at = ?, event_id = ? WHERE elder_id = ? AND service_date = ? AND meal = ? AND status = 'pending'",
  );

  return {
    insert(c) {
      insert.run(c.id, c.elderId, c.serviceDate, c.meal, c.at, c.method, c.score ?? null, c.cameraId ?? null, c.antispoof ?? null);
    },
    get(id) {
      const r = get.get(id);
      return r && toRecord(r);
    },
    findOpen(elderId, serviceDate, meal) {
      const r = findOpen.get(elderId, serviceDate, meal);
      return r && toRecord(r);
    },
    list(status, limit) {
      const rows = status === undefined ? listAll.all(limit) : status === 'pending' ? listPending.all(limit) : listStatus.all(status, limit);
      return rows.map(toRecord);
    },
    countPending() {
      return countPending.get()?.n ?? 0;
    },
    decide(id, d) {
      return decide.run(d.status, d.at, d.by ?? null, d.reason ?? null, d.eventId ?? null, id).changes === 1;
    },
    supersedeOpen(elderId, serviceDate, meal, at, eventId) {
      return supersede.run(at, eventId, elderId, serviceDate, meal).changes;
    },
  };
}
