/**
 * ID-card numbers sealed to the server's key, so no MQTT payload, server table, log or backup
 * holds one in clear (issue 16, item 2). The server keeps an X25519 key pair
 * (server/src/modules/elders/id-number-key.ts) and sends its public half down in every centre's
 * config document; a box seals each ID number it forwards to it, and only the server's private
 * key opens it (for the bureau admin who asks for it in full, or to mask it for everyone else).
 *
 * Sealed form, one ASCII string: `v1.<keyId>.<ephemeral public key>.<iv>.<ciphertext+tag>`
 * (base64url parts): an ephemeral X25519 key agreement with the server's key, HKDF-SHA256 of the
 * shared secret (salt: the ephemeral public key) into an AES-256-GCM key, a random 96-bit IV, the
 * key id as associated data. A new ephemeral key per seal: the same number seals differently
 * every time, so equal numbers cannot be told apart in the tables.
 */
import { createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/** What a config document carries of the server's key: its id and its public half (SPKI DER, base64). */
export interface IdNumberPublicKey {
  keyId: string;
  publicKey: string;
}

export const SEALED_ID_NUMBER_PATTERN = '^v1\\.[0-9a-f]{16}\\.[A-Za-z0-9_-]{40,80}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{40,80}$';
const SEALED_RE = new RegExp(SEALED_ID_NUMBER_PATTERN);
const INFO = Buffer.from('mealcheck id-number v1');

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** The key id of a public key: the first 8 bytes of SHA-256 of its SPKI DER, hex. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function publicKeyInfo(publicKey: KeyObject): IdNumberPublicKey {
  return { keyId: keyIdOf(publicKey), publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
}

function aesKey(shared: Buffer, ephemeralDer: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeralDer, INFO, 32));
}

/** Seals `clear` to the key a config document named. Throws SealError on a key that is not X25519. */
export function sealIdNumber(key: IdNumberPublicKey, clear: string): string {
  let server: KeyObject;
  try {
    server = createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new SealError(`the server's ID-number key ${key.keyId} is not a public key`);
  }
  if (server.asymmetricKeyType !== 'x25519') throw new SealError(`the server's ID-number key ${key.keyId} is ${server.asymmetricKeyType ?? 'unknown'}, not x25519`);
  if (keyIdOf(server) !== key.keyId) throw new SealError(`the server's ID-number key does not match its id ${key.keyId}`);
  const eph = generateKeyPairSync('x25519');
  const ephDer = eph.publicKey.export({ type: 'spki', format: 'der' });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey(diffieHellman({ privateKey: eph.privateKey, publicKey: server }), ephDer), iv);
  cipher.setAAD(Buffer.from(key.keyId));
  const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return ['v1', key.keyId, ephDer.toString('base64url'), iv.toString('base64url'), body.toString('base64url')].join('.');
}

export function isSealedIdNumber(s: string): boolean {
  return SEALED_RE.test(s);
}

/** The key id a sealed number was sealed to. */
export function sealedKeyId(sealed: string): string | undefined {
  return isSealedIdNumber(sealed) ? sealed.split('.')[1] : undefined;
}

/** Opens a sealed number with the server's private key. Throws SealError naming what is wrong. */
export function openIdNumber(privateKey: KeyObject, keyId: string, sealed: string): string {
  if (!isSealedIdNumber(sealed)) throw new SealError('not a sealed ID number');
  const [, kid, ephB64, ivB64, bodyB64] = sealed.split('.') as [string, string, string, string, string];
  if (kid !== keyId) throw new SealError(`sealed to key ${kid}, not this server's key ${keyId}`);
  const ephDer = Buffer.from(ephB64, 'base64url');
  const body = Buffer.from(bodyB64, 'base64url');
  if (body.length < 17) throw new SealError('sealed ID number too short');
  try {
    const eph = createPublicKey({ key: ephDer, format: 'der', type: 'spki' });
    const decipher = createDecipheriv('aes-256-gcm', aesKey(diffieHellman({ privateKey, publicKey: eph }), ephDer), Buffer.from(ivB64, 'base64url'));
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError(`sealed ID number does not open with key ${keyId} (altered, or sealed to another key)`);
  }
}
