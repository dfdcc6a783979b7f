import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/** The initial schema. Written once for both dialects; where they differ, `dialect` decides. */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const autoId = (col: any) =>
    dialect === 'postgres' ? col.generatedAlwaysAsIdentity().primaryKey() : col.primaryKey().autoIncrement();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('environments')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('flags')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('owner', 'text')
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('impression_data', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('archived_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('flags_project_idx').on('flags').column('project').execute();

  await db.schema
    .createTable('flag_environments')
    .addColumn('flag', 'text', (c) => c.notNull().references('flags.name').onDelete('cascade'))
    .addColumn('environment', 'text', (c) => c.notNull().references('environments.name').onDelete('cascade'))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('variants', 'text', (c) => c.notNull().defaultTo('[]'))
    .addPrimaryKeyConstraint('flag_environments_pk', ['flag', 'environment'])
    .execute();

  await db.schema
    .createTable('strategies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('flag', 'text', (c) => c.notNull().references('flags.name').onDelete('cascade'))
    .addColumn('environment', 'text', (c) => c.notNull().references('environments.name').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('title', 'text')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('parameters', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('constraints', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('segments', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('variants', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('strategies_flag_env_idx').on('strategies').columns(['flag', 'environment']).execute();

  await db.schema
    .createTable('flag_dependencies')
    .addColumn('child', 'text', (c) => c.notNull().references('flags.name').onDelete('cascade'))
    .addColumn('parent', 'text', (c) => c.notNull().references('flags.name').onDelete('cascade'))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('variants', 'text', (c) => c.notNull().defaultTo('[]'))
    .addPrimaryKeyConstraint('flag_dependencies_pk', ['child', 'parent'])
    .execute();

  await db.schema
    .createTable('segments')
    .addColumn('id', 'integer', autoId)
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text')
    .addColumn('project', 'text')
    .addColumn('constraints', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'integer', autoId)
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('environment', 'text')
    .addColumn('flag', 'text')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_flag_idx').on('events').column('flag').execute();
  await db.schema.createIndex('events_created_idx').on('events').column('created_at').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('projects', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('last_seen_at', 'text')
    .execute();

  await db.schema
    .createTable('client_applications')
    .addColumn('app_name', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('sdk_version', 'text')
    .addColumn('strategies', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('interval', 'integer')
    .addColumn('started_at', 'text')
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('client_applications_pk', ['app_name', 'instance_id', 'environment'])
    .execute();

  await db.schema
    .createTable('flag_metrics')
    .addColumn('flag', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('app_name', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('yes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('no', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('variants', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('flag_metrics_pk', ['flag', 'environment', 'app_name', 'bucket'])
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  const now = new Date().toISOString();
  await db.insertInto('projects').values({ id: 'default', name: 'Default', description: 'The default project', created_at: now }).execute();
  await db
    .insertInto('environments')
    .values([
      { name: 'development', type: 'development', sort_order: 1, revision: 1, created_at: now },
      { name: 'production', type: 'production', sort_order: 2, revision: 1, created_at: now },
    ])
    .execute();
  void sql;
}
