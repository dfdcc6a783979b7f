/**
 * Replicas: two real server processes on one PostgreSQL schema. A change made through A's admin
 * API reaches an SSE client (and an official `unleash-client` in streaming mode) connected to B;
 * a token created on A works on B; and when B's LISTEN connection is killed
 * (pg_terminate_backend), B reconnects and re-reads the revisions, so a change made meanwhile still
 * arrives. Timing is asserted generously (the bench measures it).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { POSTGRES_URL } from '../../packages/server/test/harness.js';
import { describePostgres } from '../../packages/server/test/dialects.js';
import { SseClient, json } from '../../packages/server/test/sse.js';
import { ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually, startUnleash } from './sdk.js';

const schema = `e2e_replicas_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

describePostgres('replicas on PostgreSQL', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let token: string;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });

  beforeAll(async () => {
    await admin.connect();
    const env = { DATABASE_URL: POSTGRES_URL, SWITCHYARD_DATABASE_SCHEMA: schema };
    // One after the other: the first runs the migrations.
    a = await startServerProcess({ env, logLevel: 'warn' });
    b = await startServerProcess({ env, logLevel: 'warn' });
    await ok(a, 'POST', '/api/admin/flags', { name: 'replicated', type: 'release' }, a.adminToken);
    // Created on A, used on B: B must hear that its token cache is stale.
    token = (await ok(a, 'POST', '/api/admin/tokens', { type: 'backend', environment: 'development', name: 'replicas' }, a.adminToken)).secret;
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  /** pids of the LISTEN connections of one server process. */
  const listeners = async (server: ServerProcess): Promise<number[]> => {
    const { rows } = await admin.query('select pid from pg_stat_activity where application_name = $1', [`switchyard-listen:${server.child.pid}`]);
    return rows.map((r) => Number(r.pid));
  };

  const toggle = (server: ServerProcess, on: boolean) =>
    ok(server, 'POST', `/api/admin/flags/replicated/environments/development/${on ? 'on' : 'off'}`, undefined, server.adminToken);

  const enabledIn = (e: { data: string }) => json(e).events.find((x: any) => x.feature?.name === 'replicated' || x.type === 'hydration');

  it('a change made through A reaches an SSE client on B within about a second', async () => {
    const c = await SseClient.open(`${b.url}/api/client/streaming`, { authorization: token });
    try {
      expect(c.status).toBe(200);
      const h = json(await c.nth(0)).events[0];
      expect(h.features.find((f: any) => f.name === 'replicated').enabled).toBe(false);
      for (const [i, on] of [true, false, true].entries()) {
        const before = performance.now();
        await toggle(a, on);
        const e = await c.nth(i + 1, 3000);
        expect(e.event).toBe('unleash-updated');
        expect(enabledIn(e).feature.enabled).toBe(on);
        expect(e.at - before).toBeLessThan(1500);
      }
    } finally {
      c.close();
    }
  });

  it('the official unleash-client streaming from B follows changes made on A', async () => {
    const { unleash } = await startUnleash({ url: b.url, token, appName: 'replicas', mode: 'streaming' });
    try {
      const now = unleash.isEnabled('replicated');
      await toggle(a, !now);
      expect(await eventually(() => unleash.isEnabled('replicated') === !now, 2000)).toBe(true);
      await toggle(a, now);
      expect(await eventually(() => unleash.isEnabled('replicated') === now, 2000)).toBe(true);
    } finally {
      unleash.destroy();
    }
  });

  it('B reconnects its LISTEN connection after pg_terminate_backend and re-reads what it missed', async () => {
    const c = await SseClient.open(`${b.url}/api/client/streaming`, { authorization: token });
    try {
      const state = json(await c.nth(0)).events[0].features.find((f: any) => f.name === 'replicated').enabled as boolean;
      const [old] = await listeners(b);
      expect(old).toBeGreaterThan(0);
      await admin.query('select pg_terminate_backend($1)', [old]);
      // Made while B is (most likely) not listening: only the re-read on reconnect can bring it.
      await toggle(a, !state);
      const e = await c.nth(1, 10_000);
      expect(enabledIn(e).feature.enabled).toBe(!state);
      expect(await eventually(async () => (await listeners(b)).some((pid) => pid !== old), 10_000)).toBe(true);
      // and notifications flow again
      await toggle(a, state);
      const back = await c.nth(2, 3000);
      expect(enabledIn(back).feature.enabled).toBe(state);
      expect(b.logs()).toMatch(/LISTEN connection lost/);
    } finally {
      c.close();
    }
  });
});
