import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * Signals for guarded rollouts (signals/):
 * - `cohort_outcomes`: one row per SDK metrics report per flag and cohort (requests, errors,
 *   latency histogram as JSON counts in signals/buckets.ts's layout), read by the guardian.
 * - `signal_alerts`: every alert received by an inbound alert webhook (Prometheus
 *   Alertmanager), so a rollout runner can act on alerts that arrived while it was down.
 * - `signal_tokens`: hashed secrets that may only post alerts (least privilege for Alertmanager).
 * - `signal_guards`: which flags (or whole environments, flag `*`) have an active guarded plan,
 *   written by the replica running the rollouts and read by every replica (which outcomes to
 *   store, what metrics interval to ask of SDKs); rows expire unless their owner renews them.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const autoId = (col: any) => (dialect === 'postgres' ? col.generatedAlwaysAsIdentity().primaryKey() : col.primaryKey().autoIncrement());
  const idType = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('cohort_outcomes')
    .addColumn('id', idType, autoId)
    .addColumn('flag', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('cohort', 'text', (c) => c.notNull())
    .addColumn('app_name', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('batch_start', 'text', (c) => c.notNull())
    .addColumn('batch_stop', 'text', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull())
    .addColumn('errors', 'bigint', (c) => c.notNull())
    .addColumn('latency', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cohort_outcomes_flag_env_received_idx').on('cohort_outcomes').columns(['flag', 'environment', 'received_at']).execute();
  await db.schema.createIndex('cohort_outcomes_received_idx').on('cohort_outcomes').column('received_at').execute();

  await db.schema
    .createTable('signal_alerts')
    .addColumn('id', idType, autoId)
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text')
    .addColumn('alertname', 'text')
    .addColumn('flag', 'text')
    .addColumn('environment', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('annotations', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('starts_at', 'text')
    .addColumn('ends_at', 'text')
    .addColumn('generator_url', 'text')
    .addColumn('group_key', 'text')
    .addColumn('receiver', 'text')
    .addColumn('external_url', 'text')
    .addColumn('handled_at', 'text')
    .addColumn('handled_note', 'text')
    .execute();
  await db.schema.createIndex('signal_alerts_flag_env_idx').on('signal_alerts').columns(['flag', 'environment', 'received_at']).execute();
  await db.schema.createIndex('signal_alerts_received_idx').on('signal_alerts').column('received_at').execute();

  await db.schema
    .createTable('signal_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('environment', 'text')
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();

  await db.schema
    .createTable('signal_guards')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('requester', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('flag', 'text', (c) => c.notNull())
    .addColumn('interval_ms', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('signal_guards_pk', ['owner', 'requester', 'environment', 'flag'])
    .execute();
  await db.schema.createIndex('signal_guards_env_idx').on('signal_guards').columns(['environment', 'expires_at']).execute();
}
