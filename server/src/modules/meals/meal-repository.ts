/**
 * Meals as the server stores them. Ingest is idempotent on eventId, and a second check-in for
 * the same elder, date and meal under another eventId is kept as a duplicate attempt: receipted
 * so the edge can drop it, never counted.
 */
import type { ClockState, EventBatch, MealEvent } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';

export interface RejectedEvent {
  eventId: string;
  reason: string;
  event: MealEvent;
}

export interface IngestResult {
  /** Every eventId the edge may now forget: new, already known, and duplicate attempts. */
  receipted: string[];
  stored: number;
  known: number;
  duplicates: number;
  /** Events kept for clock review (clock_reviews), not counted. */
  forReview: number;
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
}

/** Why an event is kept for review instead of counted: see migration 004. */
export type ClockReviewReason = 'unverified' | 'outside-window';

/** The review reason of an event, or null when it is an ordinary meal. */
export function clockReviewOf(e: MealEvent): ClockReviewReason | null {
  if (e.clock === 'unverified') return 'unverified';
  if (e.review === 'outside-window') return 'outside-window';
  return null;
}

/** Why an edge time looks wrong: see clockFlagOf. */
export type ClockFlag = 'unset' | 'ahead' | 'late';

/** Earliest plausible edge time: nothing was recorded before the system existed. */
export const CLOCK_EARLIEST = Date.parse('2024-01-01T00:00:00Z');
/** An edge clock ahead of the server by more than this is wrong (the server runs NTP). */
export const CLOCK_AHEAD_TOLERANCE_MS = 10 * 60_000;
/** An event older than this on arrival: the box was offline that long, or its clock is behind. */
export const CLOCK_LATE_MS = 24 * 3600_000;

/**
 * Flags an implausible edge time against the server's receive time. A box with no RTC (a Pi)
 * that boots without network starts at 1970 or at its last shutdown: its events keep their
 * (bootId, seq) order, and the server's received_at bounds when they really happened.
 */
export function clockFlagOf(at: string, receivedAt: Date): ClockFlag | null {
  const t = Date.parse(at);
  if (!(t >= CLOCK_EARLIEST)) return 'unset';
  if (t > receivedAt.getTime() + CLOCK_AHEAD_TOLERANCE_MS) return 'ahead';
  if (t < receivedAt.getTime() - CLOCK_LATE_MS) return 'late';
  return null;
}

export interface MealRepository {
  /**
   * Stores a batch that arrived on the topic of `topicCentre`/`topicDevice`, in one
   * transaction (a savepoint when the caller already opened one). Returns what to receipt.
   */
  ingest(batch: EventBatch, topicCentre: string, topicDevice: string, receivedAt: Date): IngestResult;
  findByEventId(eventId: string): MealRow | undefined;
  count(): number;
  countDuplicateAttempts(): number;
}

const mealColumns = `event_id AS eventId, centre_id AS centreId, device_id AS deviceId, elder_id AS elderId,
  service_date AS serviceDate, meal, at, method, score, camera_id AS cameraId, received_at AS receivedAt,
  boot_id AS bootId, seq, clock_flag AS clockFlag, clock_state AS clockState, edge_at AS edgeAt, mono_ms AS monoMs`;

export function createMealRepository(db: Db): MealRepository {
  const isKnown = db.prepare<[string, string, string], { one: number }>(
    'SELECT 1 AS one FROM meals WHERE event_id = ? UNION ALL SELECT 1 FROM duplicate_attempts WHERE event_id = ? UNION ALL SELECT 1 FROM clock_reviews WHERE event_id = ? LIMIT 1',
  );
  const insertMeal = db.prepare(
    `INSERT INTO meals (event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms)
     VALUES (@eventId, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs)
     ON CONFLICT (elder_id, service_date, meal) DO NOTHING`,
  );
  const findOriginal = db.prepare<[string, string, string], { eventId: string }>(
    'SELECT event_id AS eventId FROM meals WHERE elder_id = ? AND service_date = ? AND meal = ?',
  );
  const insertDuplicate = db.prepare(
    `INSERT INTO duplicate_attempts (event_id, original_event_id, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms)
     VALUES (@eventId, @originalEventId, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs)`,
  );
  const insertReview = db.prepare(
    `INSERT INTO clock_reviews (event_id, reason, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_flag, clock_state, edge_at, mono_ms)
     VALUES (@eventId, @reason, @centreId, @deviceId, @elderId, @serviceDate, @meal, @at, @method, @score, @cameraId, @receivedAt, @bootId, @seq, @clockFlag, @clockState, @edgeAt, @monoMs)`,
  );
  const findByEventId = db.prepare<[string], MealRow>(`SELECT ${mealColumns} FROM meals WHERE event_id = ?`);
  const countMeals = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM meals');
  const countDuplicates = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM duplicate_attempts');

  const ingest = db.transaction((batch: EventBatch, topicCentre: string, topicDevice: string, receivedAt: Date): IngestResult => {
    const result: IngestResult = { receipted: [], stored: 0, known: 0, duplicates: 0, forReview: 0, rejected: [] };
    const received = receivedAt.toISOString();
    for (const e of batch.events) {
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
      if (isKnown.get(e.eventId, e.eventId, e.eventId)) {
        result.known++;
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
      };
      const review = clockReviewOf(e);
      if (review) {
        // Its date and meal are guesses, or no meal at all: kept for review, never counted.
        insertReview.run({ ...row, reason: review });
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
