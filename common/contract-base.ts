/**
 * The primitives of the wire contract (common/contract.ts), in a file of their own so that the
 * record schemas (common/records.ts) and the contract can both use them without importing each
 * other. Import them from contract.ts, which re-exports them.
 */
import { FormatRegistry, Type } from '@sinclair/typebox';

// TypeBox knows no string formats until they are registered: without this, every
// `format: 'date-time'` check fails with "Unknown format" and no event would validate.
const dateTimeRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => dateTimeRe.test(v) && !Number.isNaN(Date.parse(v)));
}

export const CONTRACT_VERSION = 1 as const;
export const TOPIC_ROOT = 'mealcheck/v1';

export const MEALS = ['breakfast', 'lunch', 'dinner'] as const;
export type Meal = (typeof MEALS)[number];
export const CHECK_IN_METHODS = ['face', 'manual', 'delivery', 'proxy'] as const;
export type CheckInMethod = (typeof CHECK_IN_METHODS)[number];

/** Centre, device, elder and camera ids are topic-safe: they appear in MQTT topic levels. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const idRe = new RegExp(ID_PATTERN);
export function isValidId(id: string): boolean {
  return idRe.test(id);
}

/** Lower-case hex UUID (the edge makes UUIDv7s): every event's and record's idempotency key. */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export const IdSchema = Type.String({ pattern: ID_PATTERN });
export const UuidSchema = Type.String({ pattern: UUID_PATTERN });
export const DateTimeSchema = Type.String({ format: 'date-time', maxLength: 40 });
