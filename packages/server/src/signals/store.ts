import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { Principal } from '../auth/tokens.js';
import type { SdkIdentity } from '../client-api/metrics.js';
import { badRequest } from '../http/problem.js';
import { HISTOGRAM_SIZE } from './buckets.js';
import type { CohortOutcomesBody } from './schema.js';
import { signalsDb } from './tables.js';

/** One stored batch: one SDK report's counts for one flag and cohort. */
export interface CohortBatch {
  id: number;
  flag: string;
  environment: string;
  cohort: string;
  appName: string;
  instanceId: string;
  /** The SDK's bucket start and stop (ISO): the interval the counts cover. */
  batchStart: string;
  batchStop: string;
  requests: number;
  errors: number;
  /** Per-bucket counts in LATENCY_BUCKETS_MS's layout (+Inf last), or null when the SDK sent no latency. */
  latency: number[] | null;
  /** When the server stored it (ISO). */
  receivedAt: string;
}

/** A cohort's counts summed over batches, in the guardian's `CohortCounts` shape plus where they came from. */
export interface CohortTotals {
  requests: number;
  errors: number;
  /** Summed histogram (HISTOGRAM_SIZE counts); all zeros when no batch had latency. */
  latency: number[];
  batches: number;
  /** Distinct SDK instances (app + instance id) that reported. */
  instances: number;
  /** Earliest batch start and latest batch stop (ISO), null when there were no batches. */
  from: string | null;
  to: string | null;
}

const CHUNK = 200;

const toIso = (v: string | number | undefined): string | null => {
  if (v === undefined) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};

/**
 * Checks what a schema cannot: errors ≤ requests and the latency histogram's total ≤ requests.
 * Throws a 400 problem naming the first bad entry.
 */
export function checkCohortOutcomes(cohorts: CohortOutcomesBody): void {
  for (const [flag, byCohort] of Object.entries(cohorts)) {
    for (const [cohort, c] of Object.entries(byCohort)) {
      const where = `bucket.cohorts["${flag}"]["${cohort}"]`;
      if (c.errors > c.requests) throw badRequest(`Invalid ${where}: errors (${c.errors}) exceed requests (${c.requests}).`);
      if (c.latency) {
        if (c.latency.length !== HISTOGRAM_SIZE) throw badRequest(`Invalid ${where}.latency: expected ${HISTOGRAM_SIZE} bucket counts, got ${c.latency.length}.`);
        let total = 0;
        for (const n of c.latency) total += n;
        if (total > c.requests) throw badRequest(`Invalid ${where}.latency: the histogram counts ${total} requests, more than requests (${c.requests}).`);
      }
    }
  }
}

/**
 * Stores a report's cohort outcomes: one `cohort_outcomes` row per flag and cohort, for flags
 * that exist, that the token may see, and (unless `flags` is `'all'`) that are in `flags` — the
 * environment's guarded flags. Cohorts with no requests are skipped. Returns the rows stored.
 */
export async function recordCohortOutcomes(
  db: Kysely<Database>,
  principal: Principal,
  id: SdkIdentity,
  bucket: { start: string | number; stop?: string | number; cohorts?: CohortOutcomesBody },
  flags: ReadonlySet<string> | 'all',
  now = new Date(),
): Promise<number> {
  const cohorts = bucket.cohorts;
  if (!cohorts) return 0;
  let names = Object.keys(cohorts);
  if (flags !== 'all') names = names.filter((n) => flags.has(n));
  if (names.length === 0) return 0;
  names.sort();
  const known = new Set<string>();
  for (let i = 0; i < names.length; i += CHUNK) {
    let q = db.selectFrom('flags').select('name').where('name', 'in', names.slice(i, i + CHUNK));
    if (principal.projects !== '*') q = q.where('project', 'in', principal.projects.length ? principal.projects : ['\0']);
    for (const r of await q.execute()) known.add(r.name);
  }
  const receivedAt = now.toISOString();
  const batchStop = toIso(bucket.stop) ?? receivedAt;
  const batchStart = toIso(bucket.start) ?? batchStop;
  const rows = names
    .filter((n) => known.has(n))
    .flatMap((flag) =>
      Object.entries(cohorts[flag])
        .filter(([, c]) => c.requests > 0)
        .map(([cohort, c]) => ({
          flag,
          environment: principal.environment,
          cohort,
          app_name: id.appName,
          instance_id: id.instanceId,
          batch_start: batchStart,
          batch_stop: batchStop,
          requests: c.requests,
          errors: c.errors,
          latency: JSON.stringify(c.latency ?? []),
          received_at: receivedAt,
        })),
    );
  if (rows.length === 0) return 0;
  const sdb = signalsDb(db);
  await sdb.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += CHUNK) await trx.insertInto('cohort_outcomes').values(rows.slice(i, i + CHUNK)).execute();
  });
  return rows.length;
}

export interface CohortBatchQuery {
  flag: string;
  environment: string;
  /** Batches received at or after this instant. */
  since: Date | string;
  /** Batches received before this instant (default: no bound). */
  until?: Date | string;
  /** Only these cohorts. */
  cohorts?: readonly string[];
  /**
   * Only batches about traffic after this instant (e.g. the milestone's start): a batch is kept when
   * `received_at − (batch_stop − batch_start)` — its start in server time, so SDK clock skew does
   * not matter — is at or after it. Batches straddling the instant are dropped: a report that
   * began under the previous milestone mixes old and new traffic (with SDKs reporting every
   * second, a 1 s slack let exactly such reports in and tripped the sample-ratio check).
   * `startToleranceMs` (default 0) widens the window for callers that accept that.
   */
  startedAfter?: Date | string;
  startToleranceMs?: number;
}

const iso = (v: Date | string) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

function parseLatency(text: string): number[] | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v.length === HISTOGRAM_SIZE && v.every((n) => typeof n === 'number')) return v as number[];
  } catch {
    // a damaged cell reads as "no latency"
  }
  return null;
}

/**
 * The stored batches of one flag in one environment received in [since, until), oldest first
 * (by `received_at`, then id). For the guardian: read [last check, now − a second or two) each
 * time — a report's rows are written in one short transaction — and the next window starts where
 * this one ended, so every batch is read exactly once.
 */
export async function readCohortBatches(db: Kysely<Database>, query: CohortBatchQuery): Promise<CohortBatch[]> {
  let q = signalsDb(db)
    .selectFrom('cohort_outcomes')
    .selectAll()
    .where('flag', '=', query.flag)
    .where('environment', '=', query.environment)
    .where('received_at', '>=', iso(query.since));
  if (query.until !== undefined) q = q.where('received_at', '<', iso(query.until));
  if (query.cohorts) q = q.where('cohort', 'in', query.cohorts.length ? [...query.cohorts] : ['\0']);
  const rows = await q.orderBy('received_at').orderBy('id').execute();
  const after = query.startedAfter === undefined ? undefined : new Date(query.startedAfter).getTime() - (query.startToleranceMs ?? 0);
  const kept =
    after === undefined
      ? rows
      : rows.filter((r) => {
          const span = Math.max(0, Date.parse(r.batch_stop) - Date.parse(r.batch_start));
          const start = Date.parse(r.received_at) - (Number.isFinite(span) ? span : 0);
          return start >= after;
        });
  return kept.map((r) => ({
    id: Number(r.id),
    flag: r.flag,
    environment: r.environment,
    cohort: r.cohort,
    appName: r.app_name,
    instanceId: r.instance_id,
    batchStart: r.batch_start,
    batchStop: r.batch_stop,
    requests: Number(r.requests),
    errors: Number(r.errors),
    latency: parseLatency(r.latency),
    receivedAt: r.received_at,
  }));
}

/** Sums batches per cohort: `{on: {requests, errors, latency, batches, instances, from, to}, off: …}`. */
export function aggregateCohorts(rows: readonly CohortBatch[]): Record<string, CohortTotals> {
  const out: Record<string, CohortTotals> = {};
  const instances = new Map<string, Set<string>>();
  for (const r of rows) {
    let t = out[r.cohort];
    if (!t) {
      t = out[r.cohort] = { requests: 0, errors: 0, latency: new Array<number>(HISTOGRAM_SIZE).fill(0), batches: 0, instances: 0, from: null, to: null };
      instances.set(r.cohort, new Set());
    }
    t.requests += r.requests;
    t.errors += r.errors;
    if (r.latency) for (let i = 0; i < HISTOGRAM_SIZE; i++) t.latency[i] += r.latency[i] ?? 0;
    t.batches++;
    instances.get(r.cohort)!.add(`${r.appName}\0${r.instanceId}`);
    if (t.from === null || r.batchStart < t.from) t.from = r.batchStart;
    if (t.to === null || r.batchStop > t.to) t.to = r.batchStop;
  }
  for (const [cohort, set] of instances) out[cohort].instances = set.size;
  return out;
}

/** Deletes cohort outcomes and alerts older than their retention. Returns how many rows went. */
export async function pruneSignals(db: Kysely<Database>, opts: { outcomeRetentionMs: number; alertRetentionMs: number }, now = Date.now()): Promise<{ outcomes: number; alerts: number }> {
  const sdb = signalsDb(db);
  const o = await sdb.deleteFrom('cohort_outcomes').where('received_at', '<', new Date(now - opts.outcomeRetentionMs).toISOString()).executeTakeFirst();
  const a = await sdb.deleteFrom('signal_alerts').where('received_at', '<', new Date(now - opts.alertRetentionMs).toISOString()).executeTakeFirst();
  return { outcomes: Number(o.numDeletedRows), alerts: Number(a.numDeletedRows) };
}
