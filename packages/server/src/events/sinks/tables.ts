/**
 * The notification tables (migration 006-sinks). They are declared here, next to the code that
 * owns them, and merged into the shared `Database` interface so every Kysely handle (and the
 * transaction `Changes.write` hands out) knows them.
 */

export type SinkType = 'webhook' | 'slack' | 'grafana' | 'datadog';
export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

export interface SinksTable {
  id: string;
  project: string;
  name: string;
  type: SinkType;
  enabled: number;
  /** JSON string[]: environments whose events match; [] = every environment. */
  environments: string;
  /** JSON string[]: event types (exact, `prefix-*`, or `*`); [] = every type. */
  events: string;
  /** JSON: the non-secret settings (URLs, tags, dashboard…). */
  config: string;
  /** The secret settings (webhook secret, Slack URL, API keys), sealed by `secrets.ts`. Never leaves the server. */
  secrets: string;
  created_at: string;
  updated_at: string;
}

export interface DeliveriesTable {
  id: import('kysely').Generated<number>;
  sink_id: string;
  /** The audit event delivered; null for a test delivery. */
  event_id: number | null;
  /** JSON: the event as it was recorded (see `EventView`). */
  payload: string;
  /** Attempts made so far (a claimed delivery counts its attempt). */
  attempt: number;
  /** When the next attempt is due; while `sending`, when the claim lapses. */
  next_attempt_at: string;
  status: DeliveryStatus;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

/** Grafana annotations a sink created: open rollout regions (to PATCH later) and points already made (retries never duplicate them). */
export interface SinkAnnotationsTable {
  sink_id: string;
  /** `region:<environment>/<flag>` (names never hold a slash) or `point:<delivery id>`. */
  key: string;
  annotation_id: number;
  delivery_id: number;
  created_at: string;
  ended_at: string | null;
}

declare module '../../storage/schema.js' {
  interface Database {
    sinks: SinksTable;
    deliveries: DeliveriesTable;
    sink_annotations: SinkAnnotationsTable;
  }
}
