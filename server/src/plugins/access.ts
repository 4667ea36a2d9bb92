/**
 * Who may call a route, declared in its options (issue 14 convention):
 *
 *   app.get('/x', { config: { access: { roles: ['admin', 'auditor'], scope: 'centre' } }, schema }, ...)
 *
 * `scope: 'centre'`: the route's data belongs to centres and is filtered to the caller's. Until
 * the auth slice lands, the admin bearer token (plugins/auth.ts) guards every route and its holder
 * sees everything: the two functions below are the one place that changes when roles come.
 */
import type { FastifyRequest } from 'fastify';

export const ROLES = ['admin', 'analyst', 'manager', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface RouteAccess {
  roles: readonly Role[];
  scope: 'all' | 'centre';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  // What OpenAPI (issue 14, item 8) shows of a route; @fastify/swagger declares the same field.
  interface FastifySchema {
    description?: string;
  }
}

/** The centres the caller may see: `'all'` or a list of ids (today: the token holder sees all). */
export function visibleCentres(_request: FastifyRequest): 'all' | readonly string[] {
  return 'all';
}

export function mayAccessCentre(request: FastifyRequest, centreId: string): boolean {
  const v = visibleCentres(request);
  return v === 'all' || v.includes(centreId);
}

/** Who is asking, for the audit log (today: the one admin token). */
export function actorOf(_request: FastifyRequest): string {
  return 'admin';
}
