/**
 * The evaluation's arithmetic, apart from the engine: open-set 1:N outcomes and rates, and
 * pairwise verification (TAR at a fixed FAR). Pure functions over descriptors, so tests check
 * them on canned descriptors with known answers.
 */
import { euclideanDistance, type MatchResult } from '../../edge/src/recognition/matcher.ts';
import type { Probe, Split } from './dataset.ts';

/** What the engine made of one photo's largest face. */
export interface EvalFace {
  descriptor: Float32Array;
  /** Set when the production quality gate refuses the face (it is then never matched). */
  refused?: string;
}

/** Photo path → its largest face, or null when no face was found. */
export type FaceTable = ReadonlyMap<string, EvalFace | null>;

export type Outcome = 'correct' | 'wrong-elder' | 'impostor-accept' | 'rejected' | 'low-quality' | 'no-face';

export interface ProbeOutcome {
  probe: Probe;
  outcome: Outcome;
  /** The elder given (accepts only). */
  elderId?: string;
  distance?: number;
}

export interface OpenSetCounts {
  /** Probes of enrolled identities, and of impostors. */
  genuine: number;
  impostors: number;
  correct: number;
  /** Genuine probes given to another elder. */
  wrongElder: number;
  /** Impostor probes given to any elder. */
  impostorAccepts: number;
  /** Probes that came out unknown, for any reason (no face and low quality included). */
  rejected: number;
  /** Probes with no face found (part of `rejected`). */
  noFace: number;
  /** Probes refused by the quality gate (part of `rejected`). */
  lowQuality: number;
  /** correct / genuine. */
  TAR: number;
  /** (wrongElder + impostorAccepts) / all probes. */
  FAR: number;
}

/** Anything that decides a descriptor: the production Matcher. */
export interface Decider {
  match(descriptor: Float32Array): MatchResult;
}

/** Enrolment templates from the split: the largest face of each enrolment photo that has one and passes the gate. */
export function enrolmentTemplates(split: Split, faces: FaceTable): { elderId: string; descriptor: Float32Array; photo: string }[] {
  const out: { elderId: string; descriptor: Float32Array; photo: string }[] = [];
  for (const [elderId, photos] of split.enrol) {
    for (const photo of photos) {
      const f = faces.get(photo);
      if (f && !f.refused) out.push({ elderId, descriptor: f.descriptor, photo });
    }
  }
  return out;
}

export function decideProbes(probes: readonly Probe[], faces: FaceTable, decider: Decider): ProbeOutcome[] {
  return probes.map((probe): ProbeOutcome => {
    const f = faces.get(probe.photo);
    if (!f) return { probe, outcome: 'no-face' };
    if (f.refused) return { probe, outcome: 'low-quality' };
    const m = decider.match(f.descriptor);
    if (m.kind !== 'recognised') return { probe, outcome: 'rejected', ...(m.distance !== undefined ? { distance: m.distance } : {}) };
    const outcome: Outcome = probe.impostor ? 'impostor-accept' : m.elderId === probe.identity ? 'correct' : 'wrong-elder';
    return { probe, outcome, elderId: m.elderId, distance: m.distance };
  });
}

export function countOutcomes(outcomes: readonly ProbeOutcome[]): OpenSetCounts {
  const c = { genuine: 0, impostors: 0, correct: 0, wrongElder: 0, impostorAccepts: 0, rejected: 0, noFace: 0, lowQuality: 0 };
  for (const o of outcomes) {
    if (o.probe.impostor) c.impostors++;
    else c.genuine++;
    switch (o.outcome) {
      case 'correct':
        c.correct++;
        break;
      case 'wrong-elder':
        c.wrongElder++;
        break;
      case 'impostor-accept':
        c.impostorAccepts++;
        break;
      case 'no-face':
        c.noFace++;
        c.rejected++;
        break;
      case 'low-quality':
        c.lowQuality++;
        c.rejected++;
        break;
      case 'rejected':
        c.rejected++;
        break;
    }
  }
  const all = c.genuine + c.impostors;
  return { ...c, TAR: c.genuine ? c.correct / c.genuine : 0, FAR: all ? (c.wrongElder + c.impostorAccepts) / all : 0 };
}

/**
 * Outcomes split by group (a probe counts in every group `groupsOf` gives it). Groups with no
 * probe are left out.
 */
export function countByGroup(outcomes: readonly ProbeOutcome[], groupsOf: (photo: string) => readonly string[]): Map<string, OpenSetCounts> {
  const by = new Map<string, ProbeOutcome[]>();
  for (const o of outcomes) {
    for (const g of groupsOf(o.probe.photo)) {
      let list = by.get(g);
      if (!list) by.set(g, (list = []));
      list.push(o);
    }
  }
  return new Map([...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([g, list]) => [g, countOutcomes(list)]));
}

export interface PairPoint {
  /** Target false-accept rate over impostor pairs. */
  far: number;
  /** Pairs at a distance strictly below this are accepted (the (k+1)-th smallest impostor distance, k = floor(far × impostor pairs)). */
  threshold: number;
  /** Genuine pairs accepted at that threshold. */
  tar: number;
}

export interface PairStats {
  genuinePairs: number;
  impostorPairs: number;
  points: PairPoint[];
}

/**
 * Pairwise verification over every pair of the given faces: TAR at each FAR target. At most
 * floor(far × impostorPairs) impostor pairs are accepted (none when that is 0).
 */
export function pairwise(items: readonly { identity: string; descriptor: Float32Array }[], fars: readonly number[] = [1e-2, 1e-3]): PairStats {
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i]!;
      const b = items[j]!;
      (a.identity === b.identity ? genuine : impostor).push(euclideanDistance(a.descriptor, b.descriptor));
    }
  }
  impostor.sort((x, y) => x - y);
  const points = fars.map((far): PairPoint => {
    const k = Math.floor(far * impostor.length);
    const threshold = impostor.length === 0 ? Infinity : k < impostor.length ? impostor[k]! : Infinity;
    const accepted = genuine.filter((d) => d < threshold).length;
    return { far, threshold, tar: genuine.length ? accepted / genuine.length : 0 };
  });
  return { genuinePairs: genuine.length, impostorPairs: impostor.length, points };
}

/** `TARatFAR1e2`-style key for a FAR target. */
export function farKey(far: number): string {
  return `TARatFAR${far.toExponential().replace('e-', 'e')}`;
}
