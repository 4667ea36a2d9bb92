/**
 * The server's ID-number key (common/id-number-seal.ts): an X25519 key pair in
 * `id-number-key.pem` beside the server database (mode 0600, made at first start, never in the
 * database, so a copy or backup of the database holds sealed numbers only). A database in memory
 * (tests) gets a key of its own for its lifetime.
 *
 * The registry stores ID numbers sealed and the routes open them: in full for the bureau admin
 * who asks, masked for everyone else. Losing the file means the ID numbers stored so far cannot
 * be read again (the boxes forward them again, sealed to the new key, when they receive it).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isSealedIdNumber, openIdNumber, publicKeyInfo, sealIdNumber, SealError, type IdNumberPublicKey } from '../../../../common/id-number-seal.ts';
import type { Db } from '../../../../common/sqlite.ts';

export const ID_NUMBER_KEY_FILE = 'id-number-key.pem';

export interface IdNumberKey {
  /** What the config documents carry down to the boxes. */
  readonly public: IdNumberPublicKey;
  seal(clear: string): string;
  /** The clear number of a sealed one; throws SealError when it does not open with this key. */
  open(sealed: string): string;
  /** Opens, or null for null; a value that does not open comes back as null (and is counted). */
  reveal(sealed: string | null): string | null;
}

function keyFrom(privateKey: KeyObject): IdNumberKey {
  const pub = publicKeyInfo(createPublicKey(privateKey));
  const cache = new Map<string, string>();
  const open = (sealed: string): string => {
    const hit = cache.get(sealed);
    if (hit !== undefined) return hit;
    const clear = openIdNumber(privateKey, pub.keyId, sealed);
    if (cache.size > 50_000) cache.clear();
    cache.set(sealed, clear);
    return clear;
  };
  return {
    public: pub,
    seal: (clear) => sealIdNumber(pub, clear),
    open,
    reveal(sealed) {
      if (sealed === null) return null;
      try {
        return open(sealed);
      } catch (err) {
        if (err instanceof SealError) return null;
        throw err;
      }
    },
  };
}

/** Reads the key file, or makes it (0600) when there is none. A file that is not an X25519 private key is an error naming it. */
export function loadOrCreateIdNumberKey(file: string): IdNumberKey {
  if (existsSync(file)) {
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(file));
    } catch {
      throw new Error(`${file} is not a PEM private key: restore the server's ID-number key, or move the file away to make a new one (the ID numbers stored so far then cannot be read)`);
    }
    if (key.asymmetricKeyType !== 'x25519') throw new Error(`${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not the x25519 ID-number key`);
    return keyFrom(key);
  }
  const { privateKey } = generateKeyPairSync('x25519');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return keyFrom(privateKey);
}

const byDb = new WeakMap<Db, IdNumberKey>();

/** The ID-number key of a server database: the file beside it, or for a database in memory, one of its own. */
export function idNumberKeyOf(db: Db): IdNumberKey {
  let key = byDb.get(db);
  if (!key) {
    const name = db.name;
    key = name === ':memory:' || name === '' ? keyFrom(generateKeyPairSync('x25519').privateKey) : loadOrCreateIdNumberKey(join(dirname(name), ID_NUMBER_KEY_FILE));
    byDb.set(db, key);
  }
  return key;
}

/** Seals, in place, registry values stored in clear by a server before the key existed (run at start). */
export function sealClearIdNumbers(db: Db, key: IdNumberKey): number {
  // Only values not in the sealed form ('v1.' ...), so a start after the first reads none.
  const rows = db.prepare<[], { rowid: number; idNumber: string }>("SELECT rowid, id_number AS idNumber FROM elder_registry WHERE id_number IS NOT NULL AND substr(id_number, 1, 3) <> 'v1.'").all();
  const update = db.prepare<[string, number]>('UPDATE elder_registry SET id_number = ? WHERE rowid = ?');
  let n = 0;
  db.transaction(() => {
    for (const r of rows) {
      if (isSealedIdNumber(r.idNumber)) continue;
      update.run(key.seal(r.idNumber), r.rowid);
      n++;
    }
  })();
  return n;
}
