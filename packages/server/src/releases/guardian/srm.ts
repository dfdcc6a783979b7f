/**
 * Sample-ratio mismatch: is the canary getting the share of traffic it was configured for?
 *
 * If not (a sticky-assignment bug, a crashing canary that drops requests, a load balancer that
 * routes around it), the comparison between cohorts is no longer like-for-like, so the guardian
 * pauses the plan for a person to look instead of advancing it.
 *
 * The test is itself an anytime-valid mixture e-process. Given a check's total traffic N = n + m,
 * the canary's count n is Binomial(N, p) under random assignment. The null is a band around the
 * configured share p0: p ∈ [pL, pH] = [p0/(1+τ), p0·(1+τ)] (τ = tolerance), so tiny, harmless
 * deviations never pause a plan. Alternatives sit outside the band, p1 = pH·r above and p1 = pL/r
 * below, for r in a fixed grid; each is tested against the nearer band edge with the likelihood
 * ratio (p1/p_e)^n ((1−p1)/(1−p_e))^m. For an upper alternative that ratio has expectation ≤ 1
 * for every p ≤ pH (and symmetrically below), so the equal-weight mixture is a supermartingale
 * under every p in the band and Ville's inequality bounds the false-alarm probability by α_srm.
 *
 * It assumes requests are assigned independently. When assignment is sticky per user and a few
 * users send most requests, request counts are overdispersed and the test is anticonservative;
 * the tolerance band absorbs mild overdispersion, and a server can feed counts of users instead.
 */

export interface SrmAlternative {
  /** The alternative share. */
  p1: number;
  /** The band edge it is tested against. */
  edge: number;
}

/** Ratios between an alternative share and the nearer band edge. */
export const DEFAULT_SRM_RATIOS: readonly number[] = Object.freeze([1.1, 1.25, 1.5, 2, 3]);

/** The alternatives for a configured share p0 and relative tolerance τ (shares that would be 0 or 1 are left out). */
export function srmAlternatives(expectedShare: number, tolerance: number, ratios: readonly number[] = DEFAULT_SRM_RATIOS): SrmAlternative[] {
  if (!(expectedShare > 0 && expectedShare < 1)) throw new RangeError(`expected share must be in (0, 1), got ${expectedShare}`);
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new RangeError(`tolerance must be ≥ 0, got ${tolerance}`);
  const hi = Math.min(expectedShare * (1 + tolerance), 1 - 1e-9);
  const lo = expectedShare / (1 + tolerance);
  const alts: SrmAlternative[] = [];
  for (const r of ratios) {
    if (!(r > 1) || !Number.isFinite(r)) throw new RangeError(`SRM ratios must be > 1, got ${r}`);
    if (hi * r < 1) alts.push({ p1: hi * r, edge: hi });
    alts.push({ p1: lo / r, edge: lo });
  }
  return alts;
}

/** Adds one check (canary n, control m requests) to the per-alternative log e-values, in place. */
export function updateSrm(lnE: number[], alts: readonly SrmAlternative[], n: number, m: number): number[] {
  if (n === 0 && m === 0) return lnE;
  for (let i = 0; i < alts.length; i++) {
    const { p1, edge } = alts[i];
    lnE[i] += n * Math.log(p1 / edge) + m * Math.log((1 - p1) / (1 - edge));
  }
  return lnE;
}
