/** Schemas shared by every route. */
import { Type, type Static } from '@sinclair/typebox';

/** The body of every error reply, whatever the status. */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
});
export type ErrorReply = Static<typeof ErrorSchema>;

declare module 'fastify' {
  interface FastifySchema {
    /** What the route does, in one line: OpenAPI's description (@fastify/swagger declares the same). */
    description?: string;
  }
}
