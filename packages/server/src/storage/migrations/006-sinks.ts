import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * Notification sinks (events/sinks/): per-project webhook, Slack, Grafana and Datadog targets,
 * the delivery queue, and the Grafana annotations a sink made.
 *
 * - `sinks.project` cascades: deleting a project deletes its sinks.
 * - `deliveries.sink_id` has no foreign key on purpose: a replica whose sink cache is a moment
 *   stale may queue a delivery for a sink just deleted elsewhere, and that must never fail the
 *   flag change that queued it (the worker drops such orphans).
 * - `deliveries_due_idx` serves the worker's claim (`status` + `next_attempt_at`).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const autoId = (col: any) => (dialect === 'postgres' ? col.generatedAlwaysAsIdentity().primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable('sinks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('environments', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('events', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('secrets', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('sinks_project_name_uq', ['project', 'name'])
    .execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'integer', autoId)
    .addColumn('sink_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'integer')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .execute();
  await db.schema.createIndex('deliveries_due_idx').on('deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('deliveries_sink_idx').on('deliveries').columns(['sink_id', 'id']).execute();

  await db.schema
    .createTable('sink_annotations')
    .addColumn('sink_id', 'text', (c) => c.notNull().references('sinks.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('annotation_id', 'bigint', (c) => c.notNull())
    .addColumn('delivery_id', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addPrimaryKeyConstraint('sink_annotations_pk', ['sink_id', 'key'])
    .execute();
}
