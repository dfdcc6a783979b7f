import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildApp, configFromEnv, openStorage, type BuiltApp, type ServerConfig } from '../src/index.js';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const ADMIN = 'test-admin-token';

let pgAvailable: Promise<boolean> | undefined;

/** Whether PostgreSQL answers. In CI a missing PostgreSQL is an error, never a skip. */
export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (err) {
      if (process.env.CI) throw new Error(`PostgreSQL is required in CI but not reachable at ${POSTGRES_URL}: ${(err as Error).message}`);
      console.warn(`\n*** PostgreSQL not reachable at ${POSTGRES_URL}: PostgreSQL tests are SKIPPED ***\n`);
      return false;
    }
  })();
  return pgAvailable;
}

export type DialectName = 'sqlite' | 'postgres';
export const DIALECTS: DialectName[] = ['sqlite', 'postgres'];

/**
 * Where a test's data lives: a temp dir (SQLite), and on PostgreSQL a schema of its own, so
 * concurrent runs never see each other's rows. Several apps may open it one after another (a
 * restart) or side by side (replicas); `drop` removes it.
 */
export interface TestDatabase {
  dialect: DialectName;
  dataDir: string;
  schema?: string;
  drop(): Promise<void>;
}

export function testDatabase(dialect: DialectName): TestDatabase {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const schema = dialect === 'postgres' ? `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}` : undefined;
  return {
    dialect,
    dataDir,
    schema,
    async drop() {
      if (schema) {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A server on `db`, ready (not listening): the admin token is ADMIN, logs are off. */
export async function openTestApp(db: TestDatabase, overrides: Partial<ServerConfig> = {}): Promise<BuiltApp> {
  const config = configFromEnv({}, { dataDir: db.dataDir, adminToken: ADMIN, logLevel: 'silent', ...overrides });
  if (db.dialect === 'postgres') config.databaseUrl = POSTGRES_URL;
  const storage = await openStorage({ databaseUrl: config.databaseUrl, dataDir: db.dataDir, schema: db.schema });
  const built = await buildApp({ config, storage, logger: false });
  await built.app.ready();
  return built;
}

export interface TestApp extends BuiltApp {
  dataDir: string;
  dialect: DialectName;
  close(): Promise<void>;
}

/** A fresh server on a fresh database, dropped on close. */
export async function createTestApp(dialect: DialectName = 'sqlite'): Promise<TestApp> {
  const db = testDatabase(dialect);
  const built = await openTestApp(db);
  return {
    ...built,
    dataDir: db.dataDir,
    dialect,
    async close() {
      await built.app.close();
      await db.drop();
    },
  };
}

/** `app.inject` with the admin token and JSON body. */
export async function api(t: BuiltApp, method: string, url: string, body?: unknown, token = ADMIN) {
  const res = await t.app.inject({
    method: method as any,
    url,
    headers: { authorization: token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  let json: any;
  try {
    json = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: json, raw: res };
}
