import type { FastifyInstance } from 'fastify';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { resolveAdminToken, tokenMatches } from '../../server/src/plugins/auth.ts';
import { batch, mealEvent, openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

beforeEach(async () => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN });
});
afterEach(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

const statsUrl = (qs: string) => `/api/v1/stats/meals?${qs}`;

describe('auth', () => {
  it('answers /health without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it.each([
    ['no header', {}, 'missing Authorization'],
    ['wrong token', { authorization: 'Bearer nope-nope-nope-nope-nope' }, 'invalid bearer token'],
    ['token as basic auth', { authorization: `Basic ${TEST_TOKEN}` }, 'invalid bearer token'],
    ['token with a suffix', { authorization: `Bearer ${TEST_TOKEN}x` }, 'invalid bearer token'],
    ['empty bearer', { authorization: 'Bearer ' }, 'invalid bearer token'],
  ])('401 with %s', async (_name, headers, message) => {
    const res = await app.inject({ method: 'GET', url: statsUrl('from=2025-03-01&to=2025-03-31'), headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(res.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringContaining(message) });
  });

  it('401 before 404 on unknown /api paths, 404 with the token', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/nothing' })).statusCode).toBe(401);
    const res = await app.inject({ method: 'GET', url: '/api/v1/nothing', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('compares tokens exactly', () => {
    expect(tokenMatches(TEST_TOKEN, TEST_TOKEN)).toBe(true);
    expect(tokenMatches(TEST_TOKEN.slice(0, -1), TEST_TOKEN)).toBe(false);
  });
});

describe('admin token', () => {
  it('is generated once into <data>/admin-token (0600) and reused', () => {
    const first = resolveAdminToken(undefined, tmp.dir);
    expect(first.generated).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    const file = join(tmp.dir, 'admin-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveAdminToken(undefined, tmp.dir)).toEqual({ token: first.token, generated: false, file });
  });

  it('comes from the settings when given, and must be long enough', () => {
    expect(resolveAdminToken(TEST_TOKEN, tmp.dir)).toEqual({ token: TEST_TOKEN, generated: false });
    expect(() => resolveAdminToken('short', tmp.dir)).toThrow(/at least 16 characters/);
  });
});

describe('GET /api/v1/stats/meals', () => {
  beforeEach(() => {
    const meals = createMealRepository(db);
    // After the last of those meals: the server keeps an event from ahead of its clock for review.
    const now = new Date('2025-03-11T12:00:00.000Z');
    for (const e of [
      mealEvent({ centreId: 'c1', elderId: 'e1', serviceDate: '2025-03-10', meal: 'lunch' }),
      mealEvent({ centreId: 'c1', elderId: 'e2', serviceDate: '2025-03-10', meal: 'lunch' }),
      mealEvent({ centreId: 'c1', elderId: 'e1', serviceDate: '2025-03-10', meal: 'breakfast' }),
      mealEvent({ centreId: 'c2', elderId: 'e3', serviceDate: '2025-03-11', meal: 'dinner' }),
    ]) {
      meals.ingest(batch(e), e.centreId, e.deviceId, now);
    }
  });

  it('counts per centre, day and meal by default', async () => {
    const res = await app.inject({ method: 'GET', url: statsUrl('from=2025-03-01&to=2025-03-31'), headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      from: '2025-03-01',
      to: '2025-03-31',
      groupBy: ['centre', 'day', 'meal'],
      rows: [
        { centreId: 'c1', day: '2025-03-10', meal: 'breakfast', meals: 1, voided: 0 },
        { centreId: 'c1', day: '2025-03-10', meal: 'lunch', meals: 2, voided: 0 },
        { centreId: 'c2', day: '2025-03-11', meal: 'dinner', meals: 1, voided: 0 },
      ],
      total: 4,
      voided: 0,
      clockFlagged: 0,
      clockReview: 0,
    });
  });

  it('groups by the subset asked for', async () => {
    const res = await app.inject({ method: 'GET', url: statsUrl('from=2025-03-10&to=2025-03-10&groupBy=meal,centre'), headers: auth });
    expect(res.json()).toEqual({
      from: '2025-03-10',
      to: '2025-03-10',
      groupBy: ['centre', 'meal'],
      rows: [
        { centreId: 'c1', meal: 'breakfast', meals: 1, voided: 0 },
        { centreId: 'c1', meal: 'lunch', meals: 2, voided: 0 },
      ],
      total: 3,
      voided: 0,
      clockFlagged: 0,
      clockReview: 0,
    });
    const none = await app.inject({ method: 'GET', url: statsUrl('from=2025-03-10&to=2025-03-11&groupBy='), headers: auth });
    expect(none.json()).toMatchObject({ groupBy: [], rows: [{ meals: 4, voided: 0 }], total: 4 });
  });

  it.each([
    ['from=2025-03-01', /to/],
    ['to=2025-03-01', /from/],
    ['from=2025-3-1&to=2025-03-31', /from/],
    ['from=2025-02-30&to=2025-03-31', /from must be a calendar date/],
    ['from=2025-03-31&to=2025-03-01', /to \(2025-03-01\) is before from \(2025-03-31\)/],
    ['from=2025-03-01&to=2025-03-31&groupBy=centre,elder', /groupBy: unknown "elder"/],
    ['from=2025-03-01&to=2025-03-31&groupBy=' + 'x'.repeat(200), /groupBy/],
    ['from=2025-03-01&from=2025-03-02&to=2025-03-31', /from/],
    ['from=2025-03-01&to=2025-03-31&groupby=meal', /unknown query parameter "groupby" \(allowed: from, to, groupBy\)/],
  ])('400 on %s', async (qs, message) => {
    const res = await app.inject({ method: 'GET', url: statsUrl(qs), headers: auth });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ statusCode: number; error: string; message: string }>();
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toMatch(message);
  });

  it('hides the message of a 5xx', async () => {
    db.exec('DROP TABLE meals');
    const res = await app.inject({ method: 'GET', url: statsUrl('from=2025-03-01&to=2025-03-31&groupBy=day'), headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' });
  });
});
