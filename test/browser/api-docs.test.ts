/**
 * The API docs page in real Chromium, served by the real server on a port: Swagger UI renders
 * every operation of /openapi.json, and the page asks nothing of any other host (it must work
 * on a bureau network without internet).
 */
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

let browser: Browser;
let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  browser = await launchChromium();
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  db?.close();
  tmp?.cleanup();
});

describe('the API docs page in Chromium', () => {
  it('renders every operation and loads nothing from another host', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: TABLET.height } })).newPage();
    const requested: string[] = [];
    const failed: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('.opblock').count()).toBe(operations);
    await expect.poll(() => page.locator('.info .title').textContent()).toContain('mealcheck server API');
    // The security schemes are offered (the "Authorize" button).
    expect(await page.locator('.auth-wrapper .authorize').count()).toBe(1);
    const offSite = requested.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith('data:'));
    expect(offSite).toEqual([]);
    expect(requested).toContain(`${base}/docs/json`);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
