/**
 * Face templates are sealed at rest (AES-256-GCM, edge/src/elders/template-vault.ts): no plain
 * descriptor in the database file, the key outside the data folder with mode 0600, files 0600 in
 * a 0700 folder; a wrong or missing key locks the templates with a clear reason (never a crash,
 * never a silent re-key), and `mealcheck templates reset-key --yes` starts over.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../common/sqlite.ts';
import { EDGE_MIGRATIONS_DIR, openEdgeDatabase } from '../../edge/src/edge-database.ts';
import { createElderRepository, encodeDescriptor } from '../../edge/src/elders/elder-repository.ts';
import { templateCommand } from '../../edge/src/elders/template-command.ts';
import { defaultTemplateKeyFile, TemplateKeyError, templateVaultOf } from '../../edge/src/elders/template-vault.ts';

const MODEL = { id: 'fr-feature', dimension: 512 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { root: string; data: string; file: string; key: string } {
  const root = mkdtempSync(join(tmpdir(), 'vault-'));
  dirs.push(root);
  const data = join(root, 'edge');
  return { root, data, file: join(data, 'edge.db'), key: join(root, 'edge.key') };
}

function descriptor(seed: number): Float32Array {
  const d = new Float32Array(MODEL.dimension);
  for (let i = 0; i < d.length; i++) d[i] = Math.sin(seed * 1000 + i) / 22;
  return d;
}

/** The database file's bytes after a checkpoint (the WAL folded in), as a stolen box would hold them. */
function fileBytes(file: string): Buffer {
  const db = openDatabase(file, { migrationsDir: EDGE_MIGRATIONS_DIR });
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return Buffer.concat([readFileSync(file), existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0)]);
}

function enrol(file: string, key: string, elderId: string, seed: number): void {
  const db = openEdgeDatabase(file, { templateKey: key });
  const elders = createElderRepository(db);
  elders.upsertElder(elderId, `老人${elderId}`);
  elders.addTemplate(elderId, descriptor(seed), 'photo', MODEL);
  db.close();
}

describe('sealed face templates', () => {
  it('creates the key beside the data folder (0600), keeps files private, and stores no plain descriptor', () => {
    const { root, data, file } = setup();
    expect(defaultTemplateKeyFile(file, {})).toBe(join(root, 'edge.key'));
    enrol(file, defaultTemplateKeyFile(file, {}), 'E1', 1);
    expect(statSync(join(root, 'edge.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, 'edge.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const plain = encodeDescriptor(descriptor(1), MODEL.dimension);
    const bytes = fileBytes(file);
    expect(bytes.includes(plain.subarray(0, 64))).toBe(false);
    // And they open again, value for value.
    const db = openEdgeDatabase(file);
    const set = createElderRepository(db).loadTemplates(MODEL.id);
    expect(set.elderIds).toEqual(['E1']);
    expect(Array.from(set.descriptors)).toEqual(Array.from(descriptor(1)));
    db.close();
  });

  it('seals the plain rows of a database from before sealing (positive control: the scan finds them first)', () => {
    const { data, file, key } = setup();
    const old = openDatabase(file, { migrationsDir: EDGE_MIGRATIONS_DIR });
    old.prepare("INSERT INTO elders (elder_id, name, created_at) VALUES ('E1', '王秀英', '2026-01-01T00:00:00Z')").run();
    const plain = encodeDescriptor(descriptor(7), MODEL.dimension);
    old.prepare("INSERT INTO templates (elder_id, descriptor, source, created_at, model, dim, sealed) VALUES ('E1', ?, 'photo', '2026-01-01T00:00:00Z', ?, ?, 0)").run(plain, MODEL.id, MODEL.dimension);
    old.close();
    expect(fileBytes(file).includes(plain.subarray(0, 64))).toBe(true);
    const db = openEdgeDatabase(file, { templateKey: key });
    expect(db.prepare('SELECT sealed FROM templates').pluck().all()).toEqual([1]);
    expect(Array.from(createElderRepository(db).loadTemplates(MODEL.id).descriptors)).toEqual(Array.from(descriptor(7)));
    db.close();
    // secure_delete: the page that held the plain row is overwritten, not just freed.
    expect(fileBytes(file).includes(plain.subarray(0, 64))).toBe(false);
    expect(existsSync(data)).toBe(true);
  });

  it('locks the templates with a clear reason under a wrong key: nobody recognised, enrolment refused, nothing deleted', () => {
    const { root, file, key } = setup();
    enrol(file, key, 'E1', 1);
    const other = join(root, 'other.key');
    writeFileSync(other, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const db = openEdgeDatabase(file, { templateKey: other });
    const vault = templateVaultOf(db);
    expect(vault.problem).toMatch(/is not the key this box's templates were sealed with: 1 face template\(s\) of 1 elder\(s\)/);
    const elders = createElderRepository(db);
    expect(elders.loadTemplates(MODEL.id).elderIds).toEqual([]);
    expect(() => elders.addTemplate('E1', descriptor(2), 'photo', MODEL)).toThrow(TemplateKeyError);
    expect(elders.countTemplates()).toBe(1);
    db.close();
    // The right key still opens them.
    const again = openEdgeDatabase(file, { templateKey: key });
    expect(createElderRepository(again).loadTemplates(MODEL.id).elderIds).toEqual(['E1']);
    again.close();
  });

  it('a missing key is not silently replaced; reset-key --yes deletes what it sealed and lists the elders to enrol again', async () => {
    const { root, data, file, key } = setup();
    enrol(file, key, 'E1', 1);
    enrol(file, key, 'E2', 2);
    copyFileSync(key, join(root, 'backup.key'));
    rmSync(key);
    const db = openEdgeDatabase(file, { templateKey: key });
    expect(templateVaultOf(db).problem).toMatch(/template key .* is missing: 2 face template\(s\) of 2 elder\(s\) cannot be opened/);
    db.close();
    expect(existsSync(key)).toBe(false);

    const out: string[] = [];
    expect(await templateCommand(['status', '--data', data, '--template-key', key], (s) => out.push(s))).toBe(1);
    expect(out.pop()).toMatch(/^templates LOCKED: /);
    await expect(templateCommand(['reset-key', '--data', data, '--template-key', key], (s) => out.push(s))).rejects.toThrow(/--yes/);
    expect(await templateCommand(['reset-key', '--data', data, '--template-key', key, '--yes'], (s) => out.push(s))).toBe(0);
    expect(out.pop()).toMatch(/deleted 2 template\(s\)\. Enrol these 2 elder\(s\) again: E1, E2/);
    expect(statSync(key).mode & 0o777).toBe(0o600);

    const fresh = openEdgeDatabase(file, { templateKey: key });
    const elders = createElderRepository(fresh);
    expect(templateVaultOf(fresh).problem).toBeUndefined();
    expect(elders.listElders().map((e) => e.elderId)).toEqual(['E1', 'E2']);
    elders.addTemplate('E1', descriptor(3), 'photo', MODEL);
    expect(elders.loadTemplates(MODEL.id).elderIds).toEqual(['E1']);
    fresh.close();
    expect(await templateCommand(['status', '--data', data, '--template-key', key], (s) => out.push(s))).toBe(0);
    expect(out.pop()).toMatch(/^templates ok: 1 sealed/);
  });

  it('a template moved onto another elder does not open; a malformed key file is a clear error', () => {
    const { root, file, key } = setup();
    enrol(file, key, 'E1', 1);
    enrol(file, key, 'E2', 2);
    const db = openEdgeDatabase(file, { templateKey: key });
    const vault = templateVaultOf(db);
    const row = db.prepare<[], { descriptor: Buffer }>("SELECT descriptor FROM templates WHERE elder_id = 'E1'").get()!;
    expect(() => vault.open('E2', MODEL.id, row.descriptor)).toThrow(/does not open .*moved from another elder/);
    expect(vault.open('E1', MODEL.id, row.descriptor).length).toBe(MODEL.dimension * 4);
    db.close();
    const bad = join(root, 'bad.key');
    writeFileSync(bad, 'not a key\n');
    expect(() => openEdgeDatabase(file, { templateKey: bad })).toThrow(/is not 64 hex digits/);
  });
});
