/**
 * Does the production decision rule fit faces-dev, or only the README's one split of it?
 *
 *   node scripts/run.js scripts/eval/split-study.ts --faces DIR [--model NAME] [--cache FILE] [--backend B]
 *     [--flip on|off] [--mean-weighting NAME|all] [--json]
 *
 * Loads the folder, the descriptors (`--cache`, the same file and format as `mealcheck eval
 * --cache`) and the group labels exactly as `mealcheck eval` does (its own `runEval`), then
 * decides with the production Matcher and the model's defaults (threshold, margin, cohort ratio:
 * the edge's settings for face-api, the manifest's `decision` for an ONNX recognizer; mean
 * templates on) over 6 splits of the same photos:
 *
 * - the impostor fold rotated: eligible identities with index % 3 == 0, 1 or 2 are the
 *   impostors (2 is the README's protocol);
 * - the enrolment photos varied: an enrolled identity's first 2 or last 2 photos (sorted by
 *   name) enrol, the others are probes.
 *
 * Per split: genuine / impostor probes, TAR, FAR, wrong elder, impostor accepts, the same for
 * the `east_asian` group (every `east_asian_*` label, as the eval reports it), and the largest
 * cohort ratio on a 0.05 grid (0.60..0.90) with no false accept, its TAR, and the first ratio
 * on a 0.01 grid that admits one; then min / mean / max over the splits, and the three impostor
 * folds pooled (each photo of an eligible identity is an impostor probe exactly once). The same
 * again for an East-Asian-only gallery (the protocol applied to the identities whose photos are
 * all labelled `east_asian_*`), the gallery a Chinese centre has.
 *
 * Then the rule search: every rule of RULE_GRID (threshold x margin x cohort ratio) decided on
 * all 12 split x gallery runs, and the rules with no false accept (wrong elder or impostor) in
 * any of them ranked by TAR, so descriptor settings (`--flip`) are compared at their own best
 * rule rather than at a rule tuned to the other setting.
 *
 * `--mean-weighting` (an experiment, not the edge's matcher): each elder's mean template is
 * weighted per enrolment photo by a quality weight read from the enrolment photos alone
 * (MEAN_WEIGHTINGS), instead of the plain mean; `all` compares production with every weighting.
 *
 * Photos are read in place and nothing is written but the cache; with no folder it skips.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandHelp, parseOptions, runTool, type CommandSpec } from '../../common/config.ts';
import { edgeSettings } from '../../edge/src/config.ts';
import { euclideanDistance, type MatcherOptions } from '../../edge/src/recognition/matcher.ts';
import { DEFAULT_QUALITY_OPTIONS, estimatePose } from '../../edge/src/recognition/quality.ts';
import type { DetectedFace } from '../../edge/src/vision/face-engine.ts';
import { DEFAULT_RECOGNIZER } from '../../edge/src/vision/models.ts';
import { listIdentities, splitProtocol, type Identity, type SplitVariant } from './dataset.ts';
import { decide, matcherOptions, modelDefaults, MODELS, percentile, runEval, sweep, type EvalOptions, type MeanTemplateBuilder, type ModelName, type SweepRow } from './eval.ts';
import { countByGroup, countOutcomes, enrolmentTemplates, type FaceTable, type OpenSetCounts } from './metrics.ts';

const STUDY = {
  usage: 'node scripts/run.js scripts/eval/split-study.ts --faces DIR [--model NAME] [--cache FILE] [--backend B] [--flip on|off] [--mean-weighting NAME|all] [--json]',
  about: "Does the production decision rule fit faces-dev, or only the README's one split of it? Decides with the\nproduction Matcher and defaults over 6 splits of the same photos, then searches the rule grid.",
  options: {
    faces: { flag: 'faces', type: 'string', required: true, arg: 'DIR', doc: 'the labelled folder (read in place; skipped with a message when absent)' },
    model: { flag: 'model', type: 'string', default: DEFAULT_RECOGNIZER, choices: MODELS, doc: "recognition model (default: the edge's), with its decision defaults from models/manifest.json; the cache must be made with the same model" },
    cache: { flag: 'cache', type: 'string', default: undefined, arg: 'FILE', doc: 'the descriptors of `mealcheck eval --cache FILE` (computed and kept when absent)' },
    backend: { flag: 'backend', type: 'string', default: edgeSettings.backend.default, choices: ['auto', 'tensorflow', 'wasm', 'cpu'], doc: 'the backend the cache was made with' },
    flip: { flag: 'flip', type: 'string', default: 'off', choices: ['on', 'off'], doc: 'flip test-time augmentation, as `mealcheck eval --flip`, off on the edge; a cache is only reused when made with the same setting' },
    meanWeighting: {
      flag: 'mean-weighting',
      type: 'string',
      default: undefined,
      arg: 'NAME|all',
      check: (v: string) => (v === 'all' || MEAN_WEIGHTINGS.some((w) => w.name === v) ? undefined : `"${v}" is not all or one of ${MEAN_WEIGHTINGS.map((w) => w.name).join(', ')}`),
      doc: "experiment: the elder's mean template weighted per enrolment photo (plain, score, size, sharpness, pose, product, drop-0.5, drop-0.7; inverse: a control) instead of the plain mean; `all` prints one comparison table of production and every weighting",
    },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'also print the study as one JSON object (last line)' },
  },
} as const satisfies CommandSpec;

export const STUDY_USAGE = commandHelp(STUDY);

export type StudySplit = Required<SplitVariant> & { name: string };

/** The README's split first, then the other five. */
export const SPLITS: readonly StudySplit[] = ([2, 0, 1] as const).flatMap((impostorFold) =>
  (['first', 'last'] as const).map((enrolFrom) => ({ impostorFold, enrolFrom, name: `imp%3=${impostorFold}, ${enrolFrom} 2${impostorFold === 2 && enrolFrom === 'first' ? ' (README)' : ''}` })),
);

/** Cohort ratios whose edge is looked for: the 0.05 grid of the brief, and a 0.01 one. */
export const COHORT_GRID = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9] as const;
export const COHORT_FINE_GRID: readonly number[] = Array.from({ length: 31 }, (_, i) => (60 + i) / 100);

export interface CohortEdge {
  /** The largest ratio of the grid up to which no probe is falsely accepted (none: even the smallest admits one). */
  safeRatio?: number;
  /** TAR (all probes, and east_asian) at `safeRatio`. */
  safeTAR?: number;
  safeEastAsianTAR?: number;
  /** The first ratio of the grid with a false accept, and its FAR (none: no false accept on the grid). */
  firstUnsafeRatio?: number;
  firstUnsafeFAR?: number;
}

/**
 * Where the cohort ratio starts to admit false accepts, from sweep rows of one threshold and
 * margin: scanned from the smallest ratio up, so `safeRatio` is safe with every smaller one.
 */
export function cohortEdge(rows: readonly SweepRow[]): CohortEdge {
  const sorted = [...rows].sort((a, b) => a.cohortRatio - b.cohortRatio);
  let safe: SweepRow | undefined;
  for (const r of sorted) {
    if (r.wrongElder + r.impostorAccepts > 0) {
      return { ...safeOf(safe), firstUnsafeRatio: r.cohortRatio, firstUnsafeFAR: r.FAR };
    }
    safe = r;
  }
  return safeOf(safe);
}

function safeOf(r: SweepRow | undefined): CohortEdge {
  if (!r) return {};
  return { safeRatio: r.cohortRatio, safeTAR: r.TAR, ...(r.eastAsianTAR !== undefined ? { safeEastAsianTAR: r.eastAsianTAR } : {}) };
}

export interface Spread {
  min: number;
  mean: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: NaN, mean: NaN, max: NaN };
  return { min: Math.min(...values), mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}

/** Counts of several runs added up, with TAR and FAR recomputed over the sums. */
export function pool(runs: readonly OpenSetCounts[]): OpenSetCounts {
  const sum = (k: 'genuine' | 'impostors' | 'correct' | 'wrongElder' | 'impostorAccepts' | 'rejected' | 'noFace' | 'lowQuality'): number => runs.reduce((a, r) => a + r[k], 0);
  const c = { genuine: sum('genuine'), impostors: sum('impostors'), correct: sum('correct'), wrongElder: sum('wrongElder'), impostorAccepts: sum('impostorAccepts'), rejected: sum('rejected'), noFace: sum('noFace'), lowQuality: sum('lowQuality') };
  const all = c.genuine + c.impostors;
  return { ...c, TAR: c.genuine ? c.correct / c.genuine : 0, FAR: all ? (c.wrongElder + c.impostorAccepts) / all : 0 };
}

export interface SplitResult {
  split: StudySplit;
  enrolled: number;
  templates: number;
  all: OpenSetCounts;
  /** The `east_asian` group (absent when the folder labels none). */
  eastAsian?: OpenSetCounts;
  /** Probes the production rule gave to an elder wrongly (wrong elder or impostor accepted). */
  falseAccepts: { photo: string; elderId: string; distance: number }[];
  /** The rule with the cohort ratio over COHORT_GRID. */
  cohort: SweepRow[];
  edge: CohortEdge;
  /** The rule with the cohort ratio over COHORT_FINE_GRID, and the first ratio there with a false accept. */
  fine: SweepRow[];
  fineFirstUnsafeRatio?: number;
}

/** One split decided with `rule` (the production Matcher's options): pure over the descriptors. */
export function studySplit(
  identities: readonly Identity[],
  faces: FaceTable,
  groupsOf: (p: string) => readonly string[],
  split: StudySplit,
  rule: Partial<MatcherOptions>,
  means?: MeanTemplateBuilder,
): SplitResult {
  const s = splitProtocol(identities, 2, { impostorFold: split.impostorFold, enrolFrom: split.enrolFrom });
  const { outcomes, templates } = decide(s, faces, rule, means);
  const eastAsian = countByGroup(outcomes, groupsOf).get('east_asian');
  const grid = (cohortRatios: readonly number[]): SweepRow[] => sweep(s, faces, groupsOf, { thresholds: [rule.threshold!], margins: [rule.margin!], cohortRatios }, rule, means);
  const cohort = grid(COHORT_GRID);
  const fine = grid(COHORT_FINE_GRID);
  const fineFirstUnsafe = cohortEdge(fine).firstUnsafeRatio;
  return {
    split,
    enrolled: s.enrol.size,
    templates,
    all: countOutcomes(outcomes),
    ...(eastAsian ? { eastAsian } : {}),
    falseAccepts: outcomes.flatMap((o) => (o.outcome === 'wrong-elder' || o.outcome === 'impostor-accept' ? [{ photo: o.probe.photo, elderId: o.elderId!, distance: o.distance! }] : [])),
    cohort,
    edge: cohortEdge(cohort),
    fine,
    ...(fineFirstUnsafe !== undefined ? { fineFirstUnsafeRatio: fineFirstUnsafe } : {}),
  };
}

export interface GalleryStudy {
  gallery: string;
  identities: number;
  splits: SplitResult[];
  /** safeRatio: on COHORT_GRID (0.05); fineSafeRatio: on COHORT_FINE_GRID (0.01). */
  summary: Record<'TAR' | 'FAR' | 'wrongElder' | 'impostorAccepts' | 'eastAsianTAR' | 'eastAsianFAR' | 'safeRatio' | 'fineSafeRatio', Spread>;
  /**
   * The largest ratio on COHORT_FINE_GRID with no false accept in any split (up to it), and
   * TAR there over the splits (all probes, east_asian); absent when none is.
   */
  allSafe?: { cohortRatio: number; TAR: Spread; eastAsianTAR: Spread };
  /** The three impostor folds added up, per enrolment choice. */
  pooled: { enrolFrom: 'first' | 'last'; all: OpenSetCounts; eastAsian?: OpenSetCounts }[];
}

export function studyGallery(
  gallery: string,
  identities: readonly Identity[],
  faces: FaceTable,
  groupsOf: (p: string) => readonly string[],
  rule: Partial<MatcherOptions>,
  means?: MeanTemplateBuilder,
): GalleryStudy {
  const splits = SPLITS.map((s) => studySplit(identities, faces, groupsOf, s, rule, means));
  const ea = splits.flatMap((r) => (r.eastAsian ? [r.eastAsian] : []));
  const pooled = (['first', 'last'] as const).map((enrolFrom) => {
    const rs = splits.filter((r) => r.split.enrolFrom === enrolFrom);
    const e = rs.flatMap((r) => (r.eastAsian ? [r.eastAsian] : []));
    return { enrolFrom, all: pool(rs.map((r) => r.all)), ...(e.length ? { eastAsian: pool(e) } : {}) };
  });
  const safe = splits.map((r) => cohortEdge(r.fine).safeRatio);
  const common = safe.every((x) => x !== undefined) ? Math.min(...(safe as number[])) : undefined;
  const at = splits.flatMap((r) => r.fine.filter((row) => row.cohortRatio === common));
  return {
    gallery,
    identities: identities.length,
    splits,
    summary: {
      TAR: spread(splits.map((r) => r.all.TAR)),
      FAR: spread(splits.map((r) => r.all.FAR)),
      wrongElder: spread(splits.map((r) => r.all.wrongElder)),
      impostorAccepts: spread(splits.map((r) => r.all.impostorAccepts)),
      eastAsianTAR: spread(ea.map((c) => c.TAR)),
      eastAsianFAR: spread(ea.map((c) => c.FAR)),
      safeRatio: spread(splits.map((r) => r.edge.safeRatio ?? NaN)),
      fineSafeRatio: spread(safe.map((x) => x ?? NaN)),
    },
    ...(common !== undefined
      ? { allSafe: { cohortRatio: common, TAR: spread(at.map((row) => row.TAR)), eastAsianTAR: spread(at.flatMap((row) => (row.eastAsianTAR !== undefined ? [row.eastAsianTAR] : []))) } }
      : {}),
    pooled,
  };
}

/** The rules the search tries: thresholds 0.46..0.50, margins 0..0.08, cohort ratios COHORT_FINE_GRID. */
export const RULE_GRID = {
  thresholds: [0.46, 0.47, 0.48, 0.49, 0.5],
  margins: [0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08],
  cohortRatios: COHORT_FINE_GRID,
} as const;

/**
 * The grid per model: distances are on each model's own scale (unit-length 512-d fr-feature:
 * Euclidean 0.94..1.10 is cosine similarity 0.56..0.40, around its pairwise FAR 0.1% distance).
 */
export const RULE_GRIDS: Record<ModelName, RuleSearch['grid']> = {
  'face-api': RULE_GRID,
  faceres: { ...RULE_GRID, thresholds: [0.76, 0.78, 0.8, 0.82, 0.84, 0.86, 0.88] },
  'fr-feature': { ...RULE_GRID, thresholds: [0.94, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06, 1.08, 1.1], margins: [0, 0.02, 0.04, 0.05, 0.06, 0.08, 0.1] },
};

export interface RuleScore {
  threshold: number;
  margin: number;
  cohortRatio: number;
  /** Runs (split x gallery) with a wrong elder or an accepted impostor, and those probes summed. */
  unsafeRuns: number;
  falseAccepts: number;
  /** TAR over the runs of each gallery (mixed, East-Asian-only), and of the mixed gallery's east_asian probes. */
  perGallery: { gallery: string; TAR: Spread; eastAsianTAR: Spread }[];
  /** Mean of the galleries' mean TARs (the ranking) and the smallest TAR of any run. */
  meanTAR: number;
  minTAR: number;
}

const ruleKey = (r: Pick<SweepRow, 'threshold' | 'margin' | 'cohortRatio'>): string => `${r.threshold.toFixed(2)}/${r.margin.toFixed(2)}/${r.cohortRatio.toFixed(2)}`;

/**
 * Every rule scored over the runs: `runs` holds, per gallery, one sweep (all the rules) per
 * split. Pure, over sweep rows.
 */
export function scoreRules(runs: readonly { gallery: string; sweeps: readonly (readonly SweepRow[])[] }[]): RuleScore[] {
  const byRule = new Map<string, { rule: SweepRow; rows: Map<string, SweepRow[]> }>();
  for (const g of runs) {
    for (const rows of g.sweeps) {
      for (const row of rows) {
        const k = ruleKey(row);
        let e = byRule.get(k);
        if (!e) byRule.set(k, (e = { rule: row, rows: new Map() }));
        const list = e.rows.get(g.gallery) ?? [];
        list.push(row);
        e.rows.set(g.gallery, list);
      }
    }
  }
  return [...byRule.values()].map(({ rule, rows }) => {
    const all = [...rows.values()].flat();
    const perGallery = [...rows].map(([gallery, rs]) => ({
      gallery,
      TAR: spread(rs.map((r) => r.TAR)),
      eastAsianTAR: spread(rs.flatMap((r) => (r.eastAsianTAR !== undefined ? [r.eastAsianTAR] : []))),
    }));
    return {
      threshold: rule.threshold,
      margin: rule.margin,
      cohortRatio: rule.cohortRatio,
      unsafeRuns: all.filter((r) => r.wrongElder + r.impostorAccepts > 0).length,
      falseAccepts: all.reduce((a, r) => a + r.wrongElder + r.impostorAccepts, 0),
      perGallery,
      meanTAR: perGallery.reduce((a, g) => a + g.TAR.mean, 0) / Math.max(1, perGallery.length),
      minTAR: Math.min(...all.map((r) => r.TAR)),
    };
  });
}

/**
 * The rules with no false accept in any run, best first: by mean TAR, then min TAR, then the
 * strictest (larger margin, smaller threshold and ratio), so a tie keeps the most headroom.
 */
export function safeRules(scores: readonly RuleScore[]): RuleScore[] {
  return scores
    .filter((s) => s.unsafeRuns === 0)
    .sort((a, b) => b.meanTAR - a.meanTAR || b.minTAR - a.minTAR || b.margin - a.margin || a.threshold - b.threshold || a.cohortRatio - b.cohortRatio);
}

export interface RuleSearch {
  grid: { thresholds: readonly number[]; margins: readonly number[]; cohortRatios: readonly number[] };
  runs: number;
  /** Rules safe on every run: how many, and the best few. */
  safeCount: number;
  best: RuleScore[];
  /** The best safe rule at the production threshold and margin (only the cohort ratio moved). */
  bestAtProduction?: RuleScore;
  /** The production rule itself. */
  production?: RuleScore;
}

/** Every rule of `grid` on every split of every gallery (the 12 runs), safe ones ranked. */
export function searchRules(
  galleries: readonly { gallery: string; identities: readonly Identity[] }[],
  faces: FaceTable,
  groupsOf: (p: string) => readonly string[],
  rule: Partial<MatcherOptions>,
  grid: RuleSearch['grid'] = RULE_GRID,
  top = 5,
  means?: MeanTemplateBuilder,
): RuleSearch {
  const runs = galleries.map((g) => ({
    gallery: g.gallery,
    sweeps: SPLITS.map((split) => sweep(splitProtocol(g.identities, 2, { impostorFold: split.impostorFold, enrolFrom: split.enrolFrom }), faces, groupsOf, grid, rule, means)),
  }));
  const scores = scoreRules(runs);
  const safe = safeRules(scores);
  const same = (a: number, b: number | undefined): boolean => b !== undefined && Math.abs(a - b) < 1e-9;
  const atProduction = safe.filter((s) => same(s.threshold, rule.threshold) && same(s.margin, rule.margin)).sort((a, b) => b.cohortRatio - a.cohortRatio)[0];
  const production = scores.find((s) => same(s.threshold, rule.threshold) && same(s.margin, rule.margin) && same(s.cohortRatio, rule.cohortRatio));
  return {
    grid,
    runs: runs.reduce((a, g) => a + g.sweeps.length, 0),
    safeCount: safe.length,
    best: safe.slice(0, top),
    ...(atProduction ? { bestAtProduction: atProduction } : {}),
    ...(production ? { production } : {}),
  };
}

export function formatRuleSearch(r: RuleSearch): string {
  const sp = (x: Spread): string => `${pct(x.min)} / ${pct(x.mean)} / ${pct(x.max)}`;
  const line = (label: string, s: RuleScore): string =>
    `${label.padEnd(22)} ${s.threshold.toFixed(2)} / ${s.margin.toFixed(2)} / ${s.cohortRatio.toFixed(2)}: ` +
    `false accepts ${s.falseAccepts} in ${s.unsafeRuns} runs; mean TAR ${pct(s.meanTAR)}, min ${pct(s.minTAR)}; ` +
    s.perGallery.map((g) => `${g.gallery} TAR ${sp(g.TAR)}${g.gallery.startsWith('mixed') ? ` (east_asian ${sp(g.eastAsianTAR)})` : ''}`).join('; ');
  return [
    `rule search over ${r.runs} runs: thresholds ${r.grid.thresholds.join(', ')}; margins ${r.grid.margins.join(', ')}; cohort ratios ${ratio(r.grid.cohortRatios[0])}..${ratio(r.grid.cohortRatios.at(-1))} (0.01); ${r.safeCount} rules with no false accept in any run`,
    'threshold / margin / cohort ratio; TAR min / mean / max over the 6 splits',
    ...(r.production ? [line('production rule', r.production)] : []),
    ...(r.bestAtProduction ? [line('best at prod. thr/margin', r.bestAtProduction)] : ['best at prod. thr/margin: none safe']),
    ...r.best.map((s, i) => line(`safe #${i + 1}`, s)),
  ].join('\n');
}

/** What a mean weighting reads of an enrolment photo: the engine's output for its largest face (kept by the eval cache). */
export type PhotoFace = Pick<DetectedFace, 'box' | 'score' | 'landmarks' | 'quality'>;

/**
 * Experiment (`--mean-weighting`): an elder's mean template weighted per enrolment photo by a
 * quality weight, instead of the Matcher's plain mean. Weights are read from the enrolment
 * photos only (their own detection, and the median sharpness of the split's enrolment photos):
 * no probe and no label enters.
 */
export interface MeanWeighting {
  name: string;
  about: string;
  weight: (face: PhotoFace, ctx: { enrolMedianSharpness: number }) => number;
  /** Leave out of the mean a template whose weight is below this fraction of the elder's best (0 or absent: none). */
  dropBelow?: number;
}

/** face-api's recognition input side: a face box narrower than this is upscaled. */
const RECOGNITION_INPUT = 112;

export const sizeWeight = (f: PhotoFace): number => Math.min(1, f.box.width / RECOGNITION_INPUT);
export const sharpnessWeight = (f: PhotoFace, ctx: { enrolMedianSharpness: number }): number =>
  f.quality && ctx.enrolMedianSharpness > 0 ? Math.min(1, f.quality.sharpness / ctx.enrolMedianSharpness) : 1;
/** 1 frontal, falling linearly to 0.05 at the quality gate's largest yaw. */
export const poseWeight = (f: PhotoFace): number => {
  const pose = estimatePose(f.landmarks);
  return pose ? Math.max(0.05, 1 - Math.min(1, Math.abs(pose.yaw) / DEFAULT_QUALITY_OPTIONS.maxYaw)) : 1;
};
const productWeight = (f: PhotoFace, ctx: { enrolMedianSharpness: number }): number => f.score * sizeWeight(f) * sharpnessWeight(f, ctx) * poseWeight(f);

export const MEAN_WEIGHTINGS: readonly MeanWeighting[] = [
  { name: 'plain', about: 'weight 1: the plain mean rebuilt outside the Matcher (must equal production)', weight: () => 1 },
  { name: 'score', about: 'detection score', weight: (f) => f.score },
  { name: 'size', about: `min(1, box width / ${RECOGNITION_INPUT})`, weight: sizeWeight },
  { name: 'sharpness', about: "min(1, sharpness / the split's median enrolment sharpness)", weight: sharpnessWeight },
  { name: 'pose', about: 'max(0.05, 1 - |yaw| / the gate\'s max yaw 0.6)', weight: poseWeight },
  { name: 'product', about: 'score x size x sharpness x pose', weight: productWeight },
  { name: 'drop-0.5', about: "product; a template whose product is < 0.5 x the elder's best is left out of the mean", weight: productWeight, dropBelow: 0.5 },
  { name: 'drop-0.7', about: "product; a template whose product is < 0.7 x the elder's best is left out of the mean", weight: productWeight, dropBelow: 0.7 },
  // A control, not a candidate: the same shift of the mean as `product`, towards the worse photo.
  { name: 'inverse', about: 'control: 1 / product (the same shift as product, towards the worse photo)', weight: (f, ctx) => 1 / Math.max(1e-3, productWeight(f, ctx)) },
];

/**
 * Per elder with at least 2 templates, the weighted mean of its templates (sum of w x / sum of
 * w, in float64 as the Matcher's plain mean); `dropBelow` leaves out templates weighted below
 * that fraction of the elder's best. Weights that are not positive numbers count 0; an elder
 * whose weights are all 0 gets the plain mean. Pure.
 */
export function weightedMeanTemplates(
  templates: readonly { elderId: string; descriptor: Float32Array; photo: string }[],
  weightOf: (photo: string) => number,
  dropBelow = 0,
): { elderId: string; descriptor: Float32Array; dropped: number }[] {
  const byElder = new Map<string, { descriptor: Float32Array; w: number }[]>();
  for (const t of templates) {
    const w = weightOf(t.photo);
    let list = byElder.get(t.elderId);
    if (!list) byElder.set(t.elderId, (list = []));
    list.push({ descriptor: t.descriptor, w: Number.isFinite(w) && w > 0 ? w : 0 });
  }
  const out: { elderId: string; descriptor: Float32Array; dropped: number }[] = [];
  for (const [elderId, list] of byElder) {
    if (list.length < 2) continue;
    const top = Math.max(...list.map((x) => x.w));
    let kept = dropBelow > 0 && top > 0 ? list.filter((x) => x.w >= dropBelow * top) : list;
    let weights = kept.map((x) => x.w);
    if (!(weights.reduce((a, w) => a + w, 0) > 0)) {
      kept = list;
      weights = list.map(() => 1);
    }
    const total = weights.reduce((a, w) => a + w, 0);
    const dim = list[0]!.descriptor.length;
    const sum = new Float64Array(dim);
    kept.forEach((x, i) => {
      for (let k = 0; k < dim; k++) sum[k]! += weights[i]! * x.descriptor[k]!;
    });
    const descriptor = new Float32Array(dim);
    for (let k = 0; k < dim; k++) descriptor[k] = sum[k]! / total;
    out.push({ elderId, descriptor, dropped: list.length - kept.length });
  }
  return out;
}

/** The decide() hook for a weighting, reading each enrolment photo's face from `raw` (the eval's cache). */
export function meanBuilder(weighting: MeanWeighting, raw: ReadonlyMap<string, PhotoFace | null>): MeanTemplateBuilder {
  return (templates) => weightedMeansOf(weighting, raw, templates);
}

/** A weighting's mean templates for a split's enrolment templates. */
function weightedMeansOf(weighting: MeanWeighting, raw: ReadonlyMap<string, PhotoFace | null>, templates: Parameters<MeanTemplateBuilder>[0]): ReturnType<typeof weightedMeanTemplates> {
  const sharp = templates.flatMap((t) => {
    const q = raw.get(t.photo)?.quality;
    return q ? [q.sharpness] : [];
  });
  const ctx = { enrolMedianSharpness: sharp.length ? percentile(sharp.sort((a, b) => a - b), 50) : 0 };
  return weightedMeanTemplates(
    templates,
    (photo) => {
      const f = raw.get(photo);
      return f ? weighting.weight(f, ctx) : 1;
    },
    weighting.dropBelow,
  );
}

export interface WeightingResult {
  name: string;
  about: string;
  /** The README split (mixed gallery) with the production rule. */
  readme: SplitResult;
  /** Per gallery, the production rule over its 6 splits. */
  galleries: {
    gallery: string;
    TAR: Spread;
    eastAsianTAR: Spread;
    FAR: Spread;
    wrongElder: number;
    runsWithFalseAccept: number;
    falseAccepts: number;
    /** Per split, the largest cohort ratio on COHORT_FINE_GRID with no false accept up to it (at the rule's threshold and margin). */
    safeRatios: (number | undefined)[];
  }[];
  search: RuleSearch;
  /**
   * On the README split: how far the weighted mean templates sit from the plain ones (Euclidean),
   * against half the distance between an elder's 2 enrolment templates (the most a weighted mean
   * of 2 can move), and elders with a template left out of the mean.
   */
  shift: { elders: number; mean: number; max: number; halfPairMean: number; dropped: number };
}

/** One weighting (absent: production, the Matcher's own means) over the 12 runs and the rule search. */
export function studyWeighting(
  weighting: MeanWeighting | undefined,
  galleries: readonly { gallery: string; identities: readonly Identity[] }[],
  faces: FaceTable,
  raw: ReadonlyMap<string, PhotoFace | null>,
  groupsOf: (p: string) => readonly string[],
  rule: Partial<MatcherOptions>,
): WeightingResult {
  const means = weighting ? meanBuilder(weighting, raw) : undefined;
  const studies = galleries.map((g) => studyGallery(g.gallery, g.identities, faces, groupsOf, rule, means));
  const search = searchRules(galleries, faces, groupsOf, rule, RULE_GRID, 5, means);
  const readmeSplit = splitProtocol(galleries[0]!.identities);
  const templates = enrolmentTemplates(readmeSplit, faces);
  const plain = weightedMeanTemplates(templates, () => 1);
  const weighted = weighting ? weightedMeansOf(weighting, raw, templates) : plain;
  const shifts = weighted.map((w, i) => euclideanDistance(w.descriptor, plain[i]!.descriptor));
  const halves = plain.map((p) => {
    const own = templates.filter((t) => t.elderId === p.elderId);
    return own.length === 2 ? euclideanDistance(own[0]!.descriptor, own[1]!.descriptor) / 2 : NaN;
  });
  const finite = halves.filter(Number.isFinite);
  return {
    name: weighting?.name ?? 'production',
    about: weighting?.about ?? "the Matcher's own plain mean (today's edge)",
    readme: studies[0]!.splits[0]!,
    galleries: studies.map((g) => ({
      gallery: g.gallery,
      TAR: g.summary.TAR,
      eastAsianTAR: g.summary.eastAsianTAR,
      FAR: g.summary.FAR,
      wrongElder: g.splits.reduce((a, r) => a + r.all.wrongElder, 0),
      runsWithFalseAccept: g.splits.filter((r) => r.falseAccepts.length > 0).length,
      falseAccepts: g.splits.reduce((a, r) => a + r.falseAccepts.length, 0),
      safeRatios: g.splits.map((r) => cohortEdge(r.fine).safeRatio),
    })),
    search,
    shift: {
      elders: weighted.length,
      mean: shifts.length ? shifts.reduce((a, b) => a + b, 0) / shifts.length : 0,
      max: shifts.length ? Math.max(...shifts) : 0,
      halfPairMean: finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN,
      dropped: weighted.filter((w) => w.dropped > 0).length,
    },
  };
}

export function formatWeightings(results: readonly WeightingResult[]): string {
  const p = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : (x * 100).toFixed(1));
  const mm = (x: Spread): string => `${p(x.min)} / ${p(x.mean)}`;
  const rule = (s: RuleScore | undefined): string => (s ? `${s.threshold.toFixed(2)}/${s.margin.toFixed(2)}/${s.cohortRatio.toFixed(2)}` : 'none');
  const galleryTAR = (s: RuleScore | undefined, g: string): string => {
    const x = s?.perGallery.find((pg) => pg.gallery === g)?.TAR;
    return x ? mm(x) : '-';
  };
  const out = [
    'quality-weighted mean templates (the mean joins the elder\'s own templates; weights from the enrolment photos only)',
    ...results.map((r) => `  ${r.name}: ${r.about}`),
    '',
    'README split, production rule: TAR / FAR / wrong elder / east_asian TAR / FAR (%); production rule over the 12 runs: TAR min / mean (%) per gallery, runs with a false accept (probes);',
    'rules of the grid safe on all 12 runs; the best of them and its TAR min / mean (mixed; East-Asian-only); the best safe at threshold 0.48 / margin 0.05; mean-template shift from the plain mean (mean / max, README split)',
    '',
    [
      'weighting'.padEnd(10),
      'README TAR/FAR/wr/EA TAR/EA FAR'.padEnd(32),
      '| mixed TAR'.padEnd(12),
      '| EA-only TAR'.padEnd(14),
      '| FA runs'.padEnd(9),
      '| safe'.padEnd(7),
      '| best safe rule: mixed; EA-only'.padEnd(36),
      '| at 0.48/0.05: mixed; EA-only'.padEnd(34),
      '| shift',
    ].join(' '),
  ];
  for (const r of results) {
    const [mixed, ea] = r.galleries;
    const b = r.search.best[0];
    const a = r.search.bestAtProduction;
    out.push(
      [
        r.name.padEnd(10),
        `${p(r.readme.all.TAR)}/${p(r.readme.all.FAR)}/${r.readme.all.wrongElder}/${p(r.readme.eastAsian?.TAR)}/${p(r.readme.eastAsian?.FAR)}`.padEnd(32),
        `| ${mixed ? mm(mixed.TAR) : '-'}`.padEnd(12),
        `| ${ea ? mm(ea.TAR) : '-'}`.padEnd(14),
        `| ${r.galleries.reduce((x, g) => x + g.runsWithFalseAccept, 0)} (${r.galleries.reduce((x, g) => x + g.falseAccepts, 0)})`.padEnd(9),
        `| ${r.search.safeCount}`.padEnd(7),
        `| ${rule(b)}: ${galleryTAR(b, 'mixed')}; ${galleryTAR(b, 'East-Asian-only')}`.padEnd(36),
        `| ${rule(a)}: ${galleryTAR(a, 'mixed')}; ${galleryTAR(a, 'East-Asian-only')}`.padEnd(34),
        `| ${r.shift.mean.toFixed(3)} / ${r.shift.max.toFixed(3)}${r.shift.dropped ? ` (${r.shift.dropped} dropped)` : ''}`,
      ].join(' '),
    );
  }
  out.push('', 'largest safe cohort ratio per split (0.01 grid, at the threshold and margin of the rule), mixed | East-Asian-only:');
  for (const r of results) out.push(`  ${r.name.padEnd(10)} ${r.galleries.map((g) => g.safeRatios.map(ratio).join(' ')).join(' | ')}`);
  const h = results[0]?.shift;
  if (h) out.push('', `README split: ${h.elders} elders with a mean template; half the distance between an elder's 2 enrolment templates (the most a weighted mean of 2 can move): mean ${h.halfPairMean.toFixed(3)}`);
  return out.join('\n');
}

/** Identities all of whose photos are in the `east_asian` group. */
export function eastAsianIdentities(identities: readonly Identity[], groupsOf: (p: string) => readonly string[]): Identity[] {
  return identities.filter((i) => i.photos.length > 0 && i.photos.every((p) => groupsOf(p).includes('east_asian')));
}

const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : `${(x * 100).toFixed(1)}%`);
const ratio = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2));

export function formatGallery(g: GalleryStudy): string {
  const head = [
    'split'.padEnd(26),
    'elders',
    '  gen',
    '  imp',
    '    TAR',
    '    FAR',
    'wrong',
    'impAcc',
    '|',
    'EA gen',
    'EA imp',
    ' EA TAR',
    ' EA FAR',
    'EA err',
    '|',
    'safe R (TAR, EA TAR)',
    '| next R: FAR',
    '| 1st unsafe R (0.01)',
  ].join(' ');
  const line = (r: SplitResult): string =>
    [
      r.split.name.padEnd(26),
      String(r.enrolled).padStart(6),
      String(r.all.genuine).padStart(5),
      String(r.all.impostors).padStart(5),
      pct(r.all.TAR).padStart(7),
      pct(r.all.FAR).padStart(7),
      String(r.all.wrongElder).padStart(5),
      String(r.all.impostorAccepts).padStart(6),
      '|',
      String(r.eastAsian?.genuine ?? '-').padStart(6),
      String(r.eastAsian?.impostors ?? '-').padStart(6),
      pct(r.eastAsian?.TAR).padStart(7),
      pct(r.eastAsian?.FAR).padStart(7),
      (r.eastAsian ? `${r.eastAsian.wrongElder}+${r.eastAsian.impostorAccepts}` : '-').padStart(6),
      '|',
      `${ratio(r.edge.safeRatio)} (${pct(r.edge.safeTAR)}, ${pct(r.edge.safeEastAsianTAR)})`.padEnd(20),
      '|',
      (r.edge.firstUnsafeRatio !== undefined ? `${ratio(r.edge.firstUnsafeRatio)}: ${pct(r.edge.firstUnsafeFAR)}` : 'none').padEnd(11),
      '|',
      ratio(r.fineFirstUnsafeRatio),
    ].join(' ');
  const s = g.summary;
  const sp = (x: Spread, f: (v: number) => string): string => `${f(x.min)} / ${f(x.mean)} / ${f(x.max)}`;
  const n = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  const grid = [
    `${'cohort ratio: TAR / FAR'.padEnd(26)} ${COHORT_GRID.map((r) => r.toFixed(2).padStart(13)).join(' ')}`,
    ...g.splits.map((r) => `${r.split.name.padEnd(26)} ${r.cohort.map((c) => `${pct(c.TAR)}/${pct(c.FAR)}`.padStart(13)).join(' ')}`),
  ];
  return [
    `${g.gallery}: ${g.identities} identities`,
    head,
    ...g.splits.map(line),
    `min / mean / max over the ${g.splits.length} splits: TAR ${sp(s.TAR, pct)}; FAR ${sp(s.FAR, pct)}; wrong elder ${sp(s.wrongElder, n)}; impostor accepts ${sp(s.impostorAccepts, n)}`,
    `  east_asian TAR ${sp(s.eastAsianTAR, pct)}; east_asian FAR ${sp(s.eastAsianFAR, pct)}; safe cohort ratio ${sp(s.safeRatio, ratio)}`,
    `  largest safe cohort ratio per split (0.01 grid): ${g.splits.map((r) => ratio(cohortEdge(r.fine).safeRatio)).join(', ')}`,
    g.allSafe
      ? `every split free of false accepts up to cohort ratio ${ratio(g.allSafe.cohortRatio)} (0.01 grid); there TAR ${sp(g.allSafe.TAR, pct)}, east_asian TAR ${sp(g.allSafe.eastAsianTAR, pct)}`
      : 'some split has a false accept at every cohort ratio of the 0.01 grid',
    ...g.pooled.map(
      (p) =>
        `pooled over the 3 impostor folds, ${p.enrolFrom} 2 enrol: ${p.all.genuine} genuine, ${p.all.impostors} impostor probes; TAR ${pct(p.all.TAR)}, FAR ${pct(p.all.FAR)} (${p.all.wrongElder} wrong elder, ${p.all.impostorAccepts} impostor accepts)` +
        (p.eastAsian ? `; east_asian ${p.eastAsian.genuine}/${p.eastAsian.impostors}: TAR ${pct(p.eastAsian.TAR)}, FAR ${pct(p.eastAsian.FAR)}` : ''),
    ),
    ...g.splits.flatMap((r) => r.falseAccepts.map((f) => `false accept (${r.split.name}): ${f.photo} given to ${f.elderId} at distance ${f.distance.toFixed(3)}`)),
    '',
    ...grid,
  ].join('\n');
}

export async function splitStudy(argv: string[]): Promise<number> {
  const p = parseOptions(argv, STUDY);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { faces, backend, json } = p.options;
  const weightingArg = p.options.meanWeighting;
  const weighting = MEAN_WEIGHTINGS.find((w) => w.name === weightingArg);
  if (!existsSync(faces)) {
    const reason = `${resolve(faces)} does not exist: nothing to study (a labelled folder laid out like faces-dev, read in place)`;
    console.log(`split-study: skipped: ${reason}`);
    if (json) console.log(JSON.stringify({ skipped: reason }));
    return 0;
  }
  // The production rule, as `mealcheck eval` applies it by default for the model.
  const model: ModelName = p.options.model;
  const defaults = await modelDefaults(model);
  const opts: EvalOptions = {
    faces,
    model,
    backend,
    threshold: defaults.threshold,
    margin: defaults.margin,
    cohortRatio: defaults.cohortRatio,
    meanTemplates: edgeSettings.matchMeanTemplates.default,
    flip: p.options.flip === 'on',
    quality: { ...DEFAULT_QUALITY_OPTIONS },
    ...(p.options.cache ? { cache: p.options.cache } : {}),
  };
  const { report, faces: table, groupsOf, raw } = await runEval(opts, (m) => console.error(`split-study: ${m}`));
  const rule = matcherOptions(opts);
  const identities = listIdentities(opts.faces);
  const ea = eastAsianIdentities(identities, groupsOf);
  const searched = [{ gallery: 'mixed', identities }, ...(ea.length >= 3 ? [{ gallery: 'East-Asian-only', identities: ea }] : [])];
  const header = `model ${report.model} on ${report.backend}, flip ${opts.flip ? 'on' : 'off'}, ${report.msPerPhoto} ms per photo (when the cache was made); production rule: threshold ${opts.threshold}, margin ${opts.margin}, cohort ratio ${opts.cohortRatio}, mean templates ${opts.meanTemplates ? 'on' : 'off'}${weighting ? ` (experiment: mean weighted by ${weighting.name}: ${weighting.about})` : ''}; ${report.photos} photos, ${report.noFacePhotos} without a face`;
  if (weightingArg === 'all') {
    const results = [undefined, ...MEAN_WEIGHTINGS].map((w) => {
      console.error(`split-study: mean weighting ${w?.name ?? 'production'}`);
      return studyWeighting(w, searched, table, raw, groupsOf, rule);
    });
    console.log(`split-study: ${report.faces}\n${header}\n\n${formatWeightings(results)}`);
    if (json) console.log(JSON.stringify({ faces: report.faces, model: report.model, backend: report.backend, flip: opts.flip, rule, weightings: results.map((r) => ({ ...r, readme: { all: r.readme.all, eastAsian: r.readme.eastAsian, falseAccepts: r.readme.falseAccepts } })) }));
    return 0;
  }
  const means = weighting ? meanBuilder(weighting, raw) : undefined;
  const galleries = [studyGallery('mixed gallery', identities, table, groupsOf, rule, means)];
  if (ea.length >= 3) galleries.push(studyGallery('East-Asian-only gallery', ea, table, groupsOf, rule, means));
  const search = searchRules(searched, table, groupsOf, rule, RULE_GRIDS[model], 5, means);
  console.log(`split-study: ${report.faces}`);
  console.log(header);
  console.log('safe R: the largest cohort ratio on the 0.05 grid 0.60..0.90 up to which no probe is falsely accepted; EA err: wrong elder + impostor accepts of east_asian probes');
  for (const g of galleries) console.log(`\n${formatGallery(g)}`);
  console.log(`\n${formatRuleSearch(search)}`);
  if (json) console.log(JSON.stringify({ faces: report.faces, model: report.model, backend: report.backend, flip: opts.flip, msPerPhoto: report.msPerPhoto, rule, ...(weighting ? { meanWeighting: weighting.name } : {}), galleries, ruleSearch: search }));
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runTool('split-study', () => splitStudy(process.argv.slice(2)));

