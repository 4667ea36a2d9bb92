/**
 * Records: facts other than meals that staff make on an edge box and the server must know,
 * carried exactly like meal events (common/contract.ts): written to the edge's outbox in the
 * same SQLite transaction as the change itself, sent in the same event batches, idempotent by
 * eventId, deleted from the outbox only on the server's receipt. A record has a `type` (a meal
 * event has none); the server hands each type to its own handler
 * (server/src/modules/records/record-ingest.ts).
 *
 * Like everything on the wire, no record carries biometric data (descriptors, photos, crops).
 * Each type's schema lives here, with the feature that makes it:
 * - `void`: a staff member voided a meal (the server stops counting it);
 * - `elder`: the centre's registry entry of an elder changed (the bureau's registry of record);
 * - `audit`: one row of the box's hash-chained staff audit log;
 * - `ack`: the box applied a version of its centre's config document (common/contract.ts
 *   CentreConfigSchema), and carried out the erasures it holds;
 * - `daily`: the meals one box counted on one service date (the mission's aggregated records),
 *   which the server reconciles with the meals it counted from that box.
 */
import { Type, type Static } from '@sinclair/typebox';
import { CHECK_IN_METHODS, DateTimeSchema, IdSchema, MEALS, UuidSchema } from './contract-base.ts';
import { SEALED_ID_NUMBER_PATTERN } from './id-number-seal.ts';

/** Fields every record has. `at`: when it was made, on the box's trusted clock (edge/src/clock/). */
const recordBase = {
  /** UUIDv7 made on the edge with the record: the idempotency key, shared with meal events. */
  eventId: UuidSchema,
  centreId: IdSchema,
  deviceId: IdSchema,
  at: DateTimeSchema,
};

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** A meal (check-in) voided by staff: it stays on record and is no longer counted. */
export const VoidRecordSchema = Type.Object(
  {
    type: Type.Literal('void'),
    ...recordBase,
    /** The eventId of the meal event voided. */
    voids: UuidSchema,
    reason: Type.String({ minLength: 1, maxLength: 200 }),
    staffId: IdSchema,
  },
  { additionalProperties: false },
);
export type VoidRecord = Static<typeof VoidRecordSchema>;

/** An elder's status: only `active` elders are recognised at the door (and eligible for meals). */
export const ELDER_STATUSES = ['active', 'suspended', 'deceased', 'moved'] as const;
export type ElderStatus = (typeof ELDER_STATUSES)[number];
/** Who signed a consent: the elder, or a named guardian. */
export const CONSENT_SIGNERS = ['elder', 'guardian'] as const;
export type ConsentSigner = (typeof CONSENT_SIGNERS)[number];
/** What a revision changed (the server's history says what happened, the snapshot what is). */
export const ELDER_CHANGES = ['created', 'updated', 'status', 'consent', 'consent-withdrawn', 'removed', 'sealed'] as const;
export type ElderChange = (typeof ELDER_CHANGES)[number];

/** The consent to face recognition in force: the text version signed, when, by whom, taken by whom. */
export const ElderConsentSchema = Type.Object(
  {
    textVersion: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
    /** The day it was signed at the centre, YYYY-MM-DD. */
    signedOn: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    signedBy: Type.Union(CONSENT_SIGNERS.map((s) => Type.Literal(s))),
    /** Present exactly when a guardian signed. */
    guardianName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /** The staff member who took it. */
    staffId: IdSchema,
  },
  { additionalProperties: false },
);

/**
 * The centre's registry entry of one elder after a change (or its removal): a full snapshot of
 * the registry fields, so the newest revision alone is the truth. `revision` counts the changes
 * of this elder on this box (it goes on after a removal): a server keeps the highest it has
 * seen, so an older revision arriving late never overwrites a newer one. A removal carries no
 * personal data. Never face data: there is no field for it (edge/src/elders/registry-service.ts).
 */
export const ElderRecordSchema = Type.Object(
  {
    type: Type.Literal('elder'),
    ...recordBase,
    elderId: IdSchema,
    revision: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    /** True when the elder was removed from the box (their face templates are gone with it). */
    removed: Type.Boolean(),
    /** What this revision changed (optional: the snapshot is what counts). */
    change: Type.Optional(Type.Union(ELDER_CHANGES.map((c) => Type.Literal(c)))),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /**
     * The 18-character resident ID-card number, sealed to the server's key (common/id-number-seal.ts):
     * never in clear on the wire. Absent while the box has no key from the server yet; the box
     * forwards the elder again (change `sealed`) once it has one.
     */
    idNumberSealed: Type.Optional(Type.String({ pattern: SEALED_ID_NUMBER_PATTERN, maxLength: 300 })),
    /** A contact's phone number. */
    phone: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
    /** One of the bureau's categories (the edge's --elder-categories). */
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    /** Absent only on a removal. */
    status: Type.Optional(Type.Union(ELDER_STATUSES.map((s) => Type.Literal(s)))),
    consent: Type.Optional(ElderConsentSchema),
    /** Who made the change. */
    staffId: Type.Optional(IdSchema),
  },
  { additionalProperties: false },
);
export type ElderRecord = Static<typeof ElderRecordSchema>;

/** A value in an audit row's details: flat and short, so no blob (a face, a photo) fits in one. */
const AuditValue = Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean(), Type.Null()]);

/**
 * One row of the box's staff audit log: `seq` counts the box's rows from 1, and `hash` is the
 * row's hash over its fields and `prevHash` (the hash of row seq-1), so a server can check the
 * chain of each box on its own copy.
 */
export const AuditRecordSchema = Type.Object(
  {
    type: Type.Literal('audit'),
    ...recordBase,
    seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    action: Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$' }),
    staffId: Type.Optional(IdSchema),
    subject: Type.Optional(Type.String({ maxLength: 200 })),
    details: Type.Record(Type.String({ maxLength: 64 }), AuditValue, { maxProperties: 32 }),
    prevHash: Hash,
    hash: Hash,
  },
  { additionalProperties: false },
);
export type AuditRecord = Static<typeof AuditRecordSchema>;

/** Most erasures one ack names: the config document holds at most as many (CONFIG_MAX_ERASURES). */
export const ACK_MAX_ERASURES = 500;

/**
 * The box applied version `configVersion` of its centre's config document (server -> edge on
 * `topics.config`), and carried out every erasure in it: `erasures` names each with the count of
 * face templates and review crops it deleted on this box (0 and 0 where the box held none of
 * that elder's). Counts only: no face data fits. Through the outbox like any record, so an ack
 * survives a box offline or killed.
 */
export const AckRecordSchema = Type.Object(
  {
    type: Type.Literal('ack'),
    ...recordBase,
    configVersion: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    erasures: Type.Array(
      Type.Object(
        {
          erasureId: UuidSchema,
          elderId: IdSchema,
          templates: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
          crops: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: ACK_MAX_ERASURES },
    ),
  },
  { additionalProperties: false },
);
export type AckRecord = Static<typeof AckRecordSchema>;

/** Most meals of one meal and method a box may report for a day: far above any centre's day. */
export const DAILY_COUNT_MAX = 100_000;

/**
 * What one box counted for one service date (its local date): the meals that count (voided ones
 * are not in them, they are `voided`), per meal and method, as the box's own database has them.
 * Sent once the day's last meal window is over, and again, with the next `revision`, whenever the
 * counts change afterwards (a void the next morning, a held check-in corrected): the server keeps
 * the highest revision and compares it with the meals it counted from this box that day
 * (server/src/modules/reconciliation/). Counts only: no elder, no name, no face.
 */
export const DailyCountRecordSchema = Type.Object(
  {
    type: Type.Literal('daily'),
    ...recordBase,
    serviceDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    revision: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    /** One entry per meal and method with at least one meal, sorted by meal then method. */
    counts: Type.Array(
      Type.Object(
        {
          meal: Type.Union(MEALS.map((m) => Type.Literal(m))),
          method: Type.Union(CHECK_IN_METHODS.map((m) => Type.Literal(m))),
          meals: Type.Integer({ minimum: 1, maximum: DAILY_COUNT_MAX }),
        },
        { additionalProperties: false },
      ),
      { maxItems: MEALS.length * CHECK_IN_METHODS.length },
    ),
    /** Check-ins of that day staff voided on this box. */
    voided: Type.Integer({ minimum: 0, maximum: DAILY_COUNT_MAX }),
  },
  { additionalProperties: false },
);
export type DailyCountRecord = Static<typeof DailyCountRecordSchema>;

export const RECORD_SCHEMAS = [VoidRecordSchema, ElderRecordSchema, AuditRecordSchema, AckRecordSchema, DailyCountRecordSchema] as const;
export type RecordEvent = VoidRecord | ElderRecord | AuditRecord | AckRecord | DailyCountRecord;
export type RecordType = RecordEvent['type'];
export const RECORD_TYPES: readonly RecordType[] = RECORD_SCHEMAS.map((s) => s.properties.type.const);
