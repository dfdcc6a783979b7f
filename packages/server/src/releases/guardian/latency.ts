/**
 * Latency as counts: a latency regression becomes "more canary requests above a threshold than
 * control requests", which the same 2×2 test handles. The threshold is fixed from the control
 * before the counts it judges (its p95 or p99, or an SLO latency) and is always a bucket
 * boundary, so "above the threshold" is an exact count read off the histogram.
 *
 * A histogram is an array of per-bucket counts (not cumulative) aligned with a list of upper
 * bounds in milliseconds: counts[i] is the number of requests with latency in
 * (bounds[i−1], bounds[i]], and the extra last entry counts[bounds.length] is the +Inf bucket.
 */

/** The default bucket layout (Prometheus-like, in ms); the +Inf bucket is implicit. */
export const DEFAULT_BUCKETS_MS: readonly number[] = Object.freeze([5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000]);

export function checkBuckets(bounds: readonly number[]): void {
  if (bounds.length === 0) throw new RangeError('a histogram needs at least one finite bucket bound');
  for (let i = 0; i < bounds.length; i++) {
    if (!(bounds[i] > 0) || !Number.isFinite(bounds[i])) throw new RangeError(`bucket bounds must be finite and > 0, got ${bounds[i]}`);
    if (i > 0 && !(bounds[i] > bounds[i - 1])) throw new RangeError('bucket bounds must be strictly increasing');
  }
}

/** The total count of a histogram. */
export function histogramTotal(counts: readonly number[]): number {
  let s = 0;
  for (const c of counts) s += c;
  return s;
}

/** Requests above bounds[index]: the sum of the buckets after it (including +Inf). */
export function countAbove(counts: readonly number[], index: number): number {
  let s = 0;
  for (let i = index + 1; i < counts.length; i++) s += counts[i];
  return s;
}

/**
 * The index of the bucket bound to use as the threshold for quantile q of a histogram: the
 * smallest bound ≥ the q-quantile, i.e. the upper bound of the first bucket whose cumulative
 * count reaches q·total. When the quantile lies in the +Inf bucket there is no finite bound above
 * it; the largest finite bound is used (its "above" count is the +Inf bucket). Returns null for an
 * empty histogram.
 */
export function quantileBoundIndex(counts: readonly number[], bounds: readonly number[], q: number): number | null {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must be in (0, 1), got ${q}`);
  const total = histogramTotal(counts);
  if (total <= 0) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < bounds.length; i++) {
    cum += counts[i] ?? 0;
    if (cum >= rank) return i;
  }
  return bounds.length - 1;
}

/** The index of the smallest bound ≥ ms (an SLO latency snapped up to the layout); the largest bound if ms is above all. */
export function boundIndexAtLeast(bounds: readonly number[], ms: number): number {
  for (let i = 0; i < bounds.length; i++) if (bounds[i] >= ms) return i;
  return bounds.length - 1;
}

/** Adds histogram `b` into `a` (in place, same layout). */
export function addHistogram(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < a.length; i++) a[i] += b[i] ?? 0;
  return a;
}
