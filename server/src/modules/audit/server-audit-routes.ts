/**
 * GET /audit: the server's audit log, newest first, with whether its hash chain checks out.
 * For the bureau admin and the auditor.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { BUREAU_READERS } from '../../plugins/auth.ts';
import { ErrorSchema, GuardedErrors } from '../../schemas.ts';
import type { ServerAuditRepository } from './server-audit.ts';

const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export const ServerAuditListSchema = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Type.String(),
      userId: Type.Union([Type.String(), Type.Null()]),
      action: Type.String(),
      subject: Type.Union([Type.String(), Type.Null()]),
      details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
      hash: Type.String(),
    }),
  ),
  total: Type.Integer(),
  /** The whole chain, checked now: `ok` false names the first broken row. */
  chain: Type.Object({ ok: Type.Boolean(), rows: Type.Integer(), brokenAt: Type.Optional(Type.Integer()), problem: Type.Optional(Type.String()) }),
});

export const serverAuditRoutes: FastifyPluginAsync<{ audit: ServerAuditRepository }> = async (app, { audit }) => {
  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/audit',
    {
      config: { access: { roles: BUREAU_READERS, scope: 'all' } },
      schema: { description: "The server's audit log (sign-ins, users, tokens, centres, districts, months), newest first", querystring: AuditQuery, response: { 200: ServerAuditListSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => {
      const { limit = 100, offset = 0, action, userId } = request.query;
      const page = audit.list({ limit, offset, ...(action ? { action } : {}), ...(userId ? { userId } : {}) });
      const v = audit.verify();
      return { ...page, chain: v.ok ? { ok: true, rows: v.rows } : { ok: false, rows: v.rows, brokenAt: v.seq, problem: v.problem } };
    },
  );
};
