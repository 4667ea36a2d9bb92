/**
 * 1:N open-set matcher: which enrolled elder, if any, a face descriptor belongs to.
 *
 * Templates sit in one contiguous Float32Array (n × 128) with a parallel array of elder ids,
 * several templates per elder. A match is two passes: an approximate scan of every template
 * on an int8 copy in wasm SIMD (simd-scan.ts; a quarter of the memory traffic of floats),
 * then the exact float distances of the elders that can still be among the closest. The
 * second pass takes every elder the first pass's error bound leaves in doubt, so decisions
 * are those of an exact scan; at 100,000 templates a match stays in the low milliseconds.
 * Without wasm SIMD (or for descriptors whose length is not a multiple of 16 up to 1536) the
 * exact scan covers everything.
 */

import { withDefaults } from './defaults.ts';
import { SimdScanner, simdScans, type ApproxScan } from './simd-scan.ts';

/** Length of a face-api descriptor (a multiple of 4: the scan is unrolled by 4). */
export const DESCRIPTOR_LENGTH = 128;

/**
 * The model templates from before templates recorded theirs (edge migration 005) are from:
 * face-api's 128-d net, the only recognizer the edge had then.
 */
export const FACE_API_MODEL: Readonly<TemplateModel> = { id: 'face-api', dimension: DESCRIPTOR_LENGTH };

/** What a template records of its recognizer (`RecognizerModel`'s id and dimension). */
export interface TemplateModel {
  id: string;
  dimension: number;
}

/** Every template in one buffer: `elderIds[i]` owns `descriptors[i*128 .. i*128+127]`. */
export interface TemplateSet {
  elderIds: readonly string[];
  descriptors: Float32Array;
  /**
   * Values per descriptor, when not DESCRIPTOR_LENGTH: `mealcheck eval --model faceres`
   * matches 1024-d descriptors, `fr-feature` gives 512-d (both scanned in SIMD, see simd-scan.ts).
   */
  dim?: number;
  /**
   * The recognizer every descriptor of the set comes from (`RecognizerModel.id`), when known:
   * a set holds one model's templates only (ElderRepository.loadTemplates), never a mix.
   */
  model?: string;
}

/** Elders re-ranked on the float templates at least (more when the scan's error bound says so). */
const RERANK_ELDERS = 16;

/** Euclidean distance between two descriptors (the measure every threshold here is in). */
export function euclideanDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Squared distance from `q` to the `dim` values of `t` from `base` (dim a multiple of 4). */
function squaredDistance(t: Float32Array, base: number, q: Float32Array, dim: number): number {
  // Four independent sums: the CPU overlaps them (measured ~1.8x over one sum in V8).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < dim; k += 4) {
    const d0 = t[base + k]! - q[k]!;
    const d1 = t[base + k + 1]! - q[k + 1]!;
    const d2 = t[base + k + 2]! - q[k + 2]!;
    const d3 = t[base + k + 3]! - q[k + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  return s0 + s1 + s2 + s3;
}

export interface MatcherOptions {
  /**
   * Largest Euclidean distance accepted as the same elder. 0.45, not face-api's usual 0.6:
   * measured on East Asian faces, 0.6 accepts about 27% of strangers.
   */
  threshold: number;
  /**
   * Least gap between the best elder's distance and the second-best *other* elder's, so a
   * face that sits between two enrolled elders is not given to either.
   */
  margin: number;
  /**
   * Cohort normalisation: the best distance divided by the mean distance to the next
   * `cohortSize` elders must be at most this. A stranger tends to sit about as close to many
   * enrolled elders as to the best one, an elder clearly closer to their own templates; the
   * ratio adapts to how crowded the gallery is around the probe. 1 turns it off.
   */
  cohortRatio: number;
  /** Elders after the best one whose mean distance is the cohort's (fewer when fewer are enrolled). */
  cohortSize: number;
  /**
   * Also match against each elder's mean template (elders with at least 2 templates): the mean
   * of several photos is a steadier estimate of the face than any one of them.
   */
  meanTemplates: boolean;
}

/** Calibrated with `mealcheck eval` on faces-dev (scripts/eval/CALIBRATION.md). */
export const DEFAULT_MATCHER_OPTIONS: Readonly<MatcherOptions> = { threshold: 0.48, margin: 0.05, cohortRatio: 0.75, cohortSize: 5, meanTemplates: true };

export type UnknownReason = 'no-templates' | 'above-threshold' | 'ambiguous' | 'cohort';

export type MatchResult =
  | { kind: 'recognised'; elderId: string; distance: number; secondElderId?: string; secondDistance?: number }
  /** `secondElderId`/`secondDistance`: the runner-up when the margin or the cohort test refused (for staff review). */
  | { kind: 'unknown'; reason: UnknownReason; bestElderId?: string; distance?: number; secondElderId?: string; secondDistance?: number };

export class Matcher {
  private readonly options: MatcherOptions;
  private descriptors = new Float32Array(0);
  /** Per template, the index of its elder in `elders`. */
  private owner = new Int32Array(0);
  /** Templates by elder: elder e's are `byElder[elderStart[e] .. elderStart[e+1]-1]`. */
  private elderStart = new Int32Array(1);
  private byElder = new Int32Array(0);
  /** Scratch: per elder, the smallest approximate squared distance of the SIMD scan. */
  private approx = new Int32Array(0);
  /** Scratch: the elders re-ranked first (smallest approximate distance first) and theirs. */
  private rerankElders = new Int32Array(0);
  private rerankApprox = new Int32Array(0);
  /** Distinct elder ids, in first-seen order. */
  private elders: string[] = [];
  /** Scratch: best squared distance per elder, reused by every match() (match is synchronous). */
  private best = new Float64Array(0);
  /** Scratch: the cohort's distances, smallest first. */
  private cohort = new Float64Array(0);
  /** Templates given (mean templates not counted). */
  private given = 0;
  /** Values per descriptor of the loaded set. */
  private dim = DESCRIPTOR_LENGTH;
  /** The recognizer of the loaded set, when the set said. */
  private modelId: string | undefined;
  /** The approximate first pass in wasm SIMD; null where the runtime lacks it. */
  private readonly simd = SimdScanner.create();

  constructor(templates?: TemplateSet, options: Partial<MatcherOptions> = {}) {
    this.options = withDefaults(DEFAULT_MATCHER_OPTIONS, options);
    if (!(this.options.threshold > 0)) throw new RangeError(`matcher threshold must be > 0, got ${this.options.threshold}`);
    if (!(this.options.margin >= 0)) throw new RangeError(`matcher margin must be >= 0, got ${this.options.margin}`);
    if (!(this.options.cohortRatio > 0)) throw new RangeError(`matcher cohort ratio must be > 0, got ${this.options.cohortRatio}`);
    if (!(Number.isInteger(this.options.cohortSize) && this.options.cohortSize >= 1)) throw new RangeError(`matcher cohort size must be a whole number >= 1, got ${this.options.cohortSize}`);
    this.cohort = new Float64Array(this.options.cohortSize);
    if (templates) this.replace(templates);
  }

  /** Number of templates loaded. */
  get size(): number {
    return this.given;
  }

  /** Number of distinct elders with at least one template. */
  get elderCount(): number {
    return this.elders.length;
  }

  /** Values per descriptor of the loaded set: match() refuses any other length. */
  get dimension(): number {
    return this.dim;
  }

  /** The recognizer of the loaded set (`TemplateSet.model`), if it said. */
  get model(): string | undefined {
    return this.modelId;
  }

  get settings(): Readonly<MatcherOptions> {
    return this.options;
  }

  /** Swaps in a new gallery (after enrolment). The set is copied, so the caller may reuse it. */
  replace(templates: TemplateSet): void {
    const n = templates.elderIds.length;
    const dim = templates.dim ?? DESCRIPTOR_LENGTH;
    if (!(Number.isInteger(dim) && dim > 0 && dim % 4 === 0)) throw new RangeError(`descriptor length must be a positive multiple of 4, got ${dim}`);
    if (templates.descriptors.length !== n * dim) {
      throw new RangeError(`template set has ${n} elder ids but ${templates.descriptors.length} values (expected ${n * dim})`);
    }
    const index = new Map<string, number>();
    const owner = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const id = templates.elderIds[i]!;
      let e = index.get(id);
      if (e === undefined) {
        e = index.size;
        index.set(id, e);
      }
      owner[i] = e;
    }
    const elders = index.size;
    // A copy (the caller may reuse its set); slice() is one memcpy, Float32Array.from iterates.
    let descriptors = templates.descriptors.slice();
    let owners = owner;
    if (this.options.meanTemplates) {
      const sums = new Float64Array(elders * dim);
      const counts = new Int32Array(elders);
      for (let i = 0; i < n; i++) {
        const e = owner[i]!;
        counts[e]!++;
        for (let k = 0; k < dim; k++) sums[e * dim + k]! += descriptors[i * dim + k]!;
      }
      const withMean: number[] = [];
      for (let e = 0; e < elders; e++) if (counts[e]! >= 2) withMean.push(e);
      const all = new Float32Array((n + withMean.length) * dim);
      all.set(descriptors);
      owners = new Int32Array(n + withMean.length);
      owners.set(owner);
      withMean.forEach((e, j) => {
        owners[n + j] = e;
        for (let k = 0; k < dim; k++) all[(n + j) * dim + k] = sums[e * dim + k]! / counts[e]!;
      });
      descriptors = all;
    }
    this.descriptors = descriptors;
    this.owner = owners;
    this.given = n;
    this.dim = dim;
    this.modelId = templates.model;
    this.elders = [...index.keys()];
    this.best = new Float64Array(this.elders.length);
    this.approx = new Int32Array(this.elders.length);
    const k = Math.min(this.elders.length, Math.max(RERANK_ELDERS, this.options.cohortSize + 1));
    this.rerankElders = new Int32Array(k);
    this.rerankApprox = new Int32Array(k);
    // Counting sort of the templates by elder.
    const start = new Int32Array(this.elders.length + 1);
    for (let i = 0; i < owners.length; i++) start[owners[i]! + 1]!++;
    for (let e = 0; e < this.elders.length; e++) start[e + 1]! += start[e]!;
    const fill = start.slice(0, this.elders.length);
    const byElder = new Int32Array(owners.length);
    for (let i = 0; i < owners.length; i++) byElder[fill[owners[i]!]!++] = i;
    this.elderStart = start;
    this.byElder = byElder;
    if (simdScans(dim)) this.simd?.load(this.descriptors, dim);
  }

  match(descriptor: Float32Array): MatchResult {
    const dim = this.dim;
    // Never a distance across models: a descriptor of another length is another model's (a
    // distance over the shorter prefix would look plausible and be meaningless).
    if (descriptor.length !== dim) throw new RangeError(`the templates loaded are ${dim}-d${this.modelId ? ` (model ${this.modelId})` : ''}, the descriptor to match has ${descriptor.length} values: it comes from another model; descriptors of two models are never compared`);
    const n = this.owner.length;
    if (n === 0) return { kind: 'unknown', reason: 'no-templates' };

    // A descriptor with NaN in it (a broken model output) matches no one.
    if (!descriptor.every(Number.isFinite)) return { kind: 'unknown', reason: 'above-threshold' };
    const best = this.best;
    best.fill(Infinity);
    if (this.simd && simdScans(dim)) {
      this.rerank(descriptor, this.simd.scan(descriptor));
    } else {
      for (let i = 0; i < n; i++) {
        const sum = squaredDistance(this.descriptors, i * dim, descriptor, dim);
        const e = this.owner[i]!;
        if (sum < best[e]!) best[e] = sum;
      }
    }

    // Best and second-best elder, still squared.
    let first = -1;
    let second = -1;
    for (let e = 0; e < best.length; e++) {
      const v = best[e]!;
      if (first < 0 || v < best[first]!) {
        second = first;
        first = e;
      } else if (second < 0 || v < best[second]!) {
        second = e;
      }
    }

    const elderId = this.elders[first]!;
    const distance = Math.sqrt(best[first]!);
    if (!Number.isFinite(distance)) return { kind: 'unknown', reason: 'above-threshold', bestElderId: elderId };
    if (distance > this.options.threshold) {
      // The runner-up too, for staff reviewing the face (review/review-service.ts nearest elders).
      const runnerUp = second >= 0 && Number.isFinite(best[second]!) ? { secondElderId: this.elders[second]!, secondDistance: Math.sqrt(best[second]!) } : {};
      return { kind: 'unknown', reason: 'above-threshold', bestElderId: elderId, distance, ...runnerUp };
    }
    if (second < 0) return { kind: 'recognised', elderId, distance };
    const secondElderId = this.elders[second]!;
    const secondDistance = Math.sqrt(best[second]!);
    if (secondDistance - distance < this.options.margin) return { kind: 'unknown', reason: 'ambiguous', bestElderId: elderId, distance, secondElderId, secondDistance };
    if (this.options.cohortRatio < 1 && distance > this.options.cohortRatio * this.cohortMean(first)) return { kind: 'unknown', reason: 'cohort', bestElderId: elderId, distance, secondElderId, secondDistance };
    return { kind: 'recognised', elderId, distance, secondElderId, secondDistance };
  }

  /**
   * Second pass: sets `best[e]` to the exact squared distance for every elder that can be among
   * the `cohortSize + 1` closest (all the decision reads), leaving the rest at Infinity.
   * First the RERANK_ELDERS elders with the smallest approximate distances; then any other
   * elder whose approximate distance, less the scan's error bound, could still beat the
   * (cohortSize + 1)-th exact distance found.
   */
  private rerank(q: Float32Array, scan: ApproxScan): void {
    const { d2, scale, error } = scan;
    const approx = this.approx;
    approx.fill(0x7fffffff);
    const owner = this.owner;
    for (let i = 0; i < d2.length; i++) {
      const e = owner[i]!;
      if (d2[i]! < approx[e]!) approx[e] = d2[i]!;
    }
    // The k smallest approximate distances, by insertion into a short sorted list.
    const topE = this.rerankElders;
    const topV = this.rerankApprox;
    const k = topE.length;
    topV.fill(0x7fffffff);
    topE.fill(-1);
    for (let e = 0; e < approx.length; e++) {
      let v = approx[e]!;
      if (v >= topV[k - 1]!) continue;
      let who = e;
      for (let j = 0; j < k; j++) {
        if (v < topV[j]!) {
          const tv = topV[j]!;
          const te = topE[j]!;
          topV[j] = v;
          topE[j] = who;
          v = tv;
          who = te;
        }
      }
    }
    const best = this.best;
    for (let j = 0; j < k; j++) if (topE[j]! >= 0) best[topE[j]!] = this.exactElder(topE[j]!, q);
    // The (cohortSize + 1)-th smallest exact distance so far: no elder above it is needed.
    const needed = Math.min(this.options.cohortSize + 1, k);
    const exact = Array.from(topE.subarray(0, k), (e) => (e >= 0 ? best[e]! : Infinity)).sort((a, b) => a - b);
    const limit = Math.sqrt(exact[needed - 1]!) + error;
    if (!Number.isFinite(limit)) return;
    const cutoff = (limit / scale) ** 2;
    for (let e = 0; e < approx.length; e++) {
      if (approx[e]! <= cutoff && best[e] === Infinity) best[e] = this.exactElder(e, q);
    }
  }

  /** Exact squared distance from `q` to elder `e`'s closest template. */
  private exactElder(e: number, q: Float32Array): number {
    let min = Infinity;
    for (let j = this.elderStart[e]!; j < this.elderStart[e + 1]!; j++) {
      const d = squaredDistance(this.descriptors, this.byElder[j]! * this.dim, q, this.dim);
      if (d < min) min = d;
    }
    return min;
  }

  /** Mean distance to the `cohortSize` closest elders other than `first` (call after a scan). */
  private cohortMean(first: number): number {
    const top = this.cohort;
    top.fill(Infinity);
    const best = this.best;
    for (let e = 0; e < best.length; e++) {
      if (e === first) continue;
      let v = best[e]!;
      if (v >= top[top.length - 1]!) continue;
      // Insertion into the short sorted list.
      for (let j = 0; j < top.length; j++) {
        if (v < top[j]!) {
          const t = top[j]!;
          top[j] = v;
          v = t;
        }
      }
    }
    let sum = 0;
    let n = 0;
    for (const v of top) {
      if (!Number.isFinite(v)) break;
      sum += Math.sqrt(v);
      n++;
    }
    return n ? sum / n : Infinity;
  }
}

/** Packs descriptors into the contiguous layout the matcher scans (`dim` values each, default 128). */
export function packTemplates(entries: Iterable<{ elderId: string; descriptor: Float32Array }>, dim: number = DESCRIPTOR_LENGTH): TemplateSet {
  const list = [...entries];
  const descriptors = new Float32Array(list.length * dim);
  const elderIds: string[] = [];
  list.forEach((t, i) => {
    if (t.descriptor.length !== dim) throw new RangeError(`a descriptor has ${dim} values, got ${t.descriptor.length}`);
    descriptors.set(t.descriptor, i * dim);
    elderIds.push(t.elderId);
  });
  return dim === DESCRIPTOR_LENGTH ? { elderIds, descriptors } : { elderIds, descriptors, dim };
}
