/**
 * `mealcheck eval --faces DIR`: the open-set protocol of faces-dev/README.md on any folder of
 * that layout, with the production engine settings, quality gate and decision rule, so what it
 * measures is what centres get. Descriptors are computed once per photo; `--sweep` re-decides
 * from them over a grid of thresholds and margins, so calibration is one run.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { commandHelp, ConfigError, parseOptions, type CommandSpec } from '../../common/config.ts';
import { edgeSettings } from '../../edge/src/config.ts';
import { ENROLMENT_TINY_FIRST, FaceApiEngine, type RecognizerName } from '../../edge/src/vision/face-api-engine.ts';
import type { BackendChoice, DetectedFace } from '../../edge/src/vision/face-engine.ts';
import { DEFAULT_MATCHER_OPTIONS, DESCRIPTOR_LENGTH, Matcher, packTemplates, type MatcherOptions } from '../../edge/src/recognition/matcher.ts';
import { decisionDefaults, DEFAULT_RECOGNIZER } from '../../edge/src/vision/models.ts';
import { checkQuality, DEFAULT_QUALITY_OPTIONS, type QualityOptions } from '../../edge/src/recognition/quality.ts';
import { listIdentities, listNoFacePhotos, readGroups, splitProtocol, type Split } from './dataset.ts';
import { countByGroup, countOutcomes, decideProbes, enrolmentTemplates, pairwise, type EvalFace, type FaceTable, type OpenSetCounts, type PairStats } from './metrics.ts';

export const MODELS = ['face-api', 'fr-feature', 'faceres'] as const satisfies readonly RecognizerName[];
export type ModelName = (typeof MODELS)[number];

/**
 * The decision rule's defaults for faceres: its distances (unit-length 1024-d descriptors) are
 * on another scale than face-api's, so the edge's threshold means nothing for it. Calibrated on
 * faces-dev the way the edge's were (scripts/eval/CALIBRATION.md, 2026-11-28).
 */
export const FACERES_DEFAULTS = { threshold: 0.82, margin: 0.05, cohortRatio: 0.8 } as const;

/** Thresholds the sweep tries, per model (around each one's pairwise FAR 1%..0.1% distances). */
const SWEEP_THRESHOLDS: Record<ModelName, { from: number; to: number; step: number }> = {
  'face-api': { from: 0.4, to: 0.56, step: 0.01 },
  faceres: { from: 0.7, to: 1.1, step: 0.02 },
  // Unit-length 512-d: Euclidean 1.0-1.3 is cosine similarity 0.5-0.15.
  'fr-feature': { from: 0.9, to: 1.34, step: 0.02 },
};

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const satisfies readonly BackendChoice[];
const ON_OFF = ['on', 'off'] as const;
const ruleValue = { type: 'number', min: 0, max: 2, default: undefined } as const;

const EVAL = {
  usage: `mealcheck eval --faces DIR [--json] [--sweep] [--model NAME] [--backend B]
                [--match-threshold T] [--match-margin M] [--match-cohort-ratio R]
                [--match-mean-templates on|off] [--flip on|off] [--cache FILE]`,
  about: `Runs the open-set 1:N protocol of faces-dev/README.md on DIR (one folder per identity) with
the production engine, quality gate and decision rule, and prints the outcome as a table
(and with --json as one JSON object on the last line of stdout). It also reports the antispoof
model's scores over every photo's largest face (min, p1, p5, p50; ms per face): real faces,
the genuine side of an antispoof threshold.`,
  options: {
    faces: { flag: 'faces', type: 'string', required: true, arg: 'DIR', check: (v: string) => (existsSync(v) ? undefined : `${v} does not exist`), doc: 'the labelled folder, one sub-folder of photos per identity (read in place, never copied)' },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'also print the report as JSON (last line)' },
    sweep: { flag: 'sweep', type: 'boolean', default: false, doc: 'also print TAR/FAR over thresholds x margins from the same descriptors' },
    model: {
      flag: 'model',
      type: 'string',
      default: DEFAULT_RECOGNIZER,
      choices: MODELS,
      doc: "recognition model: face-api (the edge's), fr-feature (the 512-d ONNX model, its calibrated decision defaults from models/manifest.json), or faceres (Human's 1024-d net, for comparison; its own calibrated threshold, margin and cohort ratio are the defaults, see scripts/eval/CALIBRATION.md)",
    },
    backend: { flag: 'backend', type: 'string', default: edgeSettings.backend.default, choices: BACKENDS, doc: "the engine's backend, as on the edge" },
    threshold: { flag: 'match-threshold', ...ruleValue, arg: 'T', doc: `decision threshold (default: the model's calibrated one, e.g. ${String(decisionDefaults(DEFAULT_RECOGNIZER).threshold)} for ${DEFAULT_RECOGNIZER}; faceres ${String(FACERES_DEFAULTS.threshold)})` },
    margin: { flag: 'match-margin', ...ruleValue, arg: 'M', doc: `margin over the second-best elder (default: the model's; faceres ${String(FACERES_DEFAULTS.margin)})` },
    cohortRatio: { flag: 'match-cohort-ratio', ...ruleValue, arg: 'R', doc: `cohort ratio (default: the model's; faceres ${String(FACERES_DEFAULTS.cohortRatio)}; 1 = off)` },
    meanTemplates: { flag: 'match-mean-templates', type: 'string', default: undefined, choices: ON_OFF, doc: "mean template per elder (default: the edge's, on)" },
    flip: { flag: 'flip', type: 'string', default: 'off', choices: ON_OFF, doc: 'flip test-time augmentation in the engine; off on the edge' },
    cache: {
      flag: 'cache',
      type: 'string',
      default: undefined,
      arg: 'FILE',
      doc: 'keep the descriptors in FILE (JSON, no image data) and reuse them when the settings match: re-deciding without re-running the models (delete it after changing the engine; keep it outside the repo: it holds face templates)',
    },
  },
} as const satisfies CommandSpec;

export const EVAL_USAGE = commandHelp(EVAL);

export interface EvalOptions {
  faces: string;
  model: ModelName;
  backend: BackendChoice;
  threshold: number;
  margin: number;
  cohortRatio: number;
  meanTemplates: boolean;
  quality: QualityOptions;
  /** Flip test-time augmentation in the engine. */
  flip: boolean;
  cache?: string;
}

export interface GroupReport extends OpenSetCounts {
  group: string;
}

export interface EvalReport extends OpenSetCounts {
  faces: string;
  model: string;
  backend: string;
  threshold: number;
  margin: number;
  cohortRatio: number;
  meanTemplates: boolean;
  identities: number;
  enrolled: number;
  templates: number;
  photos: number;
  /** Photos (identity folders) where no face was found, and that over `photos`. */
  noFacePhotos: number;
  noFaceRate: number;
  /** Faces found in `_no_face/` photos (false detections), when the folder has one. */
  noFaceFolderDetections?: number;
  msPerPhoto: number;
  /**
   * The antispoof model's scores over every photo's largest face (all real faces: a genuine,
   * live-face distribution), its percentiles, and its cost per face.
   */
  antispoof?: AntispoofStats;
  pairs: PairsReport;
  /** The same pairwise figures within the `east_asian` group (both photos labelled so), when it has pairs. */
  eastAsianPairs?: PairsReport;
  groups: GroupReport[];
}

export interface PairsReport {
  genuinePairs: number;
  impostorPairs: number;
  TARatFAR1e2: number;
  TARatFAR1e3: number;
  thresholdAtFAR1e2: number;
  thresholdAtFAR1e3: number;
}

function pairsReport(pairs: PairStats): PairsReport {
  const [p2, p3] = pairs.points;
  return { genuinePairs: pairs.genuinePairs, impostorPairs: pairs.impostorPairs, TARatFAR1e2: p2?.tar ?? 0, TARatFAR1e3: p3?.tar ?? 0, thresholdAtFAR1e2: p2?.threshold ?? 0, thresholdAtFAR1e3: p3?.threshold ?? 0 };
}

export interface AntispoofStats {
  faces: number;
  min: number;
  p1: number;
  p5: number;
  p50: number;
  msPerFace: number;
}

interface Extracted {
  faces: Map<string, EvalFace | null>;
  /** Raw engine output for the largest face (quality re-gating in a sweep). */
  raw: Map<string, DetectedFace | null>;
  msTotal: number;
  /** Time in the antispoof model and the faces it ran on. */
  antispoofMs: number;
  antispoofFaces: number;
  backend: string;
  noFaceFolderDetections?: number;
}

interface CacheFile {
  key: string;
  backend: string;
  msTotal: number;
  antispoofMs: number;
  antispoofFaces: number;
  noFaceFolderDetections?: number;
  faces: Record<string, { box: DetectedFace['box']; score: number; landmarks: DetectedFace['landmarks']; descriptor: number[]; quality?: DetectedFace['quality']; antispoof?: number } | null>;
}

function cacheKey(opts: EvalOptions, photos: readonly string[]): string {
  return JSON.stringify({ model: opts.model, backend: opts.backend, flip: opts.flip, faces: resolve(opts.faces), photos: photos.length, tinyFirst: ENROLMENT_TINY_FIRST, v: 6 });
}

/** Runs the engine once over every photo (largest face kept), or reads the cache. */
async function extract(opts: EvalOptions, photos: readonly string[], noFacePhotos: readonly string[], progress: (msg: string) => void): Promise<Extracted> {
  const key = cacheKey(opts, photos);
  if (opts.cache && existsSync(opts.cache)) {
    const c = JSON.parse(readFileSync(opts.cache, 'utf8')) as CacheFile;
    if (c.key === key) {
      const raw = new Map<string, DetectedFace | null>();
      for (const [p, f] of Object.entries(c.faces)) raw.set(p, f ? { ...f, descriptor: Float32Array.from(f.descriptor) } : null);
      return {
        raw,
        faces: gate(raw, opts.quality),
        msTotal: c.msTotal,
        antispoofMs: c.antispoofMs,
        antispoofFaces: c.antispoofFaces,
        backend: c.backend,
        ...(c.noFaceFolderDetections !== undefined ? { noFaceFolderDetections: c.noFaceFolderDetections } : {}),
      };
    }
  }
  // The enrolment engine's settings (padRetry on, for ID-card style crops among the probes too;
  // the tiny detector first, as `mealcheck enrol` runs it).
  const engine = new FaceApiEngine({ backend: opts.backend, padRetry: true, flip: opts.flip, recognizer: opts.model, antispoof: true, logger: pino({ level: 'warn' }), tinyFirst: ENROLMENT_TINY_FIRST });
  await engine.start();
  const raw = new Map<string, DetectedFace | null>();
  let msTotal = 0;
  let antispoofMs = 0;
  let antispoofFaces = 0;
  let noFaceFolderDetections: number | undefined;
  let backend = 'unknown';
  try {
    backend = engine.info().backend;
    let n = 0;
    for (const p of photos) {
      const bytes = readFileSync(join(opts.faces, p));
      const t0 = performance.now();
      const r = await engine.detectWithStats({ kind: 'encoded', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
      msTotal += performance.now() - t0;
      antispoofMs += r.antispoofMs;
      antispoofFaces += r.antispoofFaces;
      raw.set(p, r.faces[0] ?? null);
      if (++n % 25 === 0) progress(`${n}/${photos.length} photos`);
    }
    if (noFacePhotos.length) {
      noFaceFolderDetections = 0;
      for (const p of noFacePhotos) noFaceFolderDetections += (await engine.detect({ kind: 'encoded', bytes: readFileSync(join(opts.faces, p)) })).length;
    }
  } finally {
    await engine.stop();
  }
  const out: Extracted = { raw, faces: gate(raw, opts.quality), msTotal, antispoofMs, antispoofFaces, backend, ...(noFaceFolderDetections !== undefined ? { noFaceFolderDetections } : {}) };
  if (opts.cache) {
    const c: CacheFile = { key, backend: out.backend, msTotal, antispoofMs, antispoofFaces, ...(noFaceFolderDetections !== undefined ? { noFaceFolderDetections } : {}), faces: {} };
    for (const [p, f] of raw) {
      c.faces[p] = f
        ? { box: f.box, score: f.score, landmarks: f.landmarks, descriptor: [...f.descriptor], ...(f.quality ? { quality: f.quality } : {}), ...(f.antispoof !== undefined ? { antispoof: f.antispoof } : {}) }
        : null;
    }
    writeFileSync(opts.cache, JSON.stringify(c));
  }
  return out;
}

/** The production quality gate over every photo's largest face. */
function gate(raw: ReadonlyMap<string, DetectedFace | null>, q: QualityOptions): Map<string, EvalFace | null> {
  const out = new Map<string, EvalFace | null>();
  for (const [p, f] of raw) {
    if (!f) {
      out.set(p, null);
      continue;
    }
    const verdict = checkQuality(f, q);
    out.set(p, verdict.ok ? { descriptor: f.descriptor } : { descriptor: f.descriptor, refused: verdict.reason });
  }
  return out;
}

/** Groups a photo is reported in: its label, plus `east_asian` for every `east_asian_*` label. */
export function groupsOfPhoto(groups: ReadonlyMap<string, string>): (photo: string) => string[] {
  return (photo) => {
    const g = groups.get(photo);
    if (!g) return groups.size ? ['unlabelled'] : [];
    return g.startsWith('east_asian_') ? [g, 'east_asian'] : [g];
  };
}

/**
 * Experiment hook (scripts/eval/split-study.ts `--mean-weighting`): from a split's enrolment
 * templates, the mean templates to match in place of the Matcher's plain per-elder means. They
 * join the elder's own templates, as the Matcher's do. Not given: the production Matcher alone.
 */
export type MeanTemplateBuilder = (templates: readonly ReturnType<typeof enrolmentTemplates>[number][]) => { elderId: string; descriptor: Float32Array }[];

/**
 * The production decision rule (Matcher) over the split, with the given matcher options;
 * `means` (an experiment, off by default) replaces the Matcher's mean templates.
 */
export function decide(split: Split, faces: FaceTable, options: Partial<MatcherOptions>, means?: MeanTemplateBuilder): { outcomes: ReturnType<typeof decideProbes>; templates: number } {
  const templates = enrolmentTemplates(split, faces);
  // The descriptor length of the model that made them (128 face-api, 1024 faceres).
  const dim = templates[0]?.descriptor.length ?? DESCRIPTOR_LENGTH;
  const own = means !== undefined && (options.meanTemplates ?? DEFAULT_MATCHER_OPTIONS.meanTemplates);
  const matcher = own ? new Matcher(packTemplates([...templates, ...means(templates)], dim), { ...options, meanTemplates: false }) : new Matcher(packTemplates(templates, dim), options);
  return { outcomes: decideProbes(split.probes, faces, matcher), templates: templates.length };
}

function pairsOf(faces: FaceTable, photos: readonly string[], identityOf: (p: string) => string): PairStats {
  const items: { identity: string; descriptor: Float32Array }[] = [];
  for (const p of photos) {
    const f = faces.get(p);
    if (f) items.push({ identity: identityOf(p), descriptor: f.descriptor });
  }
  return pairwise(items, [1e-2, 1e-3]);
}

/** The matcher options of an eval run (the decision rule it applies). */
export function matcherOptions(o: Pick<EvalOptions, 'threshold' | 'margin' | 'cohortRatio' | 'meanTemplates'>): Partial<MatcherOptions> {
  return { threshold: o.threshold, margin: o.margin, cohortRatio: o.cohortRatio, meanTemplates: o.meanTemplates };
}

function unknownModel(model: string): string {
  return `--model: "${model}" is not a known recognition model (${MODELS.join(', ')})`;
}

/** Nearest-rank percentile (p in 0..100) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function antispoofStats(photos: readonly string[], ex: Extracted): { antispoof: AntispoofStats } | Record<string, never> {
  const scores = photos.map((p) => ex.raw.get(p)?.antispoof).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (scores.length === 0) return {};
  const r = (x: number): number => Math.round(x * 1e4) / 1e4;
  return {
    antispoof: {
      faces: scores.length,
      min: r(scores[0]!),
      p1: r(percentile(scores, 1)),
      p5: r(percentile(scores, 5)),
      p50: r(percentile(scores, 50)),
      msPerFace: ex.antispoofFaces ? Math.round((ex.antispoofMs / ex.antispoofFaces) * 10) / 10 : 0,
    },
  };
}

export async function runEval(
  opts: EvalOptions,
  progress: (msg: string) => void = () => {},
): Promise<{ report: EvalReport; faces: FaceTable; split: Split; groupsOf: (p: string) => string[]; photos: string[]; raw: ReadonlyMap<string, DetectedFace | null> }> {
  if (!(MODELS as readonly string[]).includes(opts.model)) throw new ConfigError([unknownModel(opts.model)]);
  const identities = listIdentities(opts.faces);
  if (identities.length === 0) throw new ConfigError([`--faces: ${opts.faces} has no identity folders (<identity>/<photo>.jpg)`]);
  const split = splitProtocol(identities);
  const photos = identities.flatMap((i) => i.photos);
  const groupsOf = groupsOfPhoto(readGroups(opts.faces));
  const ex = await extract(opts, photos, listNoFacePhotos(opts.faces), progress);
  const { outcomes, templates } = decide(split, ex.faces, matcherOptions(opts));
  const counts = countOutcomes(outcomes);
  const noFacePhotos = photos.filter((p) => !ex.raw.get(p)).length;
  const identityOf = (p: string): string => p.slice(0, p.indexOf('/'));
  const pairs = pairsOf(ex.faces, photos, identityOf);
  // The issue's target is pairwise East Asian TAR at FAR 0.1%: pairs within the group.
  const eastAsian = pairsOf(ex.faces, photos.filter((p) => groupsOf(p).includes('east_asian')), identityOf);
  const report: EvalReport = {
    faces: resolve(opts.faces),
    model: opts.model,
    backend: ex.backend,
    threshold: opts.threshold,
    margin: opts.margin,
    cohortRatio: opts.cohortRatio,
    meanTemplates: opts.meanTemplates,
    identities: identities.length,
    enrolled: split.enrol.size,
    templates,
    photos: photos.length,
    ...counts,
    noFacePhotos,
    noFaceRate: photos.length ? noFacePhotos / photos.length : 0,
    ...(ex.noFaceFolderDetections !== undefined ? { noFaceFolderDetections: ex.noFaceFolderDetections } : {}),
    msPerPhoto: photos.length ? Math.round(ex.msTotal / photos.length) : 0,
    ...antispoofStats(photos, ex),
    pairs: pairsReport(pairs),
    ...(eastAsian.genuinePairs > 0 && eastAsian.impostorPairs > 0 ? { eastAsianPairs: pairsReport(eastAsian) } : {}),
    groups: [...countByGroup(outcomes, groupsOf)].map(([group, c]) => ({ group, ...c })),
  };
  return { report, faces: ex.faces, split, groupsOf, photos, raw: ex.raw };
}

export interface SweepRow {
  threshold: number;
  margin: number;
  cohortRatio: number;
  TAR: number;
  FAR: number;
  wrongElder: number;
  impostorAccepts: number;
  /** TAR and FAR of the `east_asian` group, when the folder labels groups. */
  eastAsianTAR?: number;
  eastAsianFAR?: number;
}

/** TAR/FAR over a grid, re-deciding from the same descriptors (no model runs). */
export function sweep(
  split: Split,
  faces: FaceTable,
  groupsOf: (p: string) => readonly string[],
  grid: { thresholds: readonly number[]; margins: readonly number[]; cohortRatios: readonly number[] },
  base: Partial<MatcherOptions> = {},
  means?: MeanTemplateBuilder,
): SweepRow[] {
  const rows: SweepRow[] = [];
  for (const cohortRatio of grid.cohortRatios) for (const margin of grid.margins) {
    for (const threshold of grid.thresholds) {
      const { outcomes } = decide(split, faces, { ...base, threshold, margin, cohortRatio }, means);
      const c = countOutcomes(outcomes);
      const ea = countByGroup(outcomes, groupsOf).get('east_asian');
      rows.push({ threshold, margin, cohortRatio, TAR: c.TAR, FAR: c.FAR, wrongElder: c.wrongElder, impostorAccepts: c.impostorAccepts, ...(ea ? { eastAsianTAR: ea.TAR, eastAsianFAR: ea.FAR } : {}) });
    }
  }
  return rows;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function countsLine(name: string, c: OpenSetCounts): string {
  const cells = [name.padEnd(28), c.genuine, c.impostors, c.correct, c.wrongElder, c.impostorAccepts, c.rejected, c.noFace, c.lowQuality, pct(c.TAR), pct(c.FAR)];
  return cells.map((v, i) => (i === 0 ? String(v) : String(v).padStart(i >= 9 ? 7 : 6))).join(' ');
}

function pairsLine(name: string, p: PairsReport): string {
  return `${name}: ${p.genuinePairs} genuine, ${p.impostorPairs} impostor; TAR@FAR1% ${pct(p.TARatFAR1e2)} (distance < ${p.thresholdAtFAR1e2.toFixed(3)}), TAR@FAR0.1% ${pct(p.TARatFAR1e3)} (distance < ${p.thresholdAtFAR1e3.toFixed(3)})`;
}

export function formatReport(r: EvalReport): string {
  const head = `${'group'.padEnd(28)} ${['gen', 'imp', 'ok', 'wrong', 'impAcc', 'rej', 'noFace', 'lowQ'].map((h) => h.padStart(6)).join(' ')} ${'TAR'.padStart(7)} ${'FAR'.padStart(7)}`;
  const lines = [
    `mealcheck eval: ${r.faces}`,
    `model ${r.model} on ${r.backend}; threshold ${r.threshold}, margin ${r.margin}, cohort ratio ${r.cohortRatio}, mean templates ${r.meanTemplates ? 'on' : 'off'}; ${r.identities} identities, ${r.enrolled} enrolled (${r.templates} templates), ${r.photos} photos`,
    '',
    head,
    countsLine('all', r),
    ...r.groups.map((g) => countsLine(g.group, g)),
    '',
    `no face found: ${r.noFacePhotos}/${r.photos} photos (${pct(r.noFaceRate)})${r.noFaceFolderDetections !== undefined ? `; faces found in _no_face/: ${r.noFaceFolderDetections}` : ''}`,
    `ms per photo: ${r.msPerPhoto}`,
    ...(r.antispoof
      ? [
          `antispoof (largest face of ${r.antispoof.faces} photos): min ${r.antispoof.min.toFixed(3)}, p1 ${r.antispoof.p1.toFixed(3)}, p5 ${r.antispoof.p5.toFixed(3)}, p50 ${r.antispoof.p50.toFixed(3)}; ${r.antispoof.msPerFace.toFixed(1)} ms per face`,
        ]
      : []),
    pairsLine('pairs', r.pairs),
    ...(r.eastAsianPairs ? [pairsLine('east_asian pairs', r.eastAsianPairs)] : []),
  ];
  return lines.join('\n');
}

export function formatSweep(rows: readonly SweepRow[]): string {
  const out = [`${'thr'.padStart(5)} ${'margin'.padStart(6)} ${'cohort'.padStart(6)} ${'TAR'.padStart(7)} ${'FAR'.padStart(7)} ${'wrong'.padStart(5)} ${'impAcc'.padStart(6)} ${'EA TAR'.padStart(7)} ${'EA FAR'.padStart(7)}`];
  for (const r of rows) {
    out.push(`${r.threshold.toFixed(2).padStart(5)} ${r.margin.toFixed(2).padStart(6)} ${r.cohortRatio.toFixed(2).padStart(6)} ${pct(r.TAR).padStart(7)} ${pct(r.FAR).padStart(7)} ${String(r.wrongElder).padStart(5)} ${String(r.impostorAccepts).padStart(6)} ${(r.eastAsianTAR !== undefined ? pct(r.eastAsianTAR) : '-').padStart(7)} ${(r.eastAsianFAR !== undefined ? pct(r.eastAsianFAR) : '-').padStart(7)}`);
  }
  return out.join('\n');
}

const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = from; v <= to + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
  return out;
};

/** A model's decision defaults: the edge's settings (face-api), faceres's, or the manifest's `decision`. */
export async function modelDefaults(model: ModelName): Promise<{ threshold: number; margin: number; cohortRatio: number }> {
  // The model's calibrated rule, as the edge applies it (models/manifest.json).
  if (model === 'faceres') return FACERES_DEFAULTS;
  return decisionDefaults(model);
}

export async function evalCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, EVAL);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const o = p.options;
  const model: ModelName = o.model;
  const rule = await modelDefaults(model);
  const threshold = o.threshold ?? rule.threshold;
  const margin = o.margin ?? rule.margin;
  const cohortRatio = o.cohortRatio ?? rule.cohortRatio;
  const meanTemplates = o.meanTemplates === undefined ? edgeSettings.matchMeanTemplates.default : o.meanTemplates === 'on';
  const flip = o.flip === 'on';
  const backend: BackendChoice = o.backend;
  const faces = o.faces;
  const opts: EvalOptions = { faces, model, backend, threshold, margin, cohortRatio, meanTemplates, flip, quality: { ...DEFAULT_QUALITY_OPTIONS }, ...(o.cache ? { cache: o.cache } : {}) };
  const { report, faces: table, split, groupsOf } = await runEval(opts, (m) => console.error(`eval: ${m}`));
  console.log(formatReport(report));
  let rows: SweepRow[] | undefined;
  if (o.sweep) {
    const t = SWEEP_THRESHOLDS[model];
    rows = sweep(split, table, groupsOf, { thresholds: range(t.from, t.to, t.step), margins: [0, 0.05], cohortRatios: [0.65, 0.7, 0.75, 0.8, 0.85, 1] }, { meanTemplates });
    console.log(`\nsweep (same descriptors):\n${formatSweep(rows)}`);
  }
  if (o.json) console.log(JSON.stringify({ ...report, ...(rows ? { sweep: rows } : {}) }));
  return 0;
}
