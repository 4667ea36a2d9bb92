/**
 * The device registry: one MQTT credential per edge box. Passwords are generated here, shown
 * once, and stored only as a scrypt hash. The MQTT user name of a device is
 * `<centreId>/<deviceId>`: ids never contain "/" (see ID_PATTERN), so it cannot be ambiguous,
 * and it is a valid Mosquitto user name (no ":").
 */
import { createHash, pbkdf2Sync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { isValidId } from '../../../../common/contract.ts';
import type { Db } from '../../../../common/sqlite.ts';

/** scrypt cost: ~50 ms per hash on a small server, 16 MiB of memory. */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLen: 32 } as const;

export function deviceUsername(centreId: string, deviceId: string): string {
  return `${centreId}/${deviceId}`;
}

/** The MQTT client id a device must use (the edge forwarder's `edge-<centre>-<device>`). */
export function deviceClientId(centreId: string, deviceId: string): string {
  return `edge-${centreId}-${deviceId}`;
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLen, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLen);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !n || !r || !p || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p), expected.length);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * Mosquitto's password-file hash ($7$: PBKDF2-SHA512, 12-byte salt, 64-byte key), as
 * `mosquitto_passwd` writes it. 10,000 iterations rather than its default 101: Mosquitto verifies
 * on its single thread, and a city's boxes reconnecting together must not stall it (~5 ms each).
 */
export function mosquittoHash(password: string, iterations = 10_000): string {
  const salt = randomBytes(12);
  const key = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** A random password of 32 url-safe characters (192 bits). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

export interface DeviceCredential {
  centreId: string;
  deviceId: string;
  username: string;
  passwordHash: string;
  mosquittoHash: string;
  createdAt: string;
}

export interface DeviceCredentialRepository {
  /** Registers a device (or replaces its password) and returns the new password, to show once. */
  add(centreId: string, deviceId: string, at: Date): Promise<string>;
  remove(centreId: string, deviceId: string): boolean;
  /** The device whose user name and password these are, or null. */
  verify(username: string, password: string): Promise<{ centreId: string; deviceId: string } | null>;
  count(): number;
  list(): DeviceCredential[];
}

export function createDeviceCredentialRepository(db: Db): DeviceCredentialRepository {
  const upsert = db.prepare(
    `INSERT INTO device_credentials (centre_id, device_id, username, password_hash, mosquitto_hash, created_at) VALUES (@centreId, @deviceId, @username, @hash, @mosquitto, @at)
     ON CONFLICT (centre_id, device_id) DO UPDATE SET password_hash = excluded.password_hash, mosquitto_hash = excluded.mosquitto_hash, created_at = excluded.created_at`,
  );
  const del = db.prepare<[string, string]>('DELETE FROM device_credentials WHERE centre_id = ? AND device_id = ?');
  const cols = 'centre_id AS centreId, device_id AS deviceId, username, password_hash AS passwordHash, mosquitto_hash AS mosquittoHash, created_at AS createdAt';
  const byUser = db.prepare<[string], DeviceCredential>(`SELECT ${cols} FROM device_credentials WHERE username = ?`);
  const all = db.prepare<[], DeviceCredential>(`SELECT ${cols} FROM device_credentials ORDER BY centre_id, device_id`);
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM device_credentials');
  // A city's boxes all reconnect after a server restart: remember passwords already verified
  // (by a fast hash, keyed by the stored scrypt hash so a new password invalidates the entry)
  // instead of paying scrypt for each of them again.
  const verified = new Map<string, string>();
  const fast = (password: string, stored: string) => createHash('sha256').update(stored).update('\0').update(password).digest('hex');

  return {
    async add(centreId, deviceId, at) {
      if (!isValidId(centreId) || !isValidId(deviceId)) throw new Error(`invalid centre or device id: ${centreId} / ${deviceId}`);
      const password = generatePassword();
      const hash = await hashPassword(password);
      upsert.run({ centreId, deviceId, username: deviceUsername(centreId, deviceId), hash, mosquitto: mosquittoHash(password), at: at.toISOString() });
      return password;
    },
    remove: (centreId, deviceId) => del.run(centreId, deviceId).changes > 0,
    async verify(username, password) {
      const row = byUser.get(username);
      if (!row) return null;
      const key = fast(password, row.passwordHash);
      if (verified.get(username) !== key) {
        if (!(await verifyPassword(password, row.passwordHash))) return null;
        verified.set(username, key);
      }
      return { centreId: row.centreId, deviceId: row.deviceId };
    },
    count: () => count.get()!.n,
    list: () => all.all(),
  };
}
