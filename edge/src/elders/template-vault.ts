/**
 * Face templates sealed at rest: each descriptor row is encrypted with AES-256-GCM under the
 * box's template key, bound to its elder and model (the additional data), so a stolen edge
 * database gives away no face template, and a row moved onto another elder does not open.
 *
 *   sealed = 0x01 | iv (12 bytes, random per row) | tag (16) | ciphertext (dim * 4 bytes)
 *
 * The key: 32 random bytes, hex, in a file OUTSIDE the data folder (a copy of the data folder
 * alone, or a backup of it, holds nothing that opens the templates): `MEALCHECK_TEMPLATE_KEY` /
 * `--template-key`, default `<data folder>.key` (data/edge -> data/edge.key), mode 0600,
 * created at the first start that has no sealed templates. Its fingerprint (an HMAC, not the
 * key) is kept in the database (edge migration "sealed-templates"), which tells a wrong key from a new one.
 *
 * A missing or wrong key is never a crash and never silently drops anything: the vault is
 * `locked` with the reason, the door recognises nobody (the box's status says why, manual meals
 * still work), enrolment is refused naming the problem, and `mealcheck templates reset-key`
 * (after the operator has given up on the old key) deletes the templates that cannot be opened
 * and starts a new key: those elders are then listed for re-enrolment.
 *
 * Decrypting costs ~1 µs per template and happens once per load of the matcher, not per match.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Db } from '../../../common/sqlite.ts';

const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a sealed row has beyond its plain descriptor (the CHECK of edge migration "sealed-templates"). */
export const SEAL_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;
export const TEMPLATE_KEY_ENV = 'MEALCHECK_TEMPLATE_KEY';

export class TemplateKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateKeyError';
  }
}

export interface TemplateVault {
  /** Why templates cannot be opened (key missing or wrong), or undefined when they can. */
  readonly problem: string | undefined;
  readonly keyFile: string;
  /** Encrypts one descriptor's bytes for `elderId` / `model`; throws TemplateKeyError when locked. */
  seal(elderId: string, model: string, plain: Buffer): Buffer;
  /** Decrypts a sealed row; throws TemplateKeyError when locked or when the row does not open. */
  open(elderId: string, model: string, sealed: Buffer): Buffer;
}

/** `<data folder>.key` beside the data folder of `dbFile`, unless MEALCHECK_TEMPLATE_KEY names one. */
export function defaultTemplateKeyFile(dbFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[TEMPLATE_KEY_ENV];
  if (configured !== undefined && configured.trim() !== '') return configured.trim();
  const dataDir = dirname(dbFile);
  return join(dirname(dataDir), `${basename(dataDir)}.key`);
}

function fingerprintOf(key: Buffer): string {
  return createHmac('sha256', key).update('mealcheck template key fingerprint v1').digest('hex').slice(0, 32);
}

function aad(elderId: string, model: string): Buffer {
  return Buffer.from(`mealcheck-template\0${elderId}\0${model}`, 'utf8');
}

/** The key in `file`, or undefined when there is no such file; throws TemplateKeyError on a malformed one. */
function readKey(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TemplateKeyError(`cannot read the template key ${file}: ${(err as Error).message}`);
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TemplateKeyError(`the template key ${file} is not 64 hex digits (32 bytes): is it the right file?`);
  // Tighten a file someone loosened: whoever reads it opens every template.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return Buffer.from(hex, 'hex');
}

function createKey(file: string): Buffer {
  const key = randomBytes(32);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key another process wrote meanwhile (that one wins; read it back).
  try {
    writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKey(file)!;
    throw new TemplateKeyError(`cannot create the template key ${file}: ${(err as Error).message}`);
  }
  return key;
}

function unlockedVault(key: Buffer, keyFile: string): TemplateVault {
  return {
    problem: undefined,
    keyFile,
    seal(elderId, model, plain) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(aad(elderId, model));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([Buffer.of(VERSION), iv, c.getAuthTag(), body]);
    },
    open(elderId, model, sealed) {
      if (sealed.length < SEAL_OVERHEAD || sealed[0] !== VERSION) throw new TemplateKeyError(`a template of elder ${elderId} is not a sealed template (version ${sealed[0]})`);
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_BYTES));
      d.setAAD(aad(elderId, model));
      d.setAuthTag(sealed.subarray(1 + IV_BYTES, SEAL_OVERHEAD));
      try {
        return Buffer.concat([d.update(sealed.subarray(SEAL_OVERHEAD)), d.final()]);
      } catch {
        throw new TemplateKeyError(`a template of elder ${elderId} (model ${model}) does not open with the key ${keyFile}: altered, or moved from another elder`);
      }
    },
  };
}

function lockedVault(problem: string, keyFile: string): TemplateVault {
  const refuse = (): never => {
    throw new TemplateKeyError(problem);
  };
  return { problem, keyFile, seal: refuse, open: refuse };
}

interface Counts {
  templates: number;
  elders: number;
}

/**
 * The vault for `db` (an edge database with the sealed-templates migration) with the key in `keyFile`:
 * creates the key at the first start, records its fingerprint, and seals rows written before
 * templates were sealed (edge databases from before that migration) in one transaction.
 */
export function openTemplateVault(db: Db, keyFile: string): TemplateVault {
  const sealedCounts = db.prepare<[], Counts>('SELECT count(*) AS templates, count(DISTINCT elder_id) AS elders FROM templates WHERE sealed = 1');
  const stored = db.prepare<[], { fingerprint: string }>('SELECT fingerprint FROM template_key WHERE id = 1').get()?.fingerprint;
  const sealed = sealedCounts.get()!;
  const what = `${sealed.templates} face template(s) of ${sealed.elders} elder(s)`;
  const advice = 'restore the key file, or run `mealcheck templates reset-key` to delete them and enrol those elders again';
  let key = readKey(keyFile);
  if (!key) {
    if (sealed.templates > 0) return lockedVault(`the template key ${keyFile} is missing: ${what} cannot be opened and nobody is recognised at the door; ${advice}`, keyFile);
    key = createKey(keyFile);
  }
  const fingerprint = fingerprintOf(key);
  if (stored !== undefined && stored !== fingerprint && sealed.templates > 0) {
    return lockedVault(`the template key ${keyFile} is not the key this box's templates were sealed with: ${what} cannot be opened and nobody is recognised at the door; ${advice}`, keyFile);
  }
  const vault = unlockedVault(key, keyFile);
  const plainRows = db.prepare<[], { id: number; elder_id: string; model: string; descriptor: Buffer }>('SELECT id, elder_id, model, descriptor FROM templates WHERE sealed = 0');
  const reseal = db.prepare<[Buffer, number]>('UPDATE templates SET descriptor = ?, sealed = 1 WHERE id = ?');
  db.transaction(() => {
    db.prepare('INSERT INTO template_key (id, fingerprint, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint').run(fingerprint, new Date().toISOString());
    for (const r of plainRows.all()) reseal.run(vault.seal(r.elder_id, r.model, r.descriptor), r.id);
  })();
  return vault;
}

/**
 * Gives up on the old key: deletes every template it sealed (they cannot be opened without it),
 * writes a new key over the old file and unlocks. Returns the elders whose templates went.
 */
export function resetTemplateKey(db: Db, keyFile: string): { elders: string[]; templates: number } {
  const elders = db.prepare<[], { elder_id: string }>('SELECT DISTINCT elder_id FROM templates ORDER BY elder_id').all().map((r) => r.elder_id);
  const key = randomBytes(32);
  let templates = 0;
  db.transaction(() => {
    templates = db.prepare('DELETE FROM templates').run().changes;
    db.prepare('INSERT INTO template_key (id, fingerprint, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, created_at = excluded.created_at').run(fingerprintOf(key), new Date().toISOString());
  })();
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return { elders, templates };
}

const vaults = new WeakMap<Db, TemplateVault>();

/** Remembers the vault of an opened edge database (edge-database.ts). */
export function attachTemplateVault(db: Db, vault: TemplateVault): void {
  vaults.set(db, vault);
}

/** The vault `db` was opened with; a database opened without one gets the default key file's. */
export function templateVaultOf(db: Db): TemplateVault {
  let v = vaults.get(db);
  if (!v) {
    v = db.name === ':memory:' ? unlockedVault(randomBytes(32), ':memory:') : openTemplateVault(db, defaultTemplateKeyFile(db.name));
    vaults.set(db, v);
  }
  return v;
}
