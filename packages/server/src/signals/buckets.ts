/**
 * Latency histogram bucket upper bounds in milliseconds, the same constant as
 * `LATENCY_BUCKETS_MS` in `@switchyard/sdk` and the guardian's `DEFAULT_BUCKETS_MS`
 * (releases/guardian/latency.ts): the +Inf bucket is implicit, so a histogram has
 * `LATENCY_BUCKETS_MS.length + 1` counts; counts[i] covers (bounds[i−1], bounds[i]].
 * Latency thresholds are bucket boundaries, so "requests above the threshold" is exact.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000]);

/** Counts in a histogram: one per bound plus +Inf. */
export const HISTOGRAM_SIZE = LATENCY_BUCKETS_MS.length + 1;
