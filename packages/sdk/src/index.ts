/**
 * @switchyard/sdk — the app-side client of Switchyard (Node and browsers, one source). Node-only
 * parts (backup file, bootstrap file) are in `@switchyard/sdk/node`; the request middleware that
 * records cohort outcomes (Node http, Express, Fastify) in `@switchyard/sdk/middleware`;
 * OpenFeature providers in `@switchyard/sdk/openfeature-server` and `@switchyard/sdk/openfeature-web`.
 */
export {
  METRICS_INTERVAL_HEADER,
  SwitchyardClient,
  SwitchyardError,
  contextQuery,
  environmentOfToken,
  type BootstrapData,
  type ClientEvents,
  type ErrorCode,
  type ImpressionEvent,
  type Logger,
  type Mode,
  type Resolution,
  type Source,
  type Status,
  type SwitchyardOptions,
  type UpdateEvent,
} from './client.js';
export { SseParser, type SseHandlers, type SseMessage } from './sse.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { MetricsCollector, type MetricsBody, type MetricsBucket, type OutcomeCount, type ToggleCounts } from './metrics.js';
export {
  LATENCY_BUCKETS_MS,
  OutcomeCollector,
  OutcomeScope,
  cohortOf,
  currentOutcomeScope,
  latencyBucketIndex,
  setOutcomeScopeProvider,
  type CohortCounts,
  type CohortOutcomes,
  type Outcome,
  type OutcomeRecorder,
} from './outcomes.js';
export { HttpError, MalformedDataError, type FetchLike } from './http.js';
export { changedFlags, checkDeltaEvents, checkPayload, checkToggles, type FrontendToggle } from './flagset.js';
export {
  fileStorage,
  localStorageBackup,
  memoryStorage,
  parseFlagSet,
  parseFlagSetText,
  serializeFlagSet,
  type BackupStorage,
  type FileIO,
  type StoredFlagSet,
} from './storage.js';
export { SDK_NAME, SDK_VERSION } from './version.js';
export type { ClientFeaturesPayload, Context, EvaluationDetail, FeatureConfig, Reason, Segment, Variant } from '@switchyard/engine';
