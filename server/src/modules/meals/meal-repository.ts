/**
 * Meals as the server stores them. Ingest is idempotent on eventId, and a second check-in for
 * the same elder, date and meal under another eventId is kept as a duplicate attempt: receipted
 * so the edge can drop it, never counted. An event whose dates the server cannot confirm
 * (event-checks.ts) is kept for review; an eventId it already holds, arriving with other
 * content, is kept as a conflict. Both are receipted (the edge cannot fix them) and never counted.
 */
import { createHash } from 'node:crypto';
import { isMealEvent, MealEventSchema, type BatchEvent, type ClockState, type MealEvent } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { createCentreRepository, type CentreRepository } from '../centres/centre-repository.ts';
import { createClosedMonthRepository, type ClosedMonthRepository } from '../months/closed-month-repository.ts';
import { clockFlagOf, reviewOf, type ClockFlag } from './event-checks.ts';
import { createVoidRepository, type VoidRepository } from './void-repository.ts';

export { CLOCK_AHEAD_TOLERANCE_MS, CLOCK_EARLIEST, CLOCK_LATE_MS, clockFlagOf, type ClockFlag } from './event-checks.ts';

export interface RejectedEvent {
  eventId: string;
  reason: string;
  event: BatchEvent;
}

/**
 * The meal events of one batch. An EventBatch's records belong to records/record-ingest.ts
 * (mqtt-ingest splits the batch); one that reaches this repository is rejected, never dropped.
 */
export interface MealBatch {
  events: readonly BatchEvent[];
}

export interface IngestResult {
  /** Every eventId the edge may now forget: new, already known, and duplicate attempts. */
  receipted: string[];
  stored: number;
  known: number;
  duplicates: number;
  /** Events kept for review (event_reviews), not counted. */
  forReview: number;
  /**
   * EventIds the server already held with other content: the new version is kept in
   * event_conflicts (once per distinct version), receipted, never counted. Also in `receipted`.
   */
  conflicts: string[];
  /** Events not accepted (e.g. their centre or device is not the topic's); not receipted. */
  rejected: RejectedEvent[];
}

export interface MealRow {
  eventId: string;
  centreId: string;
  deviceId: string;
  elderId: string;
  serviceDate: string;
  meal: string;
  at: string;
  method: string;
  score: number | null;
  cameraId: string | null;
  receivedAt: string;
  bootId: string | null;
  seq: number | null;
  clockFlag: ClockFlag | null;
  clockState: ClockState | null;
  edgeAt: string | null;
  monoMs: number | null;
  /** Who recorded a meal by hand, and who collected a proxy meal (server migration 009). */
  staffId: string | null;
  proxyName: string | null;
  /** A face meal staff assigned from the box's review queue: their staff id (server migration 014). */
  reviewedBy: string | null;
}

export interface MealRepository {
  /**
   * Stores a batch that arrived on the topic of `topicCentre`/`topicDevice`, in one
   * transaction (a savepoint when the caller already opened one). Returns what to receipt.
   */
  ingest(batch: MealBatch, topicCentre: string, topicDevice: string, receivedAt: Date): IngestResult;
  findByEventId(eventId: string): MealRow | undefined;
  count(): number;
  countDuplicateAttempts(): number;
}

export interface MealRepositoryDeps {
  /** Each centre's zone and windows; default: the centres table of `db`. */
  centres?: Pick<CentreRepository, 'rules'>;
  /** Default: the closed_months table of `db`. */
  months?: Pick<ClosedMonthRepository, 'closedSet'>;
  /** Voids waiting for their meal (out of order) take it as it arrives; default: the meal_voids table of `db`. */
  voids?: Pick<VoidRepository, 'arriving'>;
}

/** Where an eventId already is, with the fields of the event as stored there. */
type KnownRow = { source: 'meals' | 'duplicate_attempts' | 'event_reviews' | 'voided_meals' } & Omit<MealRow, 'eventId' | 'receivedAt' | 'clockFlag'>;

/** True when the stored row holds the same event: every field the server stores compared. */
function sameEvent(k: KnownRow, e: MealEvent): boolean {
  return (
    k.centreId === e.centreId &&
    k.deviceId === e.deviceId &&
    k.elderId === e.elderId &&
    k.serviceDate === e.serviceDate &&
    k.meal === e.meal &&
    k.at === e.at &&
    k.method === e.method &&
    k.score === (e.score ?? null) &&
    k.cameraId === (e.cameraId ?? null) &&
    k.bootId === (e.bootId ?? null) &&
    k.seq === (e.seq ?? null) &&
    k.clockState === (e.clock ?? null) &&
    k.edgeAt === (e.edgeAt ?? null) &&
    k.monoMs === (e.monoMs ?? null) &&
    k.staffId === (e.staffId ?? null) &&
    k.proxyName === (e.proxyName ?? null) &&
    k.reviewedBy === (e.reviewedBy ?? null)
  );
}

const eventKeys = Object.keys(MealEventSchema.properties) as Array<keyof MealEvent>;

/** The event as JSON with its keys in the contract's order, so one version has one fingerprint. */
export function canonicalEventJson(e: MealEvent): string {
  const o: Record<string, unknown> = {};
  for (const k of eventKeys) if (e[k] !== undefined) o[k] = e[k];
  return JSON.stringify(o);
}

const mealColumns = `event_id AS eventId, centre_id AS centreId, device_id AS deviceId, elder_id AS elderId,
  service_date AS serviceDate, meal, at, method, score, camera_id AS cameraId, received_at AS receivedAt,
  boot_id AS bootId, seq, clock_flag AS clockFlag, clock_state AS clockState, edge_at AS edgeAt, mono_ms AS monoMs,
  staff_id AS staffId, proxy_name AS proxyName, reviewed_by AS reviewedBy`;

const knownColumns = `centre_id AS centreId, device_id AS deviceId, elder_id AS elderId, service_date AS serviceDate, meal, at, method, score,
  camera_id AS cameraId, boot_id AS bootId, seq, clock_state AS clockState, edge_at AS edgeAt, mono_ms AS monoMs, staff_id AS staffId, proxy_name AS proxyName,
  reviewed_by AS reviewedBy`;

export function createMealRepository(db: Db, deps: MealRepositoryDeps = {}): MealRepository {
  const centres = deps.centres ?? createCentreRepository(db);
  const months = deps.months ?? createClosedMonthRepository(db);
  const voids = deps.voids ?? createVoidRepository(db, { months });
  const findKnown = db.prepare<[string, string, string, string], KnownRow>(
    `SELECT 'meals' AS source, ${knownColumns} FROM meals WHERE event_id = ?
     UNION ALL SELECT 'duplicate_attempts', ${knownColumns} FROM duplicate_attempts WHERE event_id = ?
     UNION ALL SELECT 'event_reviews', ${knownColumns} FROM event_reviews WHERE event_id = ?
     UNION ALL SELECT 'voided_meals', ${knownColumns} FROM voided_meals WHERE event_id = ? LIMIT 1`,
  );
  const insertConflict = db.prepare<[string, string, string, string, string]>(
    'INSERT INTO event_conflicts (event_id, original_table, fingerprint, version, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING',
  );
  const insertMeal = db.prepare(
    `INSERT INTO meals (event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms, staff_id, proxy_name, reviewed_by)
     VALUES (@eventId, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs, @staffId, @proxyName, @reviewedBy)
     ON CONFLICT (elder_id, service_date, meal) DO NOTHING`,
  );
  const findOriginal = db.prepare<[string, string, string], { eventId: string }>(
    'SELECT event_id AS eventId FROM meals WHERE elder_id = ? AND service_date = ? AND meal = ?',
  );
  const insertDuplicate = db.prepare(
    `INSERT INTO duplicate_attempts (event_id, original_event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms, staff_id, proxy_name, reviewed_by)
     VALUES (@eventId, @originalEventId, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs, @staffId, @proxyName, @reviewedBy)`,
  );
  const insertReview = db.prepare(
    `INSERT INTO event_reviews (event_id, reason, detail, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms, staff_id, proxy_name, reviewed_by)
     VALUES (@eventId, @reason, @detail, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs, @staffId, @proxyName, @reviewedBy)`,
  );
  const findByEventId = db.prepare<[string], MealRow>(`SELECT ${mealColumns} FROM meals WHERE event_id = ?`);
  const countMeals = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM meals');
  const countDuplicates = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM duplicate_attempts');

  const ingest = db.transaction((batch: MealBatch, topicCentre: string, topicDevice: string, receivedAt: Date): IngestResult => {
    const result: IngestResult = { receipted: [], stored: 0, known: 0, duplicates: 0, forReview: 0, conflicts: [], rejected: [] };
    const received = receivedAt.toISOString();
    // Once per batch, not cached across batches: `mealcheck centre set` and `month close` run in
    // another process and must apply from the next batch on. A batch comes from one centre.
    const rules = centres.rules(topicCentre);
    const closed = months.closedSet();
    for (const e of batch.events) {
      if (!isMealEvent(e)) {
        result.rejected.push({ eventId: e.eventId, reason: `${e.type} record ${e.eventId} reached the meal store; records are ingested by their own handler`, event: e });
        continue;
      }
      // A box may only report its own check-ins: the broker's topic ACL is what binds a
      // device to its topic, so the payload must agree with it.
      if (e.centreId !== topicCentre || e.deviceId !== topicDevice) {
        result.rejected.push({
          eventId: e.eventId,
          reason: `event ${e.eventId} names centre ${e.centreId} / device ${e.deviceId} but arrived on the topic of centre ${topicCentre} / device ${topicDevice}`,
          event: e,
        });
        continue;
      }
      const known = findKnown.get(e.eventId, e.eventId, e.eventId, e.eventId);
      if (known) {
        if (!sameEvent(known, e)) {
          // Not a re-send: another event under an id already used. Kept beside the original,
          // which stays as it was (and counts if it did); receipted, or it would loop forever.
          const version = canonicalEventJson(e);
          const fingerprint = createHash('sha256').update(version).digest('hex');
          insertConflict.run(e.eventId, known.source, fingerprint, version, received);
          result.conflicts.push(e.eventId);
        } else {
          result.known++;
        }
        result.receipted.push(e.eventId);
        continue;
      }
      const row = {
        eventId: e.eventId,
        centreId: e.centreId,
        deviceId: e.deviceId,
        elderId: e.elderId,
        serviceDate: e.serviceDate,
        meal: e.meal,
        at: e.at,
        method: e.method,
        score: e.score ?? null,
        cameraId: e.cameraId ?? null,
        receivedAt: received,
        bootId: e.bootId ?? null,
        seq: e.seq ?? null,
        clockFlag: clockFlagOf(e.at, receivedAt),
        clockState: e.clock ?? null,
        edgeAt: e.edgeAt ?? null,
        monoMs: e.monoMs ?? null,
        staffId: e.staffId ?? null,
        proxyName: e.proxyName ?? null,
        reviewedBy: e.reviewedBy ?? null,
      };
      const review = reviewOf(e, rules, closed, receivedAt);
      // A void that arrived before its meal takes it now: stored, not counted, its slot left free.
      if (voids.arriving(row, review !== null, receivedAt) === 'voided') {
        result.stored++;
      } else if (review) {
        // Its date or meal cannot be confirmed: kept for review, never counted.
        insertReview.run({ ...row, ...review });
        result.forReview++;
      } else if (insertMeal.run(row).changes === 1) {
        result.stored++;
      } else {
        const original = findOriginal.get(e.elderId, e.serviceDate, e.meal);
        insertDuplicate.run({ ...row, originalEventId: original?.eventId ?? '' });
        result.duplicates++;
      }
      result.receipted.push(e.eventId);
    }
    return result;
  });

  return {
    ingest: (batch, topicCentre, topicDevice, receivedAt) => ingest(batch, topicCentre, topicDevice, receivedAt),
    findByEventId: (eventId) => findByEventId.get(eventId),
    count: () => countMeals.get()!.n,
    countDuplicateAttempts: () => countDuplicates.get()!.n,
  };
}
