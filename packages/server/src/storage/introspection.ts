import { DEFAULT_MIGRATION_LOCK_TABLE, DEFAULT_MIGRATION_TABLE, PostgresDialect, PostgresIntrospector, sql } from 'kysely';
import type { DatabaseIntrospector, DatabaseMetadata, DatabaseMetadataOptions, Kysely, TableMetadata } from 'kysely';

/**
 * Kysely's PostgreSQL introspector (which its Migrator uses to find its bookkeeping tables) reads
 * the tables of every schema in the database and calls `has_schema_privilege` on each schema's
 * name: when another deployment or test run drops its schema meanwhile, the query fails with
 * "schema … does not exist" and so do our migrations and /ready. We only ever need the schema
 * we work in, so that is all this one reads (tables and views, without columns: the Migrator
 * looks at names only).
 */
class CurrentSchemaIntrospector implements DatabaseIntrospector {
  private readonly fallback: PostgresIntrospector;

  constructor(private readonly db: Kysely<any>) {
    this.fallback = new PostgresIntrospector(db);
  }

  getSchemas() {
    return this.fallback.getSchemas();
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; kind: string }>`
      select c.relname as name, n.nspname as schema, c.relkind as kind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')
      order by c.relname`.execute(this.db);
    const internal = new Set([DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE]);
    return rows
      .filter((r) => options.withInternalKyselyTables || !internal.has(r.name))
      .map((r) => ({ name: r.name, schema: r.schema, isView: r.kind === 'v' || r.kind === 'm', columns: [] }));
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** PostgreSQL, introspecting only the current schema. */
export class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}
