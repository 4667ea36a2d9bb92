/**
 * The access matrix: every route of the built app (walked from its route table, so routes added
 * later are covered without touching this file, except for a sample request) called as each
 * role, by session, API token and the admin token, and with no or bad credentials, a disabled
 * user's session and an ended session; each answer is 401, 403 or 2xx as the route declares.
 * No answer to an analyst or a manager names another district's or centre's ids.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ElderRecord } from '../../common/contract.ts';
import { createRegistry } from '../../common/metrics.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { idNumberKeyOf } from '../../server/src/modules/elders/id-number-key.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createServerAuditRepository } from '../../server/src/modules/audit/server-audit.ts';
import { createSubsidyRuleRepository } from '../../server/src/modules/settlement/subsidy-rule-repository.ts';
import { createApiTokenRepository } from '../../server/src/modules/users/api-token-repository.ts';
import { SUMMARY_GROUPS } from '../../server/src/modules/stats/stats-summary.ts';
import type { DeclaredRoute, Role } from '../../server/src/plugins/auth.ts';
import { CENTRE_N1, CENTRE_N2, CENTRE_S1, NORTH, PASSWORD, ROLE_USERS, SOUTH, seedBureau, type BureauSeed } from '../helpers/bureau-users.ts';
import { batch, mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

const NOW = new Date('2025-03-20T04:00:00.000Z');
let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;
let seed: BureauSeed;
let n = 0;

interface Sample {
  url: string;
  payload?: unknown;
}
/**
 * One request per route that a caller allowed to make it gets a 2xx for. Functions, so each call
 * is fresh (a new id to create, a new token to revoke): the matrix calls each route many times.
 */
const SAMPLES: Record<string, () => Sample> = {
  'POST /api/v1/login': () => ({ url: '/api/v1/login', payload: { userId: 'u-sample', password: PASSWORD } }),
  'POST /api/v1/logout': () => ({ url: '/api/v1/logout' }),
  'GET /api/v1/me': () => ({ url: '/api/v1/me' }),
  'GET /api/v1/users': () => ({ url: '/api/v1/users' }),
  'POST /api/v1/users': () => ({ url: '/api/v1/users', payload: { userId: `u-new-${++n}`, displayName: '新用户', role: 'auditor', password: PASSWORD } }),
  'PUT /api/v1/users/:userId': () => ({ url: '/api/v1/users/u-spare', payload: { displayName: `备用 ${++n}` } }),
  'GET /api/v1/tokens': () => ({ url: '/api/v1/tokens' }),
  'POST /api/v1/tokens': () => ({ url: '/api/v1/tokens', payload: { userId: 'u-spare', name: `integration ${++n}` } }),
  'DELETE /api/v1/tokens/:tokenId': () => ({ url: `/api/v1/tokens/${createApiTokenRepository(db).add('u-spare', 'to revoke', 'test', NOW).apiToken.tokenId}` }),
  'GET /api/v1/audit': () => ({ url: '/api/v1/audit' }),
  'GET /api/v1/stats/meals': () => ({ url: '/api/v1/stats/meals?from=2025-03-01&to=2025-03-31' }),
  'GET /api/v1/stats/reviews': () => ({ url: '/api/v1/stats/reviews' }),
  'GET /api/v1/stats/clock-review': () => ({ url: '/api/v1/stats/clock-review' }),
  'GET /api/v1/stats/conflicts': () => ({ url: '/api/v1/stats/conflicts' }),
  'GET /api/v1/stats/voids': () => ({ url: '/api/v1/stats/voids?all=true' }),
  'GET /api/v1/stats/summary': () => ({ url: `/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&groupBy=${SUMMARY_GROUPS[++n % SUMMARY_GROUPS.length]}` }),
  'GET /api/v1/stats/health': () => ({ url: '/api/v1/stats/health' }),
  'GET /api/v1/stats/welfare': () => ({ url: '/api/v1/stats/welfare' }),
  'GET /api/v1/dead-letters': () => ({ url: '/api/v1/dead-letters' }),
  'DELETE /api/v1/dead-letters': () => ({ url: '/api/v1/dead-letters' }),
  'GET /api/v1/status': () => ({ url: '/api/v1/status' }),
  'GET /api/v1/centres': () => ({ url: '/api/v1/centres' }),
  'PUT /api/v1/centres/:centreId': () => ({ url: `/api/v1/centres/${CENTRE_N1}`, payload: { name: '北一照料中心' } }),
  'GET /api/v1/districts': () => ({ url: '/api/v1/districts' }),
  'POST /api/v1/districts': () => ({ url: '/api/v1/districts', payload: { districtId: `district-new-${++n}`, name: '新区' } }),
  'PUT /api/v1/districts/:districtId': () => ({ url: `/api/v1/districts/${NORTH}`, payload: { name: '北区' } }),
  'GET /api/v1/devices': () => ({ url: '/api/v1/devices' }),
  'POST /api/v1/devices': () => ({ url: '/api/v1/devices', payload: { centreId: CENTRE_N1, deviceId: `box-new-${++n}` } }),
  'DELETE /api/v1/devices/:centreId/:deviceId': () => {
    const deviceId = `box-gone-${++n}`;
    db.prepare("INSERT INTO device_credentials (centre_id, device_id, username, password_hash, mosquitto_hash, created_at) VALUES (?, ?, ?, 'x', 'x', '2025-03-01T00:00:00Z')").run(CENTRE_N1, deviceId, `${CENTRE_N1}/${deviceId}`);
    return { url: `/api/v1/devices/${CENTRE_N1}/${deviceId}` };
  },
  'GET /api/v1/months': () => ({ url: '/api/v1/months' }),
  'POST /api/v1/months/:month/close': () => ({ url: '/api/v1/months/2024-01/close' }),
  'GET /api/v1/elders': () => ({ url: '/api/v1/elders' }),
  'GET /metrics': () => ({ url: '/metrics' }),
  'GET /api/v1/reconciliation': () => ({ url: '/api/v1/reconciliation?month=2025-03' }),
  'GET /api/v1/centres/:centreId/elders': () => ({ url: `/api/v1/centres/${CENTRE_N1}/elders` }),
  'GET /api/v1/centres/:centreId/elders/:elderId/decisions': () => ({ url: `/api/v1/centres/${CENTRE_N1}/elders/elder-of-${CENTRE_N1}/decisions` }),
  'POST /api/v1/centres/:centreId/elders/:elderId/decisions': () => ({ url: `/api/v1/centres/${CENTRE_N1}/elders/elder-of-${CENTRE_N1}/decisions`, payload: { status: 'suspended', effectiveOn: '2025-03-11', reason: `住院 ${++n}` } }),
  'GET /api/v1/centres/:centreId/erasures': () => ({ url: `/api/v1/centres/${CENTRE_N1}/erasures` }),
  'POST /api/v1/centres/:centreId/erasures': () => {
    // One elder per call: a second erasure of one elder while the first is pending is a 409.
    const elderId = `elder-gone-${++n}`;
    createElderRegistryRepository(db).handler.apply(elder(CENTRE_N1, elderId), NOW);
    return { url: `/api/v1/centres/${CENTRE_N1}/erasures`, payload: { elderId, reason: '家属申请' } };
  },
  'GET /api/v1/categories': () => ({ url: '/api/v1/categories' }),
  'PUT /api/v1/categories/:code': () => ({ url: `/api/v1/categories/cat-${++n}`, payload: { name: `类别${n}` } }),
  'GET /api/v1/subsidy-rules': () => ({ url: '/api/v1/subsidy-rules' }),
  // A fresh category per rule: two rules of one category and meal may not overlap.
  'POST /api/v1/subsidy-rules': () => {
    const code = `cat-${++n}`;
    rulesRepo().setCategory({ code, name: `类别${n}` }, 'test', NOW);
    return { url: '/api/v1/subsidy-rules', payload: { category: code, meal: 'lunch', amountFen: 500, effectiveFrom: '2025-01-01' } };
  },
  'PATCH /api/v1/subsidy-rules/:id': () => ({ url: `/api/v1/subsidy-rules/${freshRule()}`, payload: { effectiveTo: '2025-12-31' } }),
  'DELETE /api/v1/subsidy-rules/:id': () => ({ url: `/api/v1/subsidy-rules/${freshRule()}` }),
  'GET /api/v1/centres/:centreId/subsidy-rules': () => ({ url: `/api/v1/centres/${CENTRE_N1}/subsidy-rules?date=2025-03-01` }),
  'POST /api/v1/settlement/adjustments': () => ({ url: '/api/v1/settlement/adjustments', payload: { centreId: CENTRE_N1, month: '2025-03', amountFen: 100, reason: `补贴更正 ${++n}` } }),
  'GET /api/v1/settlement': () => ({ url: `/api/v1/settlement?centreId=${CENTRE_N1}&month=2025-03` }),
  'GET /api/v1/settlement/summary': () => ({ url: '/api/v1/settlement/summary?month=2025-03' }),
  'GET /bureau/settlement': () => ({ url: `/bureau/settlement?centreId=${CENTRE_N1}&month=2025-03` }),
  'GET /bureau/settlement/summary': () => ({ url: '/bureau/settlement/summary?month=2025-03' }),
  'GET /api/v1/centres/:centreId/config': () => ({ url: `/api/v1/centres/${CENTRE_N1}/config` }),
  'GET /openapi.json': () => ({ url: '/openapi.json' }),
  'GET /bureau/': () => ({ url: '/bureau/' }),
  'GET /bureau/registry': () => ({ url: '/bureau/registry' }),
  'GET /bureau/erasures': () => ({ url: '/bureau/erasures' }),
  'GET /bureau/users': () => ({ url: '/bureau/users' }),
  'GET /bureau/audit': () => ({ url: '/bureau/audit' }),
};

const rulesRepo = () => createSubsidyRuleRepository(db, createServerAuditRepository(db));
function freshRule(): number {
  const code = `cat-${++n}`;
  rulesRepo().setCategory({ code, name: `类别${n}` }, 'test', NOW);
  return rulesRepo().addRule({ category: code, meal: 'dinner', amountFen: 300, effectiveFrom: '2025-01-01' } as never, 'test', NOW).id;
}

function sampleFor(r: DeclaredRoute): Sample {
  const make = SAMPLES[`${r.method} ${r.url}`];
  if (!make) throw new Error(`no sample request for ${r.method} ${r.url}: add one to SAMPLES in test/integration/server-access.test.ts (a request a caller allowed to make it gets a 2xx for)`);
  return make();
}

let elderN = 0;
function elder(centreId: string, elderId: string): ElderRecord {
  elderN++;
  return {
    type: 'elder',
    eventId: `01900000-0000-7000-8000-${elderN.toString(16).padStart(12, '0')}`,
    centreId,
    deviceId: `box-${centreId}`,
    at: '2025-03-10T02:00:00.000Z',
    elderId,
    revision: 1,
    removed: false,
    change: 'created',
    name: '王秀英',
    idNumberSealed: idNumberKeyOf(db).seal('11010519491231002X'),
    category: '特困',
    status: 'active',
  } as ElderRecord;
}

beforeAll(async () => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  seed = await seedBureau(db, NOW);
  await seed.users.add({ userId: 'u-sample', displayName: '登录样例', role: 'auditor', password: PASSWORD }, NOW);
  await seed.users.add({ userId: 'u-spare', displayName: '备用', role: 'auditor', password: PASSWORD }, NOW);
  await seed.users.add({ userId: 'u-disabled', displayName: '停用', role: 'admin', password: PASSWORD }, NOW);
  const meals = createMealRepository(db);
  const devices = createDeviceRepository(db);
  const registry = createElderRegistryRepository(db);
  for (const c of [CENTRE_N1, CENTRE_N2, CENTRE_S1]) {
    const e = mealEvent({ centreId: c, deviceId: `box-${c}`, elderId: `elder-of-${c}`, serviceDate: '2025-03-10' });
    meals.ingest(batch(e), c, e.deviceId, NOW);
    // One kept for review too (outside every window), so /stats/reviews has rows of each centre.
    const r = mealEvent({ centreId: c, deviceId: `box-${c}`, elderId: `elder-of-${c}`, serviceDate: '2025-03-10', at: '2025-03-10T23:00:00.000+08:00' });
    meals.ingest(batch(r), c, r.deviceId, NOW);
    devices.seen(c, `box-${c}`, NOW);
    registry.handler.apply(elder(c, `elder-of-${c}`), NOW);
    // A regular (8 lunches in February) not seen since: on the welfare list of their centre only
    // (not in the registry, so GET /elders stays as it was: no name).
    for (let d = 21; d <= 28; d++) {
      const m = mealEvent({ centreId: c, deviceId: `box-${c}`, elderId: `regular-of-${c}`, serviceDate: `2025-02-${d}` });
      meals.ingest(batch(m), c, m.deviceId, NOW);
    }
  }
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN, clock: { now: () => NOW }, metrics: createRegistry('mealcheck_test_') });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

const routes = () => app.routeAccess.filter((r) => r.method !== 'HEAD');

type Caller = { name: string; role: Role | null; headers: () => Record<string, string>; expect?: 401 };
const callers = (): Caller[] => [
  { name: 'no credentials', role: null, headers: () => ({}), expect: 401 },
  { name: 'a bad bearer token', role: null, headers: () => ({ authorization: 'Bearer mct_not-a-token-at-all-000000' }), expect: 401 },
  { name: 'a made-up session cookie', role: null, headers: () => ({ cookie: 'mealcheck_session=nope' }), expect: 401 },
  { name: "a disabled user's session", role: null, headers: () => seed.sessionHeaders('u-disabled', NOW), expect: 401 },
  { name: 'an idle session (13 h unused)', role: null, headers: () => seed.sessionHeaders(ROLE_USERS.admin, new Date(NOW.getTime() - 13 * 3_600_000)), expect: 401 },
  { name: 'a session past 7 days', role: null, headers: () => seed.sessionHeaders(ROLE_USERS.admin, new Date(NOW.getTime() - 8 * 86_400_000)), expect: 401 },
  { name: 'the admin token', role: 'admin', headers: () => ({ authorization: `Bearer ${TEST_TOKEN}` }) },
  ...(['admin', 'analyst', 'manager', 'auditor'] as const).flatMap((role): Caller[] => [
    { name: `${role} session`, role, headers: () => seed.sessionHeaders(ROLE_USERS[role], NOW) },
    { name: `${role} API token`, role, headers: () => seed.tokenHeaders(ROLE_USERS[role], NOW) },
  ]),
];

/** Ids an analyst of the north district, or the manager of centre-north-1, must never see. */
const FORBIDDEN: Partial<Record<Role, string[]>> = {
  analyst: [CENTRE_S1, SOUTH, `elder-of-${CENTRE_S1}`, `regular-of-${CENTRE_S1}`, `box-${CENTRE_S1}`],
  manager: [CENTRE_N2, CENTRE_S1, SOUTH, `elder-of-${CENTRE_N2}`, `elder-of-${CENTRE_S1}`, `regular-of-${CENTRE_N2}`, `regular-of-${CENTRE_S1}`, `box-${CENTRE_N2}`],
};

describe('the access matrix', () => {
  beforeAll(async () => {
    // Disabled after its sessions may exist: they must stop working at once.
    await seed.users.update('u-disabled', { disabled: true }, NOW);
  });

  it('covers the routes this test knows of, and every route has a sample', () => {
    const missing = routes().filter((r) => !SAMPLES[`${r.method} ${r.url}`]).map((r) => `${r.method} ${r.url}`);
    expect(missing, 'add a sample request to SAMPLES for each of these routes').toEqual([]);
    expect(routes().length).toBeGreaterThanOrEqual(Object.keys(SAMPLES).length);
  });

  it('answers each route x caller as declared, and leaks no other centre to a scoped role', async () => {
    const failures: string[] = [];
    let calls = 0;
    for (const route of routes()) {
      for (const caller of callers()) {
        const sample = sampleFor(route);
        const res = await app.inject({ method: route.method as 'GET', url: sample.url, headers: caller.headers(), ...(sample.payload !== undefined ? { payload: sample.payload as object } : {}) });
        calls++;
        const isPublic = 'public' in route.access;
        const allowed = isPublic || (caller.role !== null && 'roles' in route.access && route.access.roles.includes(caller.role));
        // A page (server/src/web/) sends a browser without a live session to sign in instead of a 401.
        const isPage = 'page' in route.access && route.access.page === true;
        const want = isPublic ? '2xx' : caller.expect === 401 && isPage ? 303 : caller.expect ?? (allowed ? '2xx' : 403);
        const ok = want === '2xx' ? res.statusCode >= 200 && res.statusCode < 300 : res.statusCode === want;
        if (!ok) failures.push(`${route.method} ${route.url} as ${caller.name}: ${res.statusCode}, expected ${want}: ${res.body.slice(0, 160)}`);
        const forbidden = caller.role ? FORBIDDEN[caller.role] : undefined;
        if (forbidden && res.statusCode < 300) {
          for (const id of forbidden) if (res.body.includes(`"${id}"`)) failures.push(`${route.method} ${route.url} as ${caller.name} shows ${id}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(300);
  });

  it('shows a scoped role its own centres (the filter is not just empty answers)', async () => {
    const analyst = seed.sessionHeaders(ROLE_USERS.analyst, NOW);
    const stats = (await app.inject({ method: 'GET', url: '/api/v1/stats/meals?from=2025-03-01&to=2025-03-31&groupBy=centre', headers: analyst })).json();
    expect(stats.rows).toEqual([
      { centreId: CENTRE_N1, meals: 1, voided: 0 },
      { centreId: CENTRE_N2, meals: 1, voided: 0 },
    ]);
    const manager = seed.tokenHeaders(ROLE_USERS.manager, NOW);
    const elders = (await app.inject({ method: 'GET', url: '/api/v1/elders', headers: manager })).json();
    // (the erasure samples of the matrix register elders `elder-gone-N` at this centre too)
    expect(elders.elders.map((e: { elderId: string }) => e.elderId).filter((id: string) => !id.startsWith('elder-gone-'))).toEqual([`elder-of-${CENTRE_N1}`]);
    expect(elders.elders.every((e: { centreId: string }) => e.centreId === CENTRE_N1)).toBe(true);
    const admin = { authorization: `Bearer ${TEST_TOKEN}` };
    const all = (await app.inject({ method: 'GET', url: '/api/v1/stats/meals?from=2025-03-01&to=2025-03-31&groupBy=centre', headers: admin })).json();
    expect(all.total).toBe(3);
  });

  it('gives a scoped role the summary, health and welfare of its own centres only', async () => {
    const get = async (url: string, headers: Record<string, string>) => (await app.inject({ method: 'GET', url, headers })).json();
    const analyst = seed.sessionHeaders(ROLE_USERS.analyst, NOW);
    const byDistrict = await get('/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&groupBy=district', analyst);
    expect(byDistrict.rows.map((r: { key: string; label: string; meals: number }) => [r.key, r.label, r.meals])).toEqual([[NORTH, '北区', 2]]);
    // The previous period (February) holds the regulars' 8 lunches per centre.
    expect(byDistrict.totals).toMatchObject({ meals: 2, distinctElders: 2, previous: { meals: 16, distinctElders: 2 }, change: { meals: -14 } });
    const south = await app.inject({ method: 'GET', url: `/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&districtId=${SOUTH}`, headers: analyst });
    expect(south.statusCode).toBe(403);
    const health = await get('/api/v1/stats/health', analyst);
    expect(health.centres.map((c: { centreId: string }) => c.centreId)).toEqual([CENTRE_N1, CENTRE_N2]);
    const manager = seed.tokenHeaders(ROLE_USERS.manager, NOW);
    const welfare = await get('/api/v1/stats/welfare', manager);
    expect(welfare.elders).toEqual([{ centreId: CENTRE_N1, centreName: '北一照料中心', elderId: `regular-of-${CENTRE_N1}`, name: null, phone: null, lastMealDate: '2025-02-28', daysAbsent: 20, mealsInWindow: 8 }]);
    expect((await get('/api/v1/stats/welfare', { authorization: `Bearer ${TEST_TOKEN}` })).total).toBe(3);
  });

  it("refuses a scoped role another centre's id in a param or query with 403", async () => {
    const manager = seed.sessionHeaders(ROLE_USERS.manager, NOW);
    const res = await app.inject({ method: 'GET', url: `/api/v1/elders?centreId=${CENTRE_N2}`, headers: manager });
    expect(res.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/api/v1/devices?centreId=${CENTRE_S1}`, headers: seed.tokenHeaders(ROLE_USERS.analyst, NOW) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/api/v1/devices?centreId=${CENTRE_N2}`, headers: seed.tokenHeaders(ROLE_USERS.analyst, NOW) })).statusCode).toBe(200);
  });

  it('gives full ID numbers to the admin only', async () => {
    const auditor = seed.sessionHeaders(ROLE_USERS.auditor, NOW);
    expect((await app.inject({ method: 'GET', url: '/api/v1/elders?idNumbers=full', headers: auditor })).statusCode).toBe(403);
    const masked = (await app.inject({ method: 'GET', url: '/api/v1/elders', headers: auditor })).json();
    expect(masked.elders[0].idNumber).not.toContain('110105');
    const full = (await app.inject({ method: 'GET', url: '/api/v1/elders?idNumbers=full', headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json();
    expect(full.elders[0].idNumber).toBe('11010519491231002X');
  });
});
