/** Schemas shared by every route. */
import { Type, type Static } from '@sinclair/typebox';
// Route schemas carry OpenAPI's description, summary and tags (its types augment FastifySchema).
import type {} from '@fastify/swagger';

/** The body of every error reply, whatever the status. */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
});
export type ErrorReply = Static<typeof ErrorSchema>;

/** The server's roles: bureau admin, district analyst, centre manager, auditor. */
export type Role = 'admin' | 'analyst' | 'manager' | 'auditor';

/** Who may call a route (`config.access`); `scope: 'centre'` filters its data to the caller's centres. */
export interface RouteAccess {
  roles: readonly Role[];
  scope: 'all' | 'centre';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}
