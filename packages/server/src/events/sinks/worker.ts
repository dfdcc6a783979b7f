import type { FastifyBaseLogger } from 'fastify';
import type { Storage } from '../../storage/database.js';
import type { EventView } from '../service.js';
import type { PublicConfig } from './config.js';
import type { SecretBox } from './secrets.js';
import type { DeliveriesTable, SinksTable } from './tables.js';
import type { SinkDirectory } from './directory.js';
import { Aborted, Deferred, DeliveryError, send, type LoadedSink } from './senders.js';
import type { Selectable } from 'kysely';

/**
 * The delivery worker. The queue is the `deliveries` table: the write path only inserts rows, and
 * this loop claims the due ones, sends them outside any transaction, and records each outcome.
 *
 * - Claiming marks rows `sending` with a lease (`next_attempt_at` = now + lease) in one statement;
 *   on PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`, so replicas never claim the
 *   same row. A replica that dies mid-send leaves a lapsed lease, and the row is claimed again.
 *   On SQLite (one process) rows left `sending` by a crash are put back at start.
 * - A commit that queued deliveries nudges the loop (in-process), so they go out at once; otherwise
 *   it polls every `pollMs`. A sink with deliveries in flight is skipped until they are done, and
 *   the ones claimed together go out in order: one sink's messages arrive in the order of events
 *   (a retried one apart).
 * - Failures are retried after `retryDelaysMs[attempt - 1]` (the last one repeating) × jitter, or
 *   the receiver's Retry-After if longer, until `maxAttempts`; then the row is `failed`. A 4xx
 *   (other than 408/425/429) or a redirect fails at once: retrying would not help.
 */

export interface DeliveryOptions {
  /** Run the worker on this server (env SWITCHYARD_DELIVERY_WORKER=false turns it off). Deliveries are still queued. */
  worker: boolean;
  retryDelaysMs: number[];
  maxAttempts: number;
  /** Per request. */
  timeoutMs: number;
  pollMs: number;
  /** Most deliveries in flight at once. */
  concurrency: number;
  /** How long a claim holds a row before another worker may take it. */
  leaseMs: number;
  /** ± fraction applied to each retry delay. */
  jitter: number;
  /** Delivered and failed rows older than this are deleted. */
  retentionMs: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = {
  worker: true,
  retryDelaysMs: [5_000, 30_000, 120_000, 600_000, 3_600_000],
  maxAttempts: 8,
  timeoutMs: 5_000,
  pollMs: 2_000,
  concurrency: 16,
  leaseMs: 60_000,
  jitter: 0.2,
  retentionMs: 30 * 24 * 3_600_000,
};

type DeliveryRow = Selectable<DeliveriesTable>;

const iso = (ms: number) => new Date(ms).toISOString();
const CLEANUP_EVERY_MS = 3_600_000;

export class DeliveryWorker {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private claiming = false;
  private again = false;
  private inflight = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private nudged = false;
  private lastCleanup = 0;

  constructor(
    private readonly storage: Storage,
    private readonly directory: SinkDirectory,
    private readonly box: SecretBox,
    readonly options: DeliveryOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    if (this.storage.dialect === 'postgres') await this.directory.refreshIfChanged(this.storage.db);
    if (this.options.worker && this.storage.dialect === 'sqlite') {
      // One process owns a SQLite file: anything still `sending` was cut off by a crash.
      await this.storage.db.updateTable('deliveries').set({ status: 'pending', next_attempt_at: iso(Date.now()) }).where('status', '=', 'sending').execute();
    }
    this.schedule(0);
  }

  /** After a commit that queued deliveries: look now rather than at the next poll. */
  nudge(): void {
    if (this.stopped || !this.options.worker || this.nudged) return;
    this.nudged = true;
    setImmediate(() => {
      this.nudged = false;
      void this.pump();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    while (this.running.size > 0 || this.claiming) {
      await Promise.allSettled([...this.running]);
      if (this.claiming) await new Promise((r) => setTimeout(r, 5));
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (this.storage.dialect === 'postgres') await this.directory.refreshIfChanged(this.storage.db);
      if (this.options.worker) {
        await this.pump();
        if (Date.now() - this.lastCleanup > CLEANUP_EVERY_MS) {
          this.lastCleanup = Date.now();
          await this.cleanup();
        }
      }
    } catch (err) {
      if (!this.stopped) this.log.warn({ err }, 'notifications: delivery poll failed; trying again');
    }
    this.schedule(this.options.pollMs);
  }

  /** Claims as many due deliveries as there is room for and starts them. */
  private async pump(): Promise<void> {
    if (this.stopped || !this.options.worker) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    try {
      do {
        this.again = false;
        const room = this.options.concurrency - this.inflight;
        if (room <= 0 || this.stopped) break;
        const rows = await this.claim(room);
        if (rows.length === 0) break;
        this.inflight += rows.length;
        const bySink = new Map<string, DeliveryRow[]>();
        for (const r of rows) bySink.set(r.sink_id, [...(bySink.get(r.sink_id) ?? []), r]);
        for (const group of bySink.values()) {
          const p: Promise<void> = this.runGroup(group).finally(() => {
            this.running.delete(p);
            this.nudge();
          });
          this.running.add(p);
        }
        if (rows.length === room) this.again = true;
      } while (this.again);
    } catch (err) {
      if (!this.stopped) this.log.warn({ err }, 'notifications: claiming deliveries failed');
    } finally {
      this.claiming = false;
    }
  }

  private async claim(limit: number): Promise<DeliveryRow[]> {
    const now = Date.now();
    const pg = this.storage.dialect === 'postgres';
    const rows = await this.storage.db
      .updateTable('deliveries')
      .set((eb) => ({ status: 'sending', attempt: eb('attempt', '+', 1), next_attempt_at: iso(now + this.options.leaseMs) }))
      .where('id', 'in', (eb) => {
        const q = eb
          .selectFrom('deliveries')
          .select('id')
          .where('status', 'in', ['pending', 'sending'])
          .where('next_attempt_at', '<=', iso(now))
          // One sink's deliveries go out one group at a time, so a chat channel reads in order.
          .where('sink_id', 'not in', (busy) =>
            busy.selectFrom('deliveries as sent').select('sent.sink_id').where('sent.status', '=', 'sending').where('sent.next_attempt_at', '>', iso(now)),
          )
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(limit);
        return pg ? q.forUpdate().skipLocked() : q;
      })
      .returningAll()
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), attempt: Number(r.attempt) })).sort((a, b) => a.id - b.id);
  }

  private async runGroup(rows: DeliveryRow[]): Promise<void> {
    const sinkId = rows[0].sink_id;
    let sink: LoadedSink | null = null;
    let gone = false;
    let unavailable: DeliveryError | undefined;
    try {
      const row = await this.storage.db.selectFrom('sinks').selectAll().where('id', '=', sinkId).executeTakeFirst();
      if (!row) gone = true;
      else if (!row.enabled) unavailable = new DeliveryError('the sink was disabled before this could be delivered', true);
      else sink = this.load(row);
    } catch (err) {
      // E.g. secrets sealed with another SWITCHYARD_SECRET_KEY: retried, the fix is on the server.
      unavailable = new DeliveryError((err as Error).message);
    }
    for (const row of rows) {
      try {
        if (gone) {
          // Deleted (through another replica, a moment ago): nothing to deliver to.
          await this.storage.db.deleteFrom('deliveries').where('id', '=', row.id).execute();
        } else if (!sink) {
          await this.finish(row, { error: unavailable ?? new DeliveryError('sink unavailable') });
        } else {
          await this.deliver(row, sink);
        }
      } catch (err) {
        if (!this.stopped) this.log.warn({ err, delivery: row.id }, 'notifications: recording a delivery failed');
      } finally {
        this.inflight--;
      }
    }
  }

  private load(row: Selectable<SinksTable>): LoadedSink {
    return {
      id: row.id,
      project: row.project,
      name: row.name,
      type: row.type,
      config: JSON.parse(row.config) as PublicConfig,
      secrets: this.box.open(row.secrets),
    };
  }

  private async deliver(row: DeliveryRow, sink: LoadedSink): Promise<void> {
    if (this.stopped) return this.finish(row, { putBack: 0 });
    let event: EventView;
    try {
      event = JSON.parse(row.payload) as EventView;
    } catch {
      return this.finish(row, { error: new DeliveryError('the queued payload is not JSON', true) });
    }
    try {
      const note = await send({ deliveryId: row.id, event, sink, test: false, timeoutMs: this.options.timeoutMs, signal: this.abort.signal, db: this.storage.db });
      this.log.debug({ delivery: row.id, sink: sink.id, note }, 'notifications: delivered');
      await this.finish(row, {});
    } catch (err) {
      if (err instanceof Aborted) return this.finish(row, { putBack: 0 });
      if (err instanceof Deferred) return this.finish(row, { putBack: err.ms });
      const error = err instanceof DeliveryError ? err : new DeliveryError(`unexpected error: ${(err as Error).message}`);
      this.log.info({ delivery: row.id, sink: sink.id, attempt: row.attempt, error: error.message }, 'notifications: delivery attempt failed');
      await this.finish(row, { error });
    }
  }

  /** Records the outcome, only if this worker's claim still holds (attempt and status unchanged). */
  private async finish(row: DeliveryRow, outcome: { error?: DeliveryError; putBack?: number }): Promise<void> {
    const now = Date.now();
    let set: Partial<Record<keyof DeliveriesTable, unknown>>;
    if (outcome.putBack !== undefined) {
      set = { status: 'pending', attempt: row.attempt - 1, next_attempt_at: iso(now + outcome.putBack) };
    } else if (!outcome.error) {
      set = { status: 'delivered', delivered_at: iso(now), next_attempt_at: iso(now) };
    } else {
      const e = outcome.error;
      const last_error = `attempt ${row.attempt}: ${e.message}`.slice(0, 1000);
      if (e.permanent || row.attempt >= this.options.maxAttempts) set = { status: 'failed', last_error, next_attempt_at: iso(now) };
      else set = { status: 'pending', last_error, next_attempt_at: iso(now + this.delay(row.attempt, e.retryAfterMs)) };
    }
    await this.storage.db
      .updateTable('deliveries')
      .set(set as any)
      .where('id', '=', row.id)
      .where('status', '=', 'sending')
      .where('attempt', '=', row.attempt)
      .execute();
  }

  /** The wait after `attempt` failed attempts. */
  delay(attempt: number, retryAfterMs?: number): number {
    const list = this.options.retryDelaysMs;
    const base = list[Math.min(attempt - 1, list.length - 1)] ?? 60_000;
    const jittered = base * (1 - this.options.jitter + 2 * this.options.jitter * Math.random());
    const cap = Math.max(...list, 1);
    return Math.round(retryAfterMs !== undefined ? Math.min(Math.max(jittered, retryAfterMs), cap) : jittered);
  }

  private async cleanup(): Promise<void> {
    const before = iso(Date.now() - this.options.retentionMs);
    await this.storage.db.deleteFrom('deliveries').where('status', 'in', ['delivered', 'failed']).where('created_at', '<', before).execute();
  }
}
