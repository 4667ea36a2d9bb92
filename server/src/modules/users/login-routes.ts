/**
 * Sign-in for pages: POST /login sets the session cookie (HttpOnly, SameSite=Strict, Secure
 * behind TLS), POST /logout ends it, GET /me says who is signed in (and the CSRF token pages
 * send with every change). Failed sign-ins are counted per user id and source address and lock
 * out for minutes; an unknown user, a wrong password and a disabled user get the same answer in
 * the same time (a dummy hash is checked when there is no user).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { dummyHash, verifyPin } from '../../../../common/secret-hash.ts';
import { parseCookies } from '../../../../common/web/cookies.ts';
import { ANY_ROLE, csrfTokenOf, principalOf, ROLES, SESSION_COOKIE, type Principal } from '../../plugins/auth.ts';
import { ErrorSchema, errorReply, GuardedErrors } from '../../schemas.ts';
import type { ServerAudit } from '../audit/server-audit.ts';
import { PER_SOURCE, PER_USER, type LoginLimiter, type SessionRepository } from './session-repository.ts';
import type { UserRepository } from './user-repository.ts';

export const MeSchema = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  /** How this request was authenticated. */
  via: Type.Union([Type.Literal('admin-token'), Type.Literal('api-token'), Type.Literal('session')]),
  districtIds: Type.Optional(Type.Array(Type.String())),
  centreId: Type.Optional(Type.String()),
  /** The centres the caller sees; absent: every centre. */
  centreIds: Type.Optional(Type.Array(Type.String())),
  /** For a session: the value of the x-mealcheck-csrf header every change must carry. */
  csrfToken: Type.Optional(Type.String()),
});
const LoginBody = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const LoginReply = Type.Object({ user: MeSchema, csrfToken: Type.String(), expiresAt: Type.String() });

export interface LoginRoutesOptions {
  users: UserRepository;
  sessions: SessionRepository;
  limiter: LoginLimiter;
  audit: ServerAudit;
  now: () => Date;
  /** Secure cookies even when the request did not arrive over TLS (a TLS-terminating proxy in front). */
  secureCookies: boolean;
  sessionMaxMs: number;
}

const WRONG = 'wrong user id or password';

export const loginRoutes: FastifyPluginAsync<LoginRoutesOptions> = async (app, { users, sessions, limiter, audit, now, secureCookies, sessionMaxMs }) => {
  const secure = (request: FastifyRequest) => secureCookies || request.protocol === 'https';
  const cookie = (request: FastifyRequest, value: string, maxAgeS: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure(request) ? '; Secure' : ''}`;
  const me = (p: Principal, csrfToken?: string) => ({ ...p, ...(csrfToken ? { csrfToken } : {}) });

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/login',
    {
      config: { access: { public: true } },
      schema: { description: 'Signs a bureau user in: sets the session cookie and answers the CSRF token', body: LoginBody, response: { 200: LoginReply, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema, 500: ErrorSchema } },
    },
    async (request, reply: FastifyReply) => {
      const { userId, password } = request.body;
      const at = now();
      // Keys by what was typed (lower case: ids are looked up as given, but a guesser gains nothing from case).
      const typed = userId.toLowerCase();
      const keys = [`user:${typed}`, `user:${typed}|ip:${request.ip}`];
      const until = limiter.lockedUntil(keys, at);
      if (until) {
        audit.record({ userId: null, action: 'login-locked', subject: userId, details: { ip: request.ip } }, at);
        const minutes = Math.max(1, Math.ceil((until.getTime() - at.getTime()) / 60_000));
        reply.header('retry-after', String(minutes * 60));
        return reply.code(429).send(errorReply(429, `too many failed sign-ins for this user id: try again in ${minutes} minute(s)`));
      }
      const stored = users.passwordHash(userId);
      const ok = (await verifyPin(password, stored ?? (await dummyHash()))) && stored !== undefined;
      const principal = ok ? users.principal(userId, 'session') : undefined;
      if (!principal) {
        const locked = [limiter.fail(keys[1]!, PER_SOURCE, at), limiter.fail(keys[0]!, PER_USER, at)].some(Boolean);
        audit.record({ userId: null, action: 'login-failed', subject: userId, details: { ip: request.ip, locked } }, at);
        return reply.code(401).send(errorReply(401, WRONG));
      }
      limiter.clear(keys[1]!);
      const s = sessions.create(principal.userId, at);
      audit.record({ userId: principal.userId, action: 'login', subject: principal.userId, details: { ip: request.ip } }, at);
      reply.header('set-cookie', cookie(request, s.token, Math.floor(sessionMaxMs / 1000)));
      const csrfToken = csrfTokenOf(s.token);
      return { user: me(principal, csrfToken), csrfToken, expiresAt: s.expiresAt };
    },
  );

  app.post(
    '/logout',
    {
      config: { access: { roles: ANY_ROLE, scope: 'all' } },
      schema: { description: 'Ends the session of the cookie (a bearer caller has none: nothing to end)', response: { 200: Type.Object({ ended: Type.Boolean() }), ...GuardedErrors } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
      if (p.via !== 'session' || token === undefined) return { ended: false };
      sessions.remove(token);
      audit.record({ userId: p.userId, action: 'logout', subject: p.userId }, now());
      reply.header('set-cookie', cookie(request, '', 0));
      return { ended: true };
    },
  );

  app.get(
    '/me',
    { config: { access: { roles: ANY_ROLE, scope: 'all' } }, schema: { description: 'Who is calling: user, role, centres, and for a session its CSRF token', response: { 200: MeSchema, ...GuardedErrors } } },
    async (request) => {
      const p = principalOf(request);
      const token = p.via === 'session' ? parseCookies(request.headers.cookie).get(SESSION_COOKIE) : undefined;
      return me(p, token === undefined ? undefined : csrfTokenOf(token));
    },
  );
};
