/**
 * Bearer-token authentication for `/api`, and where the admin token comes from: the settings,
 * or else a random token generated at first start and kept in `<data>/admin-token` (0600).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Shorter configured tokens are refused: the token is the only thing guarding the API. */
export const MIN_TOKEN_LENGTH = 16;
export const TOKEN_FILE = 'admin-token';

export interface AdminToken {
  token: string;
  /** True when this start created the token: the caller prints it once. */
  generated: boolean;
  /** Where it is kept, when it came from the data folder. */
  file?: string;
}

export function checkToken(token: string, where: string): string {
  const t = token.trim();
  if (t.length < MIN_TOKEN_LENGTH) throw new Error(`${where}: the admin token must have at least ${MIN_TOKEN_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(t)) throw new Error(`${where}: the admin token must be printable ASCII without spaces`);
  return t;
}

/** The configured token, else the stored one, else a new one written to the data folder. */
export function resolveAdminToken(configured: string | undefined, dataDir: string): AdminToken {
  if (configured !== undefined) return { token: checkToken(configured, 'MEALCHECK_ADMIN_TOKEN / --admin-token'), generated: false };
  const file = join(dataDir, TOKEN_FILE);
  let existing: string | undefined;
  try {
    existing = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined) {
    // Tighten a file someone loosened; the token is a password.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { token: checkToken(existing, file), generated: false, file };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  // 'wx': never overwrite a token another process wrote meanwhile.
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, generated: true, file };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares in constant time; hashing first makes the lengths equal. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Requires `Authorization: Bearer <token>` on every route of `app`'s scope and its children.
 * A plain function rather than a plugin: a plugin's hook would stay in its own encapsulated
 * context and miss sibling routes.
 */
export function requireBearerToken(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m || !tokenMatches(m[1]!, token)) {
      reply.header('www-authenticate', 'Bearer realm="mealcheck"');
      return reply.code(401).send({
        statusCode: 401,
        error: 'Unauthorized',
        message: header === undefined ? 'missing Authorization: Bearer <token> header' : 'invalid bearer token',
      });
    }
  });
}
