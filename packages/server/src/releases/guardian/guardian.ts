/**
 * The guardian: a pure reducer over a JSON-serialisable state. The server feeds it one check
 * (batch) at a time — canary and control counts for the same interval — persists the returned
 * state, and acts on the decision:
 *
 *   continue    not enough evidence either way yet; keep the milestone as it is
 *   rollback    the canary is worse (combined e-value ≥ 1/α) or an SLO guard tripped; terminal
 *   pause       sample-ratio mismatch: the comparison is not like-for-like; a person should look
 *   advance-ok  bake time passed, both cohorts have the minimum traffic, and nothing is wrong
 *
 * Every decision carries its evidence (counts, thresholds, e-values per metric and combined,
 * SRM, SLO guards, reasons in words). Nothing is cached between calls except the state, so a
 * guardian resumed from a persisted state after a crash decides exactly as the original would.
 *
 * Each metric's e-value is a fixed-weight average of two test supermartingales on the same
 * checks: the ψ-grid mixture (e-process.ts) and a predictable plug-in (plug-in.ts) that bets on
 * ψ̂ estimated from earlier checks only. The metrics are then averaged with fixed weights.
 */
import { DEFAULT_PSI_GRID, lnMean, lnMixture, normalizeMixture, updateLnE } from './e-process.js';
import { lnLikelihoodRatio } from './hypergeometric.js';
import { addHistogram, boundIndexAtLeast, checkBuckets, countAbove, DEFAULT_BUCKETS_MS, histogramTotal, quantileBoundIndex } from './latency.js';
import { addPlugInCheck, emptyPlugInStats, plugInEstimate, type PlugInStats } from './plug-in.js';
import { DEFAULT_SRM_RATIOS, srmAlternatives, updateSrm, type SrmAlternative } from './srm.js';

export type Decision = 'continue' | 'rollback' | 'advance-ok' | 'pause';

/** One cohort's counts for one check. `latency` is a histogram in the configured bucket layout (bounds.length + 1 counts, last = +Inf). */
export interface CohortCounts {
  requests: number;
  errors: number;
  latency?: readonly number[] | null;
}

/** One check: canary and control counts over the same interval, ending at `at` (ms since the epoch). */
export interface GuardianBatch {
  at: number;
  /** Optional increasing sequence number; a batch whose seq is not above the last applied one is ignored (replays after a crash). */
  seq?: number;
  canary: CohortCounts;
  control: CohortCounts;
}

/** A latency threshold: a quantile of the control's latency (fixed before the counts it judges), or an SLO latency in ms. */
export type LatencyThreshold = { quantile: number } | { ms: number };

/** Plain threshold guards on the canary alone. Extra guards only: the comparative test always runs. */
export type SloGuard =
  | { kind: 'error-rate'; max: number; windowMs?: number; minRequests?: number }
  | { kind: 'latency'; thresholdMs: number; maxFraction: number; windowMs?: number; minRequests?: number };

export interface GuardianConfig {
  /** False-rollback budget for the whole milestone, shared by all metrics. Default 0.01. */
  alpha?: number;
  /** Regression sizes (odds ratios > 1) the mixture bets on. Default [1.25, 1.5, 2, 3, 5, 10, 30, 100]. */
  psiGrid?: readonly number[];
  /** Mixture weights for psiGrid (normalised). Default equal. */
  psiWeights?: readonly number[];
  /**
   * Share of the predictable plug-in component in each metric's e-value; the rest is the ψ-grid
   * mixture. A number applies to every metric; an object sets it by metric kind. Default
   * { errors: 0.8, latency: 0 }; 0 turns the plug-in off (the grid mixture alone, as before).
   */
  plugInWeight?: number | { errors?: number; latency?: number };
  /**
   * Latency metrics bet only on the grid points ψ in [min, max] (their grid weights are psiWeights
   * with the other points set to 0, renormalised; their plug-in prior, if any, spans the same
   * range). Default [3, 30]: the latency test is for regressions that at least triple the odds of a
   * request being slower than the control's threshold (for the reference service, p95 +100 ms and
   * more), while small regressions are the error test's business. [1, 100] uses the whole grid,
   * and so does a custom psiGrid with no point in the default range.
   */
  latencyPsiRange?: readonly [number, number];
  /** Test the error rate. Default true. */
  errors?: boolean;
  /** Histogram bucket upper bounds in ms (+Inf implicit). Default DEFAULT_BUCKETS_MS. */
  buckets?: readonly number[];
  /** Test latency as counts above thresholds; false to turn off. Default thresholds p95 and p99 of the control. */
  latency?: false | { thresholds?: readonly LatencyThreshold[]; minBaselineRequests?: number };
  /** Minimum canary requests before advance-ok. Default 300. */
  minCanaryRequests?: number;
  /** Minimum control requests before advance-ok. Default 300. */
  minControlRequests?: number;
  /** Bake time before advance-ok, ms. Default 0 (release plans set their own). */
  bakeMs?: number;
  /** Sample-ratio-mismatch check; needs the configured canary share of the compared traffic. */
  srm?: false | { expectedShare: number; alpha?: number; tolerance?: number; ratios?: readonly number[] };
  sloGuards?: readonly SloGuard[];
  /**
   * Weights of the metrics in the combined e-value, by metric id ('errors', 'latency>p95',
   * 'latency>p99', 'latency>800ms', …); normalised. Ids not given keep their default weight: 2
   * for errors, and 1 shared by the latency metrics in proportion to the share of requests they
   * count at baseline (1 − q for a quantile threshold, 0.05 for an SLO threshold). With the default
   * metrics: errors 2/3, latency>p95 5/18, latency>p99 1/18.
   */
  metricWeights?: Readonly<Record<string, number>>;
}

export interface ResolvedSloGuard {
  kind: 'error-rate' | 'latency';
  /** error-rate: max error rate; latency: max fraction of requests above thresholdMs. */
  limit: number;
  thresholdMs: number | null;
  thresholdIndex: number | null;
  windowMs: number;
  minRequests: number;
}

export interface ResolvedConfig {
  alpha: number;
  psiGrid: number[];
  /** Grid weights of the error metric (normalised). */
  psiWeights: number[];
  /** Grid weights of latency metrics: psiWeights without the points outside latencyPsiRange (normalised). */
  latencyPsiWeights: number[];
  /** The smallest and largest grid points latency metrics bet on. */
  latencyPsiRange: [number, number];
  /** Share of the plug-in component in a metric's e-value, by kind. */
  plugInWeight: { errors: number; latency: number };
  errors: boolean;
  buckets: number[];
  latency: { thresholds: LatencyThreshold[]; minBaselineRequests: number } | null;
  minCanaryRequests: number;
  minControlRequests: number;
  bakeMs: number;
  srm: { expectedShare: number; alpha: number; tolerance: number; alternatives: SrmAlternative[] } | null;
  sloGuards: ResolvedSloGuard[];
  metricWeights: Record<string, number>;
}

export interface Tally {
  requests: number;
  events: number;
}

export interface MetricState {
  /** 'errors', 'latency>p95', 'latency>p99', 'latency>800ms', … */
  id: string;
  kind: 'errors' | 'latency';
  /** Weight in the combined e-value (the metrics' weights sum to 1). */
  weight: number;
  quantile: number | null;
  thresholdMs: number | null;
  thresholdIndex: number | null;
  thresholdSource: 'baseline' | 'warm-up' | 'slo' | null;
  /** Natural log of E(ψ_j) for each grid point. */
  lnE: number[];
  /**
   * The plug-in component: ln of its e-value; the running sums of the checks applied so far; the
   * ψ̂ it bet on at the last check (null before any); and nextPsi, the ψ̂ it will bet on at the
   * next check — fixed here, from the checks already applied, before that check arrives.
   */
  plugIn: PlugInStats & { lnE: number; lastPsi: number | null; nextPsi: number };
  canary: Tally;
  control: Tally;
}

export interface GuardianState {
  /** 2 since the plug-in component; a version-1 state (no plug-in) is still accepted and continues as it started. */
  version: 1 | 2;
  config: ResolvedConfig;
  startedAt: number | null;
  checks: number;
  lastSeq: number | null;
  lastAt: number | null;
  canary: Tally;
  control: Tally;
  metrics: MetricState[];
  /** Control histogram collected during the step while some quantile threshold still waits for data. */
  warmup: number[] | null;
  srm: { lnE: number[]; flaggedAtCheck: number | null } | null;
  /** Per SLO guard, recent checks as [at, requests, bad]. */
  slo: number[][][];
  rolledBack: { atCheck: number; reason: string } | null;
}

export interface MetricEvidence {
  id: string;
  kind: 'errors' | 'latency';
  weight: number;
  thresholdMs: number | null;
  thresholdSource: 'baseline' | 'warm-up' | 'slo' | null;
  /** The metric's e-value (capped at Number.MAX_VALUE; log10E is exact): (1 − w) · grid mixture + w · plug-in. */
  e: number;
  log10E: number;
  /** log10 E(ψ_j), aligned with evidence.psiGrid. */
  log10EByPsi: number[];
  /** This metric's grid weights, aligned with evidence.psiGrid. */
  psiWeights: number[];
  /** log10 of the grid mixture alone. */
  gridLog10E: number;
  /** The plug-in component (null when its weight is 0): weight, log10 of its e-value, the ψ̂ it bet on at this check, the ψ̂ it will bet on at the next. */
  plugIn: { weight: number; log10E: number; psi: number | null; nextPsi: number } | null;
  /** This check's counts used by the test (null when the check carried no evidence for this metric). */
  check: { canary: Tally; control: Tally } | null;
  total: { canary: Tally; control: Tally };
}

export interface SloEvidence {
  kind: 'error-rate' | 'latency';
  thresholdMs: number | null;
  limit: number;
  windowMs: number;
  requests: number;
  bad: number;
  value: number | null;
  tripped: boolean;
}

export interface Evidence {
  check: number;
  at: number | null;
  elapsedMs: number;
  alpha: number;
  /** 1/α: the combined e-value that triggers a rollback. */
  threshold: number;
  /** The (weighted) average of the metrics' e-values. */
  e: number;
  log10E: number;
  psiGrid: number[];
  metrics: MetricEvidence[];
  srm: { e: number; log10E: number; threshold: number; expectedShare: number; observedShare: number | null; canaryRequests: number; controlRequests: number; flagged: boolean } | null;
  traffic: { canaryRequests: number; controlRequests: number; minCanaryRequests: number; minControlRequests: number; elapsedMs: number; bakeMs: number; met: boolean };
  slo: SloEvidence[];
  /** Why this decision, in words. */
  reasons: string[];
}

export interface StepResult {
  state: GuardianState;
  decision: Decision;
  evidence: Evidence;
}

const positive = (v: number | undefined, def: number, what: string): number => {
  const x = v ?? def;
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`${what} must be a positive number, got ${v}`);
  return x;
};
const nonNegative = (v: number | undefined, def: number, what: string): number => {
  const x = v ?? def;
  if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`${what} must be ≥ 0, got ${v}`);
  return x;
};

/** Fills in the defaults and checks a configuration. */
export function resolveConfig(config: GuardianConfig = {}): ResolvedConfig {
  const alpha = positive(config.alpha, 0.01, 'alpha');
  if (!(alpha < 1)) throw new RangeError('alpha must be < 1');
  const psiGrid = [...(config.psiGrid ?? DEFAULT_PSI_GRID)];
  const psiWeights = normalizeMixture(psiGrid, config.psiWeights);
  const [rlo, rhi] = config.latencyPsiRange ?? [3, 30];
  if (!(rlo >= 1) || !(rhi >= rlo)) throw new RangeError(`latencyPsiRange must be [min, max] with 1 ≤ min ≤ max, got [${config.latencyPsiRange}]`);
  const within = (lo: number, hi: number) => psiWeights.map((w, j) => (psiGrid[j] >= lo && psiGrid[j] <= hi ? w : 0));
  const some = (w: number[]) => w.reduce((a, b) => a + b, 0) > 0;
  let kept = within(rlo, rhi);
  if (!some(kept)) {
    // A custom grid with nothing in the default range: latency uses the whole grid. An explicit range must hold a point.
    if (config.latencyPsiRange) throw new RangeError(`latencyPsiRange [${rlo}, ${rhi}] holds no grid point with positive weight`);
    kept = psiWeights.slice();
  }
  const latencyPsiWeights = normalizeMixture(psiGrid, kept);
  const keptPsi = psiGrid.filter((_, j) => kept[j] > 0);
  const latencyPsiRange: [number, number] = [Math.min(...keptPsi), Math.max(...keptPsi)];
  const share = (v: number | undefined, def: number, what: string) => {
    const x = v ?? def;
    if (!(x >= 0 && x <= 1)) throw new RangeError(`${what} must be in [0, 1], got ${v}`);
    return x;
  };
  const pw = config.plugInWeight;
  const plugInWeight =
    typeof pw === 'number'
      ? { errors: share(pw, 0.8, 'plugInWeight'), latency: share(pw, 0, 'plugInWeight') }
      : { errors: share(pw?.errors, 0.8, 'plugInWeight.errors'), latency: share(pw?.latency, 0, 'plugInWeight.latency') };
  const buckets = [...(config.buckets ?? DEFAULT_BUCKETS_MS)];
  checkBuckets(buckets);
  let latency: ResolvedConfig['latency'] = null;
  if (config.latency !== false) {
    const thresholds = [...(config.latency?.thresholds ?? [{ quantile: 0.95 }, { quantile: 0.99 }])].map((t): LatencyThreshold => {
      if ('quantile' in t) {
        if (!(t.quantile > 0 && t.quantile < 1)) throw new RangeError(`latency quantile must be in (0, 1), got ${t.quantile}`);
        return { quantile: t.quantile };
      }
      return { ms: positive(t.ms, NaN, 'latency threshold ms') };
    });
    if (thresholds.length) latency = { thresholds, minBaselineRequests: nonNegative(config.latency?.minBaselineRequests, 1000, 'minBaselineRequests') };
  }
  const errors = config.errors ?? true;
  if (!errors && !latency) throw new RangeError('the guardian needs at least one metric (errors or latency)');
  let srm: ResolvedConfig['srm'] = null;
  if (config.srm) {
    const tolerance = nonNegative(config.srm.tolerance, 0.1, 'srm tolerance');
    const srmAlpha = positive(config.srm.alpha, 0.001, 'srm alpha');
    srm = { expectedShare: config.srm.expectedShare, alpha: srmAlpha, tolerance, alternatives: srmAlternatives(config.srm.expectedShare, tolerance, config.srm.ratios ?? DEFAULT_SRM_RATIOS) };
  }
  const sloGuards = (config.sloGuards ?? []).map((g): ResolvedSloGuard => {
    const windowMs = positive(g.windowMs, 60_000, 'SLO guard windowMs');
    const minRequests = nonNegative(g.minRequests, 100, 'SLO guard minRequests');
    if (g.kind === 'error-rate') return { kind: 'error-rate', limit: nonNegative(g.max, NaN, 'SLO guard max'), thresholdMs: null, thresholdIndex: null, windowMs, minRequests };
    const thresholdIndex = boundIndexAtLeast(buckets, positive(g.thresholdMs, NaN, 'SLO guard thresholdMs'));
    return { kind: 'latency', limit: nonNegative(g.maxFraction, NaN, 'SLO guard maxFraction'), thresholdMs: buckets[thresholdIndex], thresholdIndex, windowMs, minRequests };
  });
  return {
    alpha,
    psiGrid,
    psiWeights,
    latencyPsiWeights,
    latencyPsiRange,
    plugInWeight,
    errors,
    buckets,
    latency,
    minCanaryRequests: nonNegative(config.minCanaryRequests, 300, 'minCanaryRequests'),
    minControlRequests: nonNegative(config.minControlRequests, 300, 'minControlRequests'),
    bakeMs: nonNegative(config.bakeMs, 0, 'bakeMs'),
    srm,
    sloGuards,
    metricWeights: { ...(config.metricWeights ?? {}) },
  };
}

const quantileLabel = (q: number) => `p${Number((q * 100).toFixed(2))}`;

export interface InitialStateOptions {
  /** When the milestone started (ms since the epoch); default: the first check's `at`. */
  startedAt?: number;
  /**
   * The control's latency histogram from before this step (e.g. the previous milestone's
   * control). Quantile thresholds are fixed from it when it has ≥ minBaselineRequests requests;
   * otherwise from the control's first checks of this step, which then judge only later checks.
   */
  baseline?: readonly number[] | null;
}

/** A fresh guardian state for one milestone (step) of a release plan. */
export function initialState(config: GuardianConfig = {}, options: InitialStateOptions = {}): GuardianState {
  const c = resolveConfig(config);
  const zeros = () => c.psiGrid.map(() => 0);
  const metrics: MetricState[] = [];
  const tally = (): Tally => ({ requests: 0, events: 0 });
  const plugIn = (kind: 'errors' | 'latency') => ({ lnE: 0, ...emptyPlugInStats(), lastPsi: null, nextPsi: estimateFor(c, kind, emptyPlugInStats()) });
  if (c.errors) metrics.push({ id: 'errors', kind: 'errors', weight: 1, quantile: null, thresholdMs: null, thresholdIndex: null, thresholdSource: null, lnE: zeros(), plugIn: plugIn('errors'), canary: tally(), control: tally() });
  const baseline = options.baseline && options.baseline.length === c.buckets.length + 1 ? options.baseline : null;
  for (const t of c.latency?.thresholds ?? []) {
    const m: MetricState = { id: '', kind: 'latency', weight: 1, quantile: null, thresholdMs: null, thresholdIndex: null, thresholdSource: null, lnE: zeros(), plugIn: plugIn('latency'), canary: tally(), control: tally() };
    if ('ms' in t) {
      const i = boundIndexAtLeast(c.buckets, t.ms);
      Object.assign(m, { id: `latency>${t.ms}ms`, thresholdIndex: i, thresholdMs: c.buckets[i], thresholdSource: 'slo' });
    } else {
      m.id = `latency>${quantileLabel(t.quantile)}`;
      m.quantile = t.quantile;
      if (baseline && histogramTotal(baseline) >= Math.max(1, c.latency!.minBaselineRequests)) {
        const i = quantileBoundIndex(baseline, c.buckets, t.quantile)!;
        Object.assign(m, { thresholdIndex: i, thresholdMs: c.buckets[i], thresholdSource: 'baseline' });
      }
    }
    metrics.push(m);
  }
  const ids = new Set(metrics.map((m) => m.id));
  if (ids.size !== metrics.length) throw new RangeError(`two metrics have the same id: ${metrics.map((m) => m.id).join(', ')}`);
  for (const [id, w] of Object.entries(c.metricWeights)) {
    if (!ids.has(id)) throw new RangeError(`metricWeights names an unknown metric '${id}' (metrics: ${[...ids].join(', ')})`);
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`metric weight for '${id}' must be finite and ≥ 0, got ${w}`);
  }
  // Default weights: errors 2; the latency metrics share 1 in proportion to the share of requests
  // each counts at baseline (its information rate): 1 − q for a quantile, 0.05 for an SLO latency.
  const tailOf = (m: MetricState) => (m.quantile !== null ? 1 - m.quantile : 0.05);
  const tails = metrics.filter((m) => m.kind === 'latency').reduce((a, m) => a + tailOf(m), 0);
  const raw = metrics.map((m) => c.metricWeights[m.id] ?? (m.kind === 'errors' ? 2 : tailOf(m) / tails));
  const sum = raw.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new RangeError('metric weights sum to 0');
  metrics.forEach((m, i) => (m.weight = raw[i] / sum));
  const waiting = metrics.some((m) => m.kind === 'latency' && m.thresholdIndex === null);
  return {
    version: 2,
    config: c,
    startedAt: options.startedAt ?? null,
    checks: 0,
    lastSeq: null,
    lastAt: null,
    canary: { requests: 0, events: 0 },
    control: { requests: 0, events: 0 },
    metrics,
    warmup: waiting ? new Array<number>(c.buckets.length + 1).fill(0) : null,
    srm: c.srm ? { lnE: c.srm.alternatives.map(() => 0), flaggedAtCheck: null } : null,
    slo: c.sloGuards.map(() => []),
    rolledBack: null,
  };
}

/**
 * Starts the next milestone of the same rollout and carries the evidence over: each metric keeps
 * its e-values, so α bounds the false-rollback probability of the whole rollout, not of each
 * milestone (the conditional likelihood ratios stay valid when the canary's share changes).
 * Everything else starts afresh: start time, minimum traffic and bake time, the SRM check (for the
 * new share), SLO windows, and latency quantile thresholds (from the new baseline, or warm-up).
 *
 * The metrics and the mixture (alpha, psiGrid, psiWeights, errors, latency thresholds) must be
 * the same as before. The alternative is a fresh initialState per milestone with α split between
 * milestones (e.g. α/M for M milestones); docs/guardian.md weighs the two.
 */
export function nextMilestone(state: GuardianState, config: GuardianConfig = {}, options: InitialStateOptions = {}): GuardianState {
  if (state.rolledBack) throw new Error(`cannot continue a rolled-back rollout (check ${state.rolledBack.atCheck}: ${state.rolledBack.reason})`);
  const prevState = upgrade(state);
  const next = initialState(config, options);
  const a = prevState.config;
  const b = next.config;
  const same =
    a.alpha === b.alpha &&
    JSON.stringify([a.psiGrid, a.psiWeights, a.latencyPsiWeights, a.plugInWeight, a.buckets]) === JSON.stringify([b.psiGrid, b.psiWeights, b.latencyPsiWeights, b.plugInWeight, b.buckets]) &&
    JSON.stringify(prevState.metrics.map((m) => [m.id, m.weight])) === JSON.stringify(next.metrics.map((m) => [m.id, m.weight]));
  if (!same) throw new RangeError('nextMilestone needs the same alpha, ψ grid, weights, plug-in weights, buckets and metrics as the previous milestone');
  next.metrics.forEach((m, i) => {
    const prev = prevState.metrics[i];
    m.lnE = prev.lnE.slice();
    m.plugIn = { ...prev.plugIn };
    m.canary = { ...prev.canary };
    m.control = { ...prev.control };
  });
  return next;
}

/**
 * A version-1 state (persisted before the plug-in existed) as a version-2 one that behaves
 * exactly as it did: no plug-in, the same grid weights for every metric. Returns the state
 * itself when it is already version 2.
 */
function upgrade(s: GuardianState): GuardianState {
  if (s.version === 2 && s.config.plugInWeight && s.config.latencyPsiWeights && s.metrics.every((m) => m.plugIn)) return s;
  return {
    ...s,
    version: 2,
    config: {
      ...s.config,
      latencyPsiWeights: s.config.latencyPsiWeights ?? s.config.psiWeights.slice(),
      latencyPsiRange: s.config.latencyPsiRange ?? [Math.min(...s.config.psiGrid), Math.max(...s.config.psiGrid)],
      plugInWeight: s.config.plugInWeight ?? { errors: 0, latency: 0 },
    },
    metrics: s.metrics.map((m) => (m.plugIn ? m : { ...m, plugIn: { lnE: 0, ...emptyPlugInStats(), lastPsi: null, nextPsi: 1 } })),
  };
}

function cloneState(s: GuardianState): GuardianState {
  return {
    ...s,
    canary: { ...s.canary },
    control: { ...s.control },
    metrics: s.metrics.map((m) => ({ ...m, lnE: m.lnE.slice(), plugIn: { ...m.plugIn }, canary: { ...m.canary }, control: { ...m.control } })),
    warmup: s.warmup ? s.warmup.slice() : null,
    srm: s.srm ? { lnE: s.srm.lnE.slice(), flaggedAtCheck: s.srm.flaggedAtCheck } : null,
    slo: s.slo.map((w) => w.slice()),
  };
}

const count = (v: unknown): number => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? Math.floor(v) : 0);

function histogram(h: readonly number[] | null | undefined, size: number): number[] | null {
  if (!h || h.length !== size) return null;
  const out = new Array<number>(size);
  for (let i = 0; i < size; i++) out[i] = count(h[i]);
  return out;
}

const LOG10E = Math.LOG10E;
const toE = (ln: number) => (ln > 709 ? Number.MAX_VALUE : Math.exp(ln));
const fmtE = (ln: number) => (ln > 20 ? `10^${(ln * LOG10E).toFixed(1)}` : Math.exp(ln).toPrecision(3));

const plugInWeightOf = (c: ResolvedConfig, m: MetricState) => (m.kind === 'errors' ? c.plugInWeight.errors : c.plugInWeight.latency);
const psiWeightsOf = (c: ResolvedConfig, m: MetricState) => (m.kind === 'errors' ? c.psiWeights : c.latencyPsiWeights);
/** The plug-in's ψ̂ from running sums: its prior spans the range of the metric's grid points (errors: the whole grid; latency: latencyPsiRange). */
function estimateFor(c: ResolvedConfig, kind: 'errors' | 'latency', stats: PlugInStats): number {
  if (kind === 'latency') return plugInEstimate(stats, c.latencyPsiRange[0], c.latencyPsiRange[1]);
  let lo = Infinity;
  let hi = -Infinity;
  c.psiGrid.forEach((psi, j) => {
    if (c.psiWeights[j] > 0 && psi < lo) lo = psi;
    if (c.psiWeights[j] > 0 && psi > hi) hi = psi;
  });
  return plugInEstimate(stats, lo, hi);
}

/** ln Σ_j w_j exp(ln E_j) / Σ_j w_j: the weights sum to 1 up to rounding, which this removes (equal e-values average to exactly themselves). */
function lnAverage(lnE: readonly number[], weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  return lnMixture(lnE, weights) - Math.log(total);
}

/** ln of a metric's e-value and of its grid mixture: ln((1 − w) Σ_j w_j E(ψ_j) + w E^P). */
function metricLn(c: ResolvedConfig, m: MetricState): { ln: number; grid: number } {
  const grid = lnAverage(m.lnE, psiWeightsOf(c, m));
  const w = plugInWeightOf(c, m);
  if (w === 0) return { ln: grid, grid };
  if (w === 1) return { ln: m.plugIn.lnE, grid };
  return { ln: lnMixture([grid, m.plugIn.lnE], [1 - w, w]), grid };
}

/**
 * Applies one check and decides. Pure: the input state is not modified.
 *
 * Counts are sanitised (non-numbers and negatives become 0, fractions are floored, errors are
 * capped at requests); a histogram whose length does not match the layout is ignored.
 */
export function step(input: GuardianState, batch: GuardianBatch): StepResult {
  const state = upgrade(input);
  const c = state.config;
  const at = Number(batch.at);
  if (!Number.isFinite(at)) throw new RangeError(`batch.at must be a timestamp in ms, got ${batch.at}`);
  const reasons: string[] = [];

  if (state.rolledBack) {
    reasons.push(`already rolled back at check ${state.rolledBack.atCheck}: ${state.rolledBack.reason}`);
    return { state, decision: 'rollback', evidence: evidenceOf(state, null, at, reasons, sloEvidence(state))[0] };
  }
  if (batch.seq !== undefined && state.lastSeq !== null && batch.seq <= state.lastSeq) {
    reasons.push(`check seq ${batch.seq} was already applied (last ${state.lastSeq}); ignored`);
    return decide(state, null, at, reasons);
  }

  const s = cloneState(state);
  const size = c.buckets.length + 1;
  const n = count(batch.canary?.requests);
  const m = count(batch.control?.requests);
  const x = Math.min(count(batch.canary?.errors), n);
  const y = Math.min(count(batch.control?.errors), m);
  const hc = histogram(batch.canary?.latency, size);
  const hk = histogram(batch.control?.latency, size);
  if ((batch.canary?.latency && !hc) || (batch.control?.latency && !hk)) reasons.push(`latency histogram ignored: expected ${size} buckets`);

  if (s.startedAt === null) s.startedAt = at;
  s.checks++;
  if (batch.seq !== undefined) s.lastSeq = batch.seq;
  s.lastAt = at;
  s.canary.requests += n;
  s.canary.events += x;
  s.control.requests += m;
  s.control.events += y;

  const used: Array<{ canary: Tally; control: Tally } | null> = [];
  for (const metric of s.metrics) {
    let cx: number, cn: number, ky: number, km: number;
    if (metric.kind === 'errors') {
      [cx, cn, ky, km] = [x, n, y, m];
    } else if (metric.thresholdIndex !== null && hc && hk) {
      cn = histogramTotal(hc);
      km = histogramTotal(hk);
      cx = countAbove(hc, metric.thresholdIndex);
      ky = countAbove(hk, metric.thresholdIndex);
    } else {
      used.push(null);
      continue;
    }
    updateLnE(metric.lnE, c.psiGrid, cx, cn, ky, km);
    // The plug-in bets on ψ̂ from the checks before this one (its sums do not include this check
    // yet), scored with the exact conditional likelihood ratio; only then is the check added.
    if (plugInWeightOf(c, metric) > 0) {
      const psi = metric.plugIn.nextPsi;
      metric.plugIn.lnE += psi === 1 ? 0 : lnLikelihoodRatio(cx, cn, ky, km, psi);
      metric.plugIn.lastPsi = psi;
      addPlugInCheck(metric.plugIn, cx, cn, ky, km);
      metric.plugIn.nextPsi = estimateFor(c, metric.kind, metric.plugIn);
    } else {
      addPlugInCheck(metric.plugIn, cx, cn, ky, km);
    }
    metric.canary.requests += cn;
    metric.canary.events += cx;
    metric.control.requests += km;
    metric.control.events += ky;
    used.push({ canary: { requests: cn, events: cx }, control: { requests: km, events: ky } });
  }

  // Quantile thresholds still waiting: learn them from the control, for later checks only.
  if (s.warmup && hk) {
    addHistogram(s.warmup, hk);
    if (histogramTotal(s.warmup) >= Math.max(1, c.latency?.minBaselineRequests ?? 0)) {
      for (const metric of s.metrics) {
        if (metric.kind !== 'latency' || metric.thresholdIndex !== null || metric.quantile === null) continue;
        const i = quantileBoundIndex(s.warmup, c.buckets, metric.quantile)!;
        metric.thresholdIndex = i;
        metric.thresholdMs = c.buckets[i];
        metric.thresholdSource = 'warm-up';
        reasons.push(`${metric.id} threshold fixed at ${c.buckets[i]} ms from ${histogramTotal(s.warmup)} control requests`);
      }
      s.warmup = null;
    }
  }

  if (s.srm && c.srm) {
    updateSrm(s.srm.lnE, c.srm.alternatives, n, m);
    if (s.srm.flaggedAtCheck === null && lnMean(s.srm.lnE) >= Math.log(1 / c.srm.alpha)) {
      s.srm.flaggedAtCheck = s.checks;
    }
  }

  c.sloGuards.forEach((g, i) => {
    const window = s.slo[i].filter((e) => e[0] > at - g.windowMs);
    if (g.kind === 'error-rate') window.push([at, n, x]);
    else if (hc) window.push([at, histogramTotal(hc), countAbove(hc, g.thresholdIndex!)]);
    s.slo[i] = window;
  });

  return decide(s, used, at, reasons);
}

function decide(s: GuardianState, used: Array<{ canary: Tally; control: Tally } | null> | null, at: number, reasons: string[]): StepResult {
  const c = s.config;
  const slo = sloEvidence(s);
  const [evidence, lnCombined] = evidenceOf(s, used, at, reasons, slo);
  let decision: Decision;
  const tripped = slo.filter((g) => g.tripped);
  if (lnCombined >= Math.log(1 / c.alpha) || tripped.length) {
    decision = 'rollback';
    const why: string[] = [];
    if (lnCombined >= Math.log(1 / c.alpha)) {
      const parts = evidence.metrics.map((m) => `${m.id} e=${fmtE(m.log10E / LOG10E)}`).join(', ');
      why.push(`canary worse than control: combined e-value ${fmtE(lnCombined)} ≥ ${evidence.threshold} = 1/α (${parts})`);
    }
    for (const g of tripped) {
      why.push(
        g.kind === 'error-rate'
          ? `SLO guard: canary error rate ${(g.value! * 100).toFixed(2)} % > ${(g.limit * 100).toFixed(2)} % over the last ${g.windowMs / 1000} s (${g.requests} requests)`
          : `SLO guard: ${(g.value! * 100).toFixed(2)} % of canary requests above ${g.thresholdMs} ms > ${(g.limit * 100).toFixed(2)} % over the last ${g.windowMs / 1000} s (${g.requests} requests)`,
      );
    }
    reasons.push(...why);
    s.rolledBack = { atCheck: s.checks, reason: why.join('; ') };
  } else if (evidence.srm?.flagged) {
    decision = 'pause';
    const srm = evidence.srm;
    reasons.push(
      `sample-ratio mismatch: canary got ${((srm.observedShare ?? 0) * 100).toFixed(3)} % of traffic, expected ${(srm.expectedShare * 100).toFixed(3)} % (SRM e-value ${fmtE(srm.log10E / LOG10E)} ≥ ${srm.threshold}); flagged at check ${s.srm!.flaggedAtCheck}`,
    );
  } else if (evidence.traffic.met) {
    decision = 'advance-ok';
    reasons.push(`bake time and minimum traffic met (${s.canary.requests} canary, ${s.control.requests} control requests) and no evidence of a regression (e = ${fmtE(lnCombined)} < ${evidence.threshold})`);
  } else {
    decision = 'continue';
    const t = evidence.traffic;
    const wait: string[] = [];
    if (t.canaryRequests < t.minCanaryRequests) wait.push(`canary ${t.canaryRequests}/${t.minCanaryRequests} requests`);
    if (t.controlRequests < t.minControlRequests) wait.push(`control ${t.controlRequests}/${t.minControlRequests} requests`);
    if (t.elapsedMs < t.bakeMs) wait.push(`bake ${Math.floor(t.elapsedMs / 1000)}/${Math.ceil(t.bakeMs / 1000)} s`);
    reasons.push(`waiting: ${wait.join(', ')}; e = ${fmtE(lnCombined)} < ${evidence.threshold}`);
  }
  return { state: s, decision, evidence };
}

function sloEvidence(s: GuardianState): SloEvidence[] {
  return s.config.sloGuards.map((g, i) => {
    let requests = 0;
    let bad = 0;
    for (const e of s.slo[i]) {
      requests += e[1];
      bad += e[2];
    }
    const value = requests > 0 ? bad / requests : null;
    return { kind: g.kind, thresholdMs: g.thresholdMs, limit: g.limit, windowMs: g.windowMs, requests, bad, value, tripped: value !== null && requests >= g.minRequests && value > g.limit };
  });
}

function evidenceOf(s: GuardianState, used: Array<{ canary: Tally; control: Tally } | null> | null, at: number, reasons: string[], slo: SloEvidence[]): [Evidence, number] {
  const c = s.config;
  const lnByMetric: number[] = [];
  const metrics = s.metrics.map((m, i): MetricEvidence => {
    const { ln, grid } = metricLn(c, m);
    lnByMetric.push(ln);
    const w = plugInWeightOf(c, m);
    return {
      id: m.id,
      kind: m.kind,
      weight: m.weight,
      thresholdMs: m.thresholdMs,
      thresholdSource: m.thresholdSource,
      e: toE(ln),
      log10E: ln * LOG10E,
      log10EByPsi: m.lnE.map((v) => v * LOG10E),
      psiWeights: psiWeightsOf(c, m).slice(),
      gridLog10E: grid * LOG10E,
      plugIn: w > 0 ? { weight: w, log10E: m.plugIn.lnE * LOG10E, psi: used?.[i] ? m.plugIn.lastPsi : null, nextPsi: m.plugIn.nextPsi } : null,
      check: used?.[i] ?? null,
      total: { canary: { ...m.canary }, control: { ...m.control } },
    };
  });
  const lnCombined = lnAverage(lnByMetric, s.metrics.map((m) => m.weight));
  const elapsedMs = s.startedAt === null ? 0 : Math.max(0, (s.lastAt ?? at) - s.startedAt);
  let srm: Evidence['srm'] = null;
  if (s.srm && c.srm) {
    const ln = lnMean(s.srm.lnE);
    const total = s.canary.requests + s.control.requests;
    srm = {
      e: toE(ln),
      log10E: ln * LOG10E,
      threshold: 1 / c.srm.alpha,
      expectedShare: c.srm.expectedShare,
      observedShare: total > 0 ? s.canary.requests / total : null,
      canaryRequests: s.canary.requests,
      controlRequests: s.control.requests,
      flagged: s.srm.flaggedAtCheck !== null,
    };
  }
  const met = s.canary.requests >= c.minCanaryRequests && s.control.requests >= c.minControlRequests && elapsedMs >= c.bakeMs && s.checks > 0;
  const evidence: Evidence = {
    check: s.checks,
    at,
    elapsedMs,
    alpha: c.alpha,
    threshold: 1 / c.alpha,
    e: toE(lnCombined),
    log10E: lnCombined * LOG10E,
    psiGrid: c.psiGrid.slice(),
    metrics,
    srm,
    traffic: { canaryRequests: s.canary.requests, controlRequests: s.control.requests, minCanaryRequests: c.minCanaryRequests, minControlRequests: c.minControlRequests, elapsedMs, bakeMs: c.bakeMs, met },
    slo,
    reasons,
  };
  return [evidence, lnCombined];
}
