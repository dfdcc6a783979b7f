import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { Trx } from '../changes.js';

/**
 * Which sinks want which events. The write path asks this for every audit event with a project,
 * inside the write's transaction, so it answers from memory: all enabled sinks' filters, loaded
 * once and dropped on every sink write. On PostgreSQL a sink written through another replica
 * changes the `sinks.generation` setting; the delivery worker's poll notices and drops the cache,
 * so a change made elsewhere applies here within one poll interval.
 */

export interface Filter {
  /** Environments whose events match; empty = all. Events without an environment always match. */
  environments: string[];
  /** Event types: exact (`feature-environment-enabled`), prefix (`release-*`), or `*`; empty = all. `flag-…` means `feature-…`. */
  events: string[];
}

export interface MatchableEvent {
  type: string;
  environment?: string | null;
}

export type Matcher = (e: MatchableEvent) => boolean;

export function compileFilter(f: Filter): Matcher {
  const envs = f.environments.length ? new Set(f.environments) : null;
  // Flag events carry Unleash's names (`feature-…`); `flag-…` is accepted for them too.
  const patterns = f.events.map((p) => (p.startsWith('flag-') ? `feature-${p.slice(5)}` : p));
  const all = patterns.length === 0 || patterns.includes('*');
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (e) => {
    if (envs && e.environment && !envs.has(e.environment)) return false;
    return all || exact.has(e.type) || prefixes.some((p) => e.type.startsWith(p));
  };
}

export interface CompiledSink {
  id: string;
  matches: Matcher;
}

export const GENERATION_KEY = 'sinks.generation';

export class SinkDirectory {
  private byProject: Map<string, CompiledSink[]> | null = null;
  /** Bumped on every invalidation: a load that started before one is not kept. */
  private epoch = 0;
  private generation: string | null | undefined;

  invalidate(): void {
    this.byProject = null;
    this.epoch++;
  }

  /** The enabled sinks of every project, from the cache or read through `db` (the caller's transaction). */
  async get(db: Kysely<Database> | Trx): Promise<Map<string, CompiledSink[]>> {
    if (this.byProject) return this.byProject;
    const epoch = this.epoch;
    const loaded = await SinkDirectory.read(db);
    if (epoch === this.epoch) this.byProject = loaded;
    return loaded;
  }

  /** Reads the filters without touching the cache (a transaction that writes sinks sees its own rows). */
  static async read(db: Kysely<Database> | Trx): Promise<Map<string, CompiledSink[]>> {
    const rows = await db.selectFrom('sinks').select(['id', 'project', 'environments', 'events']).where('enabled', '=', 1).orderBy('id').execute();
    const map = new Map<string, CompiledSink[]>();
    for (const r of rows) {
      const matches = compileFilter({ environments: JSON.parse(r.environments), events: JSON.parse(r.events) });
      const list = map.get(r.project) ?? [];
      list.push({ id: r.id, matches });
      map.set(r.project, list);
    }
    return map;
  }

  /** Marks, inside a sink write, that every replica must re-read its sinks. */
  static async bump(trx: Trx): Promise<void> {
    await trx
      .insertInto('settings')
      .values({ key: GENERATION_KEY, value: randomUUID() })
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
  }

  /** Drops the cache when another replica wrote sinks since the last look. */
  async refreshIfChanged(db: Kysely<Database>): Promise<void> {
    const row = await db.selectFrom('settings').select('value').where('key', '=', GENERATION_KEY).executeTakeFirst();
    const value = row?.value ?? null;
    if (this.generation !== undefined && value !== this.generation) this.invalidate();
    this.generation = value;
  }
}
