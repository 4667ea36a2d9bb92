/** The staff session cookie as the login routes (JSON and page) set and clear it. */
import { SESSION } from '../staff/staff-service.ts';
import { SESSION_COOKIE } from './staff-auth.ts';

/** The session cookie: httpOnly (no script reads it), SameSite=Strict (no other site sends it), whole site. */
export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION.hours * 3600}${secure ? '; Secure' : ''}`;
}
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

