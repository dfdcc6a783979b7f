import { describe } from 'vitest';
import { DIALECTS, postgresAvailable, type DialectName } from './harness.js';

// Asked once, at collection: in CI a missing PostgreSQL throws here and fails the file.
export const postgresUp = await postgresAvailable();

/**
 * `describe` once per storage dialect, named `name (sqlite)` and `name (postgres)`. The PostgreSQL
 * half is skipped (loudly, see postgresAvailable) only outside CI when PostgreSQL does not answer.
 */
export function describeEachDialect(name: string, suite: (dialect: DialectName) => void): void {
  for (const dialect of DIALECTS) describe.skipIf(dialect === 'postgres' && !postgresUp)(`${name} (${dialect})`, () => suite(dialect));
}

/** `describe` for suites that need PostgreSQL itself (replicas, advisory locks, LISTEN/NOTIFY). */
export const describePostgres = describe.skipIf(!postgresUp);
