/**
 * Bureau users for server tests: two districts, three centres, a user of each role, and ways to
 * call the app as each (admin token, API token, session cookie with its CSRF token).
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Db } from '../../common/sqlite.ts';
import { createCentreRepository } from '../../server/src/modules/centres/centre-repository.ts';
import { createDistrictRepository } from '../../server/src/modules/centres/district-repository.ts';
import { createApiTokenRepository } from '../../server/src/modules/users/api-token-repository.ts';
import { createSessionRepository, type SessionRepository } from '../../server/src/modules/users/session-repository.ts';
import { createUserRepository, type UserRepository } from '../../server/src/modules/users/user-repository.ts';
import { csrfTokenOf, SESSION_COOKIE, type Role } from '../../server/src/plugins/auth.ts';

export const NORTH = 'district-north';
export const SOUTH = 'district-south';
/** Centre ids distinct enough that finding one in a JSON body is never an accident. */
export const CENTRE_N1 = 'centre-north-1';
export const CENTRE_N2 = 'centre-north-2';
export const CENTRE_S1 = 'centre-south-1';
export const PASSWORD = 'correct horse battery';

/** One user per role (the analyst has the north district, the manager centre-north-1). */
export const ROLE_USERS: Record<Role, string> = { admin: 'u-admin', analyst: 'u-analyst', manager: 'u-manager', auditor: 'u-auditor' };

export interface BureauSeed {
  users: UserRepository;
  sessions: SessionRepository;
  /** Headers of a fresh session of the user (cookie and CSRF token). */
  sessionHeaders(userId: string, at: Date): Record<string, string>;
  /** Headers of a fresh API token of the user. */
  tokenHeaders(userId: string, at: Date): Record<string, string>;
}

export async function seedBureau(db: Db, at: Date, limits = { idleMs: 12 * 3_600_000, maxMs: 7 * 86_400_000 }): Promise<BureauSeed> {
  const districts = createDistrictRepository(db);
  districts.put(NORTH, '北区', at);
  districts.put(SOUTH, '南区', at);
  const centres = createCentreRepository(db);
  centres.set(CENTRE_N1, { name: '北一照料中心', districtId: NORTH }, at);
  centres.set(CENTRE_N2, { name: '北二照料中心', districtId: NORTH }, at);
  centres.set(CENTRE_S1, { name: '南一照料中心', districtId: SOUTH }, at);
  const users = createUserRepository(db);
  await users.add({ userId: ROLE_USERS.admin, displayName: '管理员', role: 'admin', password: PASSWORD }, at);
  await users.add({ userId: ROLE_USERS.analyst, displayName: '北区分析员', role: 'analyst', password: PASSWORD, districtIds: [NORTH] }, at);
  await users.add({ userId: ROLE_USERS.manager, displayName: '北一主任', role: 'manager', password: PASSWORD, centreId: CENTRE_N1 }, at);
  await users.add({ userId: ROLE_USERS.auditor, displayName: '审计员', role: 'auditor', password: PASSWORD }, at);
  const sessions = createSessionRepository(db, limits);
  const tokens = createApiTokenRepository(db);
  return {
    users,
    sessions,
    sessionHeaders(userId, when) {
      const { token } = sessions.create(userId, when);
      return { cookie: `${SESSION_COOKIE}=${token}`, 'x-mealcheck-csrf': csrfTokenOf(token) };
    },
    tokenHeaders(userId, when) {
      return { authorization: `Bearer ${tokens.add(userId, 'test', 'test', when).token}` };
    },
  };
}

/** Signs in through POST /api/v1/login; the cookie and CSRF token of the answer. */
export async function signIn(app: FastifyInstance, userId: string, password = PASSWORD, extra: InjectOptions['headers'] = {}): Promise<{ status: number; headers: Record<string, string>; body: unknown; setCookie: string | undefined }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { userId, password }, headers: extra });
  const setCookie = res.headers['set-cookie'] as string | undefined;
  const token = setCookie?.match(new RegExp(`${SESSION_COOKIE}=([^;]*)`))?.[1];
  const body = res.json() as { csrfToken?: string };
  return { status: res.statusCode, headers: token ? { cookie: `${SESSION_COOKIE}=${token}`, 'x-mealcheck-csrf': body.csrfToken ?? '' } : {}, body, setCookie };
}
