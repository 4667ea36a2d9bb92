/**
 * Who may call the settlement routes, declared per route (issue 14's convention:
 * `config: { access: { roles, scope } }`), and the two calls the auth slice replaces: the
 * centres the caller may see, and who the caller is. Until it lands the admin bearer token
 * guards every route, and its holder sees every centre.
 */
import type { FastifyRequest } from 'fastify';

export type Role = 'admin' | 'analyst' | 'manager' | 'auditor';

export interface RouteAccess {
  roles: readonly Role[];
  /** `centre`: the data belongs to centres, filtered through visibleCentres(); `all`: bureau-wide. */
  scope: 'all' | 'centre';
}

/** Everyone signed in reads categories, rules and settlements (filtered to their centres). */
export const READ_CENTRES = { access: { roles: ['admin', 'analyst', 'manager', 'auditor'], scope: 'centre' } } as const satisfies { access: RouteAccess };
export const READ_ALL = { access: { roles: ['admin', 'analyst', 'manager', 'auditor'], scope: 'all' } } as const satisfies { access: RouteAccess };
/** Changes are the bureau admin's. */
export const ADMIN_WRITE = { access: { roles: ['admin'], scope: 'all' } } as const satisfies { access: RouteAccess };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess | { public: true };
  }
}

/** The centres the caller may see. The auth slice's visibleCentres(request) replaces this. */
export function visibleCentres(_request: FastifyRequest): 'all' | string[] {
  return 'all';
}

export function canSeeCentre(request: FastifyRequest, centreId: string): boolean {
  const v = visibleCentres(request);
  return v === 'all' || v.includes(centreId);
}

/** Who is calling, for the audit. The auth slice's principalOf(request).userId replaces this. */
export function actorOf(_request: FastifyRequest): string {
  return 'admin-token';
}
