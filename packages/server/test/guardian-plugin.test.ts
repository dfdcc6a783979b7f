import { describe, expect, it } from 'vitest';
import {
  addPlugInCheck,
  emptyPlugInStats,
  fnchPmf,
  initialState,
  lnLikelihoodRatio,
  nextMilestone,
  plugInEstimate,
  plugInPrior,
  resolveConfig,
  step,
  type GuardianBatch,
  type GuardianConfig,
  type GuardianState,
  type PlugInStats,
} from '../src/releases/guardian/index.js';
import { rng, binomial, hist, batch } from './guardian-sampling.js';

/** Sums of a list of checks, computed from scratch. */
const statsOf = (checks: Array<[number, number, number, number]>): PlugInStats => {
  const s = emptyPlugInStats();
  for (const [x, n, y, m] of checks) addPlugInCheck(s, x, n, y, m);
  return s;
};

describe('plug-in estimator', () => {
  it('starts at the prior geometric mean, moves to the low end under no regression and near the truth under one', () => {
    const prior = plugInPrior(1.25, 100);
    expect(prior.psi.length).toBe(64);
    expect(prior.psi[0]).toBeCloseTo(1.25, 12);
    expect(prior.psi[63]).toBeCloseTo(100, 10);
    expect(plugInPrior(1.25, 100)).toBe(prior); // cached
    const start = plugInEstimate(emptyPlugInStats(), 1.25, 100);
    expect(start).toBeGreaterThan(3.5);
    expect(start).toBeLessThan(5);
    // 1 % canary share; 20,000 events; canary share of events exactly as under ψ = 1 and ψ = 3.
    const s = 0.01;
    const at = (psi: number): PlugInStats => ({ events: (20_000 * psi * s) / (1 - s + psi * s), total: 20_000, shareTotal: 20_000 * s });
    expect(plugInEstimate(at(1), 1.25, 100)).toBeLessThan(1.3);
    expect(Math.abs(plugInEstimate(at(3), 1.25, 100) / 3 - 1)).toBeLessThan(0.05);
    expect(Math.abs(plugInEstimate(at(20), 1.25, 100) / 20 - 1)).toBeLessThan(0.05);
    // Monotone in the canary's events, always inside [1, max].
    let prev = 0;
    for (let events = 0; events <= 400; events += 20) {
      const est = plugInEstimate({ events, total: 4000, shareTotal: 40 }, 1.25, 100);
      expect(est).toBeGreaterThanOrEqual(prev);
      expect(est).toBeGreaterThanOrEqual(1.25 - 1e-12);
      expect(est).toBeLessThanOrEqual(100);
      prev = est;
    }
    expect(() => plugInPrior(1, 100)).toThrow(RangeError);
  });

  it('leaves out checks that carry no evidence for the exact test', () => {
    const s = statsOf([
      [0, 0, 5, 100], // no canary
      [3, 10, 0, 0], // no control
      [0, 10, 0, 100], // no events
      [10, 10, 100, 100], // everything failed
    ]);
    expect(s).toEqual(emptyPlugInStats());
    expect(statsOf([[2, 10, 8, 90]])).toEqual({ events: 2, total: 10, shareTotal: 1 });
  });
});

describe('plug-in: predictability', () => {
  it('the ψ̂ bet on at check b is fixed before check b and depends only on checks 1..b−1', () => {
    const r = rng(42);
    const checks: Array<[number, number, number, number]> = [];
    let state = initialState({ latency: false, alpha: 1e-300 }); // no rollback: a stopped state no longer bets
    for (let b = 1; b <= 300; b++) {
      const n = binomial(r, 1000, 0.02);
      const x = binomial(r, n, b > 100 ? 0.03 : 0.01);
      const y = binomial(r, 1000 - n, 0.01);
      const announced = state.metrics[0].plugIn.nextPsi; // written at the end of check b−1
      expect(announced).toBe(plugInEstimate(statsOf(checks), 1.25, 100)); // recomputed from the past alone
      // Whatever check b turns out to be, the bet on it is the same.
      for (const alt of [0, n, Math.floor(n / 2)]) {
        const other = step(state, batch(b, [n, alt], [1000 - n, y]));
        expect(other.evidence.metrics[0].plugIn!.psi).toBe(announced);
      }
      const res = step(state, batch(b, [n, x], [1000 - n, y]));
      expect(res.evidence.metrics[0].plugIn!.psi).toBe(announced);
      // The plug-in's log e-value grew by exactly ln LR(ψ̂) of this check.
      expect(res.state.metrics[0].plugIn.lnE - state.metrics[0].plugIn.lnE).toBeCloseTo(lnLikelihoodRatio(x, n, y, 1000 - n, announced), 12);
      checks.push([x, n, y, 1000 - n]);
      state = res.state;
    }
    // After 200 checks of a ×3 regression the estimate has moved well above the start.
    expect(state.metrics[0].plugIn.nextPsi).toBeGreaterThan(2);
  });
});

describe('plug-in: validity', () => {
  /**
   * The exact conditional expectation of a metric's e-value after the next check, given the past
   * and the check's margins (n, m, t): Σ_x P(x | t; ψ0) E_after(x). Under ψ0 = 1 it must equal the
   * e-value before (a martingale); under ψ0 < 1 it must not exceed it.
   */
  const expectedAfter = (state: GuardianState, n: number, m: number, t: number, psi0: number, which: 'metric' | 'plugIn' | 'combined') => {
    let sum = 0;
    for (let x = Math.max(0, t - m); x <= Math.min(n, t); x++) {
      const res = step(state, batch(1e9, [n, x], [m, t - x]));
      const ev = res.evidence;
      const log10 = which === 'combined' ? ev.log10E : which === 'metric' ? ev.metrics[0].log10E : ev.metrics[0].plugIn!.log10E;
      sum += fnchPmf(x, n, m, t, psi0) * 10 ** log10;
    }
    return sum;
  };

  it('each metric e-value (grid + plug-in) and the combined e-value are martingales under ψ = 1 and supermartingales under ψ < 1, given the margins', () => {
    const r = rng(7);
    // α tiny so that no run stops (a rolled-back state no longer changes).
    for (const config of [{ latency: false }, { latency: false, plugInWeight: 1 }, { latency: false, plugInWeight: 0.5 }] as GuardianConfig[]) {
      let state = initialState({ ...config, alpha: 1e-300 });
      for (let b = 1; b <= 60; b++) {
        const n = binomial(r, 400, 0.05);
        state = step(state, batch(b, [n, binomial(r, n, 0.02)], [400 - n, binomial(r, 400 - n, 0.01)])).state;
        if (b % 20 !== 0) continue;
        expect(state.rolledBack).toBeNull();
        const before = step(state, batch(1e9, [0, 0], [0, 0])).evidence; // no evidence: the current values
        for (const [n2, m2, t2] of [
          [5, 495, 6],
          [40, 360, 12],
          [200, 200, 30],
        ]) {
          for (const which of ['metric', 'plugIn', 'combined'] as const) {
            const now = which === 'combined' ? before.log10E : which === 'metric' ? before.metrics[0].log10E : before.metrics[0].plugIn!.log10E;
            expect(expectedAfter(state, n2, m2, t2, 1, which) / 10 ** now).toBeCloseTo(1, 9);
            expect(expectedAfter(state, n2, m2, t2, 0.5, which) / 10 ** now).toBeLessThanOrEqual(1 + 1e-9);
          }
        }
      }
    }
  });

  it('under no regression the plug-in alone has mean ≤ 1 (simulation) and rolls back at most α of the time', () => {
    // 4,000 A/A runs of 100 checks, 2 % canary of 500 requests, 2 % baseline error rate that drifts.
    let sum = 0;
    let sumSq = 0;
    let rollbacks = 0;
    const runs = 4000;
    for (let run = 0; run < runs; run++) {
      const r = rng(5000 + run);
      let state = initialState({ latency: false, plugInWeight: 1 });
      let rolledBack = false;
      for (let b = 1; b <= 100; b++) {
        const p = 0.02 * (0.5 + r());
        const n = binomial(r, 500, 0.02);
        const res = step(state, batch(b, [n, binomial(r, n, p)], [500 - n, binomial(r, 500 - n, p)]));
        state = res.state;
        if (res.decision === 'rollback') {
          rolledBack = true;
          break;
        }
      }
      if (rolledBack) rollbacks++;
      // The unstopped plug-in e-value at the horizon (a stopped run's value at its stop is ≥ 100 and is kept as is).
      const e = Math.exp(state.metrics[0].plugIn.lnE);
      sum += e;
      sumSq += e * e;
    }
    const mean = sum / runs;
    const se = Math.sqrt((sumSq / runs - mean * mean) / runs);
    expect(mean).toBeLessThanOrEqual(1 + 3 * se + 0.05);
    expect(rollbacks / runs).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  it('A/A with the default configuration (errors + latency, plug-in on errors): false rollbacks within α', () => {
    let rollbacks = 0;
    const runs = 1500;
    const baseline = hist(20_000, 1000); // p95 falls in the 100 ms bucket, p99 in the 1000 ms one
    for (let run = 0; run < runs; run++) {
      const r = rng(90_000 + run);
      let state = initialState({}, { baseline });
      for (let b = 1; b <= 150; b++) {
        const n = binomial(r, 1000, 0.05);
        const res = step(state, {
          at: b,
          canary: { requests: n, errors: binomial(r, n, 0.01), latency: hist(n, binomial(r, n, 0.05)) },
          control: { requests: 1000 - n, errors: binomial(r, 1000 - n, 0.01), latency: hist(1000 - n, binomial(r, 1000 - n, 0.05)) },
        });
        state = res.state;
        if (res.decision === 'rollback') {
          rollbacks++;
          break;
        }
      }
    }
    expect(rollbacks / runs).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  it('detects a ×2 error rate sooner than the grid alone (same seeds)', () => {
    const timeTo = (config: GuardianConfig, seed: number) => {
      const r = rng(seed);
      let state = initialState(config);
      for (let b = 1; b <= 3000; b++) {
        const n = binomial(r, 1000, 0.02);
        const res = step(state, batch(b, [n, binomial(r, n, 0.02)], [1000 - n, binomial(r, 1000 - n, 0.01)]));
        state = res.state;
        if (res.decision === 'rollback') return b;
      }
      return Infinity;
    };
    const plug: number[] = [];
    const grid: number[] = [];
    for (let seed = 0; seed < 150; seed++) {
      plug.push(timeTo({ latency: false }, 300 + seed));
      grid.push(timeTo({ latency: false, plugInWeight: 0 }, 300 + seed));
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    expect(median(plug)).toBeLessThan(median(grid));
  });
});

describe('plug-in: configuration, evidence, state', () => {
  it('resolves the defaults and validates the new fields', () => {
    const c = resolveConfig();
    expect(c.plugInWeight).toEqual({ errors: 0.8, latency: 0 });
    expect(c.latencyPsiRange).toEqual([3, 30]);
    expect(c.psiWeights).toEqual(c.psiGrid.map(() => 1 / 8));
    expect(c.latencyPsiWeights).toEqual([0, 0, 0, 1 / 4, 1 / 4, 1 / 4, 1 / 4, 0]);
    expect(resolveConfig({ latencyPsiRange: [2, 1e6] })).toMatchObject({ latencyPsiRange: [2, 100], latencyPsiWeights: [0, 0, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6] });
    expect(resolveConfig({ plugInWeight: 0.5 }).plugInWeight).toEqual({ errors: 0.5, latency: 0.5 });
    expect(resolveConfig({ plugInWeight: { latency: 0.25 } }).plugInWeight).toEqual({ errors: 0.8, latency: 0.25 });
    expect(resolveConfig({ latencyPsiRange: [1, 100] }).latencyPsiWeights).toEqual(c.psiWeights);
    expect(() => resolveConfig({ plugInWeight: 1.5 })).toThrow(RangeError);
    expect(() => resolveConfig({ plugInWeight: { errors: -1 } })).toThrow(RangeError);
    expect(() => resolveConfig({ latencyPsiRange: [0.5, 10] })).toThrow(RangeError);
    expect(() => resolveConfig({ latencyPsiRange: [10, 5] })).toThrow(RangeError);
    expect(() => resolveConfig({ latencyPsiRange: [11, 29] })).toThrow(/holds no grid point/);
    // A custom grid with nothing in the default range: latency falls back to the whole grid.
    expect(resolveConfig({ psiGrid: [1.5, 2] })).toMatchObject({ latencyPsiWeights: [0.5, 0.5], latencyPsiRange: [1.5, 2] });
  });

  it('default metric weights: errors 2/3, latency 1/3 split by the share of requests each threshold counts', () => {
    const s = initialState({}, { baseline: hist(10_000, 300) });
    expect(s.metrics.map((m) => m.id)).toEqual(['errors', 'latency>p95', 'latency>p99']);
    const w = s.metrics.map((m) => m.weight);
    expect(w[0]).toBeCloseTo(2 / 3, 12);
    expect(w[1]).toBeCloseTo(5 / 18, 12);
    expect(w[2]).toBeCloseTo(1 / 18, 12);
    const slo = initialState({ latency: { thresholds: [{ quantile: 0.9 }, { ms: 800 }] } });
    expect(slo.metrics.map((m) => m.weight)).toEqual([2 / 3, (1 / 3) * (0.1 / 0.15), (1 / 3) * (0.05 / 0.15)].map((v) => expect.closeTo(v, 12)));
    expect(initialState({ errors: false }, { baseline: hist(10_000, 300) }).metrics.map((m) => m.weight)).toEqual([5 / 6, 1 / 6].map((v) => expect.closeTo(v, 12)));
  });

  it('with plugInWeight 0 a metric is the grid mixture alone; otherwise the stated average', () => {
    const b = batch(1, [100, 6], [900, 9]);
    const off = step(initialState({ latency: false, plugInWeight: 0 }), b).evidence.metrics[0];
    expect(off.plugIn).toBeNull();
    expect(off.log10E).toBe(off.gridLog10E);
    const on = step(initialState({ latency: false, plugInWeight: 0.3 }), b).evidence.metrics[0];
    expect(on.gridLog10E).toBeCloseTo(off.gridLog10E, 12);
    expect(10 ** on.log10E).toBeCloseTo(0.7 * 10 ** on.gridLog10E + 0.3 * 10 ** on.plugIn!.log10E, 10);
    expect(on.plugIn!.psi).toBe(plugInEstimate(emptyPlugInStats(), 1.25, 100));
    expect(on.psiWeights).toEqual(on.psiWeights.map(() => 1 / 8));
  });

  it('nextMilestone carries the plug-in over and refuses a different plug-in weight', () => {
    const s0 = initialState({ latency: false, minCanaryRequests: 10 });
    const r1 = step(s0, batch(1, [200, 3], [19800, 198]));
    const s1 = nextMilestone(r1.state, { latency: false, minCanaryRequests: 10 });
    expect(s1.metrics[0].plugIn).toEqual(r1.state.metrics[0].plugIn);
    expect(() => nextMilestone(r1.state, { latency: false, plugInWeight: 0.5 })).toThrow(RangeError);
  });

  it('a version-1 state (before the plug-in) keeps deciding as it did: grid only, its own weights', () => {
    const config: GuardianConfig = { plugInWeight: 0, latencyPsiRange: [1, 100], metricWeights: { errors: 1, 'latency>p95': 1, 'latency>p99': 1 } };
    const baseline = hist(10_000, 300);
    const modern = initialState(config, { baseline });
    // What the previous code persisted: no plug-in anywhere, version 1.
    const old = JSON.parse(JSON.stringify(modern));
    old.version = 1;
    delete old.config.plugInWeight;
    delete old.config.latencyPsiRange;
    delete old.config.latencyPsiWeights;
    for (const m of old.metrics) delete m.plugIn;
    const r = rng(3);
    let a: GuardianState = modern;
    let b: GuardianState = old;
    for (let k = 1; k <= 50; k++) {
      const n = binomial(r, 500, 0.1);
      const bt: GuardianBatch = {
        at: k,
        canary: { requests: n, errors: binomial(r, n, 0.02), latency: hist(n, binomial(r, n, 0.03)) },
        control: { requests: 500 - n, errors: binomial(r, 500 - n, 0.01), latency: hist(500 - n, binomial(r, 500 - n, 0.03)) },
      };
      const ra = step(a, bt);
      const rb = step(b, bt);
      expect(rb.decision).toBe(ra.decision);
      expect(rb.evidence.log10E).toBeCloseTo(ra.evidence.log10E, 12);
      a = ra.state;
      b = rb.state;
    }
    expect(b.version).toBe(2);
    expect(nextMilestone(old, config, { baseline }).metrics.map((m) => m.weight)).toEqual(modern.metrics.map((m) => m.weight));
  });

  it('the state stays plain, finite JSON with the plug-in', () => {
    let state = initialState({ srm: { expectedShare: 0.05 } }, { baseline: hist(5000, 100) });
    const r = rng(11);
    for (let k = 1; k <= 100; k++) {
      const n = binomial(r, 200, 0.05);
      state = step(state, { at: k, canary: { requests: n, errors: binomial(r, n, 0.05), latency: hist(n, 1) }, control: { requests: 200 - n, errors: 1, latency: hist(200 - n, 4) } }).state;
    }
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    const plain = (v: unknown): boolean =>
      v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) ? v.every(plain) : typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(plain));
    expect(plain(state)).toBe(true);
  });
});
