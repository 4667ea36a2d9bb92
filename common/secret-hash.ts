/**
 * Slow, salted hashes of staff PINs and passwords with node's scrypt. The parameters are stored
 * with each hash (`scrypt$N$r$p$salt$hash`), so they can be raised later without locking
 * anyone out: a hash is always checked with the parameters it was made with.
 *
 * N = 2^15, r = 8, p = 1 (32 MiB of memory, ~60-100 ms on a Raspberry-Pi-class core): the
 * cost OWASP's password storage sheet recommends for scrypt; a stolen edge.db then costs an
 * attacker that much per guess. Online guessing is stopped by the lock-out (staff-service.ts).
 */
import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;

function scryptAsync(secret: string, salt: Buffer, keyLength: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // The async form runs in libuv's thread pool: a login never stalls the kiosk or the camera.
    scrypt(secret.normalize('NFC'), salt, keyLength, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** 128 * N * r bytes plus room: node refuses a cost above maxmem (32 MiB by default). */
function maxmem(N: number, r: number): number {
  return 128 * N * r * 2;
}

export async function hashPin(secret: string): Promise<string> {
  const { N, r, p, keyLength, saltBytes } = SCRYPT_PARAMS;
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(secret, salt, keyLength, { N, r, p, maxmem: maxmem(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `secret` hashes to `stored`; false for a malformed hash. Timing-safe compare. */
export async function verifyPin(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || expected.length === 0 || N > 2 ** 20) return false;
  const key = await scryptAsync(secret, salt, expected.length, { N, r, p, maxmem: maxmem(N, r) });
  return timingSafeEqual(key, expected);
}

/**
 * A hash no PIN matches, checked when a login names no account (or a removed one), so that
 * "no such staff id" takes as long as "wrong PIN" and ids cannot be discovered by timing.
 */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPin(randomBytes(16).toString('hex'));
  return dummy;
}

/** A PIN for a new account or a reset, shown once: 8 digits, from the CSPRNG. */
export function generatePin(): string {
  return Array.from({ length: 8 }, () => String(randomInt(10))).join('');
}
