/**
 * Staff accounts over HTTP, JSON (the pages in pages/staff-pages.ts use the same service):
 *
 *   POST   /api/v1/staff/login          {staffId, pin} → 200 {staff, csrfToken, mustChangePin} + session cookie; 401; 423 locked
 *   POST   /api/v1/staff/logout         staff   → 204, cookie cleared
 *   GET    /api/v1/staff/me             staff   → {staff, csrfToken, mustChangePin}
 *   POST   /api/v1/staff/me/pin         staff   {current, next} → 204
 *   GET    /api/v1/staff                manager → {staff: [...]}
 *   POST   /api/v1/staff                manager {name, role, staffId?, pin?} → 201 {staff, pin?}
 *   DELETE /api/v1/staff/:staffId       manager → 200 {staff}; 409 the last manager
 *   POST   /api/v1/staff/:staffId/pin   manager → 200 {pin} (a one-time PIN)
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ID_PATTERN } from '../../../common/contract.ts';
import { clearedSessionCookie, sessionCookie } from './session-cookie.ts';
import { PIN_RULE, StaffError, type StaffService } from '../staff/staff-service.ts';
import { staffPages } from './pages/staff-pages.ts';
import { parseCookies } from '../../../common/web/cookies.ts';
import { requireRole, SESSION_COOKIE, sessionOf, staffAuth } from './staff-auth.ts';
import type { EdgeWebPlugin } from './status-server.ts';

const ErrorSchema = Type.Object({ error: Type.String() });
const Role = Type.Union([Type.Literal('staff'), Type.Literal('manager')]);
const StaffIdentitySchema = Type.Object({ staffId: Type.String(), name: Type.String(), role: Role });
const StaffAccountSchema = Type.Object({
  staffId: Type.String(),
  name: Type.String(),
  role: Role,
  mustChangePin: Type.Boolean(),
  failedLogins: Type.Integer(),
  lockedUntil: Type.Optional(Type.String()),
  createdAt: Type.String(),
});
const StaffIdParam = Type.Object({ staffId: Type.String({ pattern: ID_PATTERN }) });
const Pin = Type.String({ minLength: 1, maxLength: PIN_RULE.max });
const LoginBody = Type.Object({ staffId: Type.String({ minLength: 1, maxLength: 64 }), pin: Pin }, { additionalProperties: false });
const AddBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), role: Role, staffId: Type.Optional(Type.String({ pattern: ID_PATTERN })), pin: Type.Optional(Type.String({ minLength: PIN_RULE.min, maxLength: PIN_RULE.max })) },
  { additionalProperties: false },
);
const ChangePinBody = Type.Object({ current: Pin, next: Type.String({ minLength: PIN_RULE.min, maxLength: PIN_RULE.max }) }, { additionalProperties: false });
const SessionSchema = Type.Object({ staff: StaffIdentitySchema, csrfToken: Type.String(), mustChangePin: Type.Boolean() });

/** StaffError → HTTP status and `{error}`. */
export function sendStaffError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof StaffError)) throw err;
  const code = { invalid: 400, 'wrong-pin': 400, 'not-found': 404, taken: 409, 'last-manager': 409 }[err.code];
  return reply.code(code).send({ error: err.message });
}

export interface StaffRoutesOptions {
  staff: StaffService;
  /** Add `Secure` to the cookie (only behind HTTPS; the box serves plain HTTP on the LAN). */
  secureCookie?: boolean;
}

export function staffApiRoutes(app: FastifyInstance, { staff, secureCookie = false }: StaffRoutesOptions): void {
  app.post<{ Body: Static<typeof LoginBody> }>(
    '/api/v1/staff/login',
    { schema: { body: LoginBody, response: { 200: SessionSchema, 401: ErrorSchema, 423: Type.Object({ error: Type.String(), until: Type.String() }) } } },
    async (request, reply) => {
      const r = await staff.login(request.body.staffId, request.body.pin);
      switch (r.status) {
        case 'ok':
          return reply.header('set-cookie', sessionCookie(r.token, secureCookie)).send({ staff: r.staff, csrfToken: r.csrfToken, mustChangePin: r.mustChangePin });
        case 'refused':
          return reply.code(401).send({ error: 'wrong staff id or PIN' });
        case 'locked':
          return reply.code(423).send({ error: `too many wrong PINs: the account is locked until ${r.until} (or until a manager resets the PIN)`, until: r.until });
      }
    },
  );

  app.post('/api/v1/staff/logout', { preValidation: requireRole('staff'), schema: { response: { 204: Type.Null(), 401: ErrorSchema, 403: ErrorSchema } } }, async (request, reply) => {
    const token = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    if (token) staff.logout(token);
    return reply.code(204).header('set-cookie', clearedSessionCookie(secureCookie)).send();
  });

  app.get('/api/v1/staff/me', { preValidation: requireRole('staff'), schema: { response: { 200: SessionSchema, 401: ErrorSchema } } }, async (request) => {
    const s = sessionOf(request)!;
    return { staff: s.staff, csrfToken: s.csrfToken, mustChangePin: s.mustChangePin };
  });

  app.post<{ Body: Static<typeof ChangePinBody> }>(
    '/api/v1/staff/me/pin',
    { preValidation: requireRole('staff'), schema: { body: ChangePinBody, response: { 204: Type.Null(), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema } } },
    async (request, reply) => {
      try {
        await staff.changePin(request.staff!.staffId, request.body.current, request.body.next);
      } catch (err) {
        return sendStaffError(reply, err);
      }
      return reply.code(204).send();
    },
  );

  app.get('/api/v1/staff', { preValidation: requireRole('manager'), schema: { response: { 200: Type.Object({ staff: Type.Array(StaffAccountSchema) }), 401: ErrorSchema, 403: ErrorSchema } } }, async () => ({ staff: staff.list() }));

  app.post<{ Body: Static<typeof AddBody> }>(
    '/api/v1/staff',
    { preValidation: requireRole('manager'), schema: { body: AddBody, response: { 201: Type.Object({ staff: StaffAccountSchema, pin: Type.Optional(Type.String()) }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 409: ErrorSchema } } },
    async (request, reply) => {
      try {
        const r = await staff.add(request.body, request.staff!.staffId);
        return reply.code(201).send(r);
      } catch (err) {
        return sendStaffError(reply, err);
      }
    },
  );

  app.delete<{ Params: Static<typeof StaffIdParam> }>(
    '/api/v1/staff/:staffId',
    { preValidation: requireRole('manager'), schema: { params: StaffIdParam, response: { 200: Type.Object({ staff: StaffAccountSchema }), 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema } } },
    async (request, reply) => {
      try {
        return { staff: staff.remove(request.params.staffId, request.staff!.staffId) };
      } catch (err) {
        return sendStaffError(reply, err);
      }
    },
  );

  app.post<{ Params: Static<typeof StaffIdParam> }>(
    '/api/v1/staff/:staffId/pin',
    { preValidation: requireRole('manager'), schema: { params: StaffIdParam, response: { 200: Type.Object({ pin: Type.String() }), 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema } } },
    async (request, reply) => {
      try {
        return await staff.resetPin(request.params.staffId, request.staff!.staffId);
      } catch (err) {
        return sendStaffError(reply, err);
      }
    },
  );
}

/**
 * The staff feature's plugins for StatusServerOptions.plugins, FIRST in the list: the session
 * hook (staffAuth, at the root, so every later feature's routes see `request.staff`), the JSON
 * routes above, and the pages (in a scope of their own, which alone accepts form bodies).
 */
export function staffWebPlugins(opts: StaffRoutesOptions & { timeZone?: string }): EdgeWebPlugin[] {
  return [
    staffAuth(opts.staff),
    async (app) => {
      staffApiRoutes(app, opts);
      await app.register(async (pages) => staffPages(pages, opts));
    },
  ];
}
