import { describe, expect, it } from 'vitest';
import { requestProblem, type CheckInRequest } from '../../edge/src/meals/check-in.ts';

describe('requestProblem', () => {
  const base: CheckInRequest = { elderId: 'E1', method: 'face' };
  it.each<[string, Partial<CheckInRequest>, RegExp | undefined]>([
    ['a bare request', {}, undefined],
    ['a full face request', { score: 0.31, cameraId: 'door-1', antispoof: 0.9 }, undefined],
    ['a manual request', { method: 'manual' }, undefined],
    ['score 0 and 10, antispoof 0 and 1 (the bounds)', { score: 0, antispoof: 1 }, undefined],
    ['score 10', { score: 10, antispoof: 0 }, undefined],
    ['a camera id with a space', { cameraId: 'a b' }, /^invalid camera id "a b"$/],
    ['an empty camera id', { cameraId: '' }, /invalid camera id/],
    ['a NaN score', { score: Number.NaN }, /^invalid score NaN$/],
    ['a negative score', { score: -0.1 }, /invalid score/],
    ['an infinite score', { score: Number.POSITIVE_INFINITY }, /invalid score/],
    ['a score above 10', { score: 10.5 }, /invalid score/],
    ['an antispoof above 1', { antispoof: 1.2 }, /^invalid antispoof 1.2$/],
    ['a NaN antispoof', { antispoof: Number.NaN }, /invalid antispoof/],
  ])('%s', (_name, change, problem) => {
    const p = requestProblem({ ...base, ...change });
    if (problem) expect(p).toMatch(problem);
    else expect(p).toBeUndefined();
  });
});
