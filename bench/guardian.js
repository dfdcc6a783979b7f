#!/usr/bin/env node
// Guardian simulation bench (issue 4 part 3): the rollout guardian's statistics on the reference
// scenario, against an oracle SPRT that knows the true effect and a Flagger-style fixed-threshold
// check.
//
// Reference scenario: 100 req/s in total (Poisson), each request independently in the canary with
// probability 1 %; 1 % baseline error rate; control latency lognormal with σ = 0.5 and p95 = 300 ms
// (median 132 ms, p99 422 ms); a check every 5 s. Counts are drawn directly (binomial/Poisson,
// seeded), never request by request. Before each run the control's previous-step histogram (5 min
// of control traffic) fixes the latency thresholds, exactly as the server would.
//
//   npm run bench:guardian              (builds first)
//   GUARDIAN_RUNS_AA=10000 GUARDIAN_RUNS=1000 GUARDIAN_WORKERS=2 node bench/guardian.js
//   GUARDIAN_SEED_OFFSET=100000 …       (fresh seeds: a hold-out check of any setting chosen on these)
//   (bench/run.js calls runGuardianBench())
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as G from '../packages/server/dist/releases/guardian/index.js';

const RPS = 100;
const SHARE = 0.01;
const BASE_ERR = 0.01;
const CHECK_S = 5;
const SIGMA = 0.5;
const Z95 = 1.6448536269514722;
const MU = Math.log(300) - Z95 * SIGMA; // p95 = 300 ms
const BASELINE_S = 300; // the previous step's control histogram: 5 min of control traffic
const AA_HORIZON_S = Number(process.env.GUARDIAN_AA_HORIZON_S ?? 3600);
const MAX_HORIZON_S = Number(process.env.GUARDIAN_MAX_HORIZON_S ?? 4 * 3600);
const RUNS_AA = Number(process.env.GUARDIAN_RUNS_AA ?? 10_000);
const RUNS = Number(process.env.GUARDIAN_RUNS ?? 1_000);
const WORKERS = Math.max(1, Number(process.env.GUARDIAN_WORKERS ?? Math.min(2, cpus().length)));
/** Added to every run's index before seeding: 0 reproduces the published numbers; anything else draws fresh runs. */
const SEED_OFFSET = Number(process.env.GUARDIAN_SEED_OFFSET ?? 0);
const ALPHA = 0.01;
const BOUNDS = G.DEFAULT_BUCKETS_MS;
/** Optional mixture weights to explore (comma-separated, aligned with the ψ grid); default equal. */
const PSI_WEIGHTS = process.env.GUARDIAN_PSI_WEIGHTS ? process.env.GUARDIAN_PSI_WEIGHTS.split(',').map(Number) : undefined;
/** Optional metric weights for the full guardian, e.g. "errors:2,latency>p95:1,latency>p99:1"; default a plain average. */
const METRIC_WEIGHTS = process.env.GUARDIAN_METRIC_WEIGHTS
  ? Object.fromEntries(process.env.GUARDIAN_METRIC_WEIGHTS.split(',').map((kv) => [kv.slice(0, kv.lastIndexOf(':')), Number(kv.slice(kv.lastIndexOf(':') + 1))]))
  : undefined;
/** Optional plug-in weight: "0.8" for every metric, or "errors,latency" such as "0.8,0". Default: the module's. */
const PLUGIN_WEIGHT = process.env.GUARDIAN_PLUGIN_WEIGHT
  ? ((v) => (v.length === 1 ? v[0] : { errors: v[0], latency: v[1] }))(process.env.GUARDIAN_PLUGIN_WEIGHT.split(',').map(Number))
  : undefined;
/** Optional latencyPsiRange, "min,max" such as "1,100". Default: the module's. */
const LATENCY_PSI_RANGE = process.env.GUARDIAN_LATENCY_PSI_RANGE ? process.env.GUARDIAN_LATENCY_PSI_RANGE.split(',').map(Number) : undefined;
/** The guardian as it was before the plug-in (the whole grid with equal weights for every metric, a plain average of the metrics), for contrast. */
const V1 = { plugInWeight: 0, latencyPsiRange: [1, 1000], metricWeights: { errors: 1, 'latency>p95': 1, 'latency>p99': 1 } };
const SIZE = BOUNDS.length + 1;

/** Scenarios: canary error-rate multiplier and latency scale (5/3 moves the p95 from 300 to 500 ms). */
export const SCENARIOS = [
  { name: 'A/A', errMult: 1, latScale: 1, horizonS: AA_HORIZON_S, runs: RUNS_AA, target: '≤ 83 false rollbacks / 10,000' },
  { name: 'errors ×1.5', errMult: 1.5, latScale: 1, horizonS: MAX_HORIZON_S, runs: RUNS, target: '' },
  { name: 'errors ×2', errMult: 2, latScale: 1, horizonS: MAX_HORIZON_S, runs: RUNS, target: 'median ≤ 1500 s', targetS: 1500 },
  { name: 'errors ×5', errMult: 5, latScale: 1, horizonS: MAX_HORIZON_S, runs: RUNS, target: '' },
  { name: 'errors ×10', errMult: 10, latScale: 1, horizonS: MAX_HORIZON_S, runs: RUNS, target: 'median ≤ 60 s', targetS: 60 },
  { name: 'p95 +200 ms', errMult: 1, latScale: 5 / 3, horizonS: MAX_HORIZON_S, runs: RUNS, target: 'median ≤ 90 s', targetS: 90 },
  // Not a target: a regression that starts only after 30 healthy minutes in the same milestone (times from its onset).
  { name: 'errors ×10 after 30 min', errMult: 10, latScale: 1, onsetS: 1800, horizonS: 1800 + MAX_HORIZON_S, runs: RUNS, target: '' },
  // Not a target: a small latency regression (p95 300 → 350 ms, tail odds ratio ≈ 1.9), below the latency metrics' default ψ range [3, 30].
  { name: 'p95 +50 ms', errMult: 1, latScale: 7 / 6, horizonS: MAX_HORIZON_S, runs: RUNS, target: '', noRatioTarget: true },
];

export const METHODS = [
  { id: 'guardian', label: 'guardian (errors + p95 + p99)' },
  { id: 'guardian-errors', label: 'guardian, error rate only' },
  { id: 'guardian-v1', label: 'guardian before the plug-in (grid only, equal weights)' },
  { id: 'oracle', label: 'oracle SPRT (true ψ, one metric)' },
  { id: 'flagger-default', label: 'Flagger defaults (1 min; success ≥ 99 %, p99 ≤ 500 ms; 5 failed checks)' },
  { id: 'flagger-tuned', label: 'Flagger tuned (1 min; error rate ≤ 2 %, p99 ≤ 750 ms; 5 failed checks)' },
];

// ---------------------------------------------------------------- seeded sampling
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const seedOf = (scenario, run) => (Math.imul(scenario + 1, 0x9e3779b1) ^ Math.imul(run + SEED_OFFSET + 1, 0x85ebca6b)) >>> 0;

function gauss(r) {
  const u = 1 - r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}
/** Binomial(n, p): exact inversion for means below 40, normal approximation above (only the 5-min baseline histogram gets there). */
function binomial(r, n, p) {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(r, n, 1 - p);
  const mean = n * p;
  if (mean >= 40) return Math.min(n, Math.max(0, Math.round(mean + gauss(r) * Math.sqrt(mean * (1 - p)))));
  const u = r();
  let pk = Math.pow(1 - p, n);
  let cdf = pk;
  let k = 0;
  const odds = p / (1 - p);
  while (u > cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * odds;
    k++;
    cdf += pk;
  }
  return k;
}
/** Poisson(λ) for λ = 500 by its normal approximation (skew 0.045: immaterial here). */
const poissonTotal = (r, lambda) => Math.max(0, Math.round(lambda + gauss(r) * Math.sqrt(lambda)));

// ---------------------------------------------------------------- latency model
function erfc(x) {
  // Chebyshev fit (Numerical Recipes' erfcc), relative error < 1.2e-7.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const y = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : 2 - y;
}
/** P(latency > ms) for the control (scale 1) or a canary whose latencies are multiplied by `scale`. */
const tail = (ms, scale = 1) => 0.5 * erfc((Math.log(ms / scale) - MU) / (SIGMA * Math.SQRT2));

/** Draws a histogram of `total` requests over the given split bounds (indices into BOUNDS), into `out`. */
function drawHistogram(r, total, splits, tails, out) {
  out.fill(0);
  // From the top: above the highest split goes to +Inf; each range (s_j, s_{j+1}] to bucket s_{j+1}.
  let remaining = total;
  let above = binomial(r, remaining, tails[splits.length - 1]);
  out[SIZE - 1] = above;
  remaining -= above;
  for (let j = splits.length - 1; j > 0; j--) {
    // Conditional on being ≤ bound s_j: P(in (s_{j-1}, s_j]) / P(≤ s_j).
    const p = (tails[j - 1] - tails[j]) / (1 - tails[j]);
    const c = binomial(r, remaining, p);
    out[splits[j]] = c;
    remaining -= c;
  }
  out[splits[0]] = remaining;
  return out;
}

/** The previous step's control histogram over the full bucket layout. */
function baselineHistogram(r) {
  const total = poissonTotal(r, RPS * (1 - SHARE) * BASELINE_S);
  const h = new Array(SIZE).fill(0);
  let remaining = total;
  let prevCdf = 0;
  for (let i = 0; i < BOUNDS.length && remaining > 0; i++) {
    const cdf = 1 - tail(BOUNDS[i]);
    const p = Math.min(1, (cdf - prevCdf) / (1 - prevCdf));
    const c = binomial(r, remaining, p);
    h[i] = c;
    remaining -= c;
    prevCdf = cdf;
  }
  h[SIZE - 1] = remaining;
  return h;
}

// ---------------------------------------------------------------- one run
const FLAGGER = {
  'flagger-default': { maxErr: 0.01, p99Bound: BOUNDS.indexOf(500) },
  'flagger-tuned': { maxErr: 0.02, p99Bound: BOUNDS.indexOf(750) },
};
const LN_THRESHOLD = Math.log(1 / ALPHA);
const oddsRatio = (pc, pk) => (pc / (1 - pc)) / (pk / (1 - pk));

/** Simulates one run; returns the check index (1-based) at which each method rolled back, or 0. Also SRM pause / advance-ok checks for the guardian. */
export function simulateRun(si, run) {
  const sc = SCENARIOS[si];
  const r = mulberry32(seedOf(si, run));
  const baseline = baselineHistogram(r);
  const common = { alpha: ALPHA, psiWeights: PSI_WEIGHTS, plugInWeight: PLUGIN_WEIGHT, latencyPsiRange: LATENCY_PSI_RANGE, srm: { expectedShare: SHARE }, minCanaryRequests: 300 };
  let full = G.initialState({ ...common, metricWeights: METRIC_WEIGHTS }, { baseline, startedAt: 0 });
  let v1 = G.initialState({ ...common, ...V1 }, { baseline, startedAt: 0 });
  const thresholds = full.metrics.filter((m) => m.kind === 'latency').map((m) => m.thresholdIndex);
  const regression = sc.errMult !== 1 || sc.latScale !== 1;
  const onsetK = Math.round((sc.onsetS ?? 0) / CHECK_S);
  const useErrorsOnly = sc.errMult !== 1 || !regression;
  let errorsOnly = useErrorsOnly ? G.initialState({ ...common, latency: false }, { startedAt: 0 }) : null;

  // Splits needed to produce every count any method reads.
  const splits = [...new Set([...thresholds, FLAGGER['flagger-default'].p99Bound, FLAGGER['flagger-tuned'].p99Bound])].sort((a, b) => a - b);
  const tailsK = splits.map((i) => tail(BOUNDS[i]));
  const tailsC = splits.map((i) => tail(BOUNDS[i], sc.latScale));
  const pc = BASE_ERR * sc.errMult;

  // Oracle: the SPRT with the true odds ratio on the one metric that carries the effect.
  let oracle = null;
  if (regression && !onsetK) {
    if (sc.errMult !== 1) oracle = { metric: 'errors', psi: oddsRatio(pc, BASE_ERR), ln: 0 };
    else {
      const idx = thresholds[0]; // the p95 threshold this run fixed from its baseline
      oracle = { metric: idx, psi: oddsRatio(tail(BOUNDS[idx], sc.latScale), tail(BOUNDS[idx])), ln: 0 };
    }
  }

  const flag = {};
  for (const id of Object.keys(FLAGGER)) flag[id] = { failed: 0, n: 0, x: 0, slow: 0, at: 0 };

  const out = { guardian: 0, 'guardian-errors': 0, 'guardian-v1': 0, oracle: 0, 'flagger-default': 0, 'flagger-tuned': 0, srmPause: 0, advanceOk: 0 };
  const hc = new Array(SIZE).fill(0);
  const hk = new Array(SIZE).fill(0);
  const batch = { at: 0, canary: { requests: 0, errors: 0, latency: hc }, control: { requests: 0, errors: 0, latency: hk } };
  const checks = Math.round(sc.horizonS / CHECK_S);
  const perMinute = 60 / CHECK_S;

  for (let k = 1; k <= checks; k++) {
    const N = poissonTotal(r, RPS * CHECK_S);
    const n = binomial(r, N, SHARE);
    const m = N - n;
    const x = binomial(r, n, k > onsetK ? pc : BASE_ERR);
    const y = binomial(r, m, BASE_ERR);
    drawHistogram(r, n, splits, tailsC, hc);
    drawHistogram(r, m, splits, tailsK, hk);
    batch.at = k * CHECK_S * 1000;
    batch.canary.requests = n;
    batch.canary.errors = x;
    batch.control.requests = m;
    batch.control.errors = y;

    if (!out.guardian) {
      const res = G.step(full, batch);
      full = res.state;
      if (res.decision === 'rollback') out.guardian = k;
      else if (res.decision === 'pause' && !out.srmPause) out.srmPause = k;
      else if (res.decision === 'advance-ok' && !out.advanceOk) out.advanceOk = k;
    }
    if (!out['guardian-v1']) {
      const res = G.step(v1, batch);
      v1 = res.state;
      if (res.decision === 'rollback') out['guardian-v1'] = k;
    }
    if (errorsOnly && !out['guardian-errors']) {
      const res = G.step(errorsOnly, batch);
      errorsOnly = res.state;
      if (res.decision === 'rollback') out['guardian-errors'] = k;
    }
    if (oracle && !out.oracle) {
      oracle.ln +=
        oracle.metric === 'errors'
          ? G.lnLikelihoodRatio(x, n, y, m, oracle.psi)
          : G.lnLikelihoodRatio(G.countAbove(hc, oracle.metric), n, G.countAbove(hk, oracle.metric), m, oracle.psi);
      if (oracle.ln >= LN_THRESHOLD) out.oracle = k;
    }
    for (const [id, cfg] of Object.entries(FLAGGER)) {
      const f = flag[id];
      if (out[id]) continue;
      f.n += n;
      f.x += x;
      f.slow += G.countAbove(hc, cfg.p99Bound);
      if (k % perMinute === 0) {
        // No data is a failed check in Flagger ("no values found"); otherwise the two built-in checks.
        const failed = f.n === 0 || f.x / f.n > cfg.maxErr || f.slow / f.n > 0.01;
        if (failed && ++f.failed >= 5) out[id] = k;
        f.n = f.x = f.slow = 0;
      }
    }
    const done = out.guardian && out['guardian-v1'] && (!errorsOnly || out['guardian-errors']) && (!oracle || out.oracle) && out['flagger-default'] && out['flagger-tuned'];
    if (done) break;
  }
  return out;
}

// ---------------------------------------------------------------- workers and summary
function runTasks(tasks) {
  return tasks.map(([si, from, to]) => {
    const res = [];
    for (let run = from; run < to; run++) res.push(simulateRun(si, run));
    return [si, from, res];
  });
}

async function simulateAll() {
  const tasks = [];
  const chunk = 250;
  SCENARIOS.forEach((sc, si) => {
    for (let from = 0; from < sc.runs; from += chunk) tasks.push([si, from, Math.min(sc.runs, from + chunk)]);
  });
  const results = SCENARIOS.map((sc) => new Array(sc.runs));
  const collect = (parts) => {
    for (const [si, from, res] of parts) res.forEach((o, i) => (results[si][from + i] = o));
  };
  if (WORKERS <= 1) collect(runTasks(tasks));
  else {
    // Round-robin over workers: each run's seed depends only on (scenario, run), so the result does not depend on the split.
    const shares = Array.from({ length: WORKERS }, () => []);
    tasks.forEach((t, i) => shares[i % WORKERS].push(t));
    const file = fileURLToPath(import.meta.url);
    const parts = await Promise.all(
      shares.map(
        (share) =>
          new Promise((resolve, reject) => {
            const w = new Worker(file, { workerData: { tasks: share } });
            w.once('message', resolve);
            w.once('error', reject);
            w.once('exit', (code) => code !== 0 && reject(new Error(`guardian bench worker exited with ${code}`)));
          }),
      ),
    );
    for (const p of parts) collect(p);
  }
  return results;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
/** Median and p90 of the time from the regression's onset, undetected runs counted as infinitely late; rollbacks before the onset are counted apart (`early`). */
function times(runs, key, onsetS = 0) {
  const early = runs.filter((o) => o[key] && o[key] * CHECK_S <= onsetS).length;
  const t = runs
    .filter((o) => !(o[key] && o[key] * CHECK_S <= onsetS))
    .map((o) => (o[key] ? o[key] * CHECK_S - onsetS : Infinity))
    .sort((a, b) => a - b);
  return { detected: t.filter(Number.isFinite).length, early, median: quantile(t, 0.5), p90: quantile(t, 0.9) };
}
/** Upper 95 % Clopper–Pearson bound for k events in n trials (bisection on the binomial cdf). */
function upper95(k, n) {
  if (k >= n) return 1;
  const cdf = (p) => {
    let s = 0;
    let pk = Math.pow(1 - p, n);
    for (let i = 0; i <= k; i++) {
      s += pk;
      pk *= ((n - i) / (i + 1)) * (p / (1 - p));
    }
    return s;
  };
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 0.025) lo = mid;
    else hi = mid;
  }
  return hi;
}
const fmtS = (s, horizon) => (Number.isFinite(s) ? s : `> ${horizon}`);

function measureStepCost() {
  const hist = (n) => {
    const h = new Array(SIZE).fill(0);
    h[BOUNDS.indexOf(100)] = n - Math.floor(n * 0.06);
    h[BOUNDS.indexOf(400)] = Math.floor(n * 0.05);
    h[BOUNDS.indexOf(750)] = Math.floor(n * 0.01);
    return h;
  };
  const cost = (n, m, iterations) => {
    let s = G.initialState({ srm: { expectedShare: n / (n + m) } }, { baseline: hist(30000) });
    const b = (k) => ({ at: k * 5000, canary: { requests: n, errors: Math.floor(n * 0.01) + (k % 3), latency: hist(n) }, control: { requests: m, errors: Math.floor(m * 0.01), latency: hist(m) } });
    for (let k = 0; k < 200; k++) s = G.step(s, b(k)).state; // warm up
    const t0 = performance.now();
    for (let k = 0; k < iterations; k++) G.step(s, b(k));
    return ((performance.now() - t0) / iterations) * 1000;
  };
  return { reference: cost(5, 495, 20000), large: cost(100_000, 100_000, 300), skewed: cost(1000, 99_000, 2000) };
}

export async function runGuardianBench() {
  const t0 = performance.now();
  const results = await simulateAll();
  const seconds = (performance.now() - t0) / 1000;
  const rows = [];
  const aa = results[0];
  const aaSc = SCENARIOS[0];
  for (const method of ['guardian', 'guardian-errors', 'guardian-v1', 'flagger-default', 'flagger-tuned']) {
    const k = aa.filter((o) => o[method]).length;
    const t = times(aa.filter((o) => o[method]), method); // among the runs that did roll back
    rows.push({
      scenario: `A/A, ${aaSc.horizonS / 60} min`,
      method: METHODS.find((m) => m.id === method).label,
      runs: aa.length,
      rollbacks: k,
      rate: `${((100 * k) / aa.length).toFixed(2)} % (95 % upper bound ${(100 * upper95(k, aa.length)).toFixed(2)} %)`,
      'median s': k ? t.median : '–',
      'p90 s': '–',
      'vs oracle': '–',
      target: method === 'guardian' || method === 'guardian-errors' ? `${aaSc.target}: ${k <= 83 * (aa.length / 10_000) ? 'met' : 'MISSED'}` : '',
    });
  }
  const srm = aa.filter((o) => o.srmPause).length;
  const adv = times(aa, 'advanceOk');
  for (let si = 1; si < SCENARIOS.length; si++) {
    const sc = SCENARIOS[si];
    const res = results[si];
    const or = times(res, 'oracle');
    for (const method of ['guardian', 'guardian-errors', 'guardian-v1', 'oracle', 'flagger-default', 'flagger-tuned']) {
      if (method === 'guardian-errors' && sc.errMult === 1) continue;
      if (method === 'oracle' && sc.onsetS) continue;
      const t = times(res, method, sc.onsetS ?? 0);
      const ratio = method === 'oracle' ? '1' : Number.isFinite(t.median) && Number.isFinite(or.median) ? (t.median / or.median).toFixed(2) : '–';
      let target = '';
      if (method === 'guardian' || method === 'guardian-errors') {
        const parts = [];
        if (sc.targetS) parts.push(`${sc.target}: ${t.median <= sc.targetS ? 'met' : 'MISSED'}`);
        if (ratio !== '–' && !sc.noRatioTarget) parts.push(`≤ 1.5× oracle: ${Number(ratio) <= 1.5 ? 'met' : 'MISSED'}`);
        target = parts.join('; ');
      }
      rows.push({
        scenario: sc.name,
        method: METHODS.find((m) => m.id === method).label,
        runs: res.length,
        rollbacks: t.detected,
        rate: `${((100 * t.detected) / res.length).toFixed(1)} %${t.early ? ` (+ ${t.early} before the onset)` : ''}`,
        'median s': fmtS(t.median, sc.horizonS - (sc.onsetS ?? 0)),
        'p90 s': fmtS(t.p90, sc.horizonS - (sc.onsetS ?? 0)),
        'vs oracle': ratio,
        target,
      });
    }
  }
  const cost = measureStepCost();
  const notes = [
    `Reference scenario: ${RPS} req/s (Poisson), ${SHARE * 100} % canary (independent per request), ${BASE_ERR * 100} % baseline error rate, control latency lognormal σ = ${SIGMA}, p95 = 300 ms (median ${Math.exp(MU).toFixed(0)} ms, p99 ${Math.exp(MU + 2.3263478740408408 * SIGMA).toFixed(0)} ms); a check every ${CHECK_S} s; α = ${ALPHA}; latency thresholds fixed per run from ${BASELINE_S / 60} min of control traffic before the step.`,
    `A/A: ${aaSc.runs.toLocaleString('en-US')} runs of ${aaSc.horizonS / 60} min (${aaSc.horizonS / CHECK_S} checks); regressions: ${RUNS.toLocaleString('en-US')} runs each, regression from the first check, stopped ${MAX_HORIZON_S / 3600} h after the onset (undetected runs count as later than the horizon). "p95 +200 ms" scales every canary latency by 5/3 (p95 300 → 500 ms). "errors ×10 after 30 min" (no target) starts the regression after 30 healthy minutes of the same milestone and times from the onset: the e-process has to win back the evidence it lost betting on regressions while there were none. "p95 +50 ms" (no target) scales canary latencies by 7/6: a small latency regression, below the latency metrics' default ψ range, where the previous defaults were faster.`,
    (() => {
      const s = G.initialState({ psiWeights: PSI_WEIGHTS, plugInWeight: PLUGIN_WEIGHT, latencyPsiRange: LATENCY_PSI_RANGE, metricWeights: METRIC_WEIGHTS }, { baseline: new Array(SIZE).fill(0).map((_, i) => (i === SIZE - 2 ? 10_000 : 0)) });
      const c = s.config;
      const w = s.metrics.map((m) => `${m.id} ${m.weight.toFixed(3)}`).join(', ');
      return `Guardian: combined e-value = weighted average of the metrics' e-values (${w}); each metric's e-value = (1 − v) · ψ-grid mixture + v · predictable plug-in, v = ${c.plugInWeight.errors} for errors and ${c.plugInWeight.latency} for latency; grid ψ ∈ {${c.psiGrid.join(', ')}}, ${PSI_WEIGHTS ? `weights ${PSI_WEIGHTS.join(':')}` : 'equal weights'} for errors, latency only on the points in [${c.latencyPsiRange.join(', ')}]; rollback at ≥ ${1 / ALPHA}. "Before the plug-in": the same module with plugInWeight 0, the whole grid for latency and equal metric weights (the previous defaults). Oracle: Wald's one-sided SPRT with the true odds ratio on the one metric that carries the effect (errors, or counts above the run's p95 threshold), same checks, same 1/α. Flagger: cumulative failed 1-minute checks, rollback at 5, as Flagger's \`threshold\`.${SEED_OFFSET ? ` Seeds offset by ${SEED_OFFSET} (hold-out runs).` : ''}`;
    })(),
    'For A/A rows, "median s" is the median time of the false rollbacks that happened (most come early, while the e-values rest on few checks).',
    `A/A side results (guardian): SRM pauses ${srm} of ${aa.length.toLocaleString('en-US')} runs (SRM α = 0.001); advance-ok (≥ 300 canary requests, no bake time) median at ${fmtS(adv.median, aaSc.horizonS)} s.`,
    `Step cost (incl. evidence): ${cost.reference.toFixed(1)} µs at the reference counts; ${cost.skewed.toFixed(1)} µs at 1,000 vs 99,000 requests; ${cost.large.toFixed(1)} µs at 100,000 vs 100,000 requests (errors + p95 + p99 + SRM).`,
    `Simulated in ${seconds.toFixed(0)} s on ${WORKERS} worker${WORKERS > 1 ? 's' : ''}.`,
  ].join('\n\n');
  return { rows, notes };
}

if (!isMainThread && workerData?.tasks) {
  parentPort.postMessage(runTasks(workerData.tasks));
} else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const { rows, notes } = await runGuardianBench();
  // The same table format as bench/run.js writes into RESULTS.md.
  const cols = Object.keys(rows[0]);
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : String(v));
  console.log([`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`)].join('\n'));
  console.log('\n' + notes);
}
