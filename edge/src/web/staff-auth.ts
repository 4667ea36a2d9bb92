/**
 * The staff auth port: who is logged in, and what a route demands. Every staff route (pages
 * and JSON, whatever feature owns it) is guarded the same way:
 *
 *   app.post('/api/v1/elders', { preValidation: requireRole('staff'), schema: {...} }, async (request) => {
 *     const by = request.staff!.staffId;   // set: requireRole let the request through
 *     ...
 *   });
 *
 * As `preValidation` (after the body is parsed, before the schema checks it), an unauthenticated
 * request gets 401 rather than a 400 about its body; `preHandler` works too, after validation.
 *
 * - No session (no cookie, unknown, expired, idle too long, account removed): 401 `{error}`; a
 *   browser GET asking for HTML is redirected to the login page instead.
 * - A role too low: 403 `{error}`. `manager` may do everything `staff` may.
 * - A state-changing method (POST, PUT, PATCH, DELETE) must carry the session's CSRF token,
 *   in the `x-csrf-token` header or the `_csrf` form field, else 403 `{error}`. Pages put it
 *   in every form (`csrfField()` of pages/layout.ts) and in a `<meta name="csrf-token">` for
 *   fetch(). Missing or wrong: refused before the handler runs.
 * - Any state-changing request whose Origin (or Sec-Fetch-Site) says another site sent it is
 *   refused with 403, logged in or not (the login form included).
 *
 * The session cookie is httpOnly and SameSite=Strict (staff-session.ts of edge/src/staff/ makes
 * and checks it); `staffAuth` (below) is the plugin that reads it on every request, registered
 * once at the root of the edge's app before any feature's routes.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler, preValidationAsyncHookHandler } from 'fastify';
import { parseCookies } from '../../../common/web/cookies.ts';

export type StaffRole = 'staff' | 'manager';
export const STAFF_ROLES: readonly StaffRole[] = ['staff', 'manager'];

/** The logged-in staff member, as routes see them. */
export interface StaffIdentity {
  staffId: string;
  name: string;
  role: StaffRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for a request with a valid staff session; undefined otherwise. */
    staff?: StaffIdentity;
  }
}

/** The session cookie's name. */
export const SESSION_COOKIE = 'mealcheck_staff';
/** Where a state-changing request carries its CSRF token: header, or form field. */
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

/** What the session store says about a cookie's token. */
export interface ResolvedSession {
  staff: StaffIdentity;
  csrfToken: string;
  /** A generated or reset PIN: pages send the staff member to change it first. */
  mustChangePin: boolean;
}

export interface SessionResolver {
  /** The live session of a token, or undefined (unknown, expired, idle, account removed). */
  resolveSession(token: string): ResolvedSession | undefined;
}

const sessions = new WeakMap<FastifyRequest, ResolvedSession>();
const checked = new WeakSet<FastifyRequest>();

/** The request's session (CSRF token, must-change flag), for pages; undefined when not logged in. */
export function sessionOf(request: FastifyRequest): ResolvedSession | undefined {
  return sessions.get(request);
}

const RANK: Record<StaffRole, number> = { staff: 1, manager: 2 };
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** True when the browser says another site sent this request (Origin host differs from Host). */
function crossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false; // not a browser, or a same-origin GET
  if (origin === 'null') return true;
  try {
    return new URL(origin).host.toLowerCase() !== (request.headers.host ?? '').toLowerCase();
  } catch {
    return true;
  }
}

function tokenMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

function csrfTokenOf(request: FastifyRequest): unknown {
  const header = request.headers[CSRF_HEADER];
  if (typeof header === 'string') return header;
  const body = request.body;
  if (body && typeof body === 'object' && CSRF_FIELD in body) return (body as Record<string, unknown>)[CSRF_FIELD];
  return undefined;
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

/** The login page's path; a browser without a session is sent there. */
export const LOGIN_PATH = '/staff/login';

/**
 * A preHandler that lets a request through only with a session of at least `role` (and, for a
 * state-changing method, the session's CSRF token). See the file header for the replies.
 */
export function requireRole(role: StaffRole): preValidationAsyncHookHandler & preHandlerAsyncHookHandler {
  return async function staffRoleGuard(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    if (!checked.has(request)) {
      // The plugin did not see this request: a wiring mistake, never a reason to let it through.
      request.log.error({ url: request.url }, 'requireRole used on a route the staffAuth plugin does not cover');
      return reply.code(500).send({ error: 'internal error' });
    }
    const session = sessions.get(request);
    if (!session) {
      if (wantsHtml(request)) return reply.redirect(`${LOGIN_PATH}?next=${encodeURIComponent(request.url)}`, 303);
      return reply.code(401).send({ error: 'log in first: this needs a staff session' });
    }
    if (RANK[session.staff.role] < RANK[role]) return reply.code(403).send({ error: `this needs the ${role} role; ${session.staff.staffId} is ${session.staff.role}` });
    if (UNSAFE.has(request.method) && !tokenMatches(csrfTokenOf(request), session.csrfToken)) {
      return reply.code(403).send({ error: `missing or wrong CSRF token: send the session's token in the ${CSRF_HEADER} header or the ${CSRF_FIELD} form field` });
    }
  };
}

/**
 * The plugin that reads the session cookie on every request and sets `request.staff`, and
 * refuses cross-site state-changing requests. Registered once, first, at the app's root (it
 * skips Fastify's encapsulation, so its hook covers every feature's routes).
 */
export function staffAuth(resolver: SessionResolver): (app: FastifyInstance) => Promise<void> {
  const plugin = async (app: FastifyInstance): Promise<void> => {
    if (!app.hasRequestDecorator('staff')) app.decorateRequest('staff', undefined);
    app.addHook('onRequest', async (request, reply) => {
      checked.add(request);
      if (UNSAFE.has(request.method) && crossSite(request)) return reply.code(403).send({ error: 'refused: this request came from another site (Origin does not match Host)' });
      const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
      if (!token) return;
      const s = resolver.resolveSession(token);
      if (!s) return;
      sessions.set(request, s);
      request.staff = s.staff;
    });
  };
  // What fastify-plugin does: the hook applies to the parent (root) context, not a child.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
