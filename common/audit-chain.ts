/**
 * The audit log's hash chain, shared by the edge (which writes it) and the server (which keeps
 * a copy per centre and device): one canonical serialisation, one hash, one verifier, so the two
 * sides cannot disagree about what a row's hash covers.
 *
 *   hash(row) = sha256hex( JSON.stringify([1, seq, at, staffId|null, action, subject|null, details, prevHash]) )
 *
 * where `details` is the row's JSON object with its keys sorted at every level (canonical
 * JSON), and `prevHash` is the previous row's hash (GENESIS_HASH for seq 1). Changing, removing
 * or inserting any row changes that row's hash and breaks every `prevHash` after it.
 */
import { createHash } from 'node:crypto';

/** The prev_hash of the first row of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Staff actions with a fixed meaning; features add their own (`elder-change`, `void`, ...). */
export const AUDIT_ACTIONS = [
  'login',
  'login-failed',
  'lockout',
  'logout',
  'staff-add',
  'staff-remove',
  'pin-reset',
  'pin-change',
  'elder-change',
  'consent',
  'enrolment',
  'manual-meal',
  'void',
  'override',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * A value in an audit row's details: flat and short (AuditRecordSchema of common/records.ts
 * allows at most 32 keys of 64 characters, strings of 500), so no blob (a face, a photo) fits.
 */
export type AuditValue = string | number | boolean | null;
export type AuditDetails = { [key: string]: AuditValue };
type JsonValue = AuditValue | JsonValue[] | { [key: string]: JsonValue };

/** The fields the hash covers. */
export interface AuditRow {
  seq: number;
  /** ISO-8601 UTC. */
  at: string;
  staffId: string | null;
  action: string;
  /** What the action was about: a staff id, an elder id, an eventId. */
  subject: string | null;
  details: AuditDetails;
  prevHash: string;
  hash: string;
}

/** JSON with object keys sorted at every level; arrays keep their order. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}

export function auditHash(row: Omit<AuditRow, 'hash'>): string {
  const canonical = JSON.stringify([1, row.seq, row.at, row.staffId ?? null, row.action, row.subject ?? null, canonicalJson(row.details), row.prevHash]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export type ChainVerdict =
  | { ok: true; rows: number; head: string }
  /** `seq` is the first row that does not fit; every row before it checked out. */
  | { ok: false; rows: number; seq: number; problem: string };

/**
 * Checks rows in `seq` order: seq 1, 2, 3... without gaps, each prevHash the previous hash,
 * each hash its own content's. Stops at the first broken row. Lazy over an iterable, so a
 * long log is streamed from SQLite, not loaded whole.
 */
export function verifyChain(rows: Iterable<AuditRow>): ChainVerdict {
  let expectedSeq = 1;
  let prev = GENESIS_HASH;
  let n = 0;
  for (const row of rows) {
    if (row.seq !== expectedSeq) return { ok: false, rows: n, seq: row.seq, problem: row.seq > expectedSeq ? `row ${expectedSeq}${row.seq - 1 > expectedSeq ? `-${row.seq - 1}` : ''} missing (the next row is ${row.seq})` : `row ${row.seq} out of order (expected ${expectedSeq})` };
    if (row.prevHash !== prev) return { ok: false, rows: n, seq: row.seq, problem: `prev_hash does not match row ${row.seq - 1}'s hash: a row before it was changed, removed or inserted` };
    if (auditHash(row) !== row.hash) return { ok: false, rows: n, seq: row.seq, problem: 'hash does not match the row: its content was changed' };
    prev = row.hash;
    expectedSeq++;
    n++;
  }
  return { ok: true, rows: n, head: prev };
}
