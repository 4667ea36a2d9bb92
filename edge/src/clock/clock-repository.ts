/**
 * SQL for clock sanity on the edge: the trusted-time checkpoint and the check-ins recorded while
 * the clock was untrusted (`unsynced_check_ins`, see migration 003 for their life cycle).
 */
import type { CheckInMethod, Meal } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';

export interface ClockCheckpoint {
  /** ISO 8601: the latest time this box trusted. */
  trustedAt: string;
  source: 'server' | 'system';
  bootId: string;
}

export type UnsyncedStatus = 'held' | 'corrected' | 'duplicate' | 'outside-window' | 'unverified';

export interface UnsyncedCheckIn {
  eventId: string;
  elderId: string;
  bootId: string;
  /** Milliseconds since the run `bootId` started. */
  monoMs: number;
  /** The box's (untrusted) wall clock at the check-in, ISO 8601. */
  edgeAt: string;
  method: CheckInMethod;
  score?: number;
  cameraId?: string;
  /** A meal by hand: who recorded it, and who collected a `proxy` one (edge migration 008). */
  staffId?: string;
  proxyName?: string;
  status: UnsyncedStatus;
  /** Set once resolved: the corrected (or, for unverified, the box's guessed) time, date and meal. */
  at?: string;
  serviceDate?: string;
  meal?: Meal;
  originalEventId?: string;
  resolvedAt?: string;
}

export interface ClockRepository {
  loadCheckpoint(): ClockCheckpoint | undefined;
  /**
   * Keeps the later of the stored and the given time, so a checkpoint never moves back, except
   * that the server's time always replaces it (a system clock that ran ahead may have set it).
   */
  saveCheckpoint(c: ClockCheckpoint): void;
  /** Inside the check-in transaction. Throws on any SQLite error. */
  insertUnsynced(c: Omit<UnsyncedCheckIn, 'status'>): void;
  /** The latest held check-in of `elderId` in run `bootId`, if any. */
  latestHeld(elderId: string, bootId: string): UnsyncedCheckIn | undefined;
  /** Held rows of run `bootId` (or, with `otherRuns`, of every other run), oldest first. */
  listHeld(bootId: string, otherRuns?: boolean): UnsyncedCheckIn[];
  resolve(eventId: string, r: { status: Exclude<UnsyncedStatus, 'held'>; at: string; serviceDate: string; meal: Meal; originalEventId?: string; resolvedAt: string }): void;
  countByStatus(): Record<UnsyncedStatus, number>;
}

interface Row {
  event_id: string;
  elder_id: string;
  boot_id: string;
  mono_ms: number;
  edge_at: string;
  method: string;
  score: number | null;
  camera_id: string | null;
  staff_id: string | null;
  proxy_name: string | null;
  status: string;
  at: string | null;
  service_date: string | null;
  meal: string | null;
  original_event_id: string | null;
  resolved_at: string | null;
}

function toUnsynced(r: Row): UnsyncedCheckIn {
  // The table's CHECK constraints keep these within their unions.
  const c: UnsyncedCheckIn = { eventId: r.event_id, elderId: r.elder_id, bootId: r.boot_id, monoMs: r.mono_ms, edgeAt: r.edge_at, method: r.method as CheckInMethod, status: r.status as UnsyncedStatus };
  if (r.score !== null) c.score = r.score;
  if (r.camera_id !== null) c.cameraId = r.camera_id;
  if (r.staff_id !== null) c.staffId = r.staff_id;
  if (r.proxy_name !== null) c.proxyName = r.proxy_name;
  if (r.at !== null) c.at = r.at;
  if (r.service_date !== null) c.serviceDate = r.service_date;
  if (r.meal !== null) c.meal = r.meal as Meal;
  if (r.original_event_id !== null) c.originalEventId = r.original_event_id;
  if (r.resolved_at !== null) c.resolvedAt = r.resolved_at;
  return c;
}

export function createClockRepository(db: Db): ClockRepository {
  const loadCp = db.prepare<[], { trusted_at: string; source: 'server' | 'system'; boot_id: string }>('SELECT trusted_at, source, boot_id FROM clock_checkpoint WHERE id = 1');
  const saveCp = db.prepare<[string, string, string]>(
    `INSERT INTO clock_checkpoint (id, trusted_at, source, boot_id) VALUES (1, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET trusted_at = excluded.trusted_at, source = excluded.source, boot_id = excluded.boot_id
     WHERE excluded.source = 'server' OR excluded.trusted_at > clock_checkpoint.trusted_at`,
  );
  const insert = db.prepare(
    `INSERT INTO unsynced_check_ins (event_id, elder_id, boot_id, mono_ms, edge_at, method, score, camera_id, staff_id, proxy_name)
     VALUES (@eventId, @elderId, @bootId, @monoMs, @edgeAt, @method, @score, @cameraId, @staffId, @proxyName)`,
  );
  const cols = 'event_id, elder_id, boot_id, mono_ms, edge_at, method, score, camera_id, staff_id, proxy_name, status, at, service_date, meal, original_event_id, resolved_at';
  const latest = db.prepare<[string, string], Row>(`SELECT ${cols} FROM unsynced_check_ins WHERE status = 'held' AND elder_id = ? AND boot_id = ? ORDER BY mono_ms DESC LIMIT 1`);
  const heldOf = db.prepare<[string], Row>(`SELECT ${cols} FROM unsynced_check_ins WHERE status = 'held' AND boot_id = ? ORDER BY mono_ms, rowid`);
  const heldOther = db.prepare<[string], Row>(`SELECT ${cols} FROM unsynced_check_ins WHERE status = 'held' AND boot_id <> ? ORDER BY rowid`);
  const resolve = db.prepare(
    `UPDATE unsynced_check_ins SET status = @status, at = @at, service_date = @serviceDate, meal = @meal, original_event_id = @originalEventId, resolved_at = @resolvedAt
     WHERE event_id = @eventId`,
  );
  const counts = db.prepare<[], { status: UnsyncedStatus; n: number }>('SELECT status, count(*) AS n FROM unsynced_check_ins GROUP BY status');

  return {
    loadCheckpoint() {
      const r = loadCp.get();
      return r && { trustedAt: r.trusted_at, source: r.source, bootId: r.boot_id };
    },
    saveCheckpoint(c) {
      // ISO 8601 UTC strings of one format compare in time order.
      saveCp.run(c.trustedAt, c.source, c.bootId);
    },
    insertUnsynced(c) {
      insert.run({ ...c, score: c.score ?? null, cameraId: c.cameraId ?? null, staffId: c.staffId ?? null, proxyName: c.proxyName ?? null });
    },
    latestHeld(elderId, bootId) {
      const r = latest.get(elderId, bootId);
      return r && toUnsynced(r);
    },
    listHeld(bootId, otherRuns = false) {
      return (otherRuns ? heldOther : heldOf).all(bootId).map(toUnsynced);
    },
    resolve(eventId, r) {
      resolve.run({ eventId, ...r, originalEventId: r.originalEventId ?? null });
    },
    countByStatus() {
      const out: Record<UnsyncedStatus, number> = { held: 0, corrected: 0, duplicate: 0, 'outside-window': 0, unverified: 0 };
      for (const r of counts.all()) out[r.status] = r.n;
      return out;
    },
  };
}
