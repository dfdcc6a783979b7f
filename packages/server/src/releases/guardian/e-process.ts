/**
 * The one-sided e-process on a stream of 2×2 checks.
 *
 * For each regression size ψ_j of a grid, E_k(ψ_j) = Π_{b ≤ k} LR_b(ψ_j), the product of the
 * exact conditional likelihood ratios of the checks so far (see hypergeometric.ts). The reported
 * e-value is the mixture E_k = Σ_j w_j E_k(ψ_j) with fixed weights summing to 1.
 *
 * Under "no regression" (odds ratio 1, whatever the baseline rate does from check to check) every
 * factor has conditional expectation 1 given the past and the check's margins, so each E(ψ_j) and
 * the mixture are nonnegative martingales starting at 1, and Ville's inequality gives
 * P(sup_k E_k ≥ 1/α) ≤ α: the test may be looked at after every check, forever. Under ψ < 1 (the
 * canary is better) the factors with ψ_j > 1 have expectation < 1 (monotone likelihood ratio), so
 * the same holds for the whole composite null ψ ≤ 1.
 *
 * guardian.ts averages this mixture, with a weight fixed in advance, with the predictable plug-in
 * component of plug-in.ts (a test supermartingale for the same checks), and then averages the
 * metrics; both averages keep the guarantee.
 *
 * Everything is kept as natural logarithms so that long runs neither overflow nor underflow.
 */
import { lnLikelihoodRatios } from './hypergeometric.js';

/** Regression sizes (odds ratios) the mixture bets on, as DESIGN §5 fixes them. */
export const DEFAULT_PSI_GRID: readonly number[] = Object.freeze([1.25, 1.5, 2, 3, 5, 10, 30, 100]);

/** Equal weights over a grid. */
export function equalWeights(size: number): number[] {
  return Array.from({ length: size }, () => 1 / size);
}

/** Checks a grid and its weights; returns the weights normalised to sum to 1. */
export function normalizeMixture(grid: readonly number[], weights?: readonly number[]): number[] {
  if (grid.length === 0) throw new RangeError('the ψ grid is empty');
  for (const psi of grid) if (!(psi > 1) || !Number.isFinite(psi)) throw new RangeError(`grid odds ratios must be finite and > 1, got ${psi}`);
  const w = weights ?? equalWeights(grid.length);
  if (w.length !== grid.length) throw new RangeError(`${w.length} weights for ${grid.length} grid points`);
  let total = 0;
  for (const v of w) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`weights must be finite and ≥ 0, got ${v}`);
    total += v;
  }
  if (!(total > 0)) throw new RangeError('weights sum to 0');
  return w.map((v) => v / total);
}

/** ln Σ_i exp(a_i), safe for very large or very small a_i. */
export function logSumExp(a: readonly number[]): number {
  let max = -Infinity;
  for (const v of a) if (v > max) max = v;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (const v of a) s += Math.exp(v - max);
  return max + Math.log(s);
}

/** ln Σ_j w_j exp(lnE_j): the mixture's log e-value. */
export function lnMixture(lnE: readonly number[], weights: readonly number[]): number {
  let max = -Infinity;
  for (let j = 0; j < lnE.length; j++) if (weights[j] > 0 && lnE[j] > max) max = lnE[j];
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < lnE.length; j++) if (weights[j] > 0) s += weights[j] * Math.exp(lnE[j] - max);
  return max + Math.log(s);
}

/** ln of the average of e-values given by their logs (the average of e-values is an e-value). */
export function lnMean(lnE: readonly number[]): number {
  return logSumExp(lnE) - Math.log(lnE.length);
}

/**
 * Adds one check to the per-ψ log e-values, in place: lnE[j] += ln LR(ψ_j). The canary had
 * `x` events in `n` requests, the control `y` in `m`. Returns lnE.
 */
export function updateLnE(lnE: number[], grid: readonly number[], x: number, n: number, y: number, m: number, scratch?: number[]): number[] {
  const lr = lnLikelihoodRatios(x, n, y, m, grid, scratch);
  for (let j = 0; j < grid.length; j++) lnE[j] += lr[j];
  return lnE;
}
