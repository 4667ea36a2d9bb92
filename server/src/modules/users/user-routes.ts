/**
 * Users and API tokens, for the bureau admin: GET/POST /users, PUT /users/:userId (role,
 * districts, centre, password, disabled), GET/POST /tokens, DELETE /tokens/:tokenId. Every
 * change is audited; a password change or disabling ends the user's sessions at once.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { principalOf, ROLES } from '../../plugins/auth.ts';
import { ErrorSchema, errorReply, GuardedErrors } from '../../schemas.ts';
import type { ServerAudit } from '../audit/server-audit.ts';
import type { ApiTokenRepository } from './api-token-repository.ts';
import type { SessionRepository } from './session-repository.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, UserInputError, type User, type UserRepository } from './user-repository.ts';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Id = Type.String({ pattern: ID_PATTERN });
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH });

export const UserSchema = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  districtIds: Type.Array(Type.String()),
  centreId: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const NewUserBody = Type.Object(
  {
    userId: Id,
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    role: RoleSchema,
    password: Password,
    /** An analyst's districts. */
    districtIds: Type.Optional(Type.Array(Id, { maxItems: 100 })),
    /** A manager's centre. */
    centreId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
const UserChangeBody = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    role: Type.Optional(RoleSchema),
    password: Type.Optional(Password),
    districtIds: Type.Optional(Type.Array(Id, { maxItems: 100 })),
    centreId: Type.Optional(Type.Union([Id, Type.Null()])),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
const UserParams = Type.Object({ userId: Id });

export const ApiTokenSchema = Type.Object({
  tokenId: Type.String(),
  userId: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
const NewTokenBody = Type.Object({ userId: Id, name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const TokenParams = Type.Object({ tokenId: Type.String({ minLength: 1, maxLength: 64 }) });

export interface UserRoutesOptions {
  users: UserRepository;
  sessions: SessionRepository;
  tokens: ApiTokenRepository;
  audit: ServerAudit;
  now: () => Date;
}

const ADMIN = { access: { roles: ['admin'] as const, scope: 'all' as const } };

/** What an audit row says of a user: never the password. */
function userDetails(u: User) {
  return { role: u.role, displayName: u.displayName, districtIds: u.districtIds.join(','), centreId: u.centreId, disabled: u.disabled };
}

export const userRoutes: FastifyPluginAsync<UserRoutesOptions> = async (app, { users, sessions, tokens, audit, now }) => {
  app.get('/users', { config: ADMIN, schema: { description: 'Every bureau user (no password hashes)', response: { 200: Type.Object({ users: Type.Array(UserSchema) }), ...GuardedErrors } } }, async () => ({ users: users.list() }));

  app.post<{ Body: Static<typeof NewUserBody> }>(
    '/users',
    { config: ADMIN, schema: { description: 'Creates a user with a role (an analyst with districts, a manager with a centre)', body: NewUserBody, response: { 201: UserSchema, 400: ErrorSchema, 409: ErrorSchema, ...GuardedErrors } } },
    async (request, reply) => {
      const at = now();
      try {
        const u = await users.add(request.body, at);
        audit.record({ userId: principalOf(request).userId, action: 'user-add', subject: u.userId, details: userDetails(u) }, at);
        return reply.code(201).send(u);
      } catch (err) {
        if (!(err instanceof UserInputError)) throw err;
        return reply.code(err.conflict ? 409 : 400).send(errorReply(err.conflict ? 409 : 400, err.message));
      }
    },
  );

  app.put<{ Params: Static<typeof UserParams>; Body: Static<typeof UserChangeBody> }>(
    '/users/:userId',
    {
      config: ADMIN,
      schema: { description: "Changes a user's name, role, districts, centre or password, or disables (enables) them; a password change or disabling ends their sessions", params: UserParams, body: UserChangeBody, response: { 200: UserSchema, 400: ErrorSchema, 404: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const at = now();
      const { userId } = request.params;
      try {
        const u = await users.update(userId, request.body, at);
        if (!u) return reply.code(404).send(errorReply(404, `no user ${userId}`));
        const ended = request.body.password !== undefined || u.disabled ? sessions.removeForUser(userId) : 0;
        const by = principalOf(request).userId;
        if (request.body.password !== undefined) audit.record({ userId: by, action: 'password-change', subject: userId, details: { sessionsEnded: ended } }, at);
        const { password: _password, ...rest } = request.body;
        if (Object.keys(rest).length > 0) audit.record({ userId: by, action: 'user-change', subject: userId, details: { ...userDetails(u), changed: Object.keys(rest).join(','), sessionsEnded: ended } }, at);
        return u;
      } catch (err) {
        if (!(err instanceof UserInputError)) throw err;
        return reply.code(400).send(errorReply(400, err.message));
      }
    },
  );

  app.get('/tokens', { config: ADMIN, schema: { description: 'API tokens (never the token itself)', response: { 200: Type.Object({ tokens: Type.Array(ApiTokenSchema) }), ...GuardedErrors } } }, async () => ({ tokens: tokens.list() }));

  app.post<{ Body: Static<typeof NewTokenBody> }>(
    '/tokens',
    {
      config: ADMIN,
      schema: {
        description: 'Makes a named API token acting as the user; the token is in this answer only',
        body: NewTokenBody,
        response: { 201: Type.Object({ token: Type.String(), apiToken: ApiTokenSchema }), 400: ErrorSchema, 404: ErrorSchema, ...GuardedErrors },
      },
    },
    async (request, reply) => {
      const { userId, name } = request.body;
      if (!users.get(userId)) return reply.code(404).send(errorReply(404, `no user ${userId}`));
      const at = now();
      const by = principalOf(request).userId;
      const made = tokens.add(userId, name.trim(), by, at);
      audit.record({ userId: by, action: 'token-add', subject: userId, details: { tokenId: made.apiToken.tokenId, name: made.apiToken.name } }, at);
      return reply.code(201).send(made);
    },
  );

  app.delete<{ Params: Static<typeof TokenParams> }>(
    '/tokens/:tokenId',
    { config: ADMIN, schema: { description: 'Revokes an API token for good', params: TokenParams, response: { 200: ApiTokenSchema, 404: ErrorSchema, ...GuardedErrors } } },
    async (request, reply) => {
      const at = now();
      const t = tokens.revoke(request.params.tokenId, at);
      if (!t) return reply.code(404).send(errorReply(404, `no API token ${request.params.tokenId}`));
      audit.record({ userId: principalOf(request).userId, action: 'token-revoke', subject: t.userId, details: { tokenId: t.tokenId, name: t.name } }, at);
      return t;
    },
  );
};
