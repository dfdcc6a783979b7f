import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * Web UI sessions (auth/session.ts). The session id lives only in the browser's HttpOnly cookie;
 * the database keeps its SHA-256. A session is bound to the admin token it was opened with
 * (`token_id` + `token_hash`): revoking or expiring that token ends the session too.
 */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_token_idx').on('sessions').column('token_id').execute();
}
