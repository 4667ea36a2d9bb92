/**
 * Staff sessions for tests of protected routes: a real account, a real login through
 * `POST /api/v1/staff/login`, and what a request then needs.
 *
 *   const edge = staffTestApp(db, clock, { plugins: [myFeatureRoutes] });
 *   const s = await loginAs(edge.app, edge.staff, { role: 'staff' });
 *   await edge.app.inject({ method: 'POST', url: '/api/v1/x', headers: s.headers, payload: {...} });   // cookie + CSRF
 *   await edge.app.inject({ method: 'GET', url: '/api/v1/x', headers: { cookie: s.cookie } });         // reads need no CSRF
 *   // a form: payload `new URLSearchParams({ _csrf: s.csrfToken, ... }).toString()`
 *   //         with content-type application/x-www-form-urlencoded
 */
import type { FastifyInstance } from 'fastify';
import type { Clock, Ids } from '../../common/clock.ts';
import type { Db } from '../../common/sqlite.ts';
import { createAuditLog, type AuditLog, type AuditLogRow } from '../../edge/src/audit/audit-log.ts';
import { createStaffService, type StaffService } from '../../edge/src/staff/staff-service.ts';
import { CSRF_HEADER, SESSION_COOKIE, type StaffRole } from '../../edge/src/web/staff-auth.ts';
import { staffWebPlugins } from '../../edge/src/web/staff-routes.ts';
import { StatusServer, type EdgeStatus, type EdgeWebPlugin } from '../../edge/src/web/status-server.ts';
import { counterIds } from './edge-fixtures.ts';

export interface StaffSession {
  staffId: string;
  name: string;
  role: StaffRole;
  pin: string;
  /** `mealcheck_staff=...`, for the `cookie` header. */
  cookie: string;
  csrfToken: string;
  /** cookie + x-csrf-token: what a state-changing request sends. */
  headers: { cookie: string; 'x-csrf-token': string };
}

let n = 0;

/**
 * Adds an account of `role` (with a known PIN, so no change is forced) and logs it in for real.
 * `accounts` is the app's StaffService (anything with its `add`).
 */
export async function loginAs(
  app: FastifyInstance,
  accounts: Pick<StaffService, 'add'>,
  opts: { role: StaffRole; staffId?: string; name?: string; pin?: string },
): Promise<StaffSession> {
  n++;
  const staffId = opts.staffId ?? `T${opts.role === 'manager' ? 'M' : 'S'}${String(n).padStart(3, '0')}`;
  const name = opts.name ?? (opts.role === 'manager' ? `经理${n}` : `员工${n}`);
  const pin = opts.pin ?? '246810';
  await accounts.add({ staffId, name, role: opts.role, pin }, null);
  return login(app, staffId, pin, { name, role: opts.role });
}

/** Logs an existing account in; throws with the reply when the login is refused. */
export async function login(app: FastifyInstance, staffId: string, pin: string, known: { name: string; role: StaffRole } = { name: '', role: 'staff' }): Promise<StaffSession> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/staff/login', payload: { staffId, pin } });
  if (res.statusCode !== 200) throw new Error(`login of ${staffId} refused: ${res.statusCode} ${res.body}`);
  const setCookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith(`${SESSION_COOKIE}=`));
  if (!setCookie) throw new Error('login set no session cookie');
  const cookie = setCookie.split(';')[0]!;
  const body = res.json<{ csrfToken: string; staff: { name: string; role: StaffRole } }>();
  return { staffId, name: body.staff.name || known.name, role: body.staff.role, pin, cookie, csrfToken: body.csrfToken, headers: { cookie, [CSRF_HEADER]: body.csrfToken } as StaffSession['headers'] };
}

/** An edge HTTP app with the staff feature (and `plugins` after it) on a migrated edge db. */
export function staffTestApp(db: Db, clock: Clock, opts: { plugins?: EdgeWebPlugin[]; ids?: Ids; forward?: (row: AuditLogRow) => void } = {}): { server: StatusServer; app: FastifyInstance; staff: StaffService; audit: AuditLog } {
  const audit = createAuditLog({ db, clock, ids: opts.ids ?? counterIds(), ...(opts.forward ? { forward: opts.forward } : {}) });
  const staff = createStaffService({ db, clock, audit });
  const status = (): EdgeStatus => ({ centreId: 'c-001', deviceId: 'door1', state: 'ok', problems: [], checkIns: { serviceDate: '2025-03-10', today: 0, total: 0 }, outboxPending: 0, mqtt: { connected: false, lastReceiptAt: null }, startedAt: clock.now().toISOString() });
  const server = new StatusServer({ port: 0, status, plugins: [...staffWebPlugins({ staff }), ...(opts.plugins ?? [])] });
  return { server, app: server.build(), staff, audit };
}
