/** The README's main command, as a user runs it: `mealcheck demo --once --json`. */
import { describe, expect, it } from 'vitest';
import { mealcheck } from '../helpers/processes.ts';

describe('mealcheck demo', () => {
  it('enrols elders, checks them in from camera frames, records meals by hand and a void through the staff API, and the server counts exactly the meals that stand', async () => {
    const { code, stdout, stderr } = await mealcheck(['demo', '--once', '--json']);
    expect(code, stderr.slice(-3000)).toBe(0);
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]!) as Record<string, number | string>;
    expect(summary.checkIns).toBeGreaterThan(0);
    // One meal by hand, one delivered, one face check-in voided through the staff API.
    expect([summary.manual, summary.delivery, summary.voided]).toEqual([1, 1, 1]);
    expect(summary.meals).toBe((summary.checkIns as number) + (summary.manual as number) + (summary.delivery as number) - (summary.voided as number));
    // Every enrolled elder visits once (one comes back and must not get a second meal).
    expect(summary.checkIns).toBe(summary.enrolled);
    // Every stranger is seen, counted as unknown, and given no meal.
    expect(summary.unknown).toBe(summary.strangers);
    expect(summary.outboxPending).toBe(0);
    // The elders registered with consent reached the server's registry through the same outbox.
    expect(summary.registered).toBe(summary.enrolled);
    // The kiosk stream delivered one message per decision at the door to a real client.
    expect(summary.alreadyCheckedIn).toBeGreaterThan(0);
    expect(summary.kioskMessages).toBe((summary.checkIns as number) + (summary.alreadyCheckedIn as number) + (summary.unknown as number));
    // The month's settlement equals the meals that stand times their category's amount, counted
    // here from the edge's check-ins (not from the report): 低保 5.00, 高龄 3.00, none 0.
    const RATE_FEN: Record<string, number> = { 低保: 500, 高龄: 300 };
    const byElder = summary.mealsByElder as unknown as Array<{ elderId: string; category: string | null; meals: number }>;
    expect(byElder.reduce((n, x) => n + x.meals, 0)).toBe(summary.meals);
    expect(new Set(byElder.map((x) => x.category))).toEqual(new Set(['低保', '高龄', null]));
    const expectedFen = byElder.reduce((n, x) => n + x.meals * (RATE_FEN[x.category ?? ''] ?? 0), 0);
    expect(expectedFen).toBeGreaterThan(0);
    expect(summary.settlementYuan).toBe(expectedFen / 100);
    expect(stdout).toMatch(/kiosk page: {2}http:\/\/127\.0\.0\.1:\d+\/kiosk/);
    expect(stdout).toContain('签到成功');
    expect(stdout).toContain('本餐已签到');
    expect(stdout).toMatch(/total\s+\d+\s+1$/m);
    expect(stdout).toContain('staff DEMO01 (演示员) logged in on the edge');
    expect(stdout).toContain('face check-in voided');
  // Not a speed check: the demo's camera plays in real time (about a minute and a half alone) and
  // shares the 2 cores with another test file; under that load it has taken over 4 minutes.
  }, 480_000);
});
