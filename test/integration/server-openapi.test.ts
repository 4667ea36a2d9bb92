/**
 * The OpenAPI document at GET /openapi.json: every route the app registered (its route table,
 * as the access matrix walks it) is in it with its method, a description, a tag and a response
 * schema per status, and its security follows its access declaration. The /docs page is HTML
 * whose scripts and styles all come from this server.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../common/metrics.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { SECURITY, TAGS } from '../../server/src/plugins/openapi.ts';
import { openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: FastifyInstance;

interface Operation {
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; tags: { name: string }[]; components: { securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> } };

beforeAll(async () => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN, metrics: createRegistry('mealcheck_test_') });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  db.close();
  tmp.cleanup();
});

/** `/api/v1/centres/:centreId` as OpenAPI writes it: `/api/v1/centres/{centreId}`. */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

async function doc(): Promise<Doc> {
  // No credentials: the document is public.
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.json() as Doc;
}

describe('GET /openapi.json', () => {
  it('is OpenAPI 3 with both security schemes and a tag per module', async () => {
    const d = await doc();
    expect(d.openapi).toMatch(/^3\./);
    expect(d.components.securitySchemes[SECURITY.session]).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'mealcheck_session' });
    expect(d.components.securitySchemes[SECURITY.bearer]).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(d.tags.map((t) => t.name)).toEqual(Object.values(TAGS).map((t) => t.name));
  });

  it('lists every registered route with its method, a description, a known tag and response schemas', async () => {
    const d = await doc();
    const declared = app.routeAccess.filter((r) => r.method !== 'HEAD');
    // Every /api route is declared (the app refuses to start otherwise): this is all of them.
    expect(declared.filter((r) => r.url.startsWith('/api/')).length).toBeGreaterThan(40);
    const tagNames = new Set(d.tags.map((t) => t.name));
    const problems: string[] = [];
    for (const r of declared) {
      const op = d.paths[openapiPath(r.url)]?.[r.method.toLowerCase()];
      const name = `${r.method} ${r.url}`;
      if (!op) {
        problems.push(`${name}: missing`);
        continue;
      }
      // The text before the access sentence the generator appends must say what the route does.
      const own = (op.description ?? '').replace(/\s*(Roles: .*|Public: no credentials needed\.)$/, '');
      if (own.replace(/\.$/, '').trim().length < 10) problems.push(`${name}: no description`);
      if (!op.tags?.length || !op.tags.every((t) => tagNames.has(t))) problems.push(`${name}: tags ${JSON.stringify(op.tags)}`);
      const codes = Object.keys(op.responses ?? {});
      if (!codes.some((c) => c.startsWith('2'))) problems.push(`${name}: no 2xx response`);
      for (const c of codes) {
        const content = op.responses?.[c]?.content;
        if (!content || !Object.values(content).every((m) => m.schema && typeof m.schema === 'object')) problems.push(`${name}: response ${c} has no schema`);
      }
      if ('public' in r.access) {
        if (op.security?.length !== 0) problems.push(`${name}: public but security ${JSON.stringify(op.security)}`);
      } else {
        expect(op.security, name).toEqual([{ [SECURITY.session]: [] }, { [SECURITY.bearer]: [] }]);
        for (const role of r.access.roles) if (!op.description?.includes(role)) problems.push(`${name}: description does not name role ${role}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has the routes of the documents themselves, but not the docs page\'s static files', async () => {
    const d = await doc();
    expect(d.paths['/openapi.json']?.get?.security).toEqual([]);
    expect(Object.keys(d.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
    // The guarded routes' error replies are described too.
    expect(d.paths['/api/v1/users']?.get?.responses?.['401']?.content?.['application/json']?.schema).toMatchObject({ type: 'object' });
    expect(d.paths['/api/v1/centres/{centreId}']?.put?.tags).toEqual(['centres']);
  });
});

describe('/docs', () => {
  it('is an HTML page whose scripts and styles are this server\'s own', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const refs = [...res.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(ref, 'a relative URL').toMatch(/^\.\//);
      const asset = await app.inject({ method: 'GET', url: `/docs/${ref.slice(2)}` });
      expect(asset.statusCode, ref).toBe(200);
      // No asset reaches off the server for more (a CDN font, the online validator).
      if (/\.(css|js)$/.test(ref) && !ref.includes('bundle')) expect(asset.body, ref).not.toMatch(/(?:url\(|src=|import )["']?https?:\/\//);
    }
    const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain('validatorUrl: null');
    expect((await app.inject({ method: 'GET', url: '/docs/json' })).json().openapi).toMatch(/^3\./);
  });
});
