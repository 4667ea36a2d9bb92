/**
 * The access helpers the bureau routes call, now backed by the auth hook (plugins/auth.ts):
 * which centres the caller may see, and who they are for the audit log.
 */
import type { FastifyRequest } from 'fastify';
import { canSeeCentre, principalOf, visibleCentres } from './auth.ts';

export { ROLES, type Role, type RouteAccess } from './auth.ts';
export { visibleCentres };

export function mayAccessCentre(request: FastifyRequest, centreId: string): boolean {
  return canSeeCentre(request, centreId);
}

/** Who is asking, for the audit log: the signed-in user, the API token's user, or `admin-token`. */
export function actorOf(request: FastifyRequest): string {
  return principalOf(request).userId;
}
