/**
 * Where the guardian's counts come from: cohort outcomes reported by SDKs (signals/), read per
 * flag and environment after a cursor. The runner only needs this interface, so tests feed it
 * synthetic batches.
 */
import type { CohortCounts } from './guardian/index.js';

export interface CohortRead {
  /** Counts per cohort name (variant name, or on/off), summed over the SDK reports read. */
  cohorts: Record<string, CohortCounts>;
  /** SDK reports (rows) read; 0 = nothing new. */
  batches: number;
  /** Where the next read starts (opaque; persisted with the plan in the same transaction as the decision). */
  cursor: string | null;
}

export interface CohortQuery {
  flag: string;
  environment: string;
  /** The plan's cursor: only reports stored after it. */
  cursor: string | null;
  /** The current milestone's start (ISO): reports about earlier traffic are not this milestone's. */
  since: string;
  /** The check's time (ms). */
  now: number;
}

export interface CohortSource {
  read(q: CohortQuery): Promise<CohortRead>;
}

/** A source with nothing to say (no SDK reports yet). */
export const emptySource: CohortSource = {
  async read(q) {
    return { cohorts: {}, batches: 0, cursor: q.cursor };
  },
};
