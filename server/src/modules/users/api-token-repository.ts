/**
 * API tokens for integrations (table api_tokens): a named bearer token acting as its user.
 * The token is shown once when made; only its sha256 is kept. Revoked for good.
 */
import { randomBytes } from 'node:crypto';
import { uuidV7Ids, type Ids } from '../../../../common/clock.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { tokenHash } from '../../plugins/auth.ts';

export interface ApiToken {
  tokenId: string;
  userId: string;
  name: string;
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ApiTokenRepository {
  add(userId: string, name: string, createdBy: string, now: Date): { token: string; apiToken: ApiToken };
  list(): ApiToken[];
  get(tokenId: string): ApiToken | undefined;
  /** Undefined for an unknown token; a revoked one stays revoked (first time kept). */
  revoke(tokenId: string, now: Date): ApiToken | undefined;
  /** The user of a live token (noting its use), or undefined. */
  resolve(token: string, now: Date): string | undefined;
}

/** A prefix makes a leaked token recognisable to secret scanners and people alike. */
export const TOKEN_PREFIX = 'mct_';
const USE_MS = 60_000;

export function createApiTokenRepository(db: Db, ids: Ids = uuidV7Ids): ApiTokenRepository {
  const cols = 'token_id AS tokenId, user_id AS userId, name, created_at AS createdAt, created_by AS createdBy, last_used_at AS lastUsedAt, revoked_at AS revokedAt';
  const insert = db.prepare<[string, string, string, string, string, string]>('INSERT INTO api_tokens (token_id, user_id, name, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)');
  const all = db.prepare<[], ApiToken>(`SELECT ${cols} FROM api_tokens ORDER BY created_at, token_id`);
  const one = db.prepare<[string], ApiToken>(`SELECT ${cols} FROM api_tokens WHERE token_id = ?`);
  const byHash = db.prepare<[string], { tokenId: string; userId: string; revokedAt: string | null }>('SELECT token_id AS tokenId, user_id AS userId, revoked_at AS revokedAt FROM api_tokens WHERE token_hash = ?');
  const revoke = db.prepare<[string, string]>('UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL');
  const used = db.prepare<[string, string, string]>('UPDATE api_tokens SET last_used_at = ? WHERE token_id = ? AND (last_used_at IS NULL OR last_used_at < ?)');

  return {
    add(userId, name, createdBy, now) {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const tokenId = ids.next();
      insert.run(tokenId, userId, name, tokenHash(token), now.toISOString(), createdBy);
      return { token, apiToken: one.get(tokenId)! };
    },
    list: () => all.all(),
    get: (tokenId) => one.get(tokenId),
    revoke(tokenId, now) {
      revoke.run(now.toISOString(), tokenId);
      return one.get(tokenId);
    },
    resolve(token, now) {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      const t = byHash.get(tokenHash(token));
      if (!t || t.revokedAt !== null) return undefined;
      used.run(now.toISOString(), t.tokenId, new Date(now.getTime() - USE_MS).toISOString());
      return t.userId;
    },
  };
}
