import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import type { Services } from '../services.js';
import type { RevisionChange } from '../events/changes.js';
import { flagSetCache } from '../client-api/cache.js';

/** Largest NOTIFY payload we send; PostgreSQL's limit is 8000 bytes. */
const MAX_PAYLOAD = 7900;
const PING_MS = 15_000;
const MAX_BACKOFF_MS = 5_000;

export interface Replication {
  /** Whether other replicas' writes currently arrive as notifications (always true on SQLite: one process). */
  readonly live: boolean;
  /** Re-reads every environment's revision and re-emits those that moved (done on every (re)connect). */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

interface Notice {
  /** Origin: the replica that wrote (its own notifications are ignored). */
  o: string;
  /** [environment, revision] pairs; absent when they did not fit (then every revision is re-read). */
  r?: Array<[string, number]>;
  /** API tokens were created or deleted (each replica caches the token table). */
  t?: 1;
}

/**
 * Cross-replica revision fan-out.
 *
 * On PostgreSQL every write that bumps revisions also runs `pg_notify(channel, {o, r})` inside its
 * transaction (so the notification goes out exactly when the write commits, never for a rolled-back
 * one). Each replica holds one dedicated LISTEN connection; notifications from other replicas are
 * re-emitted locally as `revision` events (the flag-set cache and the streaming hub act on them as
 * on local writes); token creations and deletions drop the local token cache, so a token made or
 * revoked through one replica is honoured by all. On every (re)connect the replica re-reads all environments' revisions and
 * emits those that moved, so a write made while it was not listening is never missed. While the
 * LISTEN connection is down, the flag-set cache falls back to re-reading revisions every second.
 *
 * The channel is per schema (`switchyard:<schema>`), so replicas of different deployments (or test
 * runs) sharing one database never hear each other.
 *
 * On SQLite there is only one process; `revision` events are already in-process and nothing runs.
 */
export async function startReplication(services: Services, log: FastifyBaseLogger): Promise<Replication> {
  const { storage, changes, config } = services;
  if (storage.dialect !== 'postgres') {
    return { live: true, resync: async () => {}, stop: async () => {} };
  }
  if (!config.databaseUrl) {
    log.warn('PostgreSQL storage without a database URL in the config: other replicas’ writes are noticed by polling only');
    return { live: false, resync: async () => {}, stop: async () => {} };
  }
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(storage.db);
  const schema = rows[0]?.schema ?? 'public';
  const channel = `switchyard:${schema}`.slice(0, 63);
  const origin = randomUUID();
  const cache = flagSetCache(services);

  /** Latest revision seen per environment (from local writes, notifications and re-reads). */
  const known = new Map<string, number>();
  const onRevision = (list: RevisionChange[]) => {
    for (const c of list) if (c.revision > (known.get(c.environment) ?? 0)) known.set(c.environment, c.revision);
  };
  changes.on('revision', onRevision);

  const removePublisher = changes.addPublisher(async (trx, { bumped, events }) => {
    const tokens = events.some((e) => e.type.startsWith('api-token-'));
    if (bumped.length === 0 && !tokens) return;
    let payload = JSON.stringify({ o: origin, r: bumped.map((b) => [b.environment, b.revision]), ...(tokens ? { t: 1 } : {}) } satisfies Notice);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ o: origin, ...(tokens ? { t: 1 } : {}) } satisfies Notice);
    await sql`select pg_notify(${channel}, ${payload})`.execute(trx);
  });

  const emitMoved = (list: Array<[string, number]>) => {
    const moved: RevisionChange[] = [];
    for (const [environment, revision] of list) {
      const k = known.get(environment);
      if (k === undefined || revision > k) moved.push({ environment, revision });
    }
    if (moved.length > 0) changes.emit('revision', moved);
  };

  const resync = async () => {
    services.tokens.invalidate();
    const envs = await storage.db.selectFrom('environments').select(['name', 'revision']).execute();
    emitMoved(envs.map((e) => [e.name, Number(e.revision)]));
  };

  let client: pg.Client | null = null;
  let live = false;
  let stopped = false;
  let backoff = 250;
  let retryTimer: NodeJS.Timeout | null = null;
  let pingTimer: NodeJS.Timeout | null = null;

  const setLive = (value: boolean) => {
    if (live === value) return;
    live = value;
    cache.setNotificationsLive(value);
  };

  const down = (c: pg.Client, reason: string) => {
    if (client !== c) return;
    client = null;
    setLive(false);
    if (pingTimer) clearInterval(pingTimer);
    pingTimer = null;
    c.removeAllListeners('notification');
    c.on('error', () => {});
    void c.end().catch(() => {});
    if (stopped) return;
    log.warn({ reason, retryInMs: backoff }, 'replication: LISTEN connection lost; reconnecting');
    retryTimer = setTimeout(() => void connect(), backoff);
    retryTimer.unref();
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  const connect = async (): Promise<void> => {
    retryTimer = null;
    if (stopped) return;
    const c = new pg.Client({
      connectionString: config.databaseUrl,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      application_name: `switchyard-listen:${process.pid}`,
    });
    client = c;
    c.on('error', (err) => down(c, err.message));
    c.on('end', () => down(c, 'connection ended'));
    c.on('notification', (msg) => {
      if (msg.channel !== channel || !msg.payload) return;
      let notice: Notice;
      try {
        notice = JSON.parse(msg.payload) as Notice;
      } catch {
        return;
      }
      if (notice.o === origin) return;
      if (notice.t) services.tokens.invalidate();
      if (notice.r) emitMoved(notice.r);
      else void resync().catch((err) => log.warn({ err }, 'replication: re-read of revisions failed'));
    });
    try {
      await c.connect();
      await c.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      // Listening now: anything committed from here on arrives as a notification; the re-read covers what came before.
      await resync();
    } catch (err) {
      down(c, (err as Error).message);
      return;
    }
    if (client !== c) return;
    backoff = 250;
    setLive(true);
    log.info({ channel }, 'replication: listening for other replicas’ writes');
    pingTimer = setInterval(() => {
      c.query('select 1').catch((err: Error) => down(c, `ping failed: ${err.message}`));
    }, PING_MS);
    pingTimer.unref();
  };

  // Wait for the first connection so a server that reports ready already hears other replicas;
  // if it fails, keep trying in the background (polling covers the gap).
  await connect();

  return {
    get live() {
      return live;
    },
    resync,
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (pingTimer) clearInterval(pingTimer);
      changes.off('revision', onRevision);
      removePublisher();
      const c = client;
      client = null;
      setLive(false);
      if (c) {
        c.removeAllListeners();
        c.on('error', () => {});
        await c.end().catch(() => {});
      }
    },
  };
}
