/**
 * The audit log: append-only, hash-chained, forwarded as audit records exactly once, checked on
 * the edge and on the server's copy; a row changed by someone who dropped the triggers is found.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { auditHash, GENESIS_HASH, verifyChain } from '../../common/audit-chain.ts';
import { parseEventBatch, type AuditRecord, type BatchEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { auditCommand } from '../../edge/src/audit/audit-command.ts';
import { AuditDetailsError, auditRecordOf, createAuditLog, type AuditLog } from '../../edge/src/audit/audit-log.ts';
import { staffCommand } from '../../edge/src/staff/staff-command.ts';
import { createOutboxRepository, type OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { auditRecordHandler, verifyAuditChains } from '../../server/src/modules/audit/audit-records.ts';
import { serverAuditCommand } from '../../server/src/modules/audit/audit-command.ts';
import { createRecordIngest, type RecordHandler } from '../../server/src/modules/records/record-ingest.ts';
import { counterIds, edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { tempDir } from '../helpers/server-fixtures.ts';
import { openDatabase } from '../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server/src/server.ts';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let outbox: OutboxRepository;
let audit: AuditLog;

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock('2025-03-10T03:00:00.000Z');
  outbox = createOutboxRepository(db);
  audit = createAuditLog({ db, clock, ids: counterIds(), forward: (row) => outbox.enqueue(auditRecordOf(row, 'c-001', 'door1'), row.at) });
});

afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

function fill(): void {
  audit.append({ staffId: 'M1', action: 'login', subject: 'M1' });
  clock.advance(1000);
  audit.append({ staffId: 'M1', action: 'staff-add', subject: 'S001', details: { name: '王芳', role: 'staff' } });
  clock.advance(1000);
  audit.append({ staffId: 'S001', action: 'manual-meal', subject: 'E003', details: { meal: 'lunch', method: 'manual', reason: null, count: 1 } });
}

const lines = () => {
  const out: string[] = [];
  return { out, push: (s: string) => void out.push(s) };
};

describe('audit log on the edge', () => {
  it('chains rows: seq from 1, each prev_hash the previous hash, each hash over the row', () => {
    fill();
    const rows = [...audit.iterate()];
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    expect(rows[1]!.prevHash).toBe(rows[0]!.hash);
    expect(rows[2]!.prevHash).toBe(rows[1]!.hash);
    for (const r of rows) expect(r.hash).toBe(auditHash(r));
    // Key order in details does not change the hash (canonical JSON).
    expect(auditHash({ ...rows[2]!, details: { count: 1, reason: null, method: 'manual', meal: 'lunch' } })).toBe(rows[2]!.hash);
    expect(verifyChain(audit.iterate())).toEqual({ ok: true, rows: 3, head: rows[2]!.hash });
  });

  it('refuses UPDATE and DELETE (triggers)', () => {
    fill();
    expect(() => db.prepare("UPDATE audit_log SET action = 'x' WHERE seq = 2").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 3').run()).toThrow(/append-only/);
    expect(audit.count()).toBe(3);
  });

  it('never takes PINs, tokens or face data in details, nor nested or long values', () => {
    for (const details of <Array<Record<string, never>>>[{ pin: '123456' }, { newPin: '1' }, { password: 'x' }, { csrfToken: 'x' }, { descriptor: 'AAAA' }, { photo: 'base64...' }, { note: 'x'.repeat(501) }, { nested: { a: 1 } as never }]) {
      expect(() => audit.append({ staffId: 'S1', action: 'elder-change', details })).toThrow(AuditDetailsError);
    }
    expect(() => audit.append({ staffId: 'S1', action: 'Bad Action' })).toThrow(AuditDetailsError);
    // Counts and flags about faces are fine.
    audit.append({ staffId: 'S1', action: 'enrolment', subject: 'E1', details: { templates: 3, faceOverride: true } });
    expect(audit.count()).toBe(1);
    expect(outbox.pendingCount()).toBe(1);
  });

  it('commits with the caller\'s transaction, or not at all, and forwards each row once as a valid audit record', () => {
    expect(() =>
      db.transaction(() => {
        audit.append({ staffId: 'S1', action: 'void', subject: 'x' });
        throw new Error('the feature failed');
      })(),
    ).toThrow('the feature failed');
    expect(audit.count()).toBe(0);
    expect(outbox.pendingCount()).toBe(0);
    fill();
    const sent = outbox.takeOldest(10).map((r) => r.event);
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((e) => e.eventId)).size).toBe(3);
    const parsed = parseEventBatch(JSON.stringify({ v: 1, events: sent }));
    expect(parsed.ok).toBe(true);
    expect(sent[1]).toMatchObject({ type: 'audit', centreId: 'c-001', deviceId: 'door1', seq: 2, action: 'staff-add', staffId: 'M1', subject: 'S001', details: { name: '王芳', role: 'staff' } });
  });

  it('finds a row changed, or removed, by someone who dropped the triggers, and the CLI names it', async () => {
    fill();
    db.close();
    const okOut = lines();
    expect(await auditCommand(['verify', '--data', tmp.dir], okOut.push)).toBe(0);
    expect(okOut.out[0]).toMatch(/ok: 3 row\(s\)/);

    const raw = new Database(join(tmp.dir, 'edge.db'));
    raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
    raw.prepare(`UPDATE audit_log SET details = '{"name":"李四","role":"manager"}' WHERE seq = 2`).run();
    raw.close();
    const bad = lines();
    expect(await auditCommand(['verify', '--data', tmp.dir], bad.push)).toBe(1);
    expect(bad.out[0]).toBe('audit log BROKEN at row 2: hash does not match the row: its content was changed (1 row(s) before it check out)');

    // Rewriting the row's hash too only moves the break to the next row.
    const raw2 = new Database(join(tmp.dir, 'edge.db'));
    const r2 = raw2.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as { seq: number; at: string; staff_id: string; action: string; subject: string; details: string; prev_hash: string };
    const forged = auditHash({ seq: 2, at: r2.at, staffId: r2.staff_id, action: r2.action, subject: r2.subject, details: JSON.parse(r2.details), prevHash: r2.prev_hash });
    raw2.prepare('UPDATE audit_log SET hash = ? WHERE seq = 2').run(forged);
    raw2.close();
    const moved = lines();
    expect(await auditCommand(['verify', '--data', tmp.dir], moved.push)).toBe(1);
    expect(moved.out[0]).toMatch(/^audit log BROKEN at row 3: prev_hash does not match row 2's hash/);

    const raw3 = new Database(join(tmp.dir, 'edge.db'));
    raw3.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    raw3.close();
    const gone = lines();
    expect(await auditCommand(['verify', '--data', tmp.dir], gone.push)).toBe(1);
    expect(gone.out[0]).toMatch(/^audit log BROKEN at row 3: row 2 missing/);
  });
});

describe("audit log on the server's copy", () => {
  let stmp: ReturnType<typeof tempDir>;
  let sdb: Db;
  beforeEach(() => {
    stmp = tempDir();
    sdb = openDatabase(join(stmp.dir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
  });
  afterEach(() => {
    if (sdb.open) sdb.close();
    stmp.cleanup();
  });

  it('stores each record once (re-sends are known), verifies per box, and names the first broken row', async () => {
    fill();
    const records = outbox.takeOldest(10).map((r) => r.event) as BatchEvent[] as AuditRecord[];
    const ingest = createRecordIngest(sdb, [auditRecordHandler() as RecordHandler]);
    const first = sdb.transaction(() => ingest.ingest(records.slice(0, 2), 'c-001', 'door1', new Date()))();
    expect(first.stored).toBe(2);
    const again = sdb.transaction(() => ingest.ingest(records, 'c-001', 'door1', new Date()))();
    expect([again.stored, again.known]).toEqual([1, 2]);
    expect(ingest.count('audit')).toBe(3);
    expect(verifyAuditChains(sdb)).toEqual([{ centreId: 'c-001', deviceId: 'door1', verdict: { ok: true, rows: 3, head: records[2]!.hash } }]);
    sdb.close();
    const ok = lines();
    expect(await serverAuditCommand(['verify', '--server', '--data', stmp.dir], ok.push)).toBe(0);
    expect(ok.out).toEqual(['c-001/door1: ok, 3 row(s)']);

    const raw = new Database(join(stmp.dir, DATABASE_FILE));
    const p = JSON.parse(raw.prepare('SELECT payload FROM records WHERE event_id = ?').pluck().get(records[0]!.eventId) as string) as AuditRecord;
    raw.prepare('UPDATE records SET payload = ? WHERE event_id = ?').run(JSON.stringify({ ...p, staffId: 'M9' }), records[0]!.eventId);
    raw.close();
    const bad = lines();
    expect(await serverAuditCommand(['verify', '--server', '--data', stmp.dir], bad.push)).toBe(1);
    expect(bad.out).toEqual(['c-001/door1: BROKEN at row 1: hash does not match the row: its content was changed (0 row(s) before it check out)']);
  });
});

describe('mealcheck staff', () => {
  it('adds the first manager with a one-time PIN, adds staff with a PIN from stdin, lists, removes, and keeps the last manager', async () => {
    db.close();
    const o = lines();
    expect(await staffCommand(['add', '--data', tmp.dir, '--role', 'manager', '--name', '张丽'], o.push)).toBe(0);
    expect(o.out[0]).toBe('added S001 张丽 (manager)');
    expect(o.out[1]).toMatch(/^one-time PIN: \d{8} /);
    expect(await staffCommand(['add', '--data', tmp.dir, '--role', 'staff', '--name', '王芳', '--id', 'wf', '--pin-stdin'], o.push, () => '864209\n')).toBe(0);
    const l = lines();
    expect(await staffCommand(['list', '--data', tmp.dir], l.push)).toBe(0);
    expect(l.out).toEqual(['S001\t张丽\tmanager\tone-time PIN not yet changed', 'wf\t王芳\tstaff']);
    await expect(staffCommand(['remove', '--data', tmp.dir, '--id', 'S001'], o.push)).rejects.toThrow(/last manager/);
    expect(await staffCommand(['remove', '--data', tmp.dir, '--id', 'wf'], o.push)).toBe(0);
    await expect(staffCommand(['add', '--data', tmp.dir, '--role', 'boss', '--name', 'x'], o.push)).rejects.toThrow(/must be one of staff, manager/);
    await expect(staffCommand(['add', '--data', tmp.dir, '--role', 'staff', '--name', 'x', '--bogus'], o.push)).rejects.toThrow(/unknown option --bogus/);
    await expect(staffCommand(['add', '--data', tmp.dir, '--role', 'staff', '--name', 'x', '--pin-stdin'], o.push, () => '12\n')).rejects.toThrow(/at least 6/);
    const a = lines();
    expect(await auditCommand(['list', '--data', tmp.dir], a.push)).toBe(0);
    expect(a.out.map((x) => x.split('\t')[3])).toEqual(['staff-add', 'staff-add', 'staff-remove']);
    expect(a.out.join('\n')).not.toContain('864209');
  });
});
