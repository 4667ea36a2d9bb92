/**
 * Who is calling, and may they: authentication and authorisation for every guarded route.
 *
 * One `onRequest` hook at the app's root (installAuth) establishes `request.principal` from, in
 * this order: `Authorization: Bearer <admin token>` (the built-in admin: CLI, demo, scripts),
 * `Authorization: Bearer <API token>` (acts as the token's user), or the session cookie of a
 * page sign-in. None of them: 401, as before. Then it enforces the route's declaration,
 *
 *   app.get('/x', { config: { access: { roles: ['admin', 'auditor'], scope: 'all' } } }, ...)
 *
 * 403 when the caller's role is not listed. `scope: 'centre'` routes hold centres' data: a
 * `:centreId` param or `centreId` query the caller cannot see is 403 here, and lists are
 * filtered by the route through visibleCentres(request). A cookie-authenticated unsafe method
 * must carry the session's CSRF token in `x-mealcheck-csrf`; any unsafe request whose Origin
 * says another site sent it is refused. Bearer requests need no CSRF token: a browser never
 * adds an Authorization header on its own.
 *
 * Nothing is forgotten: an `/api` (or `/metrics`) route without an access declaration makes
 * the app refuse to start (the onRoute check), and every declared route lands in the route
 * table the access matrix test walks (test/integration/server-access.test.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies } from '../../../common/web/cookies.ts';

/** Shorter configured tokens are refused: the token is the only thing guarding the API. */
export const MIN_TOKEN_LENGTH = 16;
export const TOKEN_FILE = 'admin-token';

/** Bureau admin, district analyst, centre manager, auditor. */
export const ROLES = ['admin', 'analyst', 'manager', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** What a route declares: who may call it, and whether its data belongs to centres. */
export interface RouteAccess {
  roles: readonly Role[];
  /** `centre`: filter to the caller's centres (visibleCentres); `all`: the data is bureau-wide. */
  scope: 'all' | 'centre';
  /**
   * A page for a browser (server/src/web/): a GET without a live session is sent to the sign-in
   * page (303 to PAGE_LOGIN with `next`) instead of a 401, and a 403 is a short HTML page.
   */
  page?: boolean;
}
/** Sign-in itself, and nothing else: no credentials needed. */
export interface PublicAccess {
  public: true;
}
export type AccessDeclaration = RouteAccess | PublicAccess;

/** Every role; for routes anyone signed in may read. */
export const ANY_ROLE: readonly Role[] = ROLES;
/** Read-everything roles (the auditor reads all, writes nothing). */
export const BUREAU_READERS: readonly Role[] = ['admin', 'auditor'];

/** The caller, as routes see them. */
export interface Principal {
  userId: string;
  role: Role;
  displayName: string;
  via: 'admin-token' | 'api-token' | 'session';
  /** An analyst's districts. */
  districtIds?: string[];
  /** A manager's centre. */
  centreId?: string;
  /** The centres an analyst or manager may see (resolved at sign-in of the request); absent: all. */
  centreIds?: string[];
}

/** The built-in principal of the admin bearer token; no user may take this id (users.ts). */
export const ADMIN_TOKEN_USER = 'admin-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessDeclaration;
  }
  interface FastifyRequest {
    /** Set by the auth hook on every guarded route; undefined on public ones. */
    principal?: Principal;
  }
  interface FastifyInstance {
    /** Every route with its declaration, as registered (the access matrix test walks it). */
    routeAccess: DeclaredRoute[];
  }
}

export interface DeclaredRoute {
  method: string;
  url: string;
  access: AccessDeclaration;
}

/** Where the session and API tokens are looked up (users/ module). */
export interface PrincipalResolver {
  /** The user of a live API token, or undefined (unknown, revoked, user disabled). */
  apiToken(token: string): Principal | undefined;
  /** The user of a live session, or undefined (unknown, expired, idle, user disabled). */
  session(token: string): Principal | undefined;
}

export const SESSION_COOKIE = 'mealcheck_session';
export const CSRF_HEADER = 'x-mealcheck-csrf';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

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

/** What the tables keep of a session or API token: its sha256, hex. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The CSRF token of a session: derived from the cookie's token, so any instance checks it
 * without storing it, and knowing it reveals nothing of the cookie.
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update(`csrf\0${sessionToken}`, 'utf8').digest('base64url');
}

/** The centres the caller may see: `'all'`, or these ids. Every centre-scoped list filters through it. */
export function visibleCentres(request: FastifyRequest): 'all' | string[] {
  const p = request.principal;
  // A route reaching here without a principal is a wiring mistake: show nothing.
  if (!p) return [];
  return p.centreIds ?? 'all';
}

/** True when the caller may see the centre. */
export function canSeeCentre(request: FastifyRequest, centreId: string): boolean {
  const v = visibleCentres(request);
  return v === 'all' || v.includes(centreId);
}

/** True when the browser says another site sent this request (Origin host differs from Host). */
function crossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  try {
    return new URL(origin).host.toLowerCase() !== (request.headers.host ?? '').toLowerCase();
  } catch {
    return true;
  }
}

/** Where a page request without a live session is sent (server/src/web/bureau-pages.ts). */
export const PAGE_LOGIN = '/bureau/login';

const STATUS_ERROR: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden' };
function refuse(reply: FastifyReply, status: 401 | 403, message: string) {
  const request = reply.request;
  const access = request.routeOptions.config?.access;
  if (access && !('public' in access) && access.page && (request.method === 'GET' || request.method === 'HEAD')) {
    if (status === 401) return reply.code(303).header('location', `${PAGE_LOGIN}?next=${encodeURIComponent(request.url)}`).header('cache-control', 'no-store').send();
    const text = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    return reply
      .code(403)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; base-uri 'none'; frame-ancestors 'none'")
      .send(`<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>403</title><h1>无权访问 · Forbidden</h1><p>${text}</p><p><a href="/bureau/">返回首页 · Home</a></p></html>`);
  }
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="mealcheck"');
  return reply.code(status).send({ statusCode: status, error: STATUS_ERROR[status], message });
}

/** Paths whose routes must declare their access (the app refuses to start otherwise). */
function mustDeclare(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url === '/metrics';
}

export interface AuthOptions {
  adminToken: string;
  resolver: PrincipalResolver;
}

/**
 * Installs the route check and the auth hook on the app's root, before any route: hooks of the
 * root apply to every plugin registered after them.
 */
export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  const routes: DeclaredRoute[] = [];
  app.decorate('routeAccess', routes);
  app.decorateRequest('principal', undefined);

  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!access) {
      if (mustDeclare(route.url)) {
        throw new Error(`route ${methods.join(',')} ${route.url} declares no access: add config: { access: { roles: [...], scope: 'all' | 'centre' } } (server/src/plugins/auth.ts)`);
      }
      return;
    }
    if (!('public' in access)) {
      const bad = access.roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (bad.length || access.roles.length === 0) throw new Error(`route ${route.url}: access.roles must be some of ${ROLES.join(', ')}`);
    }
    for (const method of methods) routes.push({ method: String(method), url: route.url, access });
  });

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config?.access;
    if (access && 'public' in access) {
      if (UNSAFE.has(request.method) && crossSite(request)) return refuse(reply, 403, 'refused: this request came from another site (Origin does not match Host)');
      return;
    }
    // Unknown /api paths (no route, no declaration) answer 401 before 404: they reveal nothing to a stranger.
    if (!access && !mustDeclare(request.url.split('?')[0]!)) return;

    const header = request.headers.authorization;
    let principal: Principal | undefined;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const given = m?.[1];
      if (given !== undefined) {
        principal = tokenMatches(given, opts.adminToken)
          ? { userId: ADMIN_TOKEN_USER, role: 'admin', displayName: 'admin token', via: 'admin-token' }
          : opts.resolver.apiToken(given);
      }
      if (!principal) return refuse(reply, 401, 'invalid bearer token');
    } else {
      const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
      if (token !== undefined) {
        principal = opts.resolver.session(token);
        if (!principal) return refuse(reply, 401, 'the session has ended (expired, signed out or the user disabled): sign in again');
        if (UNSAFE.has(request.method)) {
          if (crossSite(request)) return refuse(reply, 403, 'refused: this request came from another site (Origin does not match Host)');
          const given = request.headers[CSRF_HEADER];
          if (typeof given !== 'string' || !tokenMatches(given, csrfTokenOf(token))) {
            return refuse(reply, 403, `missing or wrong CSRF token: send the csrfToken of POST /api/v1/login or GET /api/v1/me in the ${CSRF_HEADER} header`);
          }
        }
      }
      if (!principal) return refuse(reply, 401, 'missing Authorization: Bearer <token> header (or a session cookie: POST /api/v1/login)');
    }
    request.principal = principal;
    if (!access) return;
    if (!access.roles.includes(principal.role)) {
      return refuse(reply, 403, `${request.method} ${request.routeOptions.url} is for ${access.roles.join(', ')}; ${principal.userId} is ${principal.role}`);
    }
    if (access.scope === 'centre' && principal.centreIds) {
      const params = request.params as Record<string, unknown> | undefined;
      const query = request.query as Record<string, unknown> | undefined;
      for (const asked of [params?.centreId, query?.centreId]) {
        if (typeof asked === 'string' && !principal.centreIds.includes(asked)) {
          return refuse(reply, 403, `centre ${asked.slice(0, 64)} is not one of ${principal.userId}'s centres`);
        }
      }
    }
  });
}

/** The caller of a guarded route (set by the hook; a route without one is a wiring mistake). */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new Error(`no principal on ${request.method} ${request.url}: is the route guarded?`);
  return p;
}
