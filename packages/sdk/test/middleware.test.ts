/**
 * The request middleware against real servers: Node http (`withSwitchyard`), Express 5
 * (`switchyardExpress`) and Fastify 5 (`switchyardFastify`). Each records, per flag evaluated while
 * serving a request, the request's cohort, whether it failed (status ≥ 500, a thrown error, a
 * client that left) and its duration — concurrent requests never mix.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { SwitchyardClient, type CohortOutcomes } from '@switchyard/sdk';
import { currentScope, runWithOutcomes, switchyardExpress, switchyardFastify, withSwitchyard } from '@switchyard/sdk/middleware';
import { flag, payload, silent, until } from './fake-server.js';

const BETA = ['u1', 'u3', 'u5', 'u7', 'u9'];
const FLAGS = [
  flag('new-checkout', true, { strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'userId', operator: 'IN', values: BETA }] }] }),
  flag('theme', true, { variants: [{ name: 'dark', weight: 1000, stickiness: 'default' }] }),
  flag('unused'),
];

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function sdk() {
  const c = new SwitchyardClient({
    url: 'http://127.0.0.1:9',
    token: '*:production.x',
    appName: 'mw',
    logger: silent,
    streaming: false,
    refreshIntervalMs: 600_000,
    metricsIntervalMs: 600_000,
    bootstrap: payload(FLAGS, [], 1),
  });
  c.on('error', () => {});
  closers.push(() => c.close());
  return c;
}

const cohorts = (c: SwitchyardClient): CohortOutcomes => c.pendingMetrics()?.bucket.cohorts ?? {};
const requestsOf = (c: SwitchyardClient) => {
  let n = 0;
  for (const byCohort of Object.values(cohorts(c))) for (const x of Object.values(byCohort)) n += x.requests;
  return n;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The same routes for every framework, written against a tiny common surface. */
interface Ctx {
  user: string;
  send(status: number, body: string): void;
}
function routes(c: SwitchyardClient) {
  return {
    // evaluates after awaits and in a timer callback: AsyncLocalStorage carries the scope
    async checkout(ctx: Ctx) {
      await sleep(1);
      const on = c.isEnabled('new-checkout', { userId: ctx.user });
      await new Promise<void>((r) =>
        setTimeout(() => {
          c.getVariant('theme', { userId: ctx.user });
          r();
        }, 1),
      );
      if (on && ctx.user === 'u9') return ctx.send(503, 'new path broke');
      ctx.send(200, on ? 'new' : 'old');
    },
    async slow(ctx: Ctx) {
      c.isEnabled('new-checkout', { userId: ctx.user });
      await sleep(120);
      ctx.send(200, 'slow');
    },
    async boom(ctx: Ctx): Promise<void> {
      c.isEnabled('new-checkout', { userId: ctx.user });
      await sleep(1);
      throw new Error('boom');
    },
    async notFound(ctx: Ctx) {
      c.isEnabled('new-checkout', { userId: ctx.user });
      ctx.send(404, 'nope');
    },
    async marked(ctx: Ctx) {
      c.isEnabled('new-checkout', { userId: ctx.user });
      currentScope()?.fail();
      ctx.send(200, 'looked fine, was not');
    },
    plain(ctx: Ctx) {
      ctx.send(200, 'no flags');
    },
  };
}

/** Fires the common scenario and checks the counts. */
async function scenario(base: string, c: SwitchyardClient) {
  // 10 concurrent users: u1,u3,u5,u7,u9 get the new checkout (u9's fails), the others the old one
  const users = Array.from({ length: 10 }, (_, i) => `u${i}`);
  const answers = await Promise.all(users.map((u) => fetch(`${base}/checkout?user=${u}`).then(async (r) => [r.status, await r.text()] as const)));
  expect(answers.filter(([, b]) => b === 'new')).toHaveLength(4);
  expect(answers.filter(([s]) => s === 503)).toHaveLength(1);
  await until(() => requestsOf(c) === 20);
  let got = cohorts(c);
  expect(got['new-checkout'].on).toMatchObject({ requests: 5, errors: 1 });
  expect(got['new-checkout'].off).toMatchObject({ requests: 5, errors: 0 });
  expect(got.theme.dark).toMatchObject({ requests: 10, errors: 1 });
  expect(got.unused).toBeUndefined();
  expect(got['new-checkout'].on.latency.reduce((a, b) => a + b, 0)).toBe(5);

  // latency: one slow request lands in (100, 150] or above
  expect((await fetch(`${base}/slow?user=u1`)).status).toBe(200);
  await until(() => requestsOf(c) === 21);
  got = cohorts(c);
  expect(got['new-checkout'].on.latency.slice(6).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);

  // thrown errors are errors (answered 500), a 4xx is not, a scope marked failed is
  expect((await fetch(`${base}/boom?user=u2`)).status).toBe(500);
  expect((await fetch(`${base}/not-found?user=u2`)).status).toBe(404);
  expect((await fetch(`${base}/marked?user=u2`)).status).toBe(200);
  await until(() => requestsOf(c) === 24);
  got = cohorts(c);
  expect(got['new-checkout'].off).toMatchObject({ requests: 8, errors: 2 });

  // a request that evaluates no flag records nothing
  expect((await fetch(`${base}/plain`)).status).toBe(200);
  await sleep(30);
  expect(requestsOf(c)).toBe(24);
}

describe('Node http: withSwitchyard(handler)', () => {
  it('records per flag and cohort, errors, latency; concurrent requests stay apart', async () => {
    const c = sdk();
    const r = routes(c);
    const errors: unknown[] = [];
    const server = http.createServer(
      withSwitchyard(
        async (req: IncomingMessage, res: ServerResponse) => {
          const u = new URL(req.url ?? '/', 'http://x');
          const ctx: Ctx = { user: u.searchParams.get('user') ?? '', send: (s, b) => res.writeHead(s, { 'content-type': 'text/plain' }).end(b) };
          if (u.pathname === '/checkout') return r.checkout(ctx);
          if (u.pathname === '/slow') return r.slow(ctx);
          if (u.pathname === '/boom') return r.boom(ctx);
          if (u.pathname === '/not-found') return r.notFound(ctx);
          if (u.pathname === '/marked') return r.marked(ctx);
          return r.plain(ctx);
        },
        { onError: (err) => errors.push(err) },
      ),
    );
    await scenario(await listen(server), c);
    expect(errors).toHaveLength(1);
  });

  it('a client that leaves before the answer counts as an error; ignore() skips requests', async () => {
    const c = sdk();
    const server = http.createServer(
      withSwitchyard(
        async (req: IncomingMessage, res: ServerResponse) => {
          c.isEnabled('new-checkout', { userId: 'u1' });
          if (req.url === '/hang') return; // never answers
          res.end('ok');
        },
        { ignore: (req) => req.url === '/health' },
      ),
    );
    const base = await listen(server);
    await expect(fetch(`${base}/hang`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await until(() => requestsOf(c) === 1, 3000);
    expect(cohorts(c)['new-checkout'].on).toMatchObject({ requests: 1, errors: 1 });
    await fetch(`${base}/health`);
    await fetch(`${base}/ok`);
    await until(() => requestsOf(c) === 2);
    await sleep(30);
    expect(cohorts(c)['new-checkout'].on).toMatchObject({ requests: 2, errors: 1 });
  });
});

describe('Express: app.use(switchyardExpress())', () => {
  it('records per flag and cohort, errors, latency; concurrent requests stay apart', async () => {
    const c = sdk();
    const r = routes(c);
    const app = express();
    app.use(express.json());
    app.use(switchyardExpress());
    const ctx = (req: express.Request, res: express.Response): Ctx => ({ user: String(req.query.user ?? ''), send: (s, b) => void res.status(s).type('text').send(b) });
    app.get('/checkout', (req, res) => r.checkout(ctx(req, res)));
    app.get('/slow', (req, res) => r.slow(ctx(req, res)));
    app.get('/boom', (req, res) => r.boom(ctx(req, res))); // Express 5: a rejected promise goes to the error handler
    app.get('/not-found', (req, res) => r.notFound(ctx(req, res)));
    app.get('/marked', (req, res) => r.marked(ctx(req, res)));
    app.get('/plain', (req, res) => r.plain(ctx(req, res)));
    app.post('/echo', async (req, res) => {
      await sleep(1);
      res.json({ on: c.isEnabled('new-checkout', { userId: req.body.user }) });
    });
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send('error'));
    const base = await listen(http.createServer(app));
    await scenario(base, c);
    // a JSON body parsed before the middleware: the scope holds in the handler
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'u3' }) });
    expect(await res.json()).toEqual({ on: true });
    await until(() => requestsOf(c) === 25);
    expect(cohorts(c)['new-checkout'].on.requests).toBe(7);
  });
});

describe('Fastify: app.register(switchyardFastify)', () => {
  it('records per flag and cohort, errors, latency; concurrent requests stay apart; the scope survives body parsing', async () => {
    const c = sdk();
    const r = routes(c);
    const app = Fastify({ logger: false });
    closers.push(() => app.close());
    await app.register(switchyardFastify);
    // registered in a child context: the plugin applies to the whole app
    await app.register(async (child) => {
      const ctx = (req: { query: unknown }, reply: { code(n: number): { type(t: string): { send(b: string): unknown } } }): Ctx => ({
        user: String((req.query as { user?: string }).user ?? ''),
        send: (s, b) => void reply.code(s).type('text/plain').send(b),
      });
      child.get('/checkout', async (req, reply) => {
        await r.checkout(ctx(req, reply));
        return reply;
      });
      child.get('/slow', async (req, reply) => {
        await r.slow(ctx(req, reply));
        return reply;
      });
      child.get('/boom', async (req, reply) => r.boom(ctx(req, reply)));
      child.get('/not-found', async (req, reply) => {
        await r.notFound(ctx(req, reply));
        return reply;
      });
      child.get('/marked', async (req, reply) => {
        await r.marked(ctx(req, reply));
        return reply;
      });
      child.get('/plain', async (req, reply) => {
        r.plain(ctx(req, reply));
        return reply;
      });
      child.post('/echo', async (req) => {
        await sleep(1);
        return { on: c.isEnabled('new-checkout', { userId: (req.body as { user: string }).user }) };
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await scenario(base, c);
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'u3' }) });
    expect(await res.json()).toEqual({ on: true });
    await until(() => requestsOf(c) === 25);
    expect(cohorts(c)['new-checkout'].on.requests).toBe(7);
  });
});

describe('runWithOutcomes (jobs)', () => {
  it('records the work’s flags: an error when it throws (rethrown), its duration', async () => {
    const c = sdk();
    expect(await runWithOutcomes(async () => c.isEnabled('new-checkout', { userId: 'u1' }))).toBe(true);
    await expect(
      runWithOutcomes(async () => {
        c.getVariant('theme');
        await sleep(30);
        throw new Error('job failed');
      }),
    ).rejects.toThrow('job failed');
    const got = cohorts(c);
    expect(got['new-checkout'].on).toMatchObject({ requests: 1, errors: 0 });
    expect(got.theme.dark).toMatchObject({ requests: 1, errors: 1 });
    expect(got.theme.dark.latency.slice(3).reduce((a, b) => a + b, 0)).toBe(1); // > 25 ms
    // outside any scope nothing is recorded
    c.isEnabled('new-checkout', { userId: 'u1' });
    expect(requestsOf(c)).toBe(2);
  });
});
