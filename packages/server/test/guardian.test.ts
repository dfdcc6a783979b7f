import { describe, expect, it } from 'vitest';
import {
  boundIndexAtLeast,
  countAbove,
  DEFAULT_BUCKETS_MS,
  initialState,
  nextMilestone,
  quantileBoundIndex,
  step,
  type GuardianBatch,
  type GuardianConfig,
  type GuardianState,
  type StepResult,
} from '../src/releases/guardian/index.js';
import { rng, binomial, SIZE, i300, i1000, hist, batch } from './guardian-sampling.js';

/** Runs checks until a decision other than continue/advance-ok, or `checks` checks. */
function run(config: GuardianConfig, checks: number, next: (k: number) => GuardianBatch) {
  let state = initialState(config);
  let last: StepResult | null = null;
  for (let k = 1; k <= checks; k++) {
    last = step(state, next(k));
    state = last.state;
    if (last.decision === 'rollback' || last.decision === 'pause') return { at: k, last };
  }
  return { at: null, last: last! };
}

describe('guardian: anytime validity and power (seeded simulations)', () => {
  it('A/A: false rollbacks stay within α over 2,000 runs of 200 checks', () => {
    // 1 % baseline error rate, 5 % canary of 1,000 requests per check; the baseline rate also
    // drifts from check to check (the conditional test does not care).
    let rollbacks = 0;
    for (let run_ = 0; run_ < 2000; run_++) {
      const r = rng(1000 + run_);
      const out = run({ latency: false }, 200, () => {
        const p = 0.01 * (0.5 + r());
        const n = binomial(r, 1000, 0.05);
        return batch(0, [n, binomial(r, n, p)], [1000 - n, binomial(r, 1000 - n, p)]);
      });
      if (out.last.decision === 'rollback') rollbacks++;
    }
    expect(rollbacks / 2000).toBeLessThanOrEqual(0.02);
  });

  it('detects a ×10 error rate within a few checks', () => {
    const times: number[] = [];
    for (let run_ = 0; run_ < 200; run_++) {
      const r = rng(77 + run_);
      const out = run({ latency: false }, 200, () => {
        const n = binomial(r, 500, 0.05);
        return batch(0, [n, binomial(r, n, 0.1)], [500 - n, binomial(r, 500 - n, 0.01)]);
      });
      expect(out.last.decision).toBe('rollback');
      times.push(out.at!);
    }
    times.sort((a, b) => a - b);
    // ~25 canary requests per check: the median run needs only a handful of checks.
    expect(times[100]).toBeLessThanOrEqual(6);
    expect(times[180]).toBeLessThanOrEqual(12);
  });

  it('rolls back on a latency regression seen as counts above the control p95', () => {
    const baseline = new Array<number>(SIZE).fill(0);
    baseline[DEFAULT_BUCKETS_MS.indexOf(100)] = 9400;
    baseline[DEFAULT_BUCKETS_MS.indexOf(250)] = 450; // p95 falls in (200, 250]
    baseline[i1000] = 150; // p99 in (750, 1000]
    let state = initialState({}, { baseline });
    expect(state.metrics.map((m) => [m.id, m.thresholdMs, m.thresholdSource])).toEqual([
      ['errors', null, null],
      ['latency>p95', 250, 'baseline'],
      ['latency>p99', 1000, 'baseline'],
    ]);
    const r = rng(5);
    let res: StepResult | null = null;
    for (let k = 1; k <= 100 && res?.decision !== 'rollback'; k++) {
      const slowC = binomial(r, 20, 0.3);
      const slowK = binomial(r, 980, 0.01);
      res = step(state, { at: k * 5000, canary: { requests: 20, errors: 0, latency: hist(20, slowC) }, control: { requests: 980, errors: 10, latency: hist(980, slowK) } });
      state = res.state;
    }
    expect(res!.decision).toBe('rollback');
    expect(res!.evidence.metrics.find((m) => m.id === 'latency>p95')!.e).toBeGreaterThan(100);
    expect(res!.evidence.reasons.join(' ')).toMatch(/canary worse than control/);
  });
});

describe('guardian: latency thresholds', () => {
  it('picks the smallest bucket bound at or above the quantile', () => {
    const h = new Array<number>(SIZE).fill(0);
    h[DEFAULT_BUCKETS_MS.indexOf(50)] = 50;
    h[DEFAULT_BUCKETS_MS.indexOf(200)] = 44;
    h[i300] = 5;
    h[SIZE - 1] = 1; // +Inf
    expect(DEFAULT_BUCKETS_MS[quantileBoundIndex(h, DEFAULT_BUCKETS_MS, 0.5)!]).toBe(50); // cumulative 50 ≥ 50
    expect(DEFAULT_BUCKETS_MS[quantileBoundIndex(h, DEFAULT_BUCKETS_MS, 0.94)!]).toBe(200);
    expect(DEFAULT_BUCKETS_MS[quantileBoundIndex(h, DEFAULT_BUCKETS_MS, 0.95)!]).toBe(300);
    expect(DEFAULT_BUCKETS_MS[quantileBoundIndex(h, DEFAULT_BUCKETS_MS, 0.99)!]).toBe(300);
    // In the +Inf bucket: the largest finite bound.
    expect(DEFAULT_BUCKETS_MS[quantileBoundIndex(h, DEFAULT_BUCKETS_MS, 0.995)!]).toBe(10000);
    expect(quantileBoundIndex(new Array<number>(SIZE).fill(0), DEFAULT_BUCKETS_MS, 0.95)).toBeNull();
    expect(countAbove(h, i300)).toBe(1);
    expect(countAbove(h, DEFAULT_BUCKETS_MS.indexOf(200))).toBe(6);
    expect(DEFAULT_BUCKETS_MS[boundIndexAtLeast(DEFAULT_BUCKETS_MS, 320)]).toBe(400);
    expect(DEFAULT_BUCKETS_MS[boundIndexAtLeast(DEFAULT_BUCKETS_MS, 300)]).toBe(300);
  });

  it('SLO latencies snap up to a bound', () => {
    const s = initialState({ latency: { thresholds: [{ ms: 800 }] } });
    expect(s.metrics[1]).toMatchObject({ id: 'latency>800ms', thresholdMs: 1000, thresholdSource: 'slo' });
  });

  it('without a baseline, learns quantile thresholds from the control and applies them only to later checks', () => {
    let state = initialState({ latency: { thresholds: [{ quantile: 0.95 }], minBaselineRequests: 1000 } });
    expect(state.metrics[1].thresholdMs).toBeNull();
    // 4 % of control requests are slow (1000 ms bucket), so its p95 is in the 100 ms bucket.
    const b = (k: number, slow: number) => ({ at: k, canary: { requests: 10, errors: 0, latency: hist(10, slow) }, control: { requests: 600, errors: 6, latency: hist(600, 24) } });
    let res = step(state, b(1, 10)); // all canary requests slow, but no threshold yet
    expect(res.evidence.metrics[1]).toMatchObject({ e: 1, check: null, thresholdMs: null });
    res = step(res.state, b(2, 10)); // control reaches 1,200 requests: threshold fixed after this check
    expect(res.evidence.metrics[1]).toMatchObject({ e: 1, check: null, thresholdMs: 100, thresholdSource: 'warm-up' });
    expect(res.evidence.reasons.join(' ')).toMatch(/latency>p95 threshold fixed at 100 ms from 1200 control requests/);
    state = res.state;
    res = step(state, b(3, 10));
    expect(res.evidence.metrics[1].check).toEqual({ canary: { requests: 10, events: 10 }, control: { requests: 600, events: 24 } });
    expect(res.evidence.metrics[1].e).toBeGreaterThan(1);
  });
});

describe('guardian: SRM', () => {
  const share = (p: number, seed: number, checks = 100, total = 100_000) => {
    const r = rng(seed);
    return run({ latency: false, srm: { expectedShare: 0.01 } }, checks, (k) => {
      const n = binomial(r, total, p);
      return batch(k * 5000, [n, binomial(r, n, 0.01)], [total - n, binomial(r, total - n, 0.01)]);
    });
  };
  it('pauses on a 2 % share when 1 % was configured', () => {
    const out = share(0.02, 1);
    expect(out.last.decision).toBe('pause');
    expect(out.at).toBeLessThanOrEqual(2);
    expect(out.last.evidence.srm).toMatchObject({ flagged: true, expectedShare: 0.01, threshold: 1000 });
    expect(out.last.evidence.reasons.join(' ')).toMatch(/sample-ratio mismatch/);
  });
  it('does not flag a fair split with large counts', () => {
    for (let seed = 0; seed < 20; seed++) {
      const out = share(0.01, 100 + seed);
      expect(out.last.decision).toBe('advance-ok');
      expect(out.last.evidence.srm!.flagged).toBe(false);
    }
  });
  it('a regression still rolls back while paused', () => {
    let state = initialState({ latency: false, srm: { expectedShare: 0.01 } });
    let res = step(state, batch(1, [4000, 40], [96000, 960]));
    expect(res.decision).toBe('pause');
    state = res.state;
    res = step(state, batch(2, [4000, 400], [96000, 960]));
    expect(res.decision).toBe('rollback');
  });
});

describe('guardian: minimum traffic, bake time, guards', () => {
  it('waits for the minimum canary traffic and the bake time before advance-ok', () => {
    let state = initialState({ latency: false, minCanaryRequests: 300, bakeMs: 60_000 }, { startedAt: 0 });
    const decisions: string[] = [];
    for (let k = 1; k <= 20; k++) {
      const res = step(state, batch(k * 5000, [20, 0], [980, 10]));
      state = res.state;
      decisions.push(res.decision);
      if (res.decision === 'continue') expect(res.evidence.reasons[0]).toMatch(/^waiting:/);
    }
    // 300 canary requests after 15 checks (75 s) — later than the 60 s bake time.
    expect(decisions.indexOf('advance-ok')).toBe(14);
    expect(decisions.slice(0, 14).every((d) => d === 'continue')).toBe(true);
  });

  it('a check with no canary or no control traffic carries no evidence', () => {
    const s0 = initialState({ latency: false });
    const r1 = step(s0, batch(1, [0, 0], [1000, 10]));
    const r2 = step(r1.state, batch(2, [50, 40], [0, 0]));
    expect(r2.evidence.metrics[0].log10EByPsi).toEqual(s0.config.psiGrid.map(() => 0));
    expect(r2.evidence.e).toBe(1);
    expect(r2.decision).toBe('continue');
  });

  it('an SLO guard rolls back on its own threshold, once it has enough requests', () => {
    let state = initialState({ latency: false, sloGuards: [{ kind: 'error-rate', max: 0.05, windowMs: 60_000, minRequests: 100 }] });
    // Canary and control equally bad: the comparative test sees nothing, the guard does.
    let res = step(state, batch(5_000, [60, 6], [6000, 600]));
    expect(res.decision).toBe('continue'); // 60 < 100 requests
    res = step(res.state, batch(10_000, [60, 6], [6000, 600]));
    expect(res.decision).toBe('rollback');
    expect(res.evidence.slo[0]).toMatchObject({ tripped: true, requests: 120, bad: 12 });
    expect(res.evidence.reasons.join(' ')).toMatch(/SLO guard: canary error rate 10\.00 % > 5\.00 %/);
    // Old checks leave the window.
    state = initialState({ latency: false, sloGuards: [{ kind: 'latency', thresholdMs: 450, maxFraction: 0.5, windowMs: 10_000, minRequests: 10 }] });
    res = step(state, { at: 0, canary: { requests: 10, errors: 0, latency: hist(10, 4) }, control: { requests: 1000, errors: 0, latency: hist(1000, 400) } });
    res = step(res.state, { at: 20_000, canary: { requests: 10, errors: 0, latency: hist(10, 6) }, control: { requests: 1000, errors: 0, latency: hist(1000, 600) } });
    expect(res.evidence.slo[0]).toMatchObject({ requests: 10, bad: 6, tripped: true, thresholdMs: 500 });
  });

  it('rollback is terminal; replayed checks are ignored; the input state is never modified', () => {
    const s0 = initialState({ latency: false });
    const frozen = JSON.stringify(s0);
    const r1 = step(s0, { ...batch(1, [500, 100], [5000, 50]), seq: 1 });
    expect(JSON.stringify(s0)).toBe(frozen);
    expect(r1.decision).toBe('rollback');
    const r2 = step(r1.state, { ...batch(2, [500, 0], [5000, 50]), seq: 2 });
    expect(r2.decision).toBe('rollback');
    expect(r2.state).toBe(r1.state);
    expect(r2.evidence.reasons[0]).toMatch(/already rolled back at check 1/);

    const a = step(s0, { ...batch(1, [500, 5], [5000, 50]), seq: 7 });
    const b = step(a.state, { ...batch(2, [500, 100], [5000, 50]), seq: 7 });
    expect(b.decision).toBe('advance-ok');
    expect(b.state.checks).toBe(1);
    expect(b.evidence.reasons[0]).toMatch(/already applied/);
  });

  it('sanitises bad counts instead of failing the check', () => {
    const res = step(initialState({ latency: false }), batch(1, [10.7, 50], [-3, 2]));
    expect(res.evidence.metrics[0].check).toEqual({ canary: { requests: 10, events: 10 }, control: { requests: 0, events: 0 } });
    expect(() => step(initialState(), { at: NaN } as unknown as GuardianBatch)).toThrow(RangeError);
    expect(() => initialState({ alpha: 2 })).toThrow(RangeError);
    expect(() => initialState({ errors: false, latency: false })).toThrow(RangeError);
  });
});

describe('guardian: serialisable state', () => {
  it('round-trips JSON mid-run and decides identically', () => {
    const config: GuardianConfig = { srm: { expectedShare: 0.02 }, sloGuards: [{ kind: 'error-rate', max: 0.5 }], minCanaryRequests: 500, bakeMs: 30_000 };
    const baseline = hist(20_000, 300);
    const batches: GuardianBatch[] = [];
    const r = rng(9);
    for (let k = 1; k <= 400; k++) {
      const n = binomial(r, 2000, 0.02);
      const pc = k > 200 ? 0.03 : 0.01; // a regression half-way
      batches.push({
        at: k * 5000,
        seq: k,
        canary: { requests: n, errors: binomial(r, n, pc), latency: hist(n, binomial(r, n, 0.015)) },
        control: { requests: 2000 - n, errors: binomial(r, 2000 - n, 0.01), latency: hist(2000 - n, binomial(r, 2000 - n, 0.015)) },
      });
    }
    let live: GuardianState = initialState(config, { baseline, startedAt: 0 });
    let revived: GuardianState = JSON.parse(JSON.stringify(live));
    const a: StepResult[] = [];
    const b: StepResult[] = [];
    for (const bt of batches) {
      const ra = step(live, bt);
      live = ra.state;
      a.push(ra);
      // The other guardian is "restarted" from its persisted JSON before every check.
      const rb = step(JSON.parse(JSON.stringify(revived)), JSON.parse(JSON.stringify(bt)));
      revived = rb.state;
      b.push(rb);
    }
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.parse(JSON.stringify(live))).toEqual(live);
    const decisions = a.map((x) => x.decision);
    expect(decisions).toContain('advance-ok');
    expect(decisions.at(-1)).toBe('rollback');
    expect(decisions.indexOf('rollback')).toBeGreaterThan(200);
  });
});

describe('guardian: across milestones', () => {
  it('nextMilestone carries the e-values and restarts traffic, SRM and thresholds', () => {
    const s0 = initialState({ latency: false, srm: { expectedShare: 0.01 }, minCanaryRequests: 100 }, { startedAt: 0 });
    const r1 = step(s0, batch(5000, [200, 6], [19800, 198]));
    expect(r1.decision).toBe('advance-ok');
    const s1 = nextMilestone(r1.state, { latency: false, srm: { expectedShare: 0.05 }, minCanaryRequests: 100 }, { startedAt: 10_000 });
    expect(s1.metrics[0].lnE).toEqual(r1.state.metrics[0].lnE);
    expect(s1.metrics[0].canary).toEqual({ requests: 200, events: 6 });
    expect(s1.canary).toEqual({ requests: 0, events: 0 });
    expect(s1.config.srm!.expectedShare).toBe(0.05);
    const r2 = step(s1, batch(15_000, [50, 1], [950, 10]));
    expect(r2.decision).toBe('continue'); // min traffic counts again from zero
    expect(r2.evidence.srm!.flagged).toBe(false);
    expect(() => nextMilestone(r1.state, { srm: { expectedShare: 0.05 } })).toThrow(RangeError); // latency metrics differ
    const rb = step(s0, batch(5000, [500, 100], [5000, 50]));
    expect(() => nextMilestone(rb.state, { latency: false })).toThrow(/rolled-back/);
  });
});

describe('guardian: metric weights', () => {
  it('the combined e-value is the weighted average of the metrics', () => {
    const baseline = hist(10_000, 300);
    const counts = { at: 1, canary: { requests: 100, errors: 5, latency: hist(100, 10) }, control: { requests: 900, errors: 9, latency: hist(900, 27) } };
    const s0 = initialState({ metricWeights: { errors: 2, 'latency>p95': 1, 'latency>p99': 1 } }, { baseline });
    expect(s0.metrics.map((m) => [m.id, m.weight])).toEqual([
      ['errors', 0.5],
      ['latency>p95', 0.25],
      ['latency>p99', 0.25],
    ]);
    const r = step(s0, counts);
    const e = r.evidence.metrics.map((m) => m.e);
    expect(r.evidence.e).toBeCloseTo(0.5 * e[0] + 0.25 * e[1] + 0.25 * e[2], 10);
    // Ids not given keep their defaults (errors 2, the latency metrics share 1 by tail fraction 5 : 1).
    const partial = initialState({ metricWeights: { errors: 1 } }, { baseline });
    expect(partial.metrics.map((m) => m.weight)).toEqual([1 / 2, 5 / 12, 1 / 12].map((v) => expect.closeTo(v, 12)));
    const plain = step(initialState({}, { baseline }), counts);
    const d = plain.evidence.metrics.map((m) => m.e);
    expect(plain.evidence.e).toBeCloseTo((2 / 3) * d[0] + (5 / 18) * d[1] + (1 / 18) * d[2], 10);
    expect(() => initialState({ metricWeights: { 'latency>p90': 1 } })).toThrow(/unknown metric/);
  });
});
