import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Database, EventRow } from '../storage/schema.js';
import { badRequest } from '../http/problem.js';

export interface EventView {
  id: number;
  type: string;
  actor: string;
  project: string | null;
  environment: string | null;
  flag: string | null;
  before: unknown;
  after: unknown;
  createdAt: string;
}

export interface EventQuery {
  flag?: string;
  type?: string;
  actor?: string;
  project?: string;
  environment?: string;
  since?: string;
  until?: string;
  limit?: number;
  offset?: number;
}

const parse = (text: string | null): unknown => {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export const eventView = (row: EventRow): EventView => ({
  id: Number(row.id),
  type: row.type,
  actor: row.actor,
  project: row.project,
  environment: row.environment,
  flag: row.flag,
  before: parse(row.before),
  after: parse(row.after),
  createdAt: row.created_at,
});

function timestamp(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw badRequest(`"${name}" must be an ISO-8601 timestamp (e.g. 2025-01-31T12:00:00Z); got "${value}".`);
  return new Date(t).toISOString();
}

/** The audit log, newest first. */
export async function queryEvents(db: Kysely<Database>, q: EventQuery): Promise<{ events: EventView[]; total: number }> {
  const since = timestamp(q.since, 'since');
  const until = timestamp(q.until, 'until');
  const filter = <O>(qb: SelectQueryBuilder<Database, 'events', O>) => {
    let out = qb;
    if (q.flag !== undefined) out = out.where('flag', '=', q.flag);
    if (q.type !== undefined) out = out.where('type', '=', q.type);
    if (q.actor !== undefined) out = out.where('actor', '=', q.actor);
    if (q.project !== undefined) out = out.where('project', '=', q.project);
    if (q.environment !== undefined) out = out.where('environment', '=', q.environment);
    if (since !== undefined) out = out.where('created_at', '>=', since);
    if (until !== undefined) out = out.where('created_at', '<=', until);
    return out;
  };
  const [rows, count] = await Promise.all([
    filter(db.selectFrom('events').selectAll())
      .orderBy('id', 'desc')
      .limit(q.limit ?? 100)
      .offset(q.offset ?? 0)
      .execute(),
    filter(db.selectFrom('events').select((eb) => eb.fn.countAll().as('n'))).executeTakeFirstOrThrow(),
  ]);
  return { events: rows.map(eventView), total: Number(count.n) };
}
