import type { ColumnType, Generated, Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';

/**
 * The tables of migration 005-signals. They are kept here (not in storage/schema.ts) and added to
 * a Kysely instance with {@link signalsDb}, so this capability owns its storage.
 */
export type SignalsTables = {
  cohort_outcomes: CohortOutcomesTable;
  signal_alerts: SignalAlertsTable;
  signal_tokens: SignalTokensTable;
  signal_guards: SignalGuardsTable;
};

export interface SignalGuardsTable {
  /** The process (Signals instance) that wrote the row; it renews its rows until they no longer apply. */
  owner: string;
  /** Who asked within that process (e.g. `releases`). */
  requester: string;
  environment: string;
  /** A flag, or `*`: every flag of the environment. */
  flag: string;
  interval_ms: number;
  expires_at: string;
}

export interface CohortOutcomesTable {
  id: Generated<number>;
  flag: string;
  environment: string;
  cohort: string;
  app_name: string;
  instance_id: string;
  /** The SDK's bucket start and stop (ISO). */
  batch_start: string;
  batch_stop: string;
  requests: ColumnType<number, number, number>;
  errors: ColumnType<number, number, number>;
  /** JSON number[]: per-bucket counts in LATENCY_BUCKETS_MS's layout (+Inf last), or [] when the SDK sent none. */
  latency: string;
  /** When the server stored the report (ISO). */
  received_at: string;
}

export interface SignalAlertsTable {
  id: Generated<number>;
  /** `alertmanager`. */
  source: string;
  received_at: string;
  /** `firing` or `resolved`. */
  status: string;
  fingerprint: string | null;
  alertname: string | null;
  /** The flag the alert names (label `switchyard_flag` or `flag`), as named. */
  flag: string | null;
  environment: string | null;
  /** What the server did: `emitted` (a firing alert for a known flag), `resolved`, `no-flag`, `unknown-flag`, `unknown-environment`, `forbidden-environment`. */
  outcome: string;
  labels: string; // JSON Record<string,string>
  annotations: string; // JSON Record<string,string>
  starts_at: string | null;
  ends_at: string | null;
  generator_url: string | null;
  group_key: string | null;
  receiver: string | null;
  external_url: string | null;
  /** Set by the rollout runner once it acted on the alert (markAlertHandled). */
  handled_at: string | null;
  handled_note: string | null;
}

export interface SignalTokensTable {
  id: string;
  name: string;
  /** The only environment the token may post alerts for; null: any. */
  environment: string | null;
  secret_hash: string;
  created_at: string;
  last_used_at: string | null;
}

export type SignalsDb = Kysely<Database & SignalsTables>;

/** The same connection (or transaction) typed with the signals tables too. */
export function signalsDb(db: Kysely<Database>): SignalsDb {
  return db.withTables<SignalsTables>();
}
