/**
 * The predictable plug-in component: a GROW-style e-process that bets, at each check, on one
 * regression size ψ̂_b estimated from the checks before it.
 *
 *   E^P_k = Π_{b ≤ k} LR_b(ψ̂_b),   ψ̂_b a function of checks 1..b−1 only.
 *
 * Why it is valid: given everything before check b and the check's margins, ψ̂_b is a fixed
 * number, so E[LR_b(ψ̂_b)] = 1 under ψ = 1 and ≤ 1 under ψ < 1 exactly as for a fixed grid point
 * (hypergeometric.ts, e-process.ts). E^P is a test supermartingale for the composite null ψ ≤ 1,
 * and so is any fixed-weight average of it with the ψ-grid mixture. Nothing about the estimator
 * matters for validity — only that it never sees the check it bets on. Its quality matters for
 * power only.
 *
 * The estimator. ψ̂_b is the posterior mean of ln ψ, exponentiated, under a continuous prior that
 * is the continuous version of the grid's: ln ln ψ uniform between the smallest and the largest
 * grid point (equal grid weights on {1.25, …, 100} are close to that: the points are roughly evenly
 * spaced in ln ln ψ). The likelihood is the binomial approximation of the conditional one (rare
 * events: the canary's share of a check's events is ψs / (1 − s + ψs) for a canary share s of
 * the requests), summarised by three running sums over the informative checks so far:
 *
 *   events  O = Σ x_b          canary events
 *   total   T = Σ t_b          events in both cohorts
 *   share   S = Σ t_b s_b      so that s̄ = S/T is the event-weighted canary share
 *
 *   ln L(ψ) ≈ O ln ψ − T ln(1 − s̄ + s̄ ψ)
 *
 * evaluated on a fixed 64-point grid in ln ln ψ. With no data ψ̂ is the prior's geometric mean
 * (≈ 4.2 for [1.25, 100]); under no regression the posterior moves to the low end of the range
 * (ψ̂ → 1.25); under a regression it settles near the true odds ratio. The approximation only
 * affects how well ψ̂ is chosen, never the validity: the bet itself is scored with the exact
 * conditional likelihood ratio.
 *
 * Why the posterior mean of ln ψ and not of ψ: the mean of ψ is dominated by the prior's long
 * right tail while data are scarce, so it over-bets small regressions early; the geometric mean
 * is the natural point estimate in the odds-ratio's own (log) scale. Measured on the bench, it
 * reaches 1/α faster than the mean of ψ for ×1.5–×2 regressions and as fast for ×5–×10.
 */

/** Running sums of the informative checks so far (see the module comment). Plain JSON. */
export interface PlugInStats {
  /** Σ x_b: canary events. */
  events: number;
  /** Σ t_b: events in both cohorts. */
  total: number;
  /** Σ t_b · n_b / (n_b + m_b): events weighted by the canary's share of the check's requests. */
  shareTotal: number;
}

/** Points of the posterior grid in ln ln ψ. */
export const PLUG_IN_POINTS = 64;

interface Prior {
  psi: Float64Array;
  lnPsi: Float64Array;
}
const priors = new Map<string, Prior>();

/** The prior's support: PLUG_IN_POINTS values of ψ evenly spaced in ln ln ψ over [lo, hi] (cached). */
export function plugInPrior(lo: number, hi: number): Prior {
  if (!(lo > 1) || !(hi >= lo) || !Number.isFinite(hi)) throw new RangeError(`plug-in prior range must satisfy 1 < lo ≤ hi < ∞, got [${lo}, ${hi}]`);
  const key = `${lo}:${hi}`;
  let p = priors.get(key);
  if (!p) {
    const a = Math.log(Math.log(lo));
    const b = Math.log(Math.log(hi));
    const psi = new Float64Array(PLUG_IN_POINTS);
    const lnPsi = new Float64Array(PLUG_IN_POINTS);
    for (let k = 0; k < PLUG_IN_POINTS; k++) {
      lnPsi[k] = Math.exp(a + ((b - a) * k) / (PLUG_IN_POINTS - 1));
      psi[k] = Math.exp(lnPsi[k]);
    }
    p = { psi, lnPsi };
    priors.set(key, p);
  }
  return p;
}

export const emptyPlugInStats = (): PlugInStats => ({ events: 0, total: 0, shareTotal: 0 });

/**
 * ψ̂ for the next check from the checks so far: exp(E[ln ψ | data]) under the prior on [lo, hi],
 * clipped to [1, hi]. A pure function of `stats`, which hold only checks already applied.
 */
export function plugInEstimate(stats: PlugInStats, lo: number, hi: number): number {
  const { psi, lnPsi } = plugInPrior(lo, hi);
  const T = stats.total;
  const O = stats.events;
  const s = T > 0 ? Math.min(1, Math.max(0, stats.shareTotal / T)) : 0;
  let max = -Infinity;
  const lp = new Float64Array(PLUG_IN_POINTS);
  for (let k = 0; k < PLUG_IN_POINTS; k++) {
    lp[k] = T > 0 ? O * lnPsi[k] - T * Math.log(1 - s + s * psi[k]) : 0;
    if (lp[k] > max) max = lp[k];
  }
  let z = 0;
  let g = 0;
  for (let k = 0; k < PLUG_IN_POINTS; k++) {
    const w = Math.exp(lp[k] - max);
    z += w;
    g += w * lnPsi[k];
  }
  const est = Math.exp(g / z);
  return Number.isFinite(est) ? Math.min(hi, Math.max(1, est)) : 1;
}

/**
 * Adds one check (canary x of n, control y of m) to the sums, in place, once its bet has been
 * settled. Checks that carry no evidence for the exact test (an empty cohort, no events, or all
 * events) are left out, as the exact test leaves them out.
 */
export function addPlugInCheck(stats: PlugInStats, x: number, n: number, y: number, m: number): PlugInStats {
  const t = x + y;
  if (n === 0 || m === 0 || t === 0 || t === n + m) return stats;
  stats.events += x;
  stats.total += t;
  stats.shareTotal += (t * n) / (n + m);
  return stats;
}
