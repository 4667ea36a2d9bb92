import { describe, expect, it } from 'vitest';
import { requestProblem, type CheckInRequest } from '../../edge/src/meals/check-in.ts';

describe('requestProblem', () => {
  const base: CheckInRequest = { elderId: 'E1', method: 'face' };
  it.each<[string, Partial<CheckInRequest>, RegExp | undefined]>([
    ['a bare request', {}, undefined],
    ['a full face request', { score: 0.31, cameraId: 'door-1', antispoof: 0.9 }, undefined],
    ['a manual request', { method: 'manual', staffId: 'S01' }, undefined],
    ['a delivery request', { method: 'delivery', staffId: 'S01' }, undefined],
    ['a proxy request', { method: 'proxy', staffId: 'S01', proxyName: '李明' }, undefined],
    ['a manual request without staff', { method: 'manual' }, /^a manual meal needs the id of the staff member who records it$/],
    ['a manual request with a face score', { method: 'manual', staffId: 'S01', score: 0.3 }, /has no face score/],
    ['a face request with a staff id', { staffId: 'S01' }, /face check-in carries no staff id/],
    ['a bad staff id', { method: 'delivery', staffId: 'S 1' }, /^invalid staff id "S 1"$/],
    ['a proxy request without a name', { method: 'proxy', staffId: 'S01' }, /needs the name of the person who collects it/],
    ['a proxy request with a blank name', { method: 'proxy', staffId: 'S01', proxyName: '  ' }, /needs the name/],
    ['a proxy name with spaces around', { method: 'proxy', staffId: 'S01', proxyName: ' 李明' }, /1-50 characters without leading or trailing spaces/],
    ['a proxy name too long', { method: 'proxy', staffId: 'S01', proxyName: '李'.repeat(51) }, /1-50 characters/],
    ['a collector named on a delivery', { method: 'delivery', staffId: 'S01', proxyName: '李明' }, /only a proxy meal names who collected it/],
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
