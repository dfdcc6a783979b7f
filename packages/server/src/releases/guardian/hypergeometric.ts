/**
 * Fisher's noncentral hypergeometric distribution, in log space.
 *
 * One check gives a 2×2 table: the canary had `x` bad outcomes out of `n` requests, the control
 * `y` out of `m`. Conditioning on the total t = x + y removes the (unknown, possibly drifting)
 * baseline rate; what is left is the distribution of x given t, which depends only on the odds
 * ratio ψ between the two cohorts:
 *
 *   P(x | t; ψ) = C(n,x) C(m,t−x) ψ^x / S(ψ),   S(ψ) = Σ_u C(n,u) C(m,t−u) ψ^u,
 *   u over [max(0, t−m), min(n, t)].
 *
 * The terms a_u ψ^u form a log-concave (so unimodal) sequence. Each sum is computed from its mode
 * outwards with the ratio a_{u+1}/a_u = (n−u)(t−u) / ((u+1)(m−t+u+1)), so every term is ≤ 1 and
 * nothing overflows; a side stops once its terms fall below e^-40 of the mode's. The work is
 * proportional to the distribution's spread (a few dozen terms for typical checks, a few thousand
 * for t ≈ 10^5), not to the size of the support.
 */

/** Terms below this fraction of the largest term (e^-40) are dropped. */
const TAIL = Math.exp(-40);

const TABLE_SIZE = 1024;
const LN_FACTORIAL = new Float64Array(TABLE_SIZE);
for (let k = 2; k < TABLE_SIZE; k++) LN_FACTORIAL[k] = LN_FACTORIAL[k - 1] + Math.log(k);
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln(k!) for a nonnegative integer k: a table below 1024, Stirling's series (error < 1e-20) above. */
export function lnFactorial(k: number): number {
  if (k < TABLE_SIZE) return LN_FACTORIAL[k];
  const r = 1 / k;
  const r2 = r * r;
  return (k + 0.5) * Math.log(k) - k + HALF_LN_2PI + r * (1 / 12 - r2 * (1 / 360 - r2 / 1260));
}

/** ln C(n, k) for integers 0 ≤ k ≤ n. */
export function lnChoose(n: number, k: number): number {
  return lnFactorial(n) - lnFactorial(k) - lnFactorial(n - k);
}

function checkTable(x: number, n: number, y: number, m: number): void {
  for (const v of [x, n, y, m]) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`counts must be nonnegative integers, got ${v}`);
  }
  if (x > n || y > m) throw new RangeError(`more events than requests: ${x}/${n}, ${y}/${m}`);
}

/** The mode of u ↦ C(n,u) C(m,t−u) ψ^u on [lo, hi]: the first u whose next ratio is ≤ 1. */
function modeOf(n: number, m: number, t: number, psi: number, lo: number, hi: number): number {
  // Root of ψ(n−u)(t−u) = (u+1)(m−t+u+1), i.e. A u² + B u + C = 0, in its cancellation-free form.
  const A = psi - 1;
  const B = -(psi * (n + t) + (m - t + 2));
  const C = psi * n * t - (m - t + 1);
  const D = B * B - 4 * A * C;
  let u = D >= 0 ? Math.floor((2 * C) / (-B + Math.sqrt(D))) + 1 : NaN;
  if (!Number.isFinite(u)) u = Math.floor((lo + hi) / 2);
  if (u < lo) u = lo;
  if (u > hi) u = hi;
  // The root is exact up to rounding; settle the integer mode against the true ratios.
  while (u < hi && psi * (n - u) * (t - u) > (u + 1) * (m - t + u + 1)) u++;
  while (u > lo && psi * (n - u + 1) * (t - u + 1) < u * (m - t + u)) u--;
  return u;
}

/**
 * ln S(ψ) = ln Σ_u C(n,u) C(m,t−u) ψ^u, the normalising constant of Fisher's noncentral
 * hypergeometric distribution (margins n, m, t).
 */
export function lnNormalizer(n: number, m: number, t: number, psi: number): number {
  const lo = Math.max(0, t - m);
  const hi = Math.min(n, t);
  if (lo > hi) throw new RangeError(`total ${t} does not fit margins ${n}, ${m}`);
  const lnPsi = Math.log(psi);
  if (lo === hi) return lnChoose(n, lo) + lnChoose(m, t - lo) + lo * lnPsi;
  const mode = modeOf(n, m, t, psi, lo, hi);
  let sum = 1;
  let term = 1;
  for (let u = mode; u < hi; u++) {
    term *= (psi * (n - u) * (t - u)) / ((u + 1) * (m - t + u + 1));
    sum += term;
    if (term < TAIL) break;
  }
  term = 1;
  for (let u = mode; u > lo; u--) {
    term *= (u * (m - t + u)) / (psi * (n - u + 1) * (t - u + 1));
    sum += term;
    if (term < TAIL) break;
  }
  return lnChoose(n, mode) + lnChoose(m, t - mode) + mode * lnPsi + Math.log(sum);
}

/** P(X = x | margins n, m, t; odds ratio ψ) for Fisher's noncentral hypergeometric distribution. */
export function fnchPmf(x: number, n: number, m: number, t: number, psi: number): number {
  const lo = Math.max(0, t - m);
  const hi = Math.min(n, t);
  if (x < lo || x > hi) return 0;
  return Math.exp(lnChoose(n, x) + lnChoose(m, t - x) + x * Math.log(psi) - lnNormalizer(n, m, t, psi));
}

/**
 * ln LR(ψ) = ln [ P(x | t; ψ) / P(x | t; 1) ] = x ln ψ + ln S(1) − ln S(ψ) for one check:
 * the canary had x events in n requests, the control y in m. A check where either cohort had no
 * requests, or nothing happened at all, carries no evidence: 0.
 */
export function lnLikelihoodRatio(x: number, n: number, y: number, m: number, psi: number): number {
  checkTable(x, n, y, m);
  if (!(psi > 0) || !Number.isFinite(psi)) throw new RangeError(`odds ratio must be positive, got ${psi}`);
  const t = x + y;
  if (n === 0 || m === 0 || t === 0 || t === n + m || psi === 1) return 0;
  return x * Math.log(psi) + lnNormalizer(n, m, t, 1) - lnNormalizer(n, m, t, psi);
}

/**
 * ln LR(ψ_j) for every ψ_j of a grid at once (S(1) is computed once). Writes into `out` when
 * given (length ≥ grid.length) and returns it.
 */
export function lnLikelihoodRatios(x: number, n: number, y: number, m: number, grid: readonly number[], out: number[] = new Array<number>(grid.length)): number[] {
  checkTable(x, n, y, m);
  const t = x + y;
  if (n === 0 || m === 0 || t === 0 || t === n + m) {
    for (let j = 0; j < grid.length; j++) out[j] = 0;
    return out;
  }
  const ln1 = lnNormalizer(n, m, t, 1);
  for (let j = 0; j < grid.length; j++) {
    const psi = grid[j];
    out[j] = psi === 1 ? 0 : x * Math.log(psi) + ln1 - lnNormalizer(n, m, t, psi);
  }
  return out;
}
