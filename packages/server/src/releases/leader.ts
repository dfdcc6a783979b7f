/**
 * Which replica runs the guardian.
 *
 * On PostgreSQL: the replica holding a session-level advisory lock, taken with
 * `pg_try_advisory_lock(key1, key2)` on a dedicated connection (key1 a constant for "guardian",
 * key2 a hash of the schema, so deployments — and test runs — sharing a database never contend).
 * Replicas without the lock retry every `retryMs`; the holder pings its connection at the same
 * pace and steps down the moment the connection fails (the server releases a session lock when
 * its session ends, so another replica takes over at its next try). Leadership is only about not
 * doing the work twice: every step is compare-and-set on the plan's version, so even two
 * runners at once would never apply a step twice.
 *
 * On SQLite there is one process, and it leads.
 */
import { sql } from 'kysely';
import pg from 'pg';
import type { Storage } from '../storage/database.js';

/** "guardian" as an int4: the advisory-lock class of the guardian leader. */
export const GUARDIAN_LOCK_CLASS = 0x67756172; // 'guar'

export interface LeaderLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface Leadership {
  readonly isLeader: boolean;
  /** Tries once (PostgreSQL) and then keeps trying in the background. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Called when leadership is gained or lost. */
  onChange?: (leader: boolean) => void;
}

export function leadership(storage: Storage, databaseUrl: string | undefined, log: LeaderLog, retryMs = 5000): Leadership {
  if (storage.dialect !== 'postgres') {
    return { isLeader: true, start: async () => {}, stop: async () => {} };
  }
  if (!databaseUrl) {
    log.warn({}, 'guardian: PostgreSQL storage without a database URL: this replica runs the guardian without the advisory lock');
    return { isLeader: true, start: async () => {}, stop: async () => {} };
  }
  return new AdvisoryLeader(storage, databaseUrl, log, retryMs);
}

class AdvisoryLeader implements Leadership {
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private busy = false;
  private key: number | null = null;
  onChange?: (leader: boolean) => void;

  constructor(
    private readonly storage: Storage,
    private readonly url: string,
    private readonly log: LeaderLog,
    private readonly retryMs: number,
  ) {}

  get isLeader() {
    return this.leader;
  }

  async start() {
    const { rows } = await sql<{ key: number }>`select hashtext(current_schema()) as key`.execute(this.storage.db);
    this.key = Number(rows[0].key);
    await this.round();
    this.timer = setInterval(() => void this.round(), this.retryMs);
    this.timer.unref();
  }

  private setLeader(value: boolean) {
    if (this.leader === value) return;
    this.leader = value;
    this.log.info({ leader: value }, value ? 'guardian: this replica holds the advisory lock and runs release plans' : 'guardian: this replica no longer runs release plans');
    this.onChange?.(value);
  }

  private drop(c: pg.Client, reason: string) {
    if (this.client !== c) return;
    this.client = null;
    if (this.leader) this.log.warn({ reason }, 'guardian: lost the advisory-lock connection');
    this.setLeader(false);
    c.removeAllListeners();
    c.on('error', () => {});
    void c.end().catch(() => {});
  }

  private async round() {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (!this.client) {
        const c = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5000, application_name: `switchyard-guardian:${process.pid}` });
        c.on('error', (err) => this.drop(c, err.message));
        c.on('end', () => this.drop(c, 'connection ended'));
        this.client = c;
        try {
          await c.connect();
        } catch (err) {
          this.drop(c, (err as Error).message);
          return;
        }
      }
      const c = this.client;
      try {
        if (this.leader) {
          await c.query('select 1');
        } else {
          const res = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1::int, $2::int) as ok', [GUARDIAN_LOCK_CLASS, this.key]);
          if (this.stopped) return;
          this.setLeader(res.rows[0]?.ok === true);
        }
      } catch (err) {
        this.drop(c, (err as Error).message);
      }
    } finally {
      this.busy = false;
    }
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => {});
      if (this.leader) await c.query('select pg_advisory_unlock($1::int, $2::int)', [GUARDIAN_LOCK_CLASS, this.key]).catch(() => {});
      await c.end().catch(() => {});
    }
    this.setLeader(false);
  }
}
