/** The benchmark's city generator on a tiny size: counts, categories, every meal inside its window. */
import { describe, expect, it } from 'vitest';
import { CATEGORIES, createCityDb, generateCity, WINDOWS } from '../../scripts/bench/city-year.ts';

describe('city-year generator', () => {
  const db = createCityDb(':memory:');
  const made = generateCity(db, { centres: 3, elders: 30, days: 10, from: '2026-03-02' });
  const one = <T>(sql: string) => db.prepare(sql).get() as T;

  it('makes the centres, districts, registry, categories and rules asked for', () => {
    expect(one<{ n: number }>('SELECT count(*) AS n FROM centres').n).toBe(3);
    expect(one<{ n: number }>('SELECT count(*) AS n FROM centres WHERE district_id IN (SELECT district_id FROM districts)').n).toBe(3);
    expect(one<{ n: number }>('SELECT count(*) AS n FROM elder_registry').n).toBe(30);
    expect(one<{ n: number }>('SELECT count(DISTINCT centre_id) AS n FROM elder_registry').n).toBe(3);
    const names = (db.prepare('SELECT DISTINCT category FROM elder_registry').all() as Array<{ category: string }>).map((r) => r.category);
    for (const n of names) expect(CATEGORIES.map((k) => k.name)).toContain(n);
    expect(one<{ n: number }>('SELECT count(*) AS n FROM subsidy_rules').n).toBeGreaterThan(0);
  });

  it('makes meals over exactly the days asked, one per elder and window at most, most elders lunching on weekdays', () => {
    expect(one<{ n: number }>('SELECT count(*) AS n FROM meals').n).toBe(made.meals);
    expect(one<{ a: string; b: string; d: number }>('SELECT min(service_date) AS a, max(service_date) AS b, count(DISTINCT service_date) AS d FROM meals')).toEqual({ a: '2026-03-02', b: '2026-03-11', d: 10 });
    // 2026-03-02 is a Monday.
    const lunch = one<{ n: number }>("SELECT count(*) AS n FROM meals WHERE meal = 'lunch' AND service_date = '2026-03-02'").n;
    expect(lunch).toBeGreaterThan(30 * 0.5);
    expect(made.meals).toBeLessThanOrEqual(30 * 10 * 3);
  });

  it('puts every meal inside its local window (UTC+8) on its service date', () => {
    const rows = db.prepare('SELECT service_date, meal, at, method, score FROM meals UNION ALL SELECT service_date, meal, at, method, score FROM voided_meals').all() as Array<{ service_date: string; meal: string; at: string; method: string; score: number | null }>;
    for (const r of rows) {
      const local = new Date(Date.parse(r.at) + 8 * 3_600_000);
      expect(local.toISOString().slice(0, 10)).toBe(r.service_date);
      const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
      const w = WINDOWS.find(([m]) => m === r.meal)!;
      expect(minute).toBeGreaterThanOrEqual(w[1]);
      expect(minute).toBeLessThan(w[2]);
      expect(['face', 'manual', 'delivery', 'proxy']).toContain(r.method);
      expect(r.score === null).toBe(r.method !== 'face');
    }
  });

  it('keeps voids and duplicates tied to their meals', () => {
    expect(one<{ n: number }>('SELECT count(*) AS n FROM voided_meals').n).toBe(made.voids);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM meal_voids WHERE state = 'applied' AND voids IN (SELECT event_id FROM voided_meals)").n).toBe(made.voids);
    expect(one<{ n: number }>('SELECT count(*) AS n FROM duplicate_attempts WHERE original_event_id NOT IN (SELECT event_id FROM meals)').n).toBe(0);
  });
});
