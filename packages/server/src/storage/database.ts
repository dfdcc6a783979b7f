import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, sql, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { Database } from './schema.js';
import { migrations } from './migrations/index.js';
import { SchemaScopedPostgresDialect } from './introspection.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StorageOptions {
  /** A `postgres://` URL selects PostgreSQL; anything else means SQLite under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL schema to work in (tests give each run its own). */
  schema?: string;
}

export interface Storage {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the data lives, for logs (never includes a password). */
  describe: string;
  close(): Promise<void>;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}

export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = isPostgresUrl(options.databaseUrl)
    ? await openPostgres(options.databaseUrl, options.schema)
    : openSqlite(options.dataDir);
  await migrate(storage);
  return storage;
}

function openSqlite(dataDir: string): Storage {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'switchyard.db');
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', describe: `sqlite:${file}`, close: () => db.destroy() };
}

async function openPostgres(url: string, schema?: string): Promise<Storage> {
  const parsers = {
    getTypeParser(oid: number, format?: any) {
      // int8 (counts, identities) as numbers: our counts stay far below 2^53.
      if (oid === 20) return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format);
    },
  };
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '')}"`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: parsers as any,
    ...(schema ? { options: `-c search_path="${schema.replace(/"/g, '')}"` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
  const safe = new URL(url);
  safe.password = '';
  return { db, dialect: 'postgres', describe: `postgres:${safe.host}${safe.pathname}${schema ? `#${schema}` : ''}`, close: () => db.destroy() };
}

async function migrate(storage: Storage): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(migrations)) {
        out[name] = { up: (db) => m.up(db, storage.dialect) };
      }
      return out;
    },
  };
  const migrator = new Migrator({ db: storage.db, provider, ...(await migrationSchema(storage)) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? error}`);
  }
}

/**
 * On PostgreSQL the migrator's bookkeeping tables live in the schema we work in. Without this,
 * Kysely looks for them in every schema of the database, finds another schema's copy (a test
 * run's, say), and then fails to read its own.
 */
async function migrationSchema(storage: Storage): Promise<{ migrationTableSchema?: string }> {
  if (storage.dialect !== 'postgres') return {};
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(storage.db);
  return rows[0]?.schema ? { migrationTableSchema: rows[0].schema } : {};
}

/** True when the migrations have all run (for /ready). */
export async function migrationsDone(storage: Storage): Promise<boolean> {
  const migrator = new Migrator({
    db: storage.db,
    provider: { getMigrations: async () => Object.fromEntries(Object.keys(migrations).map((k) => [k, { up: async () => {} }])) },
    ...(await migrationSchema(storage)),
  });
  const all = await migrator.getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
