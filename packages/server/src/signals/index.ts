/**
 * Signals for guarded rollouts (DESIGN §5): SDK cohort outcomes (stored per batch), the
 * Prometheus metric provider, inbound alerts (Alertmanager), and the guard registry that tells
 * SDKs to report faster while a guarded plan is active. See docs/signals.md.
 *
 * For the releases service (the rollout runner):
 * - `signalsFor(services).setGuardSource(env => …)` (or `guard` / `unguard`), `guardsChanged(env)`
 * - `readCohortBatches(db, {flag, environment, since, until})`, `aggregateCohorts(rows)`
 * - `signalsFor(services).onAlert(alert => stop the plan)`, `readAlerts(db, {unhandled: true})`,
 *   `markAlertHandled(db, id, note)`
 * - `new PrometheusProvider(config).query({flag, environment, windowSeconds})`
 * - `LATENCY_BUCKETS_MS` (the histogram layout; equal to the guardian's DEFAULT_BUCKETS_MS)
 */
export { LATENCY_BUCKETS_MS, HISTOGRAM_SIZE } from './buckets.js';
export {
  ALL_FLAGS,
  DEFAULT_SIGNALS_OPTIONS,
  GUARDED_METRICS_INTERVAL_MS,
  Signals,
  requestedMetricsInterval,
  signalsFor,
  type AlertHandler,
  type FlagAlert,
  type GuardSource,
  type Guard,
  type GuardedFlag,
  type SignalsOptions,
} from './service.js';
export { aggregateCohorts, checkCohortOutcomes, pruneSignals, readCohortBatches, recordCohortOutcomes, type CohortBatch, type CohortBatchQuery, type CohortTotals } from './store.js';
export {
  createSignalToken,
  deleteSignalToken,
  listSignalTokens,
  markAlertHandled,
  readAlerts,
  receiveAlertmanager,
  resolveSignalToken,
  type AlertOutcome,
  type AlertPoster,
  type AlertQuery,
  type ReceivedAlert,
  type SignalTokenView,
  type StoredAlert,
  type WebhookResult,
} from './alerts.js';
export {
  PrometheusConfigSchema,
  PrometheusError,
  PrometheusProvider,
  escapePromQL,
  parsePrometheusConfig,
  renderTemplate,
  type PrometheusCohortCounts,
  type PrometheusConfig,
  type PrometheusErrorKind,
  type PrometheusResult,
  type QueryOptions,
} from './prometheus.js';
export { METRICS_INTERVAL_HEADER, checkMetricsCohorts, ingestMetricsCohorts } from './ingest.js';
export { AlertmanagerWebhook, CohortOutcomesSchema, CohortCountsSchema } from './schema.js';
export { alertSource, cohortSource, toPlanAlert, type CohortSourceOptions } from './source.js';
export { signalsDb, type SignalsDb, type SignalsTables } from './tables.js';
