/**
 * `mealcheck erasure request|list` on a real server database, and the box's own removal path:
 * removing an elder (or withdrawing consent) drops the review crops that may show them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config.ts';
import { createElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { erasureCommand } from '../../server/src/modules/bureau/erasure-command.ts';
import { createCentreConfigService } from '../../server/src/modules/bureau/centre-config.ts';
import { createBureau } from '../../server/src/modules/bureau/bureau.ts';
import { createCentreRepository } from '../../server/src/modules/centres/centre-repository.ts';
import { openDatabase } from '../../common/sqlite.ts';
import { DATABASE_FILE, MIGRATIONS_DIR } from '../../server/src/server.ts';
import { createReviewRepository } from '../../edge/src/review/review-repository.ts';
import { FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { syntheticDescriptor } from '../helpers/fake-engine.ts';
import { tempDir, quietLogger } from '../helpers/server-fixtures.ts';
import { createElderRegistry, DEFAULT_ELDER_CATEGORIES } from '../../edge/src/elders/registry-service.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { loadConsentTexts } from '../../edge/src/elders/consent-texts.ts';
import { counterIds } from '../helpers/edge-fixtures.ts';

describe('mealcheck erasure', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const f of cleanups.reverse()) f();
    cleanups.length = 0;
  });

  it('requests an erasure for a known elder (audited, in the next document) and lists it; refuses what it cannot do', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const db = openDatabase(`${tmp.dir}/${DATABASE_FILE}`, { migrationsDir: MIGRATIONS_DIR });
    createElderRegistryRepository(db).handler.apply(
      { type: 'elder', eventId: '01900000-0000-7000-8000-000000000001', centreId: 'c001', deviceId: 'door1', at: '2026-11-28T04:00:00.000Z', elderId: 'E0012', revision: 1, removed: false, name: '王秀英', status: 'active' },
      new Date(),
    );
    db.prepare("INSERT INTO devices (centre_id, device_id, last_seen) VALUES ('c001', 'door1', '2026-11-28T04:00:00.000Z')").run();
    db.close();

    const out: string[] = [];
    expect(await erasureCommand(['request', '--centre', 'c001', '--elder', 'E0012', '--reason', '本人撤回授权', '--by', 'ops', '--data', tmp.dir], (s) => out.push(s))).toBe(0);
    expect(out[0]).toMatch(/^erasure [0-9a-f-]{36}: elder E0012 at centre c001, pending on 1 device\(s\) \(door1\)/);
    await expect(erasureCommand(['request', '--centre', 'c001', '--elder', 'E0012', '--reason', 'again', '--data', tmp.dir], () => undefined)).rejects.toThrow(/pending already/);
    await expect(erasureCommand(['request', '--centre', 'c001', '--elder', 'E9999', '--reason', 'x', '--data', tmp.dir], () => undefined)).rejects.toThrow(/no elder E9999/);
    await expect(erasureCommand(['request', '--centre', 'c001', '--data', tmp.dir], () => undefined)).rejects.toBeInstanceOf(ConfigError);

    out.length = 0;
    expect(await erasureCommand(['list', '--pending', '--data', tmp.dir], (s) => out.push(s))).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('\tc001\tE0012\tpending\t');
    expect(out[0]).toContain('by ops\tdoor1 waiting');

    // What a running server then issues for the centre (its poll finds the request).
    const db2 = openDatabase(`${tmp.dir}/${DATABASE_FILE}`, { migrationsDir: MIGRATIONS_DIR });
    cleanups.push(() => db2.close());
    const bureau = createBureau(db2, { clock: new TestClock('2026-11-28T05:00:00Z'), logger: quietLogger });
    const configs = createCentreConfigService({ db: db2, centres: createCentreRepository(db2), decisions: bureau.decisions, erasures: bureau.erasures, clock: new TestClock('2026-11-28T05:00:00Z'), logger: quietLogger });
    const issued = configs.refresh('c001');
    expect(issued.document).toMatchObject({ centreId: 'c001', version: 1, elders: [], erasures: [{ elderId: 'E0012' }], rules: [] });
    expect(issued.document.mealWindows).toBeUndefined();
    expect(configs.refresh('c001').issued).toBe(false);
    expect(db2.prepare('SELECT user_id, action FROM server_audit').all()).toEqual([{ user_id: 'ops', action: 'erasure-request' }]);
  });

  it("the box's removal and consent withdrawal drop the review crops that may show the elder", () => {
    const tmp = tempDir('mealcheck-edge-');
    cleanups.push(() => tmp.cleanup());
    const db = openEdgeDb(tmp.dir);
    cleanups.push(() => db.close());
    const reviews = createReviewRepository(db);
    const elders = createElderRepository(db);
    const registry = createElderRegistry({ db, elders, outbox: createOutboxRepository(db), ids: counterIds(), clock: new TestClock('2025-03-10T02:00:00Z'), centreId: 'c1', deviceId: 'd1', timeZone: 'Asia/Shanghai', categories: DEFAULT_ELDER_CATEGORIES, consentTexts: loadConsentTexts(), crops: reviews });
    for (const id of ['E1', 'E2']) {
      registry.create({ elderId: id, name: `老人${id}` }, 'S01', { signedBy: 'elder' });
      elders.addTemplate(id, syntheticDescriptor(id === 'E1' ? 1 : 2), 'live-1', FACE_API_MODEL);
    }
    reviews.insert({ id: 'r1', kind: 'margin', at: '2025-03-10T02:00:00Z', cameraId: 'cam1', nearest: [{ elderId: 'E1', distance: 0.5 }] }, Buffer.from('a'));
    reviews.insert({ id: 'r2', kind: 'margin', at: '2025-03-10T02:00:00Z', cameraId: 'cam1', nearest: [{ elderId: 'E2', distance: 0.5 }] }, Buffer.from('b'));
    reviews.insert({ id: 'r3', kind: 'unknown', at: '2025-03-10T02:00:00Z', cameraId: 'cam1', nearest: [] }, Buffer.from('c'));
    registry.remove('E1', 'M01');
    expect(reviews.countCropsOf('E1')).toBe(0);
    expect(reviews.countCrops()).toBe(2);
    registry.withdrawConsent('E2', 'S01');
    expect(reviews.countCropsOf('E2')).toBe(0);
    expect(elders.countTemplates('E2')).toBe(0);
    expect(reviews.countCrops()).toBe(1);
  });
});
