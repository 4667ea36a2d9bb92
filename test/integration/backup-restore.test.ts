/**
 * `mealcheck backup` / `restore` on the real delivery path (edge, server, embedded aedes): a
 * backup taken while the edge runs with meals waiting, the meals delivered, then the backup put
 * back, so the edge sends them again: the server still counts each meal once, and the edge's
 * outbox drains. The edge's backup holds sealed templates only, 0600; the server's restores too.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, encodeDescriptor, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { backupCommand, restoreCommand } from '../../scripts/backup-command.ts';
import { testRegistry } from '../helpers/elder-registry.ts';
import { edgeTempDir, quietEdgeLogger, reservePort, TestClock, waitUntil } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';

const CENTRE = 'c-101';
const DEVICE = 'door-1';
const LUNCH = '2026-11-28T04:00:00Z';
const people = { wang: syntheticDescriptor(1), li: syntheticDescriptor(2) };
const engine = () => new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: people.wang })], li: [fakeFace({ descriptor: people.li })] });
const visit = (w: string) => [w, w, w, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty'];

describe('backup and restore', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  it('a restored edge re-sends what the server counted already: nothing lost, nothing counted twice', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const port = await reservePort();
    const clock = new TestClock(LUNCH);
    const edgeData = join(tmp.dir, 'edge');
    const config = { ...loadEdgeConfig(['--centre', CENTRE, '--device', DEVICE, '--data', edgeData, '--server', `mqtt://127.0.0.1:${port}`, '--http-port', '0'], {}), realtime: false };
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    elders.addTemplate('E1', people.wang, 'synthetic', FACE_API_MODEL);
    elders.upsertElder('E2', '李桂兰');
    elders.addTemplate('E2', people.li, 'synthetic', FACE_API_MODEL);
    db.close();

    // 1. The server is away: two meals wait in the outbox. The backup is taken while the edge runs.
    const first = new Edge(config, { engine: engine(), source: new MemoryFrameSource([...visit('wang'), ...visit('li')], 'cam1'), clock, logger: quietEdgeLogger });
    const ended = new Promise<void>((r) => first.once('camera-end', () => r()));
    let edge: Edge = first;
    cleanups.push(() => edge.stop());
    await first.start();
    await ended;
    expect(first.forwarder.stats().pending).toBe(2);
    const backup = join(tmp.dir, 'edge-backup.db');
    const out: string[] = [];
    expect(await backupCommand(['--data', edgeData, '--out', backup], (s) => out.push(s))).toBe(0);
    expect(out.join('\n')).toMatch(/its face templates and review crops are sealed[\s\S]*The template key is not in it: keep .*edge\.key apart/);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    // Sealed templates only: no descriptor in the backup's bytes, every row sealed.
    const bytes = readFileSync(backup);
    for (const d of Object.values(people)) expect(bytes.includes(encodeDescriptor(d).subarray(0, 64))).toBe(false);
    const copy = new Database(backup, { readonly: true });
    expect(copy.prepare('SELECT sealed, count(*) AS n FROM templates GROUP BY sealed').all()).toEqual([{ sealed: 1, n: 2 }]);
    copy.close();
    // A second backup to the same name is refused, not overwritten.
    await expect(backupCommand(['--data', edgeData, '--out', backup], () => {})).rejects.toThrow(/exists already/);

    // 2. The server comes up: both meals are delivered and receipted.
    const server: RunningServer = await startServer(serverSettings({ dataDir: join(tmp.dir, 'server'), httpPort: 0, mqttPort: port, adminToken: TEST_TOKEN }), { logger: quietLogger, clock });
    cleanups.push(() => server.stop());
    await waitUntil(() => first.forwarder.stats().pending === 0, 'both meals receipted', 20_000);
    const meals = () => server.db.prepare('SELECT elder_id FROM meals ORDER BY elder_id').pluck().all();
    expect(meals()).toEqual(['E1', 'E2']);

    // 3. The box is restored from the backup: its outbox holds both meals again.
    await first.stop();
    await expect(restoreCommand(['--data', edgeData, '--from', backup], () => {})).rejects.toThrow(/exists: stop the program, then run again with --force/);
    expect(await restoreCommand(['--data', edgeData, '--from', backup, '--force'], (s) => out.push(s))).toBe(0);
    expect(out.join('\n')).toMatch(/the database it replaced is .*edge\.db\.before-restore-/);
    edge = new Edge(config, { engine: engine(), source: new MemoryFrameSource(visit('empty'), 'cam1'), clock, logger: quietEdgeLogger });
    await edge.start();
    expect(edge.checkIns.countAll()).toBe(2);
    // 4. It sends them again; the server answers "known": still two meals, none twice.
    await waitUntil(() => edge.forwarder.stats().pending === 0, 'the replayed meals receipted', 20_000);
    expect(meals()).toEqual(['E1', 'E2']);
    expect(server.db.prepare('SELECT count(*) FROM duplicate_attempts').pluck().get()).toBe(0);
    // The restored templates open with the key: the door still knows them.
    expect(edge.elders.loadTemplates(FACE_API_MODEL.id).elderIds).toEqual(['E1', 'E2']);
  });

  it("seals the box's ID-card numbers away in its backup, and a restore with the box's key puts them back", async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const edgeData = join(tmp.dir, 'edge');
    const file = join(edgeData, 'edge.db');
    const ID = '11010519491231002X';
    let db = openEdgeDatabase(file);
    testRegistry(db).registry.create({ elderId: 'E1', name: '王秀英', idNumber: ID }, 'S01', { signedBy: 'elder' });
    createElderRepository(db).addTemplate('E1', people.wang, 'synthetic', FACE_API_MODEL);
    db.close();
    const backup = join(tmp.dir, 'edge-backup.db');
    const out: string[] = [];
    expect(await backupCommand(['--data', edgeData, '--out', backup], (s) => out.push(s))).toBe(0);
    expect(out.join('\n')).toContain('its 1 ID-card number(s) too');
    // Not in the backup's bytes (free pages included: the copy is vacuumed); the box's own database still has it.
    expect(readFileSync(backup).includes(Buffer.from(ID))).toBe(false);
    db = openEdgeDatabase(file);
    expect(createElderRepository(db).details('E1')!.idNumber).toBe(ID);
    db.close();

    // Restored while the box's key is away (the restore opens the database): the number stays sealed.
    const key = join(tmp.dir, 'edge.key');
    renameSync(key, `${key}.away`);
    expect(await restoreCommand(['--data', edgeData, '--from', backup, '--force'], () => {})).toBe(0);
    db = openEdgeDatabase(file);
    expect(createElderRepository(db).details('E1')!.idNumber).toBeUndefined();
    expect(db.prepare('SELECT count(*) FROM backup_sealed_id_numbers').pluck().get()).toBe(1);
    db.close();
    // With the box's key back: the number too, and the sealed table gone.
    renameSync(`${key}.away`, key);
    db = openEdgeDatabase(file);
    expect(createElderRepository(db).details('E1')!.idNumber).toBe(ID);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'backup_sealed_id_numbers'").pluck().get()).toBe(0);
    db.close();
  });

  it('backs up and restores the server database; refuses a file that is not one', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const data = join(tmp.dir, 'server');
    const server = await startServer(serverSettings({ dataDir: data, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger });
    server.db.prepare("INSERT INTO closed_months (month, closed_at, closed_by) VALUES ('2026-10', '2026-11-01T00:00:00Z', 'test')").run();
    const backup = join(tmp.dir, 'server-backup.db');
    expect(await backupCommand(['--server', '--data', data, '--out', backup], () => {})).toBe(0);
    await server.stop();
    rmSync(join(data, 'mealcheck-server.sqlite'));
    expect(await restoreCommand(['--server', '--data', data, '--from', backup], () => {})).toBe(0);
    const back = new Database(join(data, 'mealcheck-server.sqlite'), { readonly: true });
    expect(back.prepare('SELECT month FROM closed_months').pluck().all()).toEqual(['2026-10']);
    back.close();
    // An edge backup is not a server database, and junk is not a database at all.
    await expect(restoreCommand(['--server', '--data', data, '--from', join(tmp.dir, 'nope.db')], () => {})).rejects.toThrow(/no backup file/);
    const junk = join(tmp.dir, 'junk.db');
    (await import('node:fs')).writeFileSync(junk, 'not sqlite at all, just text that is long enough to have a header');
    await expect(restoreCommand(['--server', '--data', data, '--from', junk, '--force'], () => {})).rejects.toThrow(/is not a SQLite database/);
    expect(existsSync(join(data, 'mealcheck-server.sqlite'))).toBe(true);
  });
});
