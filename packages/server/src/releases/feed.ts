/**
 * Plan change notifications for live views (the plan SSE stream, the web UI).
 *
 * Writes on this replica notify at once (after the commit). Writes on another replica — the
 * guardian runs on whichever replica holds the advisory lock — are noticed by a cheap poll of
 * `release_plans.updated_at`/`version` once a second, only while someone is listening and only on
 * PostgreSQL (on SQLite every write is local).
 */
import { EventEmitter } from 'node:events';
import type { Storage } from '../storage/database.js';
import { releaseDb } from './store.js';

export class ReleaseFeed extends EventEmitter<{ changed: [string] }> {
  private timer: NodeJS.Timeout | null = null;
  private since: string | null = null;
  private readonly seen = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly storage: Storage,
    private readonly pollMs = 1000,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** A plan changed (called after the write committed). */
  notify(id: string): void {
    this.emit('changed', id);
  }

  /** Listens for plan changes; returns the unsubscribe function. */
  subscribe(fn: (id: string) => void): () => void {
    this.on('changed', fn);
    this.ensurePolling();
    return () => {
      this.off('changed', fn);
      if (this.listenerCount('changed') === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
        this.since = null;
        this.seen.clear();
      }
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.removeAllListeners();
  }

  private ensurePolling() {
    if (this.timer || this.closed || this.storage.dialect !== 'postgres') return;
    // From the first subscription on: a plan written after it (by any replica) is announced.
    this.since = new Date().toISOString();
    this.timer = setInterval(() => void this.poll().catch(() => {}), this.pollMs);
    this.timer.unref();
  }

  private polling = false;
  private async poll() {
    if (this.polling || !this.since) return;
    this.polling = true;
    try {
      // A little slack for clock differences between replicas; versions filter out repeats (and
      // listeners compare versions too, so announcing a plan twice is harmless).
      const since = new Date(Date.parse(this.since) - 5000).toISOString();
      const rows = await releaseDb(this.storage.db).selectFrom('release_plans').select(['id', 'version', 'updated_at']).where('updated_at', '>=', since).execute();
      for (const r of rows) {
        const v = Number(r.version);
        if ((this.seen.get(r.id) ?? -1) < v) this.emit('changed', r.id);
        this.seen.set(r.id, v);
        if (r.updated_at > this.since) this.since = r.updated_at;
      }
      if (this.seen.size > 10_000) this.seen.clear();
    } finally {
      this.polling = false;
    }
  }
}
