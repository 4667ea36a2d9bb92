import { describe, expect, it } from 'vitest';
import type { MatchResult } from '../../edge/src/recognition/matcher.ts';
import { DEFAULT_VOTER_OPTIONS, decide, medianOf, Voter, type Vote } from '../../edge/src/recognition/voter.ts';

const rec = (elderId: string, distance = 0.3, faceSize = 120): Vote => ({ match: { kind: 'recognised', elderId, distance }, faceSize });
/** A recognised vote with an anti-spoof score. */
const live = (elderId: string, antispoof: number, distance = 0.3): Vote => ({ ...rec(elderId, distance), antispoof });
const unk = (reason: Extract<MatchResult, { kind: 'unknown' }>['reason'], bestElderId?: string, distance?: number, faceSize = 120): Vote => ({
  match: { kind: 'unknown', reason, ...(bestElderId ? { bestElderId } : {}), ...(distance !== undefined ? { distance } : {}) },
  faceSize,
});

describe('decide', () => {
  // The multi-frame rule on its own; the strong single-frame path is tested below.
  const o = { ...DEFAULT_VOTER_OPTIONS, strongDistance: 0 };
  it('defaults: 2 agreeing votes, 5 attempts, a single frame at distance <= 0.34 decides', () => {
    expect(DEFAULT_VOTER_OPTIONS.minAgreeing).toBe(2);
    expect(DEFAULT_VOTER_OPTIONS.maxAttempts).toBe(5);
    expect(DEFAULT_VOTER_OPTIONS.strongDistance).toBe(0.34);
  });

  it.each<{ name: string; votes: Vote[]; want: Partial<NonNullable<ReturnType<typeof decide>>> | null }>([
    { name: 'a strong first frame decides alone', votes: [rec('a', 0.34)], want: { kind: 'recognised', elderId: 'a', agreeing: 1, votes: 1 } },
    { name: 'a frame just above the strong distance waits', votes: [rec('a', 0.341)], want: null },
    { name: 'a strong frame after an unknown frame decides', votes: [unk('above-threshold', 'a', 0.5), rec('a', 0.2)], want: { kind: 'recognised', elderId: 'a', agreeing: 1, votes: 2 } },
    { name: 'a strong frame does not override a frame that named someone else', votes: [rec('b', 0.45), rec('a', 0.2)], want: null },
    { name: 'a strong earlier frame does not decide a later disagreement', votes: [rec('a', 0.2), rec('b', 0.45)], want: null },
  ])('strong path: $name', ({ votes, want }) => {
    const got = decide(votes, DEFAULT_VOTER_OPTIONS);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatchObject(want);
  });

  it.each<{ name: string; votes: Vote[]; want: ReturnType<typeof decide> | Partial<NonNullable<ReturnType<typeof decide>>> }>([
    { name: 'no votes', votes: [], want: null },
    { name: 'one vote is never enough', votes: [rec('a')], want: null },
    { name: 'two agreeing votes', votes: [rec('a', 0.3), rec('a', 0.4)], want: { kind: 'recognised', elderId: 'a', agreeing: 2, votes: 2 } },
    { name: 'agreement after an unknown frame', votes: [unk('above-threshold', 'a', 0.5), rec('a'), rec('a')], want: { kind: 'recognised', elderId: 'a', agreeing: 2, votes: 3 } },
    { name: 'disagreeing votes wait', votes: [rec('a'), rec('b')], want: null },
    { name: 'two for a against one for b', votes: [rec('a'), rec('b'), rec('a')], want: { kind: 'recognised', elderId: 'a' } },
    { name: 'a tie waits', votes: [rec('a'), rec('b'), rec('b'), rec('a')], want: null },
    // Weighted by face size: two small far-away frames do not outvote one large close frame.
    { name: 'small faces do not outvote a large one', votes: [rec('a', 0.3, 40), rec('b', 0.3, 112), rec('a', 0.3, 40)], want: null },
    { name: 'cap reached with strangers', votes: Array.from({ length: 5 }, () => unk('above-threshold', 'a', 0.7)), want: { kind: 'unknown', reason: 'above-threshold', bestElderId: 'a', votes: 5 } },
    { name: 'cap reached with ambiguity', votes: [unk('ambiguous', 'a', 0.4), unk('ambiguous', 'b', 0.39), unk('ambiguous', 'a', 0.41), unk('above-threshold', 'a', 0.5), rec('c', 0.42)], want: { kind: 'unknown', reason: 'no-agreement', bestElderId: 'b', distance: 0.39 } },
    { name: 'cap with no agreement', votes: [rec('a', 0.3), rec('b', 0.2), unk('above-threshold'), unk('above-threshold'), unk('above-threshold')], want: { kind: 'unknown', reason: 'no-agreement', bestElderId: 'b', distance: 0.2 } },
    { name: 'cap with an empty gallery', votes: Array.from({ length: 5 }, () => unk('no-templates')), want: { kind: 'unknown', reason: 'no-templates', votes: 5 } },
  ])('$name', ({ votes, want }) => {
    const got = decide(votes, o);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatchObject(want);
  });

  it('reports the size-weighted mean distance of the agreeing votes', () => {
    const got = decide([rec('a', 0.2, 112), rec('a', 0.4, 56)], o);
    expect(got?.kind).toBe('recognised');
    expect(got?.distance).toBeCloseTo((0.2 * 1 + 0.4 * 0.5) / 1.5, 6);
  });

  it('final decides an undecided track with votes as unknown', () => {
    expect(decide([rec('a')], o, true)).toMatchObject({ kind: 'unknown', reason: 'no-agreement', bestElderId: 'a', votes: 1 });
    expect(decide([unk('above-threshold', 'b', 0.8)], o, true)).toMatchObject({ kind: 'unknown', reason: 'above-threshold', bestElderId: 'b' });
    expect(decide([], o, true)).toBeNull();
  });

  it('minAgreeing 1 decides on one frame (for testing a camera, not for production)', () => {
    expect(decide([rec('a')], { ...o, minAgreeing: 1 })).toMatchObject({ kind: 'recognised', elderId: 'a' });
  });
});

describe('Voter', () => {
  it('decides once, then takes no more votes for the track', () => {
    const v = new Voter({ strongDistance: 0 });
    expect(v.add(1, rec('a'))).toBeNull();
    expect(v.isDecided(1)).toBe(false);
    const d = v.add(1, rec('a'));
    expect(d).toMatchObject({ kind: 'recognised', elderId: 'a' });
    expect(v.isDecided(1)).toBe(true);
    expect(v.decision(1)).toEqual(d);
    expect(v.add(1, rec('a'))).toBeNull();
    expect(v.add(1, rec('b'))).toBeNull();
    // Ending a decided track decides nothing new.
    expect(v.end(1)).toBeNull();
    expect(v.isDecided(1)).toBe(false);
  });

  it('keeps tracks apart', () => {
    const v = new Voter({ strongDistance: 0 });
    expect(v.add(1, rec('a'))).toBeNull();
    expect(v.add(2, rec('a'))).toBeNull();
    expect(v.add(1, rec('a'))).toMatchObject({ kind: 'recognised', elderId: 'a' });
    expect(v.isDecided(2)).toBe(false);
  });

  it('decides unknown at the cap on attempts', () => {
    const v = new Voter({ maxAttempts: 3, strongDistance: 0 });
    expect(v.add(7, unk('above-threshold'))).toBeNull();
    expect(v.add(7, unk('above-threshold'))).toBeNull();
    expect(v.add(7, unk('above-threshold'))).toMatchObject({ kind: 'unknown', reason: 'above-threshold', votes: 3 });
    expect(v.isDecided(7)).toBe(true);
    expect(v.add(7, rec('a'))).toBeNull();
  });

  it('end() decides a track with too few votes as unknown, and one without votes as nothing', () => {
    const v = new Voter({ strongDistance: 0 });
    v.add(1, rec('a'));
    expect(v.end(1)).toMatchObject({ kind: 'unknown', reason: 'no-agreement', votes: 1 });
    expect(v.end(1)).toBeNull();
    expect(v.end(99)).toBeNull();
  });

  it('rejects impossible options', () => {
    expect(() => new Voter({ minAgreeing: 0 })).toThrow(RangeError);
    expect(() => new Voter({ minAgreeing: 3, maxAttempts: 2 })).toThrow(RangeError);
  });
});

describe('anti-spoof aggregation', () => {
  it.each<[number[], number | undefined]>([
    [[], undefined],
    [[0.4], 0.4],
    [[0.9, 0.1], 0.5],
    [[0.9, 0.1, 0.8], 0.8],
    [[0.2, 0.9, 0.1, 0.8], 0.5],
  ])('medianOf(%j) = %s', (values, want) => {
    if (want === undefined) expect(medianOf(values)).toBeUndefined();
    else expect(medianOf(values)).toBeCloseTo(want, 9);
  });

  it('is the median over the agreeing votes only', () => {
    // Frames that named another elder or nobody do not speak for the decided elder's face.
    const votes: Vote[] = [live('a', 0.9), { ...unk('above-threshold', 'a', 0.6), antispoof: 0.01 }, live('b', 0.02), live('a', 0.7), live('a', 0.2)];
    const d = decide(votes, { ...DEFAULT_VOTER_OPTIONS, minAgreeing: 3 });
    expect(d).toMatchObject({ kind: 'recognised', elderId: 'a', agreeing: 3 });
    expect(d?.kind === 'recognised' ? d.antispoof : null).toBeCloseTo(0.7, 9);
  });

  it('one bad frame does not flag a live face, a photo in every frame is flagged', () => {
    const o = { ...DEFAULT_VOTER_OPTIONS, minAgreeing: 3 };
    const blink = decide([live('a', 0.95), live('a', 0.05), live('a', 0.9)], o);
    expect(blink?.kind === 'recognised' ? blink.antispoof : null).toBeCloseTo(0.9, 9);
    const photo = decide([live('a', 0.1), live('a', 0.3), live('a', 0.15)], o);
    expect(photo?.kind === 'recognised' ? photo.antispoof : null).toBeCloseTo(0.15, 9);
  });

  it('skips frames without a score, and leaves it out when no frame had one', () => {
    const some = decide([rec('a'), live('a', 0.6)], DEFAULT_VOTER_OPTIONS);
    expect(some).toMatchObject({ kind: 'recognised', antispoof: 0.6 });
    const none = decide([rec('a'), rec('a')], DEFAULT_VOTER_OPTIONS);
    expect(none).toMatchObject({ kind: 'recognised', elderId: 'a' });
    expect(none).not.toHaveProperty('antispoof');
  });

  it('Voter keeps the scores of a track until it decides', () => {
    const v = new Voter({ strongDistance: 0 });
    expect(v.add(1, live('a', 0.2))).toBeNull();
    expect(v.add(2, live('a', 0.9))).toBeNull();
    expect(v.add(1, live('a', 0.4))).toMatchObject({ kind: 'recognised', elderId: 'a', antispoof: expect.closeTo(0.3, 9) as number });
  });
});
