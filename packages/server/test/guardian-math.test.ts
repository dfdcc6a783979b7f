import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PSI_GRID,
  fnchPmf,
  lnChoose,
  lnFactorial,
  lnLikelihoodRatio,
  lnLikelihoodRatios,
  lnMixture,
  lnNormalizer,
  normalizeMixture,
  srmAlternatives,
  updateSrm,
} from '../src/releases/guardian/index.js';

// ---------------------------------------------------------------- exact rational arithmetic
const choose = (n: number, k: number): bigint => {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
};
/** num/den as a double, exact to the last bit or so. */
const ratio = (num: bigint, den: bigint): number => {
  if (num === 0n) return 0;
  const shift = BigInt(Math.max(0, den.toString(2).length - num.toString(2).length + 80));
  return Number((num << shift) / den) / 2 ** Number(shift);
};
/** Exact P(x | n, m, t; ψ = p/q). */
const exactPmf = (x: number, n: number, m: number, t: number, p: number, q: number): number => {
  const lo = Math.max(0, t - m);
  const hi = Math.min(n, t);
  const term = (u: number) => choose(n, u) * choose(m, t - u) * BigInt(p) ** BigInt(u) * BigInt(q) ** BigInt(hi - u);
  let den = 0n;
  for (let u = lo; u <= hi; u++) den += term(u);
  return ratio(term(x), den);
};
/** Exact LR(ψ = p/q) = ψ^x Σ a_u / Σ a_u ψ^u, as a double. */
const exactLR = (x: number, n: number, y: number, m: number, p: number, q: number): number => {
  const t = x + y;
  const lo = Math.max(0, t - m);
  const hi = Math.min(n, t);
  let s1 = 0n;
  let sp = 0n;
  for (let u = lo; u <= hi; u++) {
    const a = choose(n, u) * choose(m, t - u);
    s1 += a;
    sp += a * BigInt(p) ** BigInt(u) * BigInt(q) ** BigInt(hi - u);
  }
  // ψ^x Σa / Σ a ψ^u, with everything multiplied by q^hi.
  return ratio(BigInt(p) ** BigInt(x) * BigInt(q) ** BigInt(hi - x) * s1, sp);
};

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('log factorials', () => {
  it('match exact values below and above the table', () => {
    for (const k of [0, 1, 2, 10, 170]) {
      let f = 1n;
      for (let i = 2; i <= k; i++) f *= BigInt(i);
      expect(relErr(Math.exp(lnFactorial(k)), Number(f))).toBeLessThan(1e-12);
    }
    // Across the table/Stirling seam the two agree with summed logs.
    let s = 0;
    for (let i = 2; i <= 3000; i++) {
      s += Math.log(i);
      if (i === 1023 || i === 1024 || i === 1025 || i === 3000) expect(Math.abs(lnFactorial(i) - s)).toBeLessThan(1e-9);
    }
    expect(relErr(Math.exp(lnChoose(60, 30)), Number(choose(60, 30)))).toBeLessThan(1e-12);
  });
});

describe('Fisher noncentral hypergeometric pmf', () => {
  const psis: Array<[number, number]> = [
    [1, 1],
    [3, 2],
    [2, 1],
    [5, 1],
    [100, 1],
    [1, 3],
  ];
  it('equals the exact rational pmf on small tables', () => {
    let checked = 0;
    for (const [n, m] of [
      [1, 1],
      [3, 7],
      [5, 5],
      [8, 3],
      [12, 20],
      [0, 4],
    ]) {
      for (let t = 0; t <= n + m; t++) {
        for (const [p, q] of psis) {
          let sum = 0;
          for (let x = Math.max(0, t - m); x <= Math.min(n, t); x++) {
            const got = fnchPmf(x, n, m, t, p / q);
            const want = exactPmf(x, n, m, t, p, q);
            expect(relErr(got, want), `x=${x} n=${n} m=${m} t=${t} ψ=${p}/${q}`).toBeLessThan(1e-11);
            sum += got;
            checked++;
          }
          expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('is 0 outside the support and sums to 1 on large tables', () => {
    expect(fnchPmf(7, 5, 10, 8, 2)).toBe(0);
    for (const [n, m, t, psi] of [
      [5, 495, 6, 10],
      [1000, 99000, 1000, 100],
      [100_000, 100_000, 100_000, 3],
      [30, 40, 50, 1.25],
    ]) {
      let sum = 0;
      for (let x = Math.max(0, t - m); x <= Math.min(n, t); x++) sum += fnchPmf(x, n, m, t, psi);
      expect(Math.abs(sum - 1), `${n} ${m} ${t} ${psi}`).toBeLessThan(1e-8);
    }
  });

  it('normaliser matches a full log-sum-exp over the support (random margins and odds ratios)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -4, max: 5, noNaN: true }), (n, m, frac, lg) => {
        const t = Math.round(frac * (n + m));
        const psi = Math.pow(10, lg);
        const terms: number[] = [];
        for (let u = Math.max(0, t - m); u <= Math.min(n, t); u++) terms.push(lnChoose(n, u) + lnChoose(m, t - u) + u * Math.log(psi));
        const max = Math.max(...terms);
        const want = max + Math.log(terms.reduce((acc, v) => acc + Math.exp(v - max), 0));
        expect(Math.abs(lnNormalizer(n, m, t, psi) - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('normaliser is finite for huge margins', () => {
    const v = lnNormalizer(1_000_000, 50_000_000, 600_000, 100);
    expect(Number.isFinite(v)).toBe(true);
  });
});

describe('likelihood ratio', () => {
  it('equals the exact rational LR on small tables', () => {
    for (const [x, n, y, m] of [
      [1, 5, 3, 495],
      [0, 5, 5, 495],
      [3, 5, 2, 20],
      [4, 10, 0, 12],
      [2, 2, 0, 9],
    ]) {
      for (const [p, q] of [
        [5, 4],
        [3, 2],
        [2, 1],
        [10, 1],
        [100, 1],
      ]) {
        const got = lnLikelihoodRatio(x, n, y, m, p / q);
        const want = Math.log(exactLR(x, n, y, m, p, q));
        expect(Math.abs(got - want), `${x}/${n} vs ${y}/${m}, ψ=${p}/${q}`).toBeLessThan(1e-11);
      }
    }
  });

  it('LR(1) = 1 and empty cohorts carry no evidence', () => {
    expect(lnLikelihoodRatio(3, 10, 4, 100, 1)).toBe(0);
    expect(lnLikelihoodRatios(0, 0, 5, 500, DEFAULT_PSI_GRID)).toEqual(DEFAULT_PSI_GRID.map(() => 0));
    expect(lnLikelihoodRatios(0, 5, 0, 0, DEFAULT_PSI_GRID)).toEqual(DEFAULT_PSI_GRID.map(() => 0));
    expect(lnLikelihoodRatios(0, 5, 0, 500, DEFAULT_PSI_GRID)).toEqual(DEFAULT_PSI_GRID.map(() => 0));
    // Every request failed in both cohorts: t = n + m, no information about the odds ratio.
    expect(lnLikelihoodRatios(5, 5, 7, 7, DEFAULT_PSI_GRID)).toEqual(DEFAULT_PSI_GRID.map(() => 0));
  });

  it('grid and single-ψ versions agree', () => {
    const grid = lnLikelihoodRatios(4, 50, 30, 4950, DEFAULT_PSI_GRID);
    DEFAULT_PSI_GRID.forEach((psi, j) => expect(grid[j]).toBeCloseTo(lnLikelihoodRatio(4, 50, 30, 4950, psi), 12));
  });

  it('is increasing in the canary count (for fixed total and for fixed control)', () => {
    for (const psi of DEFAULT_PSI_GRID) {
      let prev = -Infinity;
      for (let x = 0; x <= 20; x++) {
        const v = lnLikelihoodRatio(x, 50, 20 - x, 5000, psi);
        expect(v).toBeGreaterThan(prev);
        prev = v;
      }
      prev = -Infinity;
      for (let x = 0; x <= 20; x++) {
        const v = lnLikelihoodRatio(x, 50, 40, 5000, psi);
        expect(v).toBeGreaterThan(prev);
        prev = v;
      }
    }
  });

  it('has expectation exactly 1 under ψ = 1 and ≤ 1 under ψ < 1 (given the margins)', () => {
    for (const [n, m, t] of [
      [5, 495, 6],
      [50, 60, 40],
      [3, 1000, 1],
      [400, 40_000, 800],
    ]) {
      for (const psi of DEFAULT_PSI_GRID) {
        let e1 = 0;
        let eLow = 0;
        for (let x = Math.max(0, t - m); x <= Math.min(n, t); x++) {
          const lr = lnLikelihoodRatio(x, n, t - x, m, psi);
          // p·LR as exp(ln p + ln LR): where ψ = 100 puts its mass, p(x; 1) underflows a double.
          const lnP = (psi0: number) => lnChoose(n, x) + lnChoose(m, t - x) + x * Math.log(psi0) - lnNormalizer(n, m, t, psi0);
          e1 += Math.exp(lnP(1) + lr);
          eLow += Math.exp(lnP(0.8) + lr);
        }
        expect(Math.abs(e1 - 1), `${n} ${m} ${t} ${psi}`).toBeLessThan(1e-9);
        expect(eLow).toBeLessThan(1);
      }
    }
  });

  it('rejects impossible tables', () => {
    expect(() => lnLikelihoodRatio(6, 5, 0, 10, 2)).toThrow(RangeError);
    expect(() => lnLikelihoodRatio(-1, 5, 0, 10, 2)).toThrow(RangeError);
    expect(() => lnLikelihoodRatio(1.5, 5, 0, 10, 2)).toThrow(RangeError);
    expect(() => lnLikelihoodRatio(1, 5, 0, 10, 0)).toThrow(RangeError);
  });
});

describe('mixture and SRM helpers', () => {
  it('mixture of log e-values is the weighted average, stable at extremes', () => {
    const w = normalizeMixture([2, 3], [1, 3]);
    expect(w).toEqual([0.25, 0.75]);
    expect(Math.exp(lnMixture([Math.log(8), Math.log(4)], w))).toBeCloseTo(5, 12);
    expect(lnMixture([5000, -5000], [0.5, 0.5])).toBeCloseTo(5000 + Math.log(0.5), 9);
    expect(() => normalizeMixture([1, 2])).toThrow(RangeError);
    expect(() => normalizeMixture([2, 3], [1])).toThrow(RangeError);
  });

  it('SRM factors have expectation ≤ 1 anywhere inside the tolerance band', () => {
    const alts = srmAlternatives(0.01, 0.1);
    for (const p of [0.01 / 1.1, 0.0095, 0.01, 0.0105, 0.011]) {
      for (let i = 0; i < alts.length; i++) {
        // One Bernoulli request: E[LR] = p·e^{ln LR(canary)} + (1−p)·e^{ln LR(control)}.
        const canary = Math.exp(updateSrm(alts.map(() => 0), alts, 1, 0)[i]);
        const control = Math.exp(updateSrm(alts.map(() => 0), alts, 0, 1)[i]);
        expect(p * canary + (1 - p) * control).toBeLessThanOrEqual(1 + 1e-12);
      }
    }
  });
});
