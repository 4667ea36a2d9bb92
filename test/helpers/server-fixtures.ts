/** Shared fixtures for server tests: temp data folders, a migrated database, meal events. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { EventBatch, MealEvent } from '../../common/contract.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import { MIGRATIONS_DIR } from '../../server/src/server.ts';

export const quietLogger: Logger = createLogger('test-server', process.env.TEST_LOG_LEVEL ?? 'silent');

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export function tempDir(prefix = 'mealcheck-server-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openServerDb(dir: string): Db {
  return openDatabase(join(dir, 'server.sqlite'), { migrationsDir: MIGRATIONS_DIR });
}

export function mealEvent(overrides: Partial<MealEvent> = {}): MealEvent {
  return {
    eventId: uuidv7(),
    elderId: 'elder-1',
    centreId: 'c1',
    deviceId: 'd1',
    serviceDate: '2025-03-10',
    meal: 'lunch',
    at: '2025-03-10T11:42:00.000+08:00',
    method: 'face',
    score: 0.41,
    cameraId: 'door',
    ...overrides,
  };
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
