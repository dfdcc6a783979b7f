/**
 * Usage counts per flag (Unleash's metrics bucket: yes/no and variant counts, unknown flags
 * included), outcome counters reported with `track()` and cohort outcomes (requests, errors,
 * latency per flag and cohort), sent together as one metrics body.
 */
import { OutcomeCollector, type CohortOutcomes } from './outcomes.js';

export interface ToggleCounts {
  yes: number;
  no: number;
  variants: Record<string, number>;
}

/** One outcome counter: a tracked event (optionally tied to a flag and variant), how often, and the sum of its values. */
export interface OutcomeCount {
  event: string;
  flag?: string;
  variant?: string;
  count: number;
  value: number;
}

export interface MetricsBucket {
  start: string;
  stop: string;
  toggles: Record<string, ToggleCounts>;
  /** Switchyard extension (ignored by Unleash servers): outcome counters from `track()`. */
  outcomes?: OutcomeCount[];
  /** Switchyard extension (ignored by Unleash servers): cohort outcomes, flag → cohort → {requests, errors, latency}. */
  cohorts?: CohortOutcomes;
}

export interface MetricsBody {
  appName: string;
  instanceId: string;
  environment?: string;
  connectionId?: string;
  sdkVersion: string;
  platformName?: string;
  platformVersion?: string;
  bucket: MetricsBucket;
}

const MAX_FLAGS = 10_000;
const MAX_OUTCOMES = 1_000;

export class MetricsCollector {
  private start = new Date();
  private toggles = new Map<string, ToggleCounts>();
  private outcomes = new Map<string, OutcomeCount>();
  private readonly cohorts = new OutcomeCollector();

  private entry(name: string): ToggleCounts | undefined {
    let t = this.toggles.get(name);
    if (t === undefined) {
      if (this.toggles.size >= MAX_FLAGS) return undefined;
      t = { yes: 0, no: 0, variants: {} };
      this.toggles.set(name, t);
    }
    return t;
  }

  count(name: string, enabled: boolean): void {
    const t = this.entry(name);
    if (t === undefined) return;
    if (enabled) t.yes++;
    else t.no++;
  }

  countVariant(name: string, enabled: boolean, variant: string): void {
    const t = this.entry(name);
    if (t === undefined) return;
    if (enabled) t.yes++;
    else t.no++;
    t.variants[variant] = (t.variants[variant] ?? 0) + 1;
  }

  track(event: string, opts: { flag?: string; variant?: string; value?: number } = {}): void {
    const key = `${event}\0${opts.flag ?? ''}\0${opts.variant ?? ''}`;
    let o = this.outcomes.get(key);
    if (o === undefined) {
      if (this.outcomes.size >= MAX_OUTCOMES) return;
      o = { event, count: 0, value: 0 };
      if (opts.flag !== undefined) o.flag = opts.flag;
      if (opts.variant !== undefined) o.variant = opts.variant;
      this.outcomes.set(key, o);
    }
    o.count++;
    if (typeof opts.value === 'number' && Number.isFinite(opts.value)) o.value += opts.value;
  }

  /** A request's outcome for one flag and cohort. */
  cohort(flag: string, cohort: string, error: boolean, latencyMs?: number): void {
    this.cohorts.record(flag, cohort, error, latencyMs);
  }

  get empty(): boolean {
    return this.toggles.size === 0 && this.outcomes.size === 0 && this.cohorts.empty;
  }

  /** Takes the current bucket (or null when nothing was counted) and starts a new one. */
  take(now = new Date()): MetricsBucket | null {
    if (this.empty) {
      this.start = now;
      return null;
    }
    const bucket: MetricsBucket = { start: this.start.toISOString(), stop: now.toISOString(), toggles: Object.fromEntries(this.toggles) };
    if (this.outcomes.size) bucket.outcomes = [...this.outcomes.values()];
    const cohorts = this.cohorts.take();
    if (cohorts) bucket.cohorts = cohorts;
    this.start = now;
    this.toggles = new Map();
    this.outcomes = new Map();
    return bucket;
  }

  /** Puts a bucket that could not be sent back, so its counts go out with the next report. */
  restore(bucket: MetricsBucket): void {
    const start = new Date(bucket.start);
    if (start < this.start) this.start = start;
    for (const [name, c] of Object.entries(bucket.toggles)) {
      const t = this.entry(name);
      if (t === undefined) continue;
      t.yes += c.yes;
      t.no += c.no;
      for (const [v, n] of Object.entries(c.variants)) t.variants[v] = (t.variants[v] ?? 0) + n;
    }
    for (const o of bucket.outcomes ?? []) {
      const key = `${o.event}\0${o.flag ?? ''}\0${o.variant ?? ''}`;
      const cur = this.outcomes.get(key);
      if (cur) {
        cur.count += o.count;
        cur.value += o.value;
      } else if (this.outcomes.size < MAX_OUTCOMES) {
        this.outcomes.set(key, { ...o });
      }
    }
    if (bucket.cohorts) this.cohorts.restore(bucket.cohorts);
  }
}
