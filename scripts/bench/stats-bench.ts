/**
 * `npm run bench:stats -- [--store sqlite] [--days N] [--elders N] [--centres N] [--runs N] [--cache DIR] [--json]`:
 * makes a city-year once (scripts/bench/city-year.ts, cached), then measures the dashboard's
 * queries and the month settlement through the real app (buildApp + inject). The last line of
 * output is one JSON object: { store, meals, statsP95Ms, settlementMonthMs, queries: {...} }.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseOptions, runTool, type CommandSpec } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { buildApp } from '../../server/src/app.ts';
import { CITY_YEAR, centreIdOf, ensureCity } from './city-year.ts';
import { percentile } from './bench-stats.ts';

const BENCH = {
  usage: 'npm run bench:stats -- [--store sqlite] [--centres N] [--elders N] [--days N] [--runs N] [--cache DIR] [--json]',
  about: "Makes a city-year of data once (cached by generator version and size), then measures the dashboard's\nstatistics queries and the month settlement through the real server app. The last line is one JSON object.",
  options: {
    store: {
      flag: 'store',
      type: 'string',
      default: 'sqlite',
      arg: 'sqlite|postgres',
      check: (v: string) => (v === 'sqlite' ? undefined : v === 'postgres' ? 'the PostgreSQL store is not built yet (issue 15, item 1); only --store sqlite can be measured' : `expected sqlite or postgres, got "${v}"`),
      doc: 'the server store to measure',
    },
    centres: { flag: 'centres', type: 'int', default: CITY_YEAR.centres, min: 1, doc: 'centres in the city' },
    elders: { flag: 'elders', type: 'int', default: CITY_YEAR.elders, min: 1, doc: 'elders in the registry' },
    days: { flag: 'days', type: 'int', default: CITY_YEAR.days, min: 1, doc: `days of meals from ${CITY_YEAR.from}` },
    runs: { flag: 'runs', type: 'int', default: 20, min: 1, doc: 'repeats of each query (p95 over them)' },
    cache: { flag: 'cache', type: 'string', default: join(tmpdir(), 'mealcheck-bench'), arg: 'DIR', doc: 'folder of the generated databases' },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'progress on stderr, stdout only the JSON line' },
  },
} as const satisfies CommandSpec;

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2), BENCH);
  if ('help' in parsed) {
    console.log(parsed.help);
    return 0;
  }
  const o = parsed.options;
  const log = (s: string) => (o.json ? console.error(s) : console.log(s));
  const size = { centres: o.centres, elders: o.elders, days: o.days, from: CITY_YEAR.from };
  const { file, made } = ensureCity(o.cache, size, log);
  const db = new Database(file);
  const meals = (db.prepare('SELECT count(*) AS n FROM meals').get() as { n: number }).n;
  const last = (db.prepare('SELECT max(service_date) AS d FROM meals').get() as { d: string }).d;
  const month = last.slice(0, 7);
  const now = new Date(`${last}T12:00:00.000Z`);
  const token = 'bench-admin-token-0123456789abcdef';
  const app = await buildApp({ db, logger: createLogger('bench-stats', 'silent'), adminToken: token, clock: { now: () => now } });
  const from = `${month}-01`;
  const stats: Record<string, string> = {
    mealsByCentreDay: `/stats/meals?from=${from}&to=${last}&groupBy=centre,day`,
    summaryToday: `/stats/summary?from=${last}&to=${last}&groupBy=centre`,
    summaryMonth: `/stats/summary?from=${from}&to=${last}&groupBy=day`,
    health: '/stats/health',
    welfare: '/stats/welfare',
    settlementSummary: `/settlement/summary?month=${month}`,
  };
  const time = async (url: string) => {
    const t = performance.now();
    const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` } });
    const ms = performance.now() - t;
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return ms;
  };
  const queries: Record<string, { p50Ms: number; p95Ms: number }> = {};
  for (const [name, url] of Object.entries(stats)) {
    const t: number[] = [];
    for (let i = 0; i < o.runs; i++) t.push(await time(url));
    queries[name] = { p50Ms: round(percentile(t, 50)), p95Ms: round(percentile(t, 95)) };
    log(`${name}: p50 ${queries[name].p50Ms} ms, p95 ${queries[name].p95Ms} ms`);
  }
  const centre = await time(`/settlement?centreId=${centreIdOf(0)}&month=${month}`);
  const city = await time(`/settlement/summary?month=${month}`);
  await app.close();
  db.close();
  const out = {
    store: o.store,
    meals,
    month,
    statsP95Ms: Math.max(...Object.values(queries).map((q) => q.p95Ms)),
    settlementMonthMs: round(centre + city),
    settlementCentreMonthMs: round(centre),
    settlementCityMonthMs: round(city),
    queries,
    ...(made ? { generatedMeals: made.meals, generateSeconds: round(made.ms / 1000), generateMealsPerSecond: Math.round(made.meals / (made.ms / 1000)) } : {}),
  };
  console.log(JSON.stringify(out));
  return 0;
}
const round = (x: number) => Math.round(x * 10) / 10;

runTool('bench:stats', main);
