/**
 * Audit rows from the boxes (common/records.ts `audit`): the record ingest keeps each once per
 * eventId in `records` (server migration 007), which is the server's copy of every box's chain;
 * this module reads those chains back, per centre and device in seq order, and checks them with
 * the same verifier as the edge (common/audit-chain.ts).
 */
import { verifyChain, type AuditRow, type ChainVerdict } from '../../../../common/audit-chain.ts';
import type { AuditRecord } from '../../../../common/records.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { RecordHandler } from '../records/record-ingest.ts';

/**
 * The handler ingest dispatches audit records to. Nothing more to apply: the stored record is
 * the copy. A chain is not checked here, row by row, because rows of one box may arrive out of
 * order across reconnects; `mealcheck audit verify --server` checks whole chains.
 */
export function auditRecordHandler(): RecordHandler<'audit'> {
  return { type: 'audit', apply: () => undefined };
}

export interface AuditChainReport {
  centreId: string;
  deviceId: string;
  verdict: ChainVerdict;
}

function rowOf(r: AuditRecord): AuditRow {
  return { seq: r.seq, at: r.at, staffId: r.staffId ?? null, action: r.action, subject: r.subject ?? null, details: r.details, prevHash: r.prevHash, hash: r.hash };
}

export function verifyAuditChains(db: Db): AuditChainReport[] {
  const chains = db.prepare<[], { centre_id: string; device_id: string }>("SELECT DISTINCT centre_id, device_id FROM records WHERE type = 'audit' ORDER BY centre_id, device_id").all();
  const rows = db.prepare<[string, string], string>("SELECT payload FROM records WHERE type = 'audit' AND centre_id = ? AND device_id = ? ORDER BY json_extract(payload, '$.seq'), event_id").pluck();
  return chains.map(({ centre_id, device_id }) => {
    const it = rows.iterate(centre_id, device_id);
    const verdict = verifyChain((function* () {
      for (const p of it) yield rowOf(JSON.parse(p) as AuditRecord);
    })());
    // verifyChain may stop early: close the statement's iterator.
    it.return?.();
    return { centreId: centre_id, deviceId: device_id, verdict };
  });
}
