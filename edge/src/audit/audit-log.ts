/**
 * The edge's audit log: who did what, when, to what (issue 12, item 6). Append-only (triggers
 * in edge migration 006 refuse UPDATE and DELETE) and hash-chained (common/audit-chain.ts).
 *
 * Every staff feature calls `append()` INSIDE its own transaction, so an action and its audit
 * row commit together or not at all:
 *
 *   db.transaction(() => {
 *     elders.update(...);
 *     audit.append({ staffId: req.staff.staffId, action: 'elder-change', subject: elderId, details: { fields: ['phone'] } });
 *   })();
 *
 * `details` is JSON a person reads later: what changed (field names, old and new values where
 * they are not sensitive, a reason). Never biometric data (descriptors, images, crops), never
 * PINs or tokens; `append` refuses details that look like either.
 *
 * Each row is also handed to `forward` in the same transaction (the composition root passes
 * the outbox), so it reaches the server exactly once, by its eventId.
 */
import type { Clock, Ids } from '../../../common/clock.ts';
import { auditHash, canonicalJson, GENESIS_HASH, type AuditAction, type AuditDetails, type AuditRow } from '../../../common/audit-chain.ts';
import type { AuditRecord } from '../../../common/records.ts';
import type { Db } from '../../../common/sqlite.ts';

export interface AuditEntry {
  /** Who acted; null for the box itself or a login attempt naming no account. */
  staffId: string | null;
  /** One of AUDIT_ACTIONS, or a feature's own kebab-case word. */
  action: AuditAction | (string & {});
  /** The staff id, elder id or eventId acted on. */
  subject?: string | null;
  details?: AuditDetails;
}

/** A row as stored, with the eventId it is forwarded under. */
export interface AuditLogRow extends AuditRow {
  eventId: string;
}

export interface AuditLog {
  /** Appends one row (in the caller's transaction, if any) and returns it. Throws on bad details. */
  append(entry: AuditEntry): AuditLogRow;
  /** Newest first, at most `limit`. */
  recent(limit: number): AuditLogRow[];
  /** Every row in seq order, read lazily (for verification). */
  iterate(): IterableIterator<AuditLogRow>;
  count(): number;
}

interface Row {
  seq: number;
  event_id: string;
  at: string;
  staff_id: string | null;
  action: string;
  subject: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/** Detail keys never audited: a PIN, a password, a token (in any form). */
const SECRET_KEY = /^pin|Pin|PIN|[pP]assword|[sS]ecret|[tT]oken/;
/** Detail keys about face data: a count or a flag (`templates: 3`) is fine, the data is not. */
const BIOMETRIC_KEY = /descriptor|embedding|image|photo|crop|template|face/i;

export class AuditDetailsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditDetailsError';
  }
}

/** The wire's limits (AuditRecordSchema, common/records.ts) and the never-audited keys. */
function checkDetails(details: AuditDetails): void {
  const entries = Object.entries(details);
  if (entries.length > 32) throw new AuditDetailsError(`audit details: ${entries.length} keys, at most 32`);
  for (const [k, v] of entries) {
    if (k.length > 64) throw new AuditDetailsError(`audit details: key "${k.slice(0, 20)}..." longer than 64 characters`);
    if (SECRET_KEY.test(k)) throw new AuditDetailsError(`audit details ${k}: PINs, passwords and tokens are never audited`);
    if (BIOMETRIC_KEY.test(k) && typeof v !== 'number' && typeof v !== 'boolean') throw new AuditDetailsError(`audit details ${k}: face data is never audited (a count or a flag is)`);
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new AuditDetailsError(`audit details ${k}: values are text, numbers, true/false or null (flat: no objects or lists)`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new AuditDetailsError(`audit details ${k}: not a finite number`);
    // A descriptor or an image as text (base64) is long; a person's note is not.
    if (typeof v === 'string' && v.length > 500) throw new AuditDetailsError(`audit details ${k}: text longer than 500 characters (no images or face data in the audit log)`);
  }
}

function toRow(r: Row): AuditLogRow {
  return { seq: r.seq, eventId: r.event_id, at: r.at, staffId: r.staff_id, action: r.action, subject: r.subject, details: JSON.parse(r.details) as AuditDetails, prevHash: r.prev_hash, hash: r.hash };
}

export interface AuditLogDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  /** Called with each new row inside the appending transaction (the outbox); throwing rolls it back. */
  forward?: (row: AuditLogRow) => void;
}

export function createAuditLog({ db, clock, ids, forward }: AuditLogDeps): AuditLog {
  const last = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  const insert = db.prepare('INSERT INTO audit_log (seq, event_id, at, staff_id, action, subject, details, prev_hash, hash) VALUES (@seq, @eventId, @at, @staffId, @action, @subject, @details, @prevHash, @hash)');
  const recent = db.prepare<[number], Row>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?');
  const all = db.prepare<[], Row>('SELECT * FROM audit_log ORDER BY seq');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit_log');

  // A savepoint inside the caller's transaction, or a transaction of its own. Two processes
  // (the edge and `mealcheck staff add`) appending at once cannot fork the chain: seq is the
  // primary key, so the second INSERT of the same seq fails and its transaction rolls back.
  const appendTx = db.transaction((entry: AuditEntry): AuditLogRow => {
    const details = entry.details ?? {};
    checkDetails(details);
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(entry.action)) throw new AuditDetailsError(`audit action "${entry.action}": lower-case words joined by "-", at most 40 characters`);
    if (entry.subject && entry.subject.length > 200) throw new AuditDetailsError('audit subject longer than 200 characters');
    const prev = last.get();
    const base = {
      seq: (prev?.seq ?? 0) + 1,
      at: clock.now().toISOString(),
      staffId: entry.staffId ?? null,
      action: entry.action,
      subject: entry.subject ?? null,
      details,
      prevHash: prev?.hash ?? GENESIS_HASH,
    };
    const row: AuditLogRow = { ...base, hash: auditHash(base), eventId: ids.next() };
    insert.run({ ...row, details: canonicalJson(details) });
    forward?.(row);
    return row;
  });

  return {
    append: (entry) => appendTx.immediate(entry),
    recent: (limit) => recent.all(limit).map(toRow),
    *iterate() {
      for (const r of all.iterate()) yield toRow(r);
    },
    count: () => count.get()!.n,
  };
}

/** The row as it travels to the server (common/records.ts AuditRecordSchema); no face data can fit. */
export function auditRecordOf(row: AuditLogRow, centreId: string, deviceId: string): AuditRecord {
  const r: AuditRecord = { type: 'audit', eventId: row.eventId, centreId, deviceId, at: row.at, seq: row.seq, action: row.action, details: row.details, prevHash: row.prevHash, hash: row.hash };
  if (row.staffId !== null) r.staffId = row.staffId;
  if (row.subject !== null) r.subject = row.subject;
  return r;
}
