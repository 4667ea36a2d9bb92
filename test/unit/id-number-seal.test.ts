/** ID numbers sealed to the server's key (common/id-number-seal.ts): only that key opens them, and any change is refused. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSealedIdNumber, openIdNumber, publicKeyInfo, sealIdNumber, sealedKeyId, SealError } from '../../common/id-number-seal.ts';

const ID = '11010519491231002X';
const server = generateKeyPairSync('x25519');
const key = publicKeyInfo(server.publicKey);

describe('sealed ID numbers', () => {
  it('open with the server key to the number; each seal differs, none shows the number', () => {
    const a = sealIdNumber(key, ID);
    const b = sealIdNumber(key, ID);
    expect(a).not.toBe(b);
    expect(isSealedIdNumber(a)).toBe(true);
    expect(sealedKeyId(a)).toBe(key.keyId);
    expect(a).not.toContain(ID);
    expect(Buffer.from(a.split('.')[4]!, 'base64url').toString('latin1')).not.toContain('1101');
    expect(openIdNumber(server.privateKey, key.keyId, a)).toBe(ID);
    expect(openIdNumber(server.privateKey, key.keyId, b)).toBe(ID);
  });

  it('refuse another key, an altered byte, a swapped key id, and a key that is not x25519', () => {
    const sealed = sealIdNumber(key, ID);
    const other = generateKeyPairSync('x25519');
    const otherKey = publicKeyInfo(other.publicKey);
    expect(() => openIdNumber(other.privateKey, otherKey.keyId, sealed)).toThrow(/not this server's key/);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0]! ^= 1;
    expect(() => openIdNumber(server.privateKey, key.keyId, [...parts.slice(0, 4), body.toString('base64url')].join('.'))).toThrow(SealError);
    expect(() => openIdNumber(other.privateKey, key.keyId, sealed)).toThrow(/does not open/);
    expect(() => openIdNumber(server.privateKey, key.keyId, 'v1.nope')).toThrow(/not a sealed ID number/);
    expect(() => sealIdNumber({ keyId: otherKey.keyId, publicKey: key.publicKey }, ID)).toThrow(/does not match its id/);
    const ed = publicKeyInfo(generateKeyPairSync('ed25519').publicKey);
    expect(() => sealIdNumber(ed, ID)).toThrow(/not x25519/);
  });
});
