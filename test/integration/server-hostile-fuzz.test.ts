/**
 * Hostile MQTT payloads, fuzzed from a seed: byte flips, truncations, splices and random JSON
 * on the events and status topics. Every one is dead-lettered (kept, or counted beyond the
 * device's bounds) or, for a mutation that still validates, ingested; none crashes ingest, and a good batch afterwards is receipted.
 * CI: 300 payloads; MEALCHECK_FAULT_FULL=1: 5,000. MEALCHECK_FAULT_SEED=N replays.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type Receipt } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { DATABASE_FILE, startServer, type RunningServer } from '../../server/src/server.ts';
import { FAULT_FULL, faultSeed, integrityCheck, seededRandom } from '../helpers/fault-processes.ts';
import { batch, connectDevice, fixtureClock, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

const COUNT = FAULT_FULL ? 5000 : 300;

function mutate(rng: () => number, base: Buffer): Buffer {
  const pick = Math.floor(rng() * 6);
  const b = Buffer.from(base);
  switch (pick) {
    case 0: // byte flips
      for (let i = 0; i < 1 + rng() * 8; i++) b[Math.floor(rng() * b.length)] = Math.floor(rng() * 256);
      return b;
    case 1: // truncated
      return b.subarray(0, Math.floor(rng() * b.length));
    case 2: // spliced with itself
      return Buffer.concat([b.subarray(0, Math.floor(rng() * b.length)), b.subarray(Math.floor(rng() * b.length))]);
    case 3: {
      // a random JSON value where a field was
      const values = ['null', '[]', '{}', '1e309', '-0', '"\\u0000"', 'true', '[[[[[[[[[[]]]]]]]]]]', '"' + 'x'.repeat(5000) + '"', '{"__proto__":{"polluted":1}}'];
      const s = b.toString();
      const at = s.indexOf(':', Math.floor(rng() * s.length));
      if (at < 0) return b;
      const end = s.indexOf(',', at);
      return Buffer.from(s.slice(0, at + 1) + values[Math.floor(rng() * values.length)]! + (end < 0 ? '}' : s.slice(end)));
    }
    case 4: // deep nesting
      return Buffer.from('['.repeat(10_000 + Math.floor(rng() * 5000)));
    default: // random bytes
      return Buffer.from(Array.from({ length: Math.floor(rng() * 300) }, () => Math.floor(rng() * 256)));
  }
}

describe('hostile payloads (fuzz)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: RunningServer;
  beforeAll(async () => {
    tmp = tempDir();
    server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN, logLevel: 'silent' }), { logger: quietLogger, clock: fixtureClock });
  });
  afterAll(async () => {
    await server?.stop();
    tmp?.cleanup();
  });

  it(`survives ${COUNT} mutated payloads and still receipts a good batch`, async () => {
    const rng = seededRandom(faultSeed('hostile fuzz'));
    const device = await connectDevice(server.mqttUrl, { clientId: 'edge-c1-d1' });
    try {
      await device.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
      const base = Buffer.from(JSON.stringify(batch(mealEvent(), mealEvent({ elderId: 'e2', method: 'manual', staffId: 'S1' }))));
      const status = Buffer.from(JSON.stringify({ v: 1, state: 'online', at: new Date().toISOString() }));
      for (let i = 0; i < COUNT; i++) {
        const onStatus = rng() < 0.2;
        await device.publishAsync(onStatus ? topics.status('c1', 'd1') : topics.events('c1', 'd1'), mutate(rng, onStatus ? status : base), { qos: 1 });
      }
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      const good = mealEvent({ elderId: 'after-fuzz' });
      const receipt = nextMessage(device, topics.receipts('c1', 'd1'));
      await device.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(good)), { qos: 1 });
      // Receipts for mutations that still validated may come first: wait for ours.
      let r = JSON.parse((await receipt).toString()) as Receipt;
      while (!r.eventIds.includes(good.eventId)) r = JSON.parse((await nextMessage(device, topics.receipts('c1', 'd1'))).toString()) as Receipt;

      // Dead-lettered: kept up to the device's rate and bounds, counted beyond them.
      const res = await server.app.inject({ method: 'GET', url: '/api/v1/dead-letters', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      const dl = res.json<{ status: { rows: number; dropped: number } }>().status;
      expect(dl.rows + dl.dropped).toBeGreaterThan(COUNT / 3);
      const db = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
      try {
        expect((db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n).toBe(dl.rows);
      } finally {
        db.close();
      }
    } finally {
      await device.endAsync();
    }
    expect(integrityCheck(join(tmp.dir, DATABASE_FILE))).toBe('ok');
  });

  it('receipts hostile dates over the broker but counts none of them', async () => {
    const device = await connectDevice(server.mqttUrl, { clientId: 'edge-c1-d1' });
    try {
      await device.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
      // The fixture clock is 2025-03-10T12:00Z (20:00 in Shanghai).
      const hostile = [
        mealEvent({ elderId: 'h1', serviceDate: '2026-13-45', at: '2025-03-10T04:00:00.000Z' }),
        mealEvent({ elderId: 'h2', serviceDate: '0000-00-00', at: '2025-03-10T04:00:00.000Z' }),
        mealEvent({ elderId: 'h3', serviceDate: '2025-02-30', at: '2025-03-10T04:00:00.000Z' }),
        mealEvent({ elderId: 'h4', serviceDate: '2025-01-15', at: '2025-03-10T04:00:00.000Z' }),
        mealEvent({ elderId: 'h5', serviceDate: '2099-12-31' }),
        mealEvent({ elderId: 'h6', serviceDate: '2025-03-10', at: '2099-12-31T04:00:00.000Z' }),
        mealEvent({ elderId: 'h7', serviceDate: '2025-03-10', meal: 'dinner', at: '2025-03-10T04:00:00.000Z' }),
        mealEvent({ elderId: 'h8', serviceDate: '2025-03-10', at: '2025-03-10T07:00:00.000Z' }),
        mealEvent({ elderId: 'h9', serviceDate: '2024-01-02' }),
        mealEvent({ elderId: 'h10', serviceDate: '1970-01-01' }),
        mealEvent({ elderId: 'h11', serviceDate: '9999-12-31', at: '9999-12-31T04:00:00.000Z' }),
      ];
      const receipt = nextMessage(device, topics.receipts('c1', 'd1'));
      await device.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(...hostile)), { qos: 1 });
      let r = JSON.parse((await receipt).toString()) as Receipt;
      while (!r.eventIds.includes(hostile[0]!.eventId)) r = JSON.parse((await nextMessage(device, topics.receipts('c1', 'd1'))).toString()) as Receipt;
      expect(r.eventIds).toEqual(hostile.map((e) => e.eventId));
      const ids = hostile.map((e) => e.eventId);
      const q = (table: string) => server.db.prepare(`SELECT count(*) FROM ${table} WHERE event_id IN (${ids.map(() => '?').join(',')})`).pluck().get(...ids);
      expect(q('meals')).toBe(0);
      expect(q('event_reviews')).toBe(hostile.length);
    } finally {
      await device.endAsync();
    }
  });
});
