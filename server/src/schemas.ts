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

/** The error replies of every guarded route: no credentials, a role or centre not allowed, a failure. */
export const GuardedErrors = { 401: ErrorSchema, 403: ErrorSchema, 500: ErrorSchema } as const;

const ERROR_NAMES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests' };
/** The error body for `status`. */
export function errorReply(statusCode: number, message: string): ErrorReply {
  return { statusCode, error: ERROR_NAMES[statusCode] ?? 'Error', message };
}

declare module 'fastify' {
  interface FastifySchema {
    /** What the route does, in one line: OpenAPI's description (@fastify/swagger declares the same). */
    description?: string;
  }
}
