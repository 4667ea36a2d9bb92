/**
 * The wire contract between edge and server (v1): MQTT topics and payload schemas.
 * Both programs import this file and nothing else of each other. Face descriptors and
 * photos never appear here: biometric data stays on the edge box.
 */
import { FormatRegistry, Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

// TypeBox knows no string formats until they are registered: without this, every
// `format: 'date-time'` check fails with "Unknown format" and no event would validate.
const dateTimeRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => dateTimeRe.test(v) && !Number.isNaN(Date.parse(v)));
}

export const CONTRACT_VERSION = 1 as const;
export const TOPIC_ROOT = 'mealcheck/v1';

/** Centre, device, elder and camera ids are topic-safe: they appear in MQTT topic levels. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const idRe = new RegExp(ID_PATTERN);
export function isValidId(id: string): boolean {
  return idRe.test(id);
}

export const MEALS = ['breakfast', 'lunch', 'dinner'] as const;
export type Meal = (typeof MEALS)[number];
export const CHECK_IN_METHODS = ['face', 'manual', 'delivery', 'proxy'] as const;
export type CheckInMethod = (typeof CHECK_IN_METHODS)[number];

const Id = Type.String({ pattern: ID_PATTERN });

export const MealEventSchema = Type.Object(
  {
    /** UUIDv7 made on the edge when the check-in is recorded: the idempotency key. */
    eventId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }),
    elderId: Id,
    centreId: Id,
    deviceId: Id,
    /** Local calendar date of the meal at the centre, YYYY-MM-DD. */
    serviceDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    meal: Type.Union(MEALS.map((m) => Type.Literal(m))),
    /** Edge wall-clock time of the check-in, ISO 8601. */
    at: Type.String({ format: 'date-time', maxLength: 40 }),
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
  },
  { additionalProperties: false },
);
export type MealEvent = Static<typeof MealEventSchema>;

/** Edge -> server on `events`: a batch of meal events. */
export const EventBatchSchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    events: Type.Array(MealEventSchema, { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
);
export type EventBatch = Static<typeof EventBatchSchema>;

/** Server -> edge on `receipts`: eventIds the server has committed (stored or already had). */
export const ReceiptSchema = Type.Object(
  {
    v: Type.Literal(CONTRACT_VERSION),
    eventIds: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
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

const batchCheck = TypeCompiler.Compile(EventBatchSchema);
const receiptCheck = TypeCompiler.Compile(ReceiptSchema);

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

export function parseEventBatch(payload: Buffer | string): Parsed<EventBatch> {
  return parseWith<EventBatch>(batchCheck, payload);
}
export function parseReceipt(payload: Buffer | string): Parsed<Receipt> {
  return parseWith<Receipt>(receiptCheck, payload);
}

export type TopicKind = 'events' | 'receipts' | 'status';

export const topics = {
  events: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/events`,
  receipts: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/receipts`,
  status: (centreId: string, deviceId: string) => `${TOPIC_ROOT}/centres/${centreId}/devices/${deviceId}/status`,
  config: (centreId: string) => `${TOPIC_ROOT}/centres/${centreId}/config`,
  /** What the server subscribes to. */
  allEvents: `${TOPIC_ROOT}/centres/+/devices/+/events`,
  allStatus: `${TOPIC_ROOT}/centres/+/devices/+/status`,
  /** Splits a device topic into its parts, or null when it is not one of ours. */
  parse(topic: string): { kind: TopicKind; centreId: string; deviceId: string } | null {
    const parts = topic.split('/');
    if (parts.length !== 7 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'centres' || parts[4] !== 'devices') return null;
    const [centreId, deviceId, kind] = [parts[3]!, parts[5]!, parts[6]!];
    if (!isValidId(centreId) || !isValidId(deviceId)) return null;
    if (kind !== 'events' && kind !== 'receipts' && kind !== 'status') return null;
    return { kind, centreId, deviceId };
  },
};
