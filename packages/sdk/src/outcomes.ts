/**
 * Cohort outcomes: per flag and cohort — the variant name for an evaluation that returned an
 * enabled variant, otherwise `on` / `off` — how many requests were served, how many failed, and
 * their latency as a histogram. The server's guardian compares the cohort that got the new
 * behaviour with the one that did not (DESIGN §5).
 *
 * Browser-safe: no Node imports. The request middleware (`@switchyard/sdk/middleware`, Node)
 * installs an {@link OutcomeScope} provider backed by AsyncLocalStorage; every flag evaluated
 * while a scope is current is noted in it, and the scope records one outcome per flag when the
 * request ends.
 */

/**
 * Latency histogram bucket upper bounds in milliseconds; the +Inf bucket is implicit, so a
 * histogram has `LATENCY_BUCKETS_MS.length + 1` counts. counts[i] is the number of requests with
 * latency in (bounds[i−1], bounds[i]] (Prometheus' `le` semantics), the last one those above
 * 10 s. The server (signals/) and the guardian use the very same layout: latency thresholds are
 * bucket boundaries.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000]);

/** One cohort's counts in one report. `latency` has `LATENCY_BUCKETS_MS.length + 1` counts (not cumulative). */
export interface CohortCounts {
  requests: number;
  errors: number;
  latency: number[];
}

/** `bucket.cohorts` of a metrics report: flag → cohort → counts. */
export type CohortOutcomes = Record<string, Record<string, CohortCounts>>;

/** An outcome recorded by hand (`client.recordOutcome`). */
export interface Outcome {
  flag: string;
  /** The cohort by variant name (`on` / `off` allowed too). */
  variant?: string;
  /** For a boolean flag: whether the request got the new behaviour (cohort `on`) or not (`off`). Used when `variant` is absent. */
  enabled?: boolean;
  /** Whether the request failed. */
  error: boolean;
  /** How long the request took; without it the request and error are counted but no latency. */
  latencyMs?: number;
}

/** What a scope records into: a client. */
export interface OutcomeRecorder {
  recordOutcome(outcome: Outcome): void;
}

/** The histogram index of a latency: the first bound ≥ ms, or the +Inf bucket. */
export function latencyBucketIndex(ms: number, bounds: readonly number[] = LATENCY_BUCKETS_MS): number {
  for (let i = 0; i < bounds.length; i++) if (ms <= bounds[i]) return i;
  return bounds.length;
}

/** The cohort of one evaluation: the variant's name when it is an enabled variant, else `on` / `off`. */
export function cohortOf(enabled: boolean, variant?: { name: string; enabled: boolean }): string {
  if (variant && variant.enabled && variant.name) return variant.name;
  return enabled ? 'on' : 'off';
}

const MAX_FLAGS = 1_000;
const MAX_COHORTS = 50;
const MAX_NAME = 255;

const emptyHistogram = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

/** Counts outcomes per flag and cohort between two reports. */
export class OutcomeCollector {
  private flags = new Map<string, Map<string, CohortCounts>>();

  private entry(flag: string, cohort: string): CohortCounts | undefined {
    if (flag.length > MAX_NAME || cohort.length > MAX_NAME) return undefined;
    let byCohort = this.flags.get(flag);
    if (byCohort === undefined) {
      if (this.flags.size >= MAX_FLAGS) return undefined;
      byCohort = new Map();
      this.flags.set(flag, byCohort);
    }
    let c = byCohort.get(cohort);
    if (c === undefined) {
      if (byCohort.size >= MAX_COHORTS) return undefined;
      c = { requests: 0, errors: 0, latency: emptyHistogram() };
      byCohort.set(cohort, c);
    }
    return c;
  }

  record(flag: string, cohort: string, error: boolean, latencyMs?: number): void {
    const c = this.entry(flag, cohort);
    if (c === undefined) return;
    c.requests++;
    if (error) c.errors++;
    if (typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0) c.latency[latencyBucketIndex(latencyMs)]++;
  }

  get empty(): boolean {
    return this.flags.size === 0;
  }

  /** Takes the counts (null when none) and starts over. */
  take(): CohortOutcomes | null {
    if (this.flags.size === 0) return null;
    const out: CohortOutcomes = {};
    for (const [flag, byCohort] of this.flags) out[flag] = Object.fromEntries(byCohort);
    this.flags = new Map();
    return out;
  }

  /** Puts counts that could not be sent back (they go out with the next report). */
  restore(outcomes: CohortOutcomes): void {
    for (const [flag, byCohort] of Object.entries(outcomes)) {
      for (const [cohort, n] of Object.entries(byCohort)) {
        const c = this.entry(flag, cohort);
        if (c === undefined) continue;
        c.requests += n.requests;
        c.errors += n.errors;
        for (let i = 0; i < c.latency.length; i++) c.latency[i] += n.latency[i] ?? 0;
      }
    }
  }
}

const now = (): number => {
  const p = (globalThis as { performance?: { now(): number } }).performance;
  return p ? p.now() : Date.now();
};

/**
 * One unit of work (an HTTP request, a job): the flags evaluated during it, by client, and how it
 * ended. `finish()` records one outcome per flag (with the cohort the flag was evaluated to) into
 * the client that evaluated it; a scope in which no flag was evaluated records nothing.
 *
 * A flag evaluated several times keeps its last cohort, except that a plain `on` (isEnabled)
 * never replaces an enabled variant already noted (the variant says more).
 */
export class OutcomeScope {
  readonly startedAt = now();
  private readonly evaluated = new Map<OutcomeRecorder, Map<string, string>>();
  private failed = false;
  private done = false;

  /** Notes that `recorder` evaluated `flag` to `cohort` in this scope. */
  note(recorder: OutcomeRecorder, flag: string, cohort: string): void {
    if (this.done) return;
    let flags = this.evaluated.get(recorder);
    if (!flags) this.evaluated.set(recorder, (flags = new Map()));
    const had = flags.get(flag);
    if (had !== undefined && cohort === 'on' && had !== 'off') return;
    flags.set(flag, cohort);
  }

  /** Marks the work as failed (whatever its status turns out to be). */
  fail(): void {
    this.failed = true;
  }

  get isFailed(): boolean {
    return this.failed;
  }

  get isFinished(): boolean {
    return this.done;
  }

  /** Flags evaluated so far (all clients), with their cohorts. */
  flags(): Array<{ flag: string; cohort: string }> {
    const out: Array<{ flag: string; cohort: string }> = [];
    for (const flags of this.evaluated.values()) for (const [flag, cohort] of flags) out.push({ flag, cohort });
    return out;
  }

  /** Ends the scope (once): records every noted flag's outcome. Latency defaults to the time since the scope began. */
  finish(result: { error?: boolean; latencyMs?: number } = {}): void {
    if (this.done) return;
    this.done = true;
    const error = !!result.error || this.failed;
    const latencyMs = result.latencyMs ?? now() - this.startedAt;
    for (const [recorder, flags] of this.evaluated) {
      for (const [flag, cohort] of flags) {
        try {
          recorder.recordOutcome({ flag, variant: cohort, error, latencyMs });
        } catch {
          // a closed or broken client never breaks the app's request
        }
      }
    }
    this.evaluated.clear();
  }
}

let scopeProvider: (() => OutcomeScope | undefined) | undefined;

/**
 * Where clients look for the current scope on every evaluation. The Node middleware installs an
 * AsyncLocalStorage-backed provider; other runtimes may install their own (e.g. a zone).
 */
export function setOutcomeScopeProvider(provider: (() => OutcomeScope | undefined) | undefined): void {
  scopeProvider = provider;
}

/** The scope of the work being done now, if a provider is installed and a scope is active. */
export function currentOutcomeScope(): OutcomeScope | undefined {
  return scopeProvider?.();
}
