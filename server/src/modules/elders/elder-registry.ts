/**
 * The elder registry on the server: what the centres' boxes report of their elders, through
 * `elder` records (common/records.ts) in the same batches as meals. Record ingest
 * (records/record-ingest.ts) keeps each eventId once and tells re-sends from conflicts; this
 * handler applies a new record to `elder_registry` (server migration 008) only when its revision
 * is newer than the one held, so records arriving out of order end in the same state as in order.
 *
 * A removal keeps the row, flagged `removed`, with the last fields known: the meals and subsidies
 * already paid refer to the elder. Nothing here is biometric: the contract carries no face data.
 *
 * ID-card numbers arrive sealed to the server's key and are stored sealed (id-number-key.ts);
 * this repository opens them as it reads, so callers see the number (and the routes mask it).
 * One sealed to another key (the server's key file was replaced) is stored as unknown: the box
 * forwards it again, sealed to the new key, once the new key reaches it.
 */
import type { ElderRecord, ElderStatus } from '../../../../common/records.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { RecordHandler } from '../records/record-ingest.ts';
import { ID_NUMBER_PATTERN } from '../../../../common/id-card.ts';
import { idNumberKeyOf } from './id-number-key.ts';

const ID_RE = new RegExp(ID_NUMBER_PATTERN);

export interface RegistryElder {
  centreId: string;
  elderId: string;
  deviceId: string;
  revision: number;
  removed: boolean;
  name: string | null;
  /** Masked (`**************123X`) unless the caller asked for full numbers. */
  idNumber: string | null;
  phone: string | null;
  category: string | null;
  status: ElderStatus | null;
  consent: { textVersion: string; signedOn: string; signedBy: 'elder' | 'guardian'; guardianName: string | null; staffId: string } | null;
  change: string | null;
  staffId: string | null;
  changedAt: string;
  receivedAt: string;
}

export interface RegistryQuery {
  centreId?: string;
  /** Only these centres (the caller's); absent: every centre. */
  centreIds?: readonly string[];
  status?: ElderStatus;
  /** Removed elders too (default: not). */
  includeRemoved?: boolean;
  limit: number;
  offset: number;
}

export interface ElderRegistryRepository {
  /** The `elder` record handler for record ingest. */
  readonly handler: RecordHandler<'elder'>;
  /** Elders by centre and id, filtered; `total` counts every match. ID numbers as stored (the route masks). */
  list(q: RegistryQuery): { elders: RegistryElder[]; total: number };
  get(centreId: string, elderId: string): RegistryElder | undefined;
}

interface Row {
  centreId: string;
  elderId: string;
  deviceId: string;
  revision: number;
  removed: number;
  name: string | null;
  idNumber: string | null;
  phone: string | null;
  category: string | null;
  status: ElderStatus | null;
  consentVersion: string | null;
  consentSignedOn: string | null;
  consentSignedBy: 'elder' | 'guardian' | null;
  consentGuardian: string | null;
  consentStaffId: string | null;
  change: string | null;
  staffId: string | null;
  changedAt: string;
  receivedAt: string;
}

const columns = `centre_id AS centreId, elder_id AS elderId, device_id AS deviceId, revision, removed, name, id_number AS idNumber, phone, category, status,
  consent_version AS consentVersion, consent_signed_on AS consentSignedOn, consent_signed_by AS consentSignedBy, consent_guardian AS consentGuardian,
  consent_staff_id AS consentStaffId, change, staff_id AS staffId, changed_at AS changedAt, received_at AS receivedAt`;

function rowToElder(r: Row): RegistryElder {
  const { removed, consentVersion, consentSignedOn, consentSignedBy, consentGuardian, consentStaffId, ...rest } = r;
  return {
    ...rest,
    removed: removed === 1,
    consent: consentVersion !== null ? { textVersion: consentVersion, signedOn: consentSignedOn!, signedBy: consentSignedBy!, guardianName: consentGuardian, staffId: consentStaffId! } : null,
  };
}

export function createElderRegistryRepository(db: Db): ElderRegistryRepository {
  const key = idNumberKeyOf(db);
  const toElder = (r: Row): RegistryElder => {
    const e = rowToElder(r);
    return { ...e, idNumber: key.reveal(e.idNumber) };
  };
  // Newer revisions only: `WHERE excluded.revision > revision` makes a late, older record a no-op.
  // A removal keeps the fields last known (see the file comment).
  const upsert = db.prepare(
    `INSERT INTO elder_registry (centre_id, elder_id, device_id, revision, removed, name, id_number, phone, category, status,
       consent_version, consent_signed_on, consent_signed_by, consent_guardian, consent_staff_id, change, staff_id, changed_at, event_id, received_at)
     VALUES (@centreId, @elderId, @deviceId, @revision, @removed, @name, @idNumber, @phone, @category, @status,
       @consentVersion, @consentSignedOn, @consentSignedBy, @consentGuardian, @consentStaffId, @change, @staffId, @changedAt, @eventId, @receivedAt)
     ON CONFLICT (centre_id, elder_id) DO UPDATE SET
       device_id = excluded.device_id, revision = excluded.revision, removed = excluded.removed,
       name = CASE WHEN excluded.removed = 1 THEN name ELSE excluded.name END,
       id_number = CASE WHEN excluded.removed = 1 THEN id_number ELSE excluded.id_number END,
       phone = CASE WHEN excluded.removed = 1 THEN phone ELSE excluded.phone END,
       category = CASE WHEN excluded.removed = 1 THEN category ELSE excluded.category END,
       status = CASE WHEN excluded.removed = 1 THEN status ELSE excluded.status END,
       consent_version = CASE WHEN excluded.removed = 1 THEN consent_version ELSE excluded.consent_version END,
       consent_signed_on = CASE WHEN excluded.removed = 1 THEN consent_signed_on ELSE excluded.consent_signed_on END,
       consent_signed_by = CASE WHEN excluded.removed = 1 THEN consent_signed_by ELSE excluded.consent_signed_by END,
       consent_guardian = CASE WHEN excluded.removed = 1 THEN consent_guardian ELSE excluded.consent_guardian END,
       consent_staff_id = CASE WHEN excluded.removed = 1 THEN consent_staff_id ELSE excluded.consent_staff_id END,
       change = excluded.change, staff_id = excluded.staff_id, changed_at = excluded.changed_at, event_id = excluded.event_id, received_at = excluded.received_at
     WHERE excluded.revision > elder_registry.revision`,
  );
  const where = `WHERE (@centreId IS NULL OR centre_id = @centreId) AND (@centreIds IS NULL OR centre_id IN (SELECT value FROM json_each(@centreIds))) AND (@status IS NULL OR status = @status) AND (@includeRemoved = 1 OR removed = 0)`;
  const list = db.prepare<{ centreId: string | null; centreIds: string | null; status: string | null; includeRemoved: number; limit: number; offset: number }, Row>(
    `SELECT ${columns} FROM elder_registry ${where} ORDER BY centre_id, elder_id LIMIT @limit OFFSET @offset`,
  );
  const count = db.prepare<{ centreId: string | null; centreIds: string | null; status: string | null; includeRemoved: number }, number>(`SELECT count(*) FROM elder_registry ${where}`).pluck();
  const getOne = db.prepare<[string, string], Row>(`SELECT ${columns} FROM elder_registry WHERE centre_id = ? AND elder_id = ?`);

  const handler: RecordHandler<'elder'> = {
    type: 'elder',
    apply(r: ElderRecord, receivedAt: Date) {
      upsert.run({
        centreId: r.centreId,
        elderId: r.elderId,
        deviceId: r.deviceId,
        revision: r.revision,
        removed: r.removed ? 1 : 0,
        name: r.name ?? null,
        idNumber: r.idNumberSealed !== undefined && ID_RE.test(key.reveal(r.idNumberSealed) ?? '') ? r.idNumberSealed : null,
        phone: r.phone ?? null,
        category: r.category ?? null,
        status: r.status ?? null,
        consentVersion: r.consent?.textVersion ?? null,
        consentSignedOn: r.consent?.signedOn ?? null,
        consentSignedBy: r.consent?.signedBy ?? null,
        consentGuardian: r.consent?.guardianName ?? null,
        consentStaffId: r.consent?.staffId ?? null,
        change: r.change ?? null,
        staffId: r.staffId ?? null,
        changedAt: r.at,
        eventId: r.eventId,
        receivedAt: receivedAt.toISOString(),
      });
    },
  };

  return {
    handler,
    list(q) {
      const args = { centreId: q.centreId ?? null, centreIds: q.centreIds ? JSON.stringify(q.centreIds) : null, status: q.status ?? null, includeRemoved: q.includeRemoved ? 1 : 0 };
      return { elders: list.all({ ...args, limit: q.limit, offset: q.offset }).map(toElder), total: count.get(args) ?? 0 };
    },
    get(centreId, elderId) {
      const r = getOne.get(centreId, elderId);
      return r && toElder(r);
    },
  };
}
