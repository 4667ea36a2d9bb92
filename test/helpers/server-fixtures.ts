/** Shared fixtures for server tests: temp data folders, a migrated database, meal events. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Clock } from '../../common/clock.ts';
import type { EventBatch, Meal, MealEvent } from '../../common/contract.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import { DEFAULT_TIME_ZONE, mealAt, parseMealWindows } from '../../common/meal-windows.ts';
import { createCentreRepository } from '../../server/src/modules/centres/centre-repository.ts';
import { createDeadLetterRepository } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest, type MqttIngest } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { createVoidRepository } from '../../server/src/modules/meals/void-repository.ts';
import { createRecordIngest } from '../../server/src/modules/records/record-ingest.ts';
import { MIGRATIONS_DIR } from '../../server/src/server.ts';
import { ALL_DAY_WINDOWS } from './all-day.ts';

export { ALL_DAY_WINDOWS };

export const quietLogger: Logger = createLogger('test-server', process.env.TEST_LOG_LEVEL ?? 'silent');

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export function tempDir(prefix = 'mealcheck-server-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openServerDb(dir: string): Db {
  return openDatabase(join(dir, 'server.sqlite'), { migrationsDir: MIGRATIONS_DIR });
}

/**
 * The server's time in server tests: 20:00 in Shanghai (the default centre zone) on 2025-03-10,
 * after that day's three default meal windows, so the events of mealEvent() pass the server's
 * date checks. Give it to startServer/buildApp as `clock`, or to ingest as the receive time.
 */
/**
 * The server's MQTT ingest on `db` with meals and void records, never connected (url port 1):
 * tests call its `handle(topic, payload)` as the broker's message handler would.
 */
export function testIngest(db: Db): MqttIngest {
  const voids = createVoidRepository(db);
  return createMqttIngest({
    url: 'mqtt://127.0.0.1:1',
    protocolVersion: 4,
    clientId: 'test',
    db,
    meals: createMealRepository(db, { voids }),
    records: createRecordIngest(db, [voids]),
    deadLetters: createDeadLetterRepository(db),
    devices: createDeviceRepository(db),
    clock: fixtureClock,
    logger: quietLogger,
  });
}

export const FIXTURE_NOW = '2025-03-10T12:00:00.000Z';
export const fixtureClock: Clock = { now: () => new Date(FIXTURE_NOW) };

/** A time inside each default meal window (common/meal-windows.ts DEFAULT_MEAL_WINDOWS). */
const MEAL_TIME: Record<Meal, string> = { breakfast: '07:30', lunch: '11:42', dinner: '18:05' };

/**
 * A meal event consistent with the default centre: `at` is in the window of `meal` on
 * `serviceDate` (Shanghai time) unless the test gives its own `at`.
 */
export function mealEvent(overrides: Partial<MealEvent> = {}): MealEvent {
  const serviceDate = overrides.serviceDate ?? '2025-03-10';
  const meal = overrides.meal ?? 'lunch';
  return {
    eventId: uuidv7(),
    elderId: 'elder-1',
    centreId: 'c1',
    deviceId: 'd1',
    serviceDate,
    meal,
    at: `${serviceDate}T${MEAL_TIME[meal]}:00.000+08:00`,
    method: 'face',
    score: 0.41,
    cameraId: 'door',
    ...overrides,
  };
}

/** Gives the centres whole-day windows on the server, for edges that record at the real time. */
export function allDayCentre(db: Db, ...centreIds: string[]): void {
  const centres = createCentreRepository(db);
  for (const id of centreIds) centres.set(id, { mealWindows: ALL_DAY_WINDOWS }, new Date());
}

/** A meal event at the real time now, for a centre with whole-day windows (allDayCentre). */
export function liveMealEvent(overrides: Partial<MealEvent> = {}): MealEvent {
  const now = new Date();
  const slot = mealAt(now, parseMealWindows(ALL_DAY_WINDOWS), DEFAULT_TIME_ZONE)!;
  return mealEvent({ serviceDate: slot.serviceDate, meal: slot.meal, at: now.toISOString(), ...overrides });
}

export function batch(...events: MealEvent[]): EventBatch {
  return { v: 1, events };
}

/** An mqtt.js client acting as an edge box; the embedded aedes speaks MQTT 3.1.1 only. */
export async function connectDevice(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** Resolves with the next message on `topic` (already subscribed by the caller). */
export function nextMessage(client: MqttClient, topic: string, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(t: string, payload: Buffer) {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(payload);
    }
    client.on('message', onMessage);
  });
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
