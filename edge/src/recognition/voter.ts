/**
 * Multi-frame decision per track: one frame's match is never enough to check an elder in.
 * A track is decided `recognised` when enough frames agree on one elder, and `unknown` when
 * the cap on attempts is reached (or the track ends) without agreement. Once decided, a track
 * takes no more votes, so the pipeline stops matching its faces.
 *
 * `decide()` is a pure function of the votes; `Voter` only keeps the votes per track.
 */
import { withDefaults } from './defaults.ts';
import type { MatchResult, UnknownReason } from './matcher.ts';

export interface VoterOptions {
  /** Agreeing `recognised` votes for one elder needed to decide. */
  minAgreeing: number;
  /** Votes after which an undecided track is decided `unknown`. */
  maxAttempts: number;
  /**
   * Face size (px) at which a vote has full weight; smaller faces weigh proportionally less
   * (a big, close face is more trustworthy than a small, distant one). 0 turns weighting off.
   */
  fullWeightSize: number;
  /**
   * A single frame whose match (already accepted by the matcher's full rule) is at most this
   * distance decides at once, when no other frame of the track named someone else: a match
   * that close costs the elder no second frame (200 ms at 5 fps). 0 turns it off. Calibrated
   * on faces-dev: no impostor pair of its 36,766 lies within 0.388 (scripts/eval/CALIBRATION.md).
   */
  strongDistance: number;
}

export const DEFAULT_VOTER_OPTIONS: Readonly<VoterOptions> = { minAgreeing: 2, maxAttempts: 5, fullWeightSize: 112, strongDistance: 0.34 };

export interface Vote {
  match: MatchResult;
  /** Face size in px (the shorter side of its box). */
  faceSize: number;
  /** The engine's anti-spoof score for this frame's face (0..1, higher = live); absent = not measured. */
  antispoof?: number;
}

export type VoteUnknownReason = UnknownReason | 'no-agreement';

export type VoteDecision =
  | {
      kind: 'recognised';
      elderId: string;
      /** Size-weighted mean distance over the agreeing votes. */
      distance: number;
      /** Votes for this elder / all votes. */
      agreeing: number;
      votes: number;
      /**
       * Median anti-spoof score over the agreeing votes that have one (see `medianOf`);
       * absent when none of them was measured.
       */
      antispoof?: number;
    }
  | {
      kind: 'unknown';
      /**
       * `no-agreement`: some frames recognised an elder, but not enough of them agreed. Else
       * the most frequent reason among the votes (`above-threshold`: a stranger, most likely).
       */
      reason: VoteUnknownReason;
      /** The elder closest to the face across the votes, for staff review. */
      bestElderId?: string;
      distance?: number;
      votes: number;
    };

/**
 * Median, because the anti-spoof model scores one crop at a time and single frames swing both
 * ways (motion blur, glare on glasses, a half-turned head): the mean lets one such frame drag
 * a live elder below the threshold, and the minimum flags whoever blinks. A photo or a screen
 * held up to the camera is a spoof in every frame, so the median still catches it. With two
 * agreeing frames (the default) it is their mean. Not weighted by face size: the votes that
 * count are already large enough to be matched.
 */
export function medianOf(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function weight(v: Vote, o: VoterOptions): number {
  if (o.fullWeightSize <= 0) return 1;
  return Math.min(1, Math.max(v.faceSize, 1) / o.fullWeightSize);
}

/**
 * Decision over a track's votes, or null to keep collecting. With `final` (the track has
 * ended, or the attempts are used up) an undecided track with votes is decided `unknown`.
 */
export function decide(votes: readonly Vote[], options: VoterOptions, final = false): VoteDecision | null {
  if (votes.length === 0) return null;
  const byElder = new Map<string, { count: number; weight: number; weightedDistance: number; antispoof: number[] }>();
  let recognisedWeight = 0;
  for (const v of votes) {
    if (v.match.kind !== 'recognised') continue;
    const w = weight(v, options);
    const e = byElder.get(v.match.elderId) ?? { count: 0, weight: 0, weightedDistance: 0, antispoof: [] };
    e.count++;
    e.weight += w;
    e.weightedDistance += w * v.match.distance;
    if (v.antispoof !== undefined) e.antispoof.push(v.antispoof);
    byElder.set(v.match.elderId, e);
    recognisedWeight += w;
  }
  const last = votes[votes.length - 1]!.match;
  const strong = last.kind === 'recognised' && options.strongDistance > 0 && last.distance <= options.strongDistance && byElder.size === 1 ? last.elderId : undefined;
  for (const [elderId, e] of byElder) {
    // Enough frames agree, and they outweigh every frame that named someone else; or this
    // frame's match is strong and no frame disagrees.
    if ((e.count >= options.minAgreeing && e.weight > recognisedWeight - e.weight) || elderId === strong) {
      const d: VoteDecision = { kind: 'recognised', elderId, distance: e.weightedDistance / e.weight, agreeing: e.count, votes: votes.length };
      const antispoof = medianOf(e.antispoof);
      if (antispoof !== undefined) d.antispoof = antispoof;
      return d;
    }
  }
  if (!final && votes.length < options.maxAttempts) return null;

  let closest: { elderId: string; distance: number } | undefined;
  const reasons = new Map<UnknownReason, number>();
  for (const v of votes) {
    const m = v.match;
    const id = m.kind === 'recognised' ? m.elderId : m.bestElderId;
    if (id !== undefined && m.distance !== undefined && (!closest || m.distance < closest.distance)) closest = { elderId: id, distance: m.distance };
    if (m.kind === 'unknown') reasons.set(m.reason, (reasons.get(m.reason) ?? 0) + 1);
  }
  let reason: VoteUnknownReason = 'no-agreement';
  if (byElder.size === 0) {
    let most = 0;
    for (const [r, n] of reasons) {
      if (n > most) {
        most = n;
        reason = r;
      }
    }
  }
  return { kind: 'unknown', reason, bestElderId: closest?.elderId, distance: closest?.distance, votes: votes.length };
}

/** Keeps the votes of open tracks and their decisions. */
export class Voter {
  private readonly options: VoterOptions;
  private readonly votes = new Map<number, Vote[]>();
  private readonly decided = new Map<number, VoteDecision>();

  constructor(options: Partial<VoterOptions> = {}) {
    this.options = withDefaults(DEFAULT_VOTER_OPTIONS, options);
    if (this.options.minAgreeing < 1) throw new RangeError('minAgreeing must be at least 1');
    if (this.options.maxAttempts < this.options.minAgreeing) throw new RangeError('maxAttempts must be at least minAgreeing');
  }

  isDecided(trackId: number): boolean {
    return this.decided.has(trackId);
  }

  decision(trackId: number): VoteDecision | undefined {
    return this.decided.get(trackId);
  }

  /** The track has votes but no decision yet: the door is still making up its mind about it. */
  isVoting(trackId: number): boolean {
    return !this.decided.has(trackId) && (this.votes.get(trackId)?.length ?? 0) > 0;
  }

  /** Adds one frame's vote; returns the decision when this vote decides the track, else null. */
  add(trackId: number, vote: Vote): VoteDecision | null {
    if (this.decided.has(trackId)) return null;
    const list = this.votes.get(trackId) ?? [];
    list.push(vote);
    this.votes.set(trackId, list);
    const d = decide(list, this.options);
    if (d) {
      this.decided.set(trackId, d);
      this.votes.delete(trackId);
    }
    return d;
  }

  /**
   * The track has ended: forgets it. Returns an `unknown` decision when it had votes but was
   * never decided (a face seen too briefly to agree on), else null.
   */
  end(trackId: number): VoteDecision | null {
    const list = this.votes.get(trackId);
    this.votes.delete(trackId);
    this.decided.delete(trackId);
    if (!list || list.length === 0) return null;
    return decide(list, this.options, true);
  }
}
