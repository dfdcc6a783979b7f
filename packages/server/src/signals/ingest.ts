import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { Services } from '../services.js';
import type { Principal } from '../auth/tokens.js';
import type { SdkIdentity } from '../client-api/metrics.js';
import type { CohortOutcomesBody } from './schema.js';
import { ALL_FLAGS, signalsFor } from './service.js';
import { checkCohortOutcomes, pruneSignals, recordCohortOutcomes } from './store.js';

/** Response header of `POST /api/client/metrics`: the interval (ms) SDKs should report at while a guarded plan is active; absent otherwise. */
export const METRICS_INTERVAL_HEADER = 'x-switchyard-metrics-interval-ms';

type Body = { bucket: { start: string | number; stop?: string | number; cohorts?: CohortOutcomesBody } };

/** Checks `bucket.cohorts` beyond its schema (before anything of the report is stored); throws a 400 problem. */
export function checkMetricsCohorts(body: Body): void {
  if (body.bucket.cohorts) checkCohortOutcomes(body.bucket.cohorts);
}

/**
 * After the Unleash part of a client metrics report is stored: stores its cohort outcomes (guarded
 * flags only, unless configured otherwise), sets the interval header, and prunes old rows now and
 * then (never failing the report). Returns how many cohort rows were stored.
 */
export async function ingestMetricsCohorts(services: Services, principal: Principal, id: SdkIdentity, body: Body, reply: FastifyReply, log?: FastifyBaseLogger): Promise<number> {
  const signals = signalsFor(services);
  const guarded = await signals.guardedFlags(principal.environment);
  let interval: number | undefined;
  for (const ms of guarded.values()) if (interval === undefined || ms < interval) interval = ms;
  if (interval !== undefined) reply.header(METRICS_INTERVAL_HEADER, String(interval));
  const db = services.storage.db;
  const all = signals.options.storeOutcomes === 'all' || guarded.has(ALL_FLAGS);
  const stored = body.bucket.cohorts ? await recordCohortOutcomes(db, principal, id, body.bucket, all ? 'all' : new Set(guarded.keys())) : 0;
  if (stored > 0 && signals.pruneDue()) {
    void pruneSignals(db, signals.options).catch((err) => log?.warn({ err }, 'pruning old cohort outcomes failed; will retry later'));
  }
  return stored;
}
