import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { Services } from '../services.js';
import type { RevisionChange } from '../events/changes.js';
import { loadClientPayload, toClientPayload, type LoadedPayload, type ProjectScope, type SpecFlavour } from './payload.js';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export type Encoding = 'br' | 'gzip';

/** One serialized client-API document: the JSON bytes, its strong ETag and lazily made compressed forms. */
export class Document {
  private readonly encoded = new Map<Encoding, Promise<Buffer>>();
  constructor(
    readonly revision: number,
    readonly etag: string,
    readonly body: Buffer,
  ) {}

  /** The body in `encoding`, compressed once and then kept. */
  encode(encoding: Encoding): Promise<Buffer> {
    let p = this.encoded.get(encoding);
    if (!p) {
      p =
        encoding === 'gzip'
          ? gzipAsync(this.body, { level: 6 })
          : brotliAsync(this.body, {
              params: {
                [zlib.BROTLI_PARAM_QUALITY]: 9,
                [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
                [zlib.BROTLI_PARAM_SIZE_HINT]: this.body.length,
              },
            });
      p.catch(() => this.encoded.delete(encoding));
      this.encoded.set(encoding, p);
    }
    return p;
  }
}

interface Entry<T> {
  /** Revision the value was read at; undefined while loading. */
  revision?: number;
  /** Revision the tracker showed when loading started (to share an in-flight load). */
  startedAt: number;
  promise: Promise<T>;
}

const MAX_ENTRIES_PER_ENVIRONMENT = 512;
/** Revision re-check interval while replication notifications are live. */
const LIVE_REFRESH_MS = 60_000;

export const hash = (data: string | Buffer) => createHash('sha256').update(data).digest('base64url');

export function scopeKey(scope: ProjectScope): string {
  return scope === '*' ? '*' : JSON.stringify([...scope].sort());
}

/**
 * Per-environment memo of everything derived from the flag set (loaded rows, serialized
 * documents, compiled evaluators), valid for one revision. The current revision of each
 * environment is kept in memory: written by `services.changes` (`revision` events, which on
 * PostgreSQL include other replicas' writes via LISTEN/NOTIFY) and, while those notifications are
 * not live, re-read from the database at most every `refreshMs`. A request
 * whose document is cached therefore costs no database query.
 */
export class FlagSetCache {
  private readonly revisions = new Map<string, { revision: number; checkedAt: number; pending?: Promise<number> }>();
  private readonly entries = new Map<string, Map<string, Entry<unknown>>>();
  /** How long a known revision is trusted before the database is asked again (other replicas' writes). */
  refreshMs: number;
  private readonly pollingRefreshMs: number;

  constructor(private readonly services: Services) {
    this.refreshMs = this.pollingRefreshMs = services.storage.dialect === 'postgres' ? 1000 : 5000;
    services.changes.on('revision', (changes: RevisionChange[]) => {
      for (const c of changes) {
        this.note(c.environment, c.revision);
        this.entries.delete(c.environment);
      }
    });
  }

  /**
   * Called by the replication listener (streaming/replication.ts): while other replicas' writes
   * arrive as LISTEN/NOTIFY `revision` events, known revisions are trusted (re-checked only once a
   * minute, a safety net); when the listener is down, they are re-read every `refreshMs` again.
   */
  setNotificationsLive(live: boolean): void {
    this.refreshMs = live ? LIVE_REFRESH_MS : this.pollingRefreshMs;
  }

  /** Known revisions (for the revision gauge). */
  knownRevisions(): Array<[string, number]> {
    return [...this.revisions].map(([env, r]) => [env, r.revision]);
  }

  /**
   * Records a revision. Events and loads only move it forward (they can arrive out of order);
   * a read of the environments table is authoritative (`exact`), so an environment deleted and
   * created again starts over.
   */
  private note(environment: string, revision: number, exact = false) {
    const known = this.revisions.get(environment);
    if (!known) this.revisions.set(environment, { revision, checkedAt: Date.now() });
    else {
      if (revision > known.revision || (exact && revision !== known.revision)) {
        known.revision = revision;
        this.entries.delete(environment);
      }
      known.checkedAt = Date.now();
    }
  }

  /** The environment's current revision, from memory when fresh. */
  async currentRevision(environment: string): Promise<number> {
    const known = this.revisions.get(environment);
    if (known && Date.now() - known.checkedAt < this.refreshMs) return known.revision;
    if (known?.pending) return known.pending;
    const pending = this.services.storage.db
      .selectFrom('environments')
      .select('revision')
      .where('name', '=', environment)
      .executeTakeFirst()
      .then((row) => {
        const revision = row ? Number(row.revision) : 0;
        this.note(environment, revision, true);
        return this.revisions.get(environment)!.revision;
      })
      .finally(() => {
        const k = this.revisions.get(environment);
        if (k) k.pending = undefined;
      });
    if (known) known.pending = pending;
    return pending;
  }

  /**
   * The value of `compute` for (environment, key) at the current revision: computed once per
   * revision; concurrent callers share one computation.
   */
  async memo<T>(environment: string, key: string, compute: () => Promise<{ revision: number; value: T }>): Promise<T> {
    const current = await this.currentRevision(environment);
    let envEntries = this.entries.get(environment);
    const existing = envEntries?.get(key) as Entry<T> | undefined;
    if (existing) {
      if (existing.revision !== undefined ? existing.revision >= current : existing.startedAt >= current) return existing.promise;
      envEntries!.delete(key);
    }
    if (!envEntries) {
      envEntries = new Map();
      this.entries.set(environment, envEntries);
    }
    const entry: Entry<T> = { startedAt: current, promise: undefined as unknown as Promise<T> };
    entry.promise = compute().then(
      ({ revision, value }) => {
        entry.revision = revision;
        if (revision > current) this.note(environment, revision);
        return value;
      },
      (err) => {
        if (this.entries.get(environment)?.get(key) === entry) this.entries.get(environment)!.delete(key);
        throw err;
      },
    );
    envEntries.set(key, entry as Entry<unknown>);
    if (envEntries.size > MAX_ENTRIES_PER_ENVIRONMENT) {
      const oldest = envEntries.keys().next().value;
      if (oldest !== undefined) envEntries.delete(oldest);
    }
    return entry.promise;
  }

  /** The stored flag set of an environment for a project scope (unfiltered by name). */
  loaded(environment: string, scope: ProjectScope, namePrefix?: string): Promise<LoadedPayload> {
    return this.memo(environment, `loaded\0${scopeKey(scope)}\0${namePrefix ?? ''}`, async () => {
      const value = await loadClientPayload(this.services.storage.db, environment, scope, { namePrefix }, {
        snapshot: this.services.storage.dialect === 'postgres',
      });
      return { revision: value.revision, value };
    });
  }

  /** The serialized `GET /api/client/features` document for these parameters. */
  document(
    environment: string,
    scope: ProjectScope,
    filters: { projects?: string[]; namePrefix?: string },
    flavour: SpecFlavour,
  ): Promise<Document> {
    const key = `doc\0${scopeKey(scope)}\0${filters.projects ? JSON.stringify(filters.projects) : ''}\0${filters.namePrefix ?? ''}\0${flavour}`;
    return this.memo(environment, key, async () => {
      const loaded = await this.loaded(environment, scope, filters.namePrefix);
      const query: Record<string, unknown> = {
        environment,
        ...(filters.projects ? { project: filters.projects } : scope === '*' ? {} : { project: scope }),
        ...(filters.namePrefix ? { namePrefix: filters.namePrefix } : {}),
        inlineSegmentConstraints: flavour === 'inline',
      };
      const doc = toClientPayload(loaded, flavour, query);
      const queryHash = hash(JSON.stringify(query)).slice(0, 16);
      const etag = `"${hash(JSON.stringify({ ...doc, revisionId: loaded.revision })).slice(0, 32)}"`;
      const body = Buffer.from(JSON.stringify({ ...doc, meta: { revisionId: loaded.revision, etag, queryHash } }), 'utf8');
      return { revision: loaded.revision, value: new Document(loaded.revision, etag, body) };
    });
  }
}

const caches = new WeakMap<Services, FlagSetCache>();

/** The flag-set cache of one server (shared by the client API, frontend API and metrics). */
export function flagSetCache(services: Services): FlagSetCache {
  let cache = caches.get(services);
  if (!cache) {
    cache = new FlagSetCache(services);
    caches.set(services, cache);
  }
  return cache;
}
