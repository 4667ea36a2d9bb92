/**
 * The wire contract between edge and server (v1): MQTT topics and payload schemas.
 * Both programs import this file and nothing else of each other. Face descriptors and
 * photos never appear here: biometric data stays on the edge box.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CHECK_IN_METHODS, CONTRACT_VERSION, DateTimeSchema, IdSchema, MEALS, TOPIC_ROOT, UuidSchema, isValidId } from './contract-base.ts';
import { ACK_MAX_ERASURES, ELDER_STATUSES, RECORD_SCHEMAS, type RecordEvent } from './records.ts';

export { CHECK_IN_METHODS, CONTRACT_VERSION, ID_PATTERN, MEALS, TOPIC_ROOT, UUID_PATTERN, isValidId, type CheckInMethod, type Meal } from './contract-base.ts';
export * from './records.ts';

/** Longest name of the person who collects a `proxy` meal (MealEvent.proxyName). */
export const PROXY_NAME_MAX = 50;

const Id = IdSchema;

/** See MealEvent.clock. */
export const CLOCK_STATES = ['server', 'system', 'corrected', 'unverified'] as const;
export type ClockState = (typeof CLOCK_STATES)[number];
/** See MealEvent.review. */
export const REVIEW_REASONS = ['outside-window'] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

export const MealEventSchema = Type.Object(
  {
    /** UUIDv7 made on the edge when the check-in is recorded: the idempotency key. */
    eventId: UuidSchema,
    elderId: Id,
    centreId: Id,
    deviceId: Id,
    /** Local calendar date of the meal at the centre, YYYY-MM-DD. */
    serviceDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    meal: Type.Union(MEALS.map((m) => Type.Literal(m))),
    /** Edge wall-clock time of the check-in, ISO 8601. */
    at: DateTimeSchema,
    method: Type.Union(CHECK_IN_METHODS.map((m) => Type.Literal(m))),
    /** Match distance for face check-ins (lower is closer); never the descriptor itself. */
    score: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    cameraId: Type.Optional(Id),
    /**
     * Clock sanity (optional, so v1 edges without them still validate): a random id made when
     * the edge program starts and a sequence number counting its events since then. They order
     * a box's events even when its wall clock (`at`) is unset or jumps.
     */
    bootId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })),
    seq: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    /**
     * How far `at` (and so serviceDate and meal) can be trusted (optional; absent from edges that
     * predate it): `server` from the time learnt from the server in this run; `system` from the
     * box's own clock, plausible but unchecked; `corrected` recorded while the clock was
     * untrusted and rewritten from the server's time once learnt (`edgeAt` keeps the box's own
     * reading); `unverified` recorded while untrusted by a run that ended before it learnt the
     * time: `at`, serviceDate and meal are the box's guesses, and the server keeps the event for
     * review instead of counting it.
     */
    clock: Type.Optional(Type.Union(CLOCK_STATES.map((c) => Type.Literal(c)))),
    /** Milliseconds since this run (`bootId`) started, on a clock nobody sets: set while the wall clock was untrusted. */
    monoMs: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    /** The box's own (untrusted) wall-clock reading at the check-in, when `at` is not it. */
    edgeAt: Type.Optional(Type.String({ format: 'date-time', maxLength: 40 })),
    /**
     * The edge asks the server to keep this event for review, not count it: `outside-window`, its
     * corrected time fell outside every meal window (`meal` is then the nearest window's).
     */
    review: Type.Optional(Type.Union(REVIEW_REASONS.map((r) => Type.Literal(r)))),
    /**
     * The staff member who recorded a meal by hand (`manual`, `delivery`, `proxy`; optional, so
     * edges from before meals by hand still validate). The server keeps a meal by hand without
     * one for review instead of counting it.
     */
    staffId: Type.Optional(Id),
    /** Who collected a `proxy` meal (a family member, a neighbour), as staff wrote it down. */
    proxyName: Type.Optional(Type.String({ minLength: 1, maxLength: PROXY_NAME_MAX })),
    /** A `face` meal a staff member assigned from the box's review queue (the face was not sure): their staff id. */
    reviewedBy: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type MealEvent = Static<typeof MealEventSchema>;

/**
 * What the edge's outbox carries and a batch holds: meal events (no `type`: every v1 edge sends
 * them) and records of other facts staff made on the box (`type`, see common/records.ts). Both
 * are idempotent by eventId and receipted the same way.
 */
export type BatchEvent = MealEvent | RecordEvent;

/** True for a meal event, false for a record (common/records.ts). */
export function isMealEvent(e: BatchEvent): e is MealEvent {
  return !('type' in e);
}

/** Edge -> server on `events`: a batch of meal events and records. */
export const EventBatchSchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    events: Type.Array(Type.Union([MealEventSchema, ...RECORD_SCHEMAS]), { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
);
export type EventBatch = Static<typeof EventBatchSchema>;

/** Server -> edge on `receipts`: eventIds the server has committed (stored or already had). */
export const ReceiptSchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    eventIds: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
    /**
     * Of `eventIds`, those the server already held with other content: the new version is kept
     * for review as a conflict, not counted. The edge forgets them like the rest and records them.
     * Optional (servers before it never send it); sent in a receipt of its own, since edges before
     * it refuse a receipt with a field they do not know.
     */
    conflicts: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type Receipt = Static<typeof ReceiptSchema>;

/** Retained on `status`: online on connect, offline as the last will. */
export const DeviceStatusSchema = Type.Object({
  v: Type.Literal(CONTRACT_VERSION),
  state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  at: Type.Optional(Type.String({ maxLength: 40 })),
});
export type DeviceStatus = Static<typeof DeviceStatusSchema>;

/**
 * Edge -> server on `time` (QoS 0): what is the time? Sent on connect and now and then, so a box
 * without a real-time clock learns the time from the server (see edge/src/clock/trusted-clock.ts).
 */
export const TimeRequestSchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    /** Echoed in the reply, so the edge pairs them and measures the round trip. */
    id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
  },
  { additionalProperties: false },
);
export type TimeRequest = Static<typeof TimeRequestSchema>;

/**
 * Server -> edge on `receipts` (QoS 0), the answer to a TimeRequest. It shares the topic the box
 * already subscribes to, so no broker rule changes on that side; `time` tells it from a Receipt.
 */
export const TimeReplySchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    time: Type.Object(
      {
        id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
        /** The server's clock (NTP) when it answered, ISO 8601 UTC with milliseconds. */
        serverTime: Type.String({ format: 'date-time', maxLength: 40 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type TimeReply = Static<typeof TimeReplySchema>;

const batchCheck = TypeCompiler.Compile(EventBatchSchema);
const receiptCheck = TypeCompiler.Compile(ReceiptSchema);
const timeRequestCheck = TypeCompiler.Compile(TimeRequestSchema);
const timeReplyCheck = TypeCompiler.Compile(TimeReplySchema);

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Largest payload either side accepts; a batch of 500 events is well under this. */
export const MAX_PAYLOAD_BYTES = 512 * 1024;

function parseWith<T>(check: { Check(v: unknown): boolean; Errors(v: unknown): Iterable<{ path: string; message: string }> }, payload: Buffer | string): Parsed<T> {
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, error: `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${(err as Error).message}` };
  }
  if (!check.Check(value)) {
    const first = [...check.Errors(value)].slice(0, 3).map((e) => `${e.path || '/'} ${e.message}`);
    return { ok: false, error: `schema: ${first.join('; ')}` };
  }
  return { ok: true, value: value as T };
}

export function parseTimeRequest(payload: Buffer | string): Parsed<TimeRequest> {
  return parseWith<TimeRequest>(timeRequestCheck, payload);
}

/** What arrives on a device's `receipts` topic: a receipt, or the answer to a time request. */
export type DeviceInbound = { kind: 'receipt'; receipt: Receipt } | { kind: 'time'; reply: TimeReply };

export function parseDeviceInbound(payload: Buffer | string): Parsed<DeviceInbound> {
  // A payload with a `time` member is checked as a TimeReply, anything else as a Receipt, so the
  // error names what the sender meant to send.
  let isTime = false;
  if (payload.length <= MAX_PAYLOAD_BYTES) {
    try {
      const v: unknown = JSON.parse(payload.toString());
      isTime = typeof v === 'object' && v !== null && !Array.isArray(v) && 'time' in v;
    } catch {
      // parseWith reports it.
    }
  }
  if (isTime) {
    const r = parseWith<TimeReply>(timeReplyCheck, payload);
    return r.ok ? { ok: true, value: { kind: 'time', reply: r.value } } : { ok: false, error: `time reply ${r.error}` };
  }
  const r = parseReceipt(payload);
  return r.ok ? { ok: true, value: { kind: 'receipt', receipt: r.value } } : r;
}

const mealCheck = TypeCompiler.Compile(MealEventSchema);
const recordChecks = new Map(RECORD_SCHEMAS.map((s) => [s.properties.type.const as string, TypeCompiler.Compile(s)]));

export function parseEventBatch(payload: Buffer | string): Parsed<EventBatch> {
  const parsed = parseWith<EventBatch>(batchCheck, payload);
  if (parsed.ok || !parsed.error.startsWith('schema:')) return parsed;
  // A union's errors say only "expected union value": name what is wrong with the first event
  // that is wrong, checked as the kind it says it is (a meal event has no `type`).
  // The payload may be JSON `null` (no object to read `events` from).
  const events = (JSON.parse(payload.toString()) as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return parsed;
  for (const [i, e] of events.entries()) {
    const type = e && typeof e === 'object' && 'type' in e ? (e as { type: unknown }).type : undefined;
    if (type !== undefined && (typeof type !== 'string' || !recordChecks.has(type))) {
      return { ok: false, error: `schema: /events/${i}/type must be one of ${[...recordChecks.keys()].join(', ')} (or absent for a meal event), got ${JSON.stringify(type)}` };
    }
    const check = type === undefined ? mealCheck : recordChecks.get(type)!;
    if (!check.Check(e)) {
      const first = [...check.Errors(e)].slice(0, 3).map((x) => `/events/${i}${x.path} ${x.message}`);
      return { ok: false, error: `schema: ${first.join('; ')}${type === undefined ? '' : ` (${type as string} record)`}` };
    }
  }
  return parsed;
}
export function parseReceipt(payload: Buffer | string): Parsed<Receipt> {
  return parseWith<Receipt>(receiptCheck, payload);
}

/** Elders a centre's config document may name: a centre has ~50-200, so this is room, not a target. */
export const CONFIG_MAX_ELDERS = 1000;
/** Pending erasures one document may hold (as many as an ack can answer). */
export const CONFIG_MAX_ERASURES = ACK_MAX_ERASURES;
/** Rules a document may carry: categories x meals, with a change or two ahead each. */
export const CONFIG_MAX_RULES = 200;
/**
 * Largest config document either side handles, in bytes: 1,000 elders at ~90 bytes and 500
 * erasures at ~120 fit in about half of it. The server refuses to publish a bigger one; the edge
 * ignores one without parsing it.
 */
export const CONFIG_MAX_BYTES = 256 * 1024;

/** The bureau's word on one elder, as a box applies it. */
export const ConfigElderSchema = Type.Object(
  {
    elderId: Id,
    status: Type.Union(ELDER_STATUSES.map((s) => Type.Literal(s))),
    /** The day the status took effect (deceased on, moved on, suspended from), YYYY-MM-DD. */
    since: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    /** The category the bureau confirmed, when it confirmed one. */
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  },
  { additionalProperties: false },
);
export type ConfigElder = Static<typeof ConfigElderSchema>;

/** An erasure of an elder's face data that not every box of the centre has acknowledged yet. */
export const ConfigErasureSchema = Type.Object(
  {
    erasureId: UuidSchema,
    elderId: Id,
    requestedAt: DateTimeSchema,
  },
  { additionalProperties: false },
);
export type ConfigErasure = Static<typeof ConfigErasureSchema>;

/** A bureau category's code (`low-income`): lower-case letters, digits and `-`, at most 32. */
export const CATEGORY_CODE_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';
/** The format of a rule item in the config document; a box applies the items of a version it knows. */
export const CONFIG_RULE_VERSION = 1;
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Count = Type.Integer({ minimum: 1, maximum: 1_000 });
const Fen = Type.Integer({ minimum: 0, maximum: 100_000_000 });

/**
 * One subsidy rule as a box gets it (issue 14 item 3; the server's subsidy_rules): the amount
 * paid for a meal of an elder of the category, its caps and the days it is in force. Money in
 * fen. `category` is the category as the boxes record it on an elder (低保), `code` the bureau's
 * code. An absent cap is no cap; an absent `effectiveTo` is open.
 */
export const ConfigRuleSchema = Type.Object(
  {
    v: Type.Literal(CONFIG_RULE_VERSION),
    /** The server's rule id. */
    id: Type.Integer({ minimum: 1 }),
    code: Type.String({ pattern: CATEGORY_CODE_PATTERN }),
    category: Type.String({ minLength: 1, maxLength: 32 }),
    /** `any`: every meal. */
    meal: Type.Union([...MEALS, 'any' as const].map((m) => Type.Literal(m))),
    amountFen: Fen,
    maxPerDay: Type.Optional(Count),
    maxMealsPerMonth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    maxFenPerMonth: Type.Optional(Fen),
    /** YYYY-MM-DD, inclusive. */
    effectiveFrom: Day,
    /** YYYY-MM-DD, inclusive; absent: open. */
    effectiveTo: Type.Optional(Day),
  },
  { additionalProperties: false },
);
export type ConfigRule = Static<typeof ConfigRuleSchema>;

const configRuleCheck = TypeCompiler.Compile(ConfigRuleSchema);

/**
 * The rule items of a config document that this box understands, and how many it skipped (an
 * item of a later rule format, or one off the schema): a rule it cannot read never makes the
 * whole document, with its statuses and erasures, unusable.
 */
export function readConfigRules(items: readonly unknown[]): { rules: ConfigRule[]; skipped: number } {
  const rules: ConfigRule[] = [];
  for (const item of items) if (configRuleCheck.Check(item)) rules.push(item);
  return { rules, skipped: items.length - rules.length };
}

/**
 * Server -> edge, retained, QoS 1, on `topics.config(centreId)`: everything the bureau decides
 * for one centre, in one document, so a box that connects after a week learns the newest state
 * from the retained message alone. `version` grows by one with every change of the centre's
 * document; a box applies a version once and ignores any not newer than the one it holds.
 *
 * No names, ID numbers or face data: the box has the registry and its own templates; only ids,
 * statuses, dates, settings and the server's public ID-number key come down.
 */
export const CentreConfigSchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    centreId: Id,
    version: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    issuedAt: DateTimeSchema,
    /** The centre's meal windows set on the server (`breakfast=06:00-09:00,...`); absent: the box's own. */
    mealWindows: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** The centre's IANA time zone set on the server; absent: the box's own. */
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Elders the bureau has decided on (its word wins over the box's status). */
    elders: Type.Array(ConfigElderSchema, { maxItems: CONFIG_MAX_ELDERS }),
    /** Erasures pending for this centre: delete the elder's face templates and crops, then ack. */
    erasures: Type.Array(ConfigErasureSchema, { maxItems: CONFIG_MAX_ERASURES }),
    /**
     * The subsidy rules in force at the centre from the day of issue on (issue 14, item 3), each
     * a ConfigRule with its own `v`. Kept as plain objects here so that an item of a later rule
     * format leaves the document valid: a box reads them with readConfigRules and skips those
     * it does not know.
     */
    rules: Type.Array(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown()), { maxItems: CONFIG_MAX_RULES }),
    /** The server's ID-number key (common/id-number-seal.ts): the box seals every ID number it forwards to it. */
    idNumberKey: Type.Optional(
      Type.Object(
        { keyId: Type.String({ pattern: '^[0-9a-f]{16}$' }), publicKey: Type.String({ minLength: 40, maxLength: 200, pattern: '^[A-Za-z0-9+/=]+$' }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CentreConfig = Static<typeof CentreConfigSchema>;

const centreConfigCheck = TypeCompiler.Compile(CentreConfigSchema);

/** Checks a config document as it arrives (size first, then JSON, then the schema). */
export function parseCentreConfig(payload: Buffer | string): Parsed<CentreConfig> {
  if (payload.length > CONFIG_MAX_BYTES) return { ok: false, error: `config payload of ${payload.length} bytes exceeds ${CONFIG_MAX_BYTES}` };
  return parseWith<CentreConfig>(centreConfigCheck, payload);
}

/**
 * The typed payload map of the device-facing topics (zigbee2mqtt style): what each topic carries
 * and in which direction. The parsers above are the only way in.
 */
export interface TopicPayloads {
  events: EventBatch;
  receipts: Receipt | TimeReply;
  status: DeviceStatus;
  time: TimeRequest;
  config: CentreConfig;
}

export type TopicKind = 'events' | 'receipts' | 'status' | 'time';

export const topics = {
  events: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/events`,
  receipts: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/receipts`,
  status: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/status`,
  /** Time requests of one box (its answers come on its `receipts`). */
  time: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/time`,
  config: (centreId: string) => `${TOPIC_ROOT}/centres/${centreId}/config`,
  /** What the server subscribes to. */
  allEvents: `${TOPIC_ROOT}/centres/+/devices/+/events`,
  allStatus: `${TOPIC_ROOT}/centres/+/devices/+/status`,
  allTime: `${TOPIC_ROOT}/centres/+/devices/+/time`,
  /** Splits a device topic into its parts, or null when it is not one of ours. */
  parse(topic: string): { kind: TopicKind; centreId: string; deviceId: string } | null {
    const parts = topic.split('/');
    if (parts.length !== 7 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'centres' || parts[4] !== 'devices') return null;
    const [centreId, deviceId, kind] = [parts[3]!, parts[5]!, parts[6]!];
    if (!isValidId(centreId) || !isValidId(deviceId)) return null;
    if (kind !== 'events' && kind !== 'receipts' && kind !== 'status' && kind !== 'time') return null;
    return { kind, centreId, deviceId };
  },
};
