/**
 * Who may call the settlement routes, declared per route (issue 14's convention:
 * `config: { access: { roles, scope } }`), and the calls of the auth hook (plugins/auth.ts) the
 * routes use: the centres the caller may see, and who the caller is.
 */
import type { FastifyRequest } from 'fastify';
import { principalOf, type RouteAccess } from '../../plugins/auth.ts';

export { canSeeCentre, visibleCentres } from '../../plugins/auth.ts';

/** Everyone signed in reads categories, rules and settlements (filtered to their centres). */
export const READ_CENTRES = { access: { roles: ['admin', 'analyst', 'manager', 'auditor'], scope: 'centre' } } as const satisfies { access: RouteAccess };
export const READ_ALL = { access: { roles: ['admin', 'analyst', 'manager', 'auditor'], scope: 'all' } } as const satisfies { access: RouteAccess };
/** Changes are the bureau admin's. */
export const ADMIN_WRITE = { access: { roles: ['admin'], scope: 'all' } } as const satisfies { access: RouteAccess };

/** Who is calling, for the audit: the signed-in user, the API token's user, or `admin-token`. */
export function actorOf(request: FastifyRequest): string {
  return principalOf(request).userId;
}
