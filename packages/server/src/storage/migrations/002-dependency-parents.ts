import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * A flag may depend on a parent that does not exist (yet): Unleash payloads carry such
 * dependencies (the child then stays off), and import must store them faithfully. So the
 * parent column loses its foreign key; the child keeps its cascade.
 */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('flag_dependencies_v2')
    .addColumn('child', 'text', (c) => c.notNull().references('flags.name').onDelete('cascade'))
    .addColumn('parent', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('variants', 'text', (c) => c.notNull().defaultTo('[]'))
    .addPrimaryKeyConstraint('flag_dependencies_v2_pk', ['child', 'parent'])
    .execute();
  await sql`INSERT INTO flag_dependencies_v2 (child, parent, enabled, variants) SELECT child, parent, enabled, variants FROM flag_dependencies`.execute(db);
  await db.schema.dropTable('flag_dependencies').execute();
  await db.schema.alterTable('flag_dependencies_v2').renameTo('flag_dependencies').execute();
  await db.schema.createIndex('flag_dependencies_parent_idx').on('flag_dependencies').column('parent').execute();
}
