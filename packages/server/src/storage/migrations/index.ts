import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';
import * as initial from './001-initial.js';
import * as dependencyParents from './002-dependency-parents.js';
import * as sessions from './003-sessions.js';
import * as releases from './004-releases.js';
import * as signals from './005-signals.js';
import * as sinks from './006-sinks.js';

export interface VersionedMigration {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

/** Ordered by name; never rename or edit a migration that has shipped, add a new one. */
export const migrations: Record<string, VersionedMigration> = {
  '001-initial': initial,
  '002-dependency-parents': dependencyParents,
  '003-sessions': sessions,
  '004-releases': releases,
  '005-signals': signals,
  '006-sinks': sinks,
};
