/**
 * Ingest of records (common/records.ts): voids, elders' registry changes and audit rows that
 * arrive in the same event batches as meals. This module does what every type shares: it checks
 * the record belongs to the topic's box, keeps each eventId once in `records` (server migration
 * 007), tells a re-send (`known`) from another record under a used eventId (a conflict, kept in
 * `record_conflicts` for review, the first version standing), and hands each new record to its
 * type's handler, in the caller's transaction. A handler applies the record to its own tables
 * (the registry, the voids...) and must throw on failure: the batch's savepoint then rolls back
 * and the edge re-sends it, as for meals.
 *
 * A record of a type this server has no handler for is rejected (dead letter, no receipt): the
 * edge keeps it and re-sends it, so an upgraded server still applies it.
 */
import { createHash } from 'node:crypto';
import type { RecordEvent, RecordType } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { IngestResult } from '../meals/meal-repository.ts';

/** Applies one type of record; `apply` runs once per eventId, inside the ingest transaction. */
export interface RecordHandler<T extends RecordType = RecordType> {
  readonly type: T;
  apply(record: Extract<RecordEvent, { type: T }>, receivedAt: Date): void;
}

/** What ingest needs of the records: the meal path's result shape, so receipts are built once. */
export interface RecordIngest {
  /** Stores the records of one batch from `topicCentre`/`topicDevice`. Runs in the caller's transaction. */
  ingest(records: readonly RecordEvent[], topicCentre: string, topicDevice: string, receivedAt: Date): IngestResult;
  /** Records held, of one type or all. */
  count(type?: RecordType): number;
  countConflicts(): number;
  /** The record stored under an eventId, as received. */
  find(eventId: string): RecordEvent | undefined;
}

/** The record as JSON with its keys sorted, so one version has one text and one fingerprint. */
export function canonicalRecordJson(r: RecordEvent): string {
  const sortKeys = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
        )
      : v;
  return JSON.stringify(sortKeys(r));
}

export function createRecordIngest(db: Db, handlers: readonly RecordHandler[]): RecordIngest {
  const byType = new Map<RecordType, RecordHandler>();
  for (const h of handlers) {
    if (byType.has(h.type)) throw new Error(`two handlers for records of type ${h.type}`);
    byType.set(h.type, h);
  }
  const findPayload = db.prepare<[string], string>('SELECT payload FROM records WHERE event_id = ?').pluck();
  const insert = db.prepare<[string, string, string, string, string, string, string]>(
    'INSERT INTO records (event_id, type, centre_id, device_id, at, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertConflict = db.prepare<[string, string, string, string]>(
    'INSERT INTO record_conflicts (event_id, fingerprint, version, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING',
  );
  const countAll = db.prepare<[], number>('SELECT count(*) FROM records').pluck();
  const countType = db.prepare<[string], number>('SELECT count(*) FROM records WHERE type = ?').pluck();
  const countConflicts = db.prepare<[], number>('SELECT count(*) FROM record_conflicts').pluck();

  return {
    ingest(records, topicCentre, topicDevice, receivedAt) {
      const result: IngestResult = { receipted: [], stored: 0, known: 0, duplicates: 0, forReview: 0, conflicts: [], rejected: [] };
      const received = receivedAt.toISOString();
      for (const r of records) {
        // As for meals: the broker's topic ACL binds a device to its topic; the payload must agree.
        if (r.centreId !== topicCentre || r.deviceId !== topicDevice) {
          result.rejected.push({ eventId: r.eventId, reason: `${r.type} record ${r.eventId} names centre ${r.centreId} / device ${r.deviceId} but arrived on the topic of centre ${topicCentre} / device ${topicDevice}`, event: r });
          continue;
        }
        const handler = byType.get(r.type);
        if (!handler) {
          result.rejected.push({ eventId: r.eventId, reason: `no handler for ${r.type} records on this server; the edge keeps it and re-sends it`, event: r });
          continue;
        }
        const version = canonicalRecordJson(r);
        const held = findPayload.get(r.eventId);
        if (held !== undefined) {
          if (held === version) {
            result.known++;
          } else {
            const fingerprint = createHash('sha256').update(version).digest('hex');
            insertConflict.run(r.eventId, fingerprint, version, received);
            result.conflicts.push(r.eventId);
          }
          result.receipted.push(r.eventId);
          continue;
        }
        insert.run(r.eventId, r.type, r.centreId, r.deviceId, r.at, version, received);
        (handler as RecordHandler<typeof r.type>).apply(r as never, receivedAt);
        result.stored++;
        result.receipted.push(r.eventId);
      }
      return result;
    },
    count: (type) => (type ? countType.get(type)! : countAll.get()!),
    countConflicts: () => countConflicts.get()!,
    find(eventId) {
      const p = findPayload.get(eventId);
      return p === undefined ? undefined : (JSON.parse(p) as RecordEvent);
    },
  };
}
