/**
 * Prometheus as a metric provider for guarded rollouts (DESIGN §5, "metric providers"): PromQL
 * templates per cohort, evaluated through Prometheus' HTTP API (`GET /api/v1/query`), giving the
 * guardian the same counts the SDK reports — requests, errors, and latency (a histogram in the
 * shared bucket layout, or counts above thresholds) per cohort. See docs/signals.md.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { HISTOGRAM_SIZE, LATENCY_BUCKETS_MS } from './buckets.js';

/** The provider's configuration (as stored with a release plan). */
export const PrometheusConfigSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'Prometheus base URL, e.g. http://prometheus:9090 (the API is under /api/v1).' }),
    headers: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 8192 }), { description: 'Extra request headers, e.g. Authorization.' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, description: 'Time limit of one query (default 5000).' })),
    cohorts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 50, description: 'Cohort label values to query (default ["on", "off"]).' })),
    queries: Type.Object(
      {
        requests: Type.String({ minLength: 1, maxLength: 8192, description: 'Requests of one cohort over {{window}}, e.g. sum(increase(http_requests_total{flag="{{flag}}",cohort="{{cohort}}"}[{{window}}])).' }),
        errors: Type.String({ minLength: 1, maxLength: 8192, description: 'Failed requests of one cohort over {{window}}.' }),
        latencyHistogram: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 8192,
            description: 'Cumulative latency histogram of one cohort over {{window}}, by `le`, e.g. sum by (le) (increase(http_request_duration_seconds_bucket{…}[{{window}}])).',
          }),
        ),
        latencyAbove: Type.Optional(
          Type.String({ minLength: 1, maxLength: 8192, description: 'Requests of one cohort slower than {{threshold_ms}} / {{threshold_s}} over {{window}}.' }),
        ),
      },
      { additionalProperties: false },
    ),
    latencyUnit: Type.Optional(Type.Union([Type.Literal('s'), Type.Literal('ms')], { description: 'Unit of the `le` label of latencyHistogram (default "s", the Prometheus convention).' })),
    thresholdsMs: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0 }), { maxItems: 20, description: 'Thresholds for latencyAbove (ms).' })),
  },
  { additionalProperties: false },
);
export type PrometheusConfig = Static<typeof PrometheusConfigSchema>;

const checkConfig = Compile(PrometheusConfigSchema);

/** Validates a provider configuration; throws a RangeError naming the first problem. */
export function parsePrometheusConfig(value: unknown): PrometheusConfig {
  if (!checkConfig.Check(value)) {
    const first = [...checkConfig.Errors(value)][0] as { instancePath?: string; message?: string } | undefined;
    throw new RangeError(`invalid Prometheus provider config${first ? ` at ${first.instancePath || '/'}: ${first.message}` : ''}`);
  }
  const url = new URL(value.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('invalid Prometheus provider config at /url: must be http(s)');
  return value;
}

export type PrometheusErrorKind = 'timeout' | 'network' | 'http' | 'query' | 'bad-response';

/** A failed query; `kind` says what to do (a `query` error is a mistake in the template, the others may pass). */
export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly kind: PrometheusErrorKind,
    readonly query: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PrometheusError';
  }
}

/** One cohort's counts from Prometheus (guardian `CohortCounts` plus above-threshold counts). */
export interface PrometheusCohortCounts {
  requests: number;
  errors: number;
  /** HISTOGRAM_SIZE per-bucket counts in LATENCY_BUCKETS_MS's layout, when latencyHistogram is configured. */
  latency?: number[];
  /** threshold ms → requests above it, when latencyAbove is configured. */
  above?: Record<string, number>;
}

export interface PrometheusResult {
  /** Evaluation time (ms since the epoch). */
  at: number;
  cohorts: Record<string, PrometheusCohortCounts>;
  /** Every query as sent, with its value: the evidence. */
  queries: Array<{ cohort: string; metric: string; query: string; value: number | Array<[string, number]> }>;
}

export interface QueryOptions {
  flag: string;
  environment: string;
  /** Evaluation time (default now). */
  time?: Date;
  /** The window `{{window}}` stands for, in seconds (default 60). */
  windowSeconds?: number;
  signal?: AbortSignal;
}

/** A PromQL string literal's content (inside double quotes). */
export function escapePromQL(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Fills `{{name}}` placeholders (unknown names are an error: a typo must not query something else). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_m, name: string) => {
    if (!(name in values)) throw new RangeError(`unknown placeholder {{${name}}} in "${template}" (known: ${Object.keys(values).map((k) => `{{${k}}}`).join(', ')})`);
    return values[name];
  });
}

const fmtSeconds = (s: number) => String(Number(s.toFixed(3)));

interface Sample {
  metric: Record<string, string>;
  value: number;
}

/**
 * Queries Prometheus for each cohort's counts. Counts are rounded to whole requests (`increase()`
 * extrapolates); an empty result is 0 (no series: no traffic). Scalar queries must return one
 * series (aggregate with `sum(…)`); histogram queries one series per `le`.
 */
export class PrometheusProvider {
  readonly config: PrometheusConfig;
  private readonly fetchImpl: typeof fetch;

  constructor(config: unknown, opts: { fetch?: typeof fetch } = {}) {
    this.config = parsePrometheusConfig(config);
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get cohorts(): string[] {
    return this.config.cohorts ?? ['on', 'off'];
  }

  async query(opts: QueryOptions): Promise<PrometheusResult> {
    const at = (opts.time ?? new Date()).getTime();
    const window = Math.max(1, Math.round(opts.windowSeconds ?? 60));
    const base = { flag: escapePromQL(opts.flag), environment: escapePromQL(opts.environment), window: `${window}s`, window_seconds: String(window) };
    const q = this.config.queries;
    const result: PrometheusResult = { at, cohorts: {}, queries: [] };
    await Promise.all(
      this.cohorts.map(async (cohort) => {
        const values = { ...base, cohort: escapePromQL(cohort) };
        const scalar = async (metric: string, template: string, extra: Record<string, string> = {}) => {
          const query = renderTemplate(template, { ...values, ...extra });
          const v = this.scalar(await this.instant(query, at, opts.signal), query);
          result.queries.push({ cohort, metric, query, value: v });
          return v;
        };
        const counts: PrometheusCohortCounts = { requests: 0, errors: 0 };
        const jobs: Promise<unknown>[] = [
          scalar('requests', q.requests).then((v) => (counts.requests = v)),
          scalar('errors', q.errors).then((v) => (counts.errors = v)),
        ];
        if (q.latencyHistogram) {
          jobs.push(
            (async () => {
              const query = renderTemplate(q.latencyHistogram!, values);
              const samples = await this.instant(query, at, opts.signal);
              const { histogram, points } = this.histogram(samples, query);
              result.queries.push({ cohort, metric: 'latencyHistogram', query, value: points });
              counts.latency = histogram;
            })(),
          );
        }
        if (q.latencyAbove) {
          const above: Record<string, number> = {};
          counts.above = above;
          for (const ms of this.config.thresholdsMs ?? []) {
            jobs.push(
              scalar(`latencyAbove:${ms}ms`, q.latencyAbove, { threshold_ms: String(ms), threshold_s: fmtSeconds(ms / 1000) }).then((v) => (above[String(ms)] = v)),
            );
          }
        }
        await Promise.all(jobs);
        result.cohorts[cohort] = counts;
      }),
    );
    result.queries.sort((a, b) => (a.cohort === b.cohort ? a.metric.localeCompare(b.metric) : a.cohort.localeCompare(b.cohort)));
    return result;
  }

  /** `GET /api/v1/query?query=…&time=…` → the samples of a vector (or the scalar as one sample). */
  private async instant(query: string, at: number, signal?: AbortSignal): Promise<Sample[]> {
    const url = new URL(this.config.url.replace(/\/+$/, '') + '/api/v1/query');
    url.searchParams.set('query', query);
    url.searchParams.set('time', (at / 1000).toFixed(3));
    const timeoutMs = this.config.timeoutMs ?? 5_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, { headers: { accept: 'application/json', ...this.config.headers }, signal: combined });
      text = await res.text();
    } catch (err) {
      if (timeout.aborted) throw new PrometheusError(`Prometheus did not answer within ${timeoutMs} ms (${this.config.url})`, 'timeout', query);
      throw new PrometheusError(`Prometheus at ${this.config.url} is unreachable: ${(err as Error).message}`, 'network', query);
    }
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      throw new PrometheusError(`Prometheus answered HTTP ${res.status} with something that is not JSON`, res.ok ? 'bad-response' : 'http', query, res.status);
    }
    if (body?.status === 'error') {
      // 400 bad_data: the query is wrong; 422 execution; 503 timeout/unavailable.
      throw new PrometheusError(`Prometheus refused the query (${body.errorType ?? `HTTP ${res.status}`}): ${body.error ?? 'no reason given'} — query: ${query}`, res.status === 400 || res.status === 422 ? 'query' : 'http', query, res.status);
    }
    if (!res.ok) throw new PrometheusError(`Prometheus answered HTTP ${res.status}`, 'http', query, res.status);
    if (body?.status !== 'success' || typeof body.data !== 'object' || body.data === null) throw new PrometheusError('Prometheus answered without `status: "success"` and `data`', 'bad-response', query, res.status);
    const { resultType, result } = body.data as { resultType?: string; result?: unknown };
    if (resultType === 'scalar') return [{ metric: {}, value: this.number(result, query) }];
    if (resultType !== 'vector' || !Array.isArray(result)) {
      throw new PrometheusError(`the query must give an instant vector or a scalar, not ${resultType ?? 'nothing'} (use increase(…[{{window}}]), not a range selector) — query: ${query}`, 'query', query);
    }
    return result.map((s: any) => {
      if (!s || typeof s !== 'object' || !Array.isArray(s.value)) throw new PrometheusError('a vector sample without `value`', 'bad-response', query);
      return { metric: s.metric && typeof s.metric === 'object' ? s.metric : {}, value: this.number(s.value, query) };
    });
  }

  /** `[ts, "123"]` → 123 (NaN and ±Inf are refused). */
  private number(pair: unknown, query: string): number {
    const raw = Array.isArray(pair) ? pair[1] : undefined;
    const v = typeof raw === 'string' ? Number(raw) : NaN;
    if (!Number.isFinite(v)) throw new PrometheusError(`the query gave ${String(raw)}, not a count — query: ${query}`, 'query', query);
    return v;
  }

  private scalar(samples: Sample[], query: string): number {
    if (samples.length === 0) return 0;
    if (samples.length > 1) throw new PrometheusError(`the query gave ${samples.length} series; aggregate it to one with sum(…) — query: ${query}`, 'query', query);
    return Math.max(0, Math.round(samples[0].value));
  }

  /**
   * A cumulative `le` histogram → per-bucket counts in LATENCY_BUCKETS_MS's layout. A request
   * counts at or below a bound b only when Prometheus has a bucket boundary ≤ b that contains it:
   * exact when the app's buckets include the shared bounds, otherwise conservative (a request
   * between two of the app's boundaries counts as the slower one).
   */
  private histogram(samples: Sample[], query: string): { histogram: number[]; points: Array<[string, number]> } {
    const scale = (this.config.latencyUnit ?? 's') === 's' ? 1000 : 1;
    const points: Array<[number, number]> = [];
    const raw: Array<[string, number]> = [];
    for (const s of samples) {
      const le = s.metric.le;
      if (le === undefined) throw new PrometheusError(`latencyHistogram series need an \`le\` label (sum by (le) (…)) — query: ${query}`, 'query', query);
      const bound = le === '+Inf' ? Infinity : Number(le) * scale;
      if (Number.isNaN(bound)) throw new PrometheusError(`bad le="${le}" — query: ${query}`, 'bad-response', query);
      points.push([bound, Math.max(0, Math.round(s.value))]);
      raw.push([le, s.value]);
    }
    raw.sort((a, b) => (a[0] === '+Inf' ? 1 : b[0] === '+Inf' ? -1 : Number(a[0]) - Number(b[0])));
    const histogram = new Array<number>(HISTOGRAM_SIZE).fill(0);
    if (points.length === 0) return { histogram, points: raw };
    points.sort((a, b) => a[0] - b[0]);
    // Cumulative counts must not decrease (they can, slightly, with increase() extrapolation).
    for (let i = 1; i < points.length; i++) if (points[i][1] < points[i - 1][1]) points[i][1] = points[i - 1][1];
    const total = points[points.length - 1][0] === Infinity ? points[points.length - 1][1] : points[points.length - 1][1];
    const cumAt = (b: number) => {
      let c = 0;
      for (const [bound, n] of points) if (bound <= b + 1e-9) c = n;
      return c;
    };
    let prev = 0;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
      const c = cumAt(LATENCY_BUCKETS_MS[i]);
      histogram[i] = c - prev;
      prev = c;
    }
    histogram[LATENCY_BUCKETS_MS.length] = Math.max(0, total - prev);
    return { histogram, points: raw };
  }
}
