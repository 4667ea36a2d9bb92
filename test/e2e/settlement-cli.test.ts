/** `mealcheck category|rule` as an operator runs them, on a server data folder. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mealcheck } from '../helpers/processes.ts';
import { tempDir } from '../helpers/server-fixtures.ts';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('mealcheck category and rule', () => {
  it('adds categories and rules in yuan, refuses an overlap naming the rule, ends a rule, lists them', async () => {
    const data = ['--data', tmp.dir];
    expect((await mealcheck(['category', 'set', '--code', 'low-income', '--name', '低保', ...data])).stdout).toContain('category low-income 低保 added');
    expect((await mealcheck(['category', 'list', ...data])).stdout).toMatch(/^low-income\t低保$/m);
    const add = await mealcheck(['rule', 'add', '--category', 'low-income', '--meal', 'lunch', '--amount', '5', '--from', '2025-01-01', '--max-per-day', '1', ...data]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('rule 1 added: low-income lunch 5.00 yuan, 2025-01-01 to open');
    const overlap = await mealcheck(['rule', 'add', '--category', 'low-income', '--meal', 'any', '--amount', '5.50', '--from', '2025-02-01', ...data]);
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toContain('overlaps rule 1 (low-income, lunch, 2025-01-01 to open)');
    const badAmount = await mealcheck(['rule', 'add', '--category', 'low-income', '--meal', 'any', '--amount', '5.555', '--from', '2025-02-01', ...data]);
    expect(badAmount.code).toBe(2);
    expect(badAmount.stderr).toContain('"5.555" is not an amount in yuan');
    expect((await mealcheck(['rule', 'end', '--id', '1', '--to', '2025-01-31', ...data])).stdout).toContain('rule 1: 2025-01-01 to 2025-01-31');
    expect((await mealcheck(['rule', 'add', '--category', 'low-income', '--meal', 'any', '--amount', '5.50', '--from', '2025-02-01', '--max-yuan-per-month', '100', ...data])).code).toBe(0);
    const list = (await mealcheck(['rule', 'list', ...data])).stdout;
    expect(list).toMatch(/^1\tlow-income\tlunch\t5\.00\t2025-01-01\t2025-01-31\t1\/day$/m);
    expect(list).toMatch(/^2\tlow-income\tany\t5\.50\t2025-02-01\topen\t100\.00 yuan\/month$/m);
  }, 60_000);
});
