/**
 * A stand-in edge process for the fault tests: the real check-in service, outbox and forwarder
 * (no camera, no models), recording manual check-ins in bursts so a test can SIGKILL it at any
 * moment. Run with `node --import tsx fault-edge-child.ts`; settings come from the environment:
 *
 *   FAULT_DATA, FAULT_SERVER (MQTT URL), FAULT_CENTRE, FAULT_DEVICE, FAULT_USERNAME, FAULT_PASSWORD
 *   FAULT_MODE   burst: record check-ins forever; drain: record nothing, exit 0 once the outbox is empty
 *   FAULT_RATE   burst mode: check-ins per second (0 = as fast as it can, in bursts)
 *   FAULT_PROTOCOL  4 or 5 (default 5, falling back to 4)
 *   FAULT_WAIT_GO   1: load, then wait for a line on stdin before touching the database
 *
 * stdout: `READY` once started, `R <eventId>` after each committed check-in, `DRAINED`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, uuidV7Ids } from '../../common/clock.ts';
import { createLogger } from '../../common/logger.ts';
import { openDatabase } from '../../common/sqlite.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createCheckInRepository } from '../../edge/src/meals/check-in-repository.ts';
import { createCheckInService } from '../../edge/src/meals/check-in-service.ts';
import { parseMealWindows } from '../../common/meal-windows.ts';
import { ALL_DAY_WINDOWS } from './all-day.ts';
import { Forwarder } from '../../edge/src/sync/forwarder.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is required`);
  return v;
};
const out = (line: string) => writeSync(1, `${line}\n`);

// Warm start: with FAULT_WAIT_GO=1 the modules load now and the edge starts on a line on stdin,
// so a test can have the next edge loaded while it kills the current one.
if (process.env.FAULT_WAIT_GO === '1') await new Promise((resolve) => process.stdin.once('data', resolve));

const db = openDatabase(join(env('FAULT_DATA'), 'edge.db'), { migrationsDir: fileURLToPath(new URL('../../edge/migrations', import.meta.url)) });
const logger = createLogger('fault-edge', process.env.FAULT_LOG_LEVEL ?? 'silent');
const elders = createElderRepository(db);
const outbox = createOutboxRepository(db);
const centreId = env('FAULT_CENTRE', 'c1');
const deviceId = env('FAULT_DEVICE', 'd1');
const service = createCheckInService({
  db,
  elders,
  checkIns: createCheckInRepository(db),
  outbox,
  clock: systemClock,
  ids: uuidV7Ids,
  // The whole day is a meal window, so a test runs at any hour.
  windows: parseMealWindows(ALL_DAY_WINDOWS),
  timeZone: 'Asia/Shanghai',
  centreId,
  deviceId,
  logger,
});
const forwarder = new Forwarder(
  {
    url: env('FAULT_SERVER'),
    centreId,
    deviceId,
    ...(process.env.FAULT_USERNAME ? { username: process.env.FAULT_USERNAME, password: process.env.FAULT_PASSWORD } : {}),
    ...(process.env.FAULT_MQTT_CA ? { ca: readFileSync(process.env.FAULT_MQTT_CA) } : {}),
    protocolVersion: process.env.FAULT_PROTOCOL === '4' ? 4 : 5,
    receiptTimeoutMs: Number(process.env.FAULT_RECEIPT_TIMEOUT_MS ?? 3000),
    connectTimeoutMs: 2000,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    pollIntervalMs: 500,
    keepaliveSeconds: 5,
    batchSize: 100,
  },
  { outbox, clock: systemClock, logger },
);
service.onRecorded(() => forwarder.notify());
await forwarder.start();
out('READY');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const prefix = randomBytes(4).toString('hex');

if (env('FAULT_MODE', 'burst') === 'drain') {
  for (;;) {
    const s = forwarder.stats();
    if (s.connected && s.pending === 0) break;
    await sleep(50);
  }
  out('DRAINED');
  await forwarder.stop();
  db.close();
  process.exit(0);
} else {
  const rate = Number(process.env.FAULT_RATE ?? 0);
  let n = 0;
  for (;;) {
    // A burst, then a pause so the forwarder and receipts get the event loop.
    const burst = rate > 0 ? 1 : 1 + Math.floor(Math.random() * 20);
    for (let i = 0; i < burst; i++) {
      const elderId = `x${prefix}-${++n}`;
      elders.upsertElder(elderId, elderId);
      const r = service.record({ elderId, method: 'manual', staffId: 'S1' });
      if (r.status === 'recorded') out(`R ${r.checkIn.eventId}`);
      else throw new Error(`check-in not recorded: ${JSON.stringify(r)}`);
    }
    await sleep(rate > 0 ? 1000 / rate : Math.random() * 10);
  }
}
