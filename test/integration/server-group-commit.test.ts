/**
 * Group commit: valid event batches read off the broker's stream together are stored in one
 * transaction (one fsync), at most GROUP_MAX at once; a batch that fails is rolled back alone.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { createDeadLetterRepository } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository, type MealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest, GROUP_MAX } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { batch, fixtureClock, mealEvent, openServerDb, quietLogger, tempDir } from '../helpers/server-fixtures.ts';

const eventsTopic = topics.events('c1', 'd1');

describe('group commit', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Db;
  let commits: number;
  let ingest: ReturnType<typeof createMqttIngest>;

  beforeEach(() => {
    tmp = tempDir();
    db = openServerDb(tmp.dir);
    commits = 0;
    // Counts the outermost transactions: each is one commit (one fsync).
    const counted = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
        return (fn: (...a: unknown[]) => unknown) => {
          const tx = target.transaction(fn);
          return (...a: unknown[]) => {
            if (!target.inTransaction) commits++;
            return tx(...a);
          };
        };
      },
    });
    const meals = createMealRepository(db);
    // A batch naming elder "boom" fails inside the database work, as a full disk would.
    const failing: MealRepository = {
      ...meals,
      ingest: (b, c, d, at) => {
        const r = meals.ingest(b, c, d, at);
        if (b.events.some((e) => 'elderId' in e && e.elderId === 'boom')) throw new Error('boom');
        return r;
      },
    };
    ingest = createMqttIngest({
      url: 'mqtt://127.0.0.1:1',
      protocolVersion: 5,
      clientId: 'test',
      db: counted,
      meals: failing,
      deadLetters: createDeadLetterRepository(db),
      devices: createDeviceRepository(db),
      clock: fixtureClock,
      logger: quietLogger,
    });
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  const tick = () => new Promise((r) => setImmediate(r));
  const meals = () => db.prepare('SELECT count(*) FROM meals').pluck().get() as number;

  it('stores the batches read together in one commit, acknowledging each', async () => {
    let acked = 0;
    for (let i = 0; i < 10; i++) ingest.receive(eventsTopic, Buffer.from(JSON.stringify(batch(mealEvent({ elderId: `e${i}a` }), mealEvent({ elderId: `e${i}b` })))), () => acked++);
    expect(acked).toBe(10);
    expect(meals()).toBe(0); // waiting for the rest of what was read with them
    await tick();
    expect(meals()).toBe(20);
    expect(commits).toBe(1);
  });

  it(`commits at most ${GROUP_MAX} batches at once`, async () => {
    const n = 2 * GROUP_MAX + 5;
    for (let i = 0; i < n; i++) ingest.receive(eventsTopic, Buffer.from(JSON.stringify(batch(mealEvent({ elderId: `e${i}` })))), () => {});
    expect(meals()).toBe(2 * GROUP_MAX);
    await tick();
    expect(meals()).toBe(n);
    expect(commits).toBe(3);
  });

  it('rolls a failing batch back alone and keeps it as a dead letter; the rest of its group commits', async () => {
    for (const elderId of ['a', 'boom', 'b']) ingest.receive(eventsTopic, Buffer.from(JSON.stringify(batch(mealEvent({ elderId }), mealEvent({ elderId: `${elderId}2` })))), () => {});
    await tick();
    expect(db.prepare('SELECT elder_id FROM meals ORDER BY elder_id').pluck().all()).toEqual(['a', 'a2', 'b', 'b2']);
    expect(db.prepare('SELECT reason FROM dead_letters').pluck().all()).toEqual(['server error: boom']);
    expect(commits).toBe(1);
  });

  it('handles status, time and invalid messages at once, not in the group', () => {
    let acked = 0;
    ingest.receive(eventsTopic, Buffer.from('{"v":1,"events":[]}'), () => acked++);
    ingest.receive(topics.status('c1', 'd1'), Buffer.from(JSON.stringify({ v: 1, state: 'online' })), () => acked++);
    expect(acked).toBe(2);
    expect(db.prepare('SELECT count(*) FROM dead_letters').pluck().get()).toBe(1);
    expect(db.prepare('SELECT status FROM devices').pluck().get()).toBe('online');
  });
});
