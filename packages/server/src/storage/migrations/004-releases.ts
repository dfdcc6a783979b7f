import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * Release plans (releases/): user templates, plans (a state machine per flag and environment,
 * with the guardian's state and cursor), and the decisions with their evidence.
 *
 * - `release_plans.version` is bumped by every write to a plan; writers compare-and-set on it
 *   (`UPDATE … WHERE id = ? AND version = ?`), so a step decided from a stale read never lands.
 * - `release_plans.step` counts transitions that changed the flag (start, advance, rollback…).
 * - `release_plans.active_key` is `environment/flag` while a plan is draft, running or paused
 *   and NULL once it is completed or rolled back: the unique index allows one active plan per
 *   flag and environment (NULLs never collide, in both dialects).
 * - `release_decisions` is unique on (plan_id, version): one decision per plan write.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const autoId = (col: any) => (dialect === 'postgres' ? col.generatedAlwaysAsIdentity().primaryKey() : col.primaryKey().autoIncrement());

  await db.schema
    .createTable('release_templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('release_plans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('flag', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('template', 'text')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('milestone', 'integer', (c) => c.notNull().defaultTo(-1))
    .addColumn('step', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('active_key', 'text', (c) => c.unique())
    .addColumn('reason', 'text')
    .addColumn('before_config', 'text')
    .addColumn('guardian', 'text')
    .addColumn('cohort_totals', 'text')
    .addColumn('baseline', 'text')
    .addColumn('cursor', 'text')
    .addColumn('last_decision', 'text')
    .addColumn('milestone_started_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('release_plans_flag_env_idx').on('release_plans').columns(['flag', 'environment']).execute();
  await db.schema.createIndex('release_plans_state_idx').on('release_plans').column('state').execute();
  await db.schema.createIndex('release_plans_updated_idx').on('release_plans').column('updated_at').execute();

  await db.schema
    .createTable('release_decisions')
    .addColumn('id', 'integer', autoId)
    .addColumn('plan_id', 'text', (c) => c.notNull().references('release_plans.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('milestone', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('e', 'double precision')
    .addColumn('threshold', 'double precision')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('evidence', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('release_decisions_plan_version_uq', ['plan_id', 'version'])
    .execute();
}
