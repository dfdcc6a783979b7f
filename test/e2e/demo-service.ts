/**
 * A small demo service for the rollout end-to-end test: a Node http server whose routes each take
 * a new code path when a flag is on for the user, wrapped in `@switchyard/sdk`'s request
 * middleware (every flag evaluated while serving a request gets the request's outcome: errors =
 * status ≥ 500, latency), and a synthetic load generator (fixed rate, bounded in time, loopback).
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SwitchyardClient, withSwitchyard } from '@switchyard/sdk/node';

export interface Route {
  /** The flag guarding the new code path. */
  flag: string;
  /** Error rate of the old path and of the new one. */
  oldErrorRate: number;
  newErrorRate: number;
}

export interface DemoService {
  url: string;
  client: SwitchyardClient;
  /** Requests served per route: [old path, new path], and errors per path. */
  served: Record<string, { old: number; new: number; oldErrors: number; newErrors: number; firstNewAt: number | null; lastNewAt: number | null }>;
  close(): Promise<void>;
}

/** Seeded PRNG so a run's failures do not depend on luck more than they must. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startDemoService(opts: {
  url: string;
  token: string;
  routes: Record<string, Route>;
  seed?: number;
  /** The SDK's own reporting interval (default 60 s; a guarded plan asks for 5 s, and the shorter wins). */
  metricsIntervalMs?: number;
}): Promise<DemoService> {
  const client = new SwitchyardClient({
    url: opts.url,
    token: opts.token,
    appName: 'demo-checkout',
    metricsIntervalMs: opts.metricsIntervalMs,
    logger: { warn: () => {}, info: () => {}, debug: () => {} },
  });
  await client.ready({ timeoutMs: 10_000 });
  const random = mulberry32(opts.seed ?? 42);
  const served: DemoService['served'] = {};
  for (const name of Object.keys(opts.routes)) served[name] = { old: 0, new: 0, oldErrors: 0, newErrors: 0, firstNewAt: null, lastNewAt: null };

  const server: Server = createServer(
    withSwitchyard(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://demo');
      const name = url.pathname.slice(1);
      const route = opts.routes[name];
      if (!route) {
        res.statusCode = 404;
        res.end();
        return;
      }
      const userId = url.searchParams.get('user') ?? 'anonymous';
      const isNew = client.isEnabled(route.flag, { userId });
      const s = served[name];
      const now = Date.now();
      if (isNew) {
        s.new++;
        s.firstNewAt ??= now;
        s.lastNewAt = now;
      } else s.old++;
      // A little work: 1–8 ms, the same for both paths.
      await new Promise((r) => setTimeout(r, 1 + Math.floor(random() * 8)));
      const fail = random() < (isNew ? route.newErrorRate : route.oldErrorRate);
      if (fail && isNew) s.newErrors++;
      else if (fail) s.oldErrors++;
      res.statusCode = fail ? 503 : 200;
      res.setHeader('content-type', 'text/plain');
      res.end(isNew ? 'new' : 'old');
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    client,
    served,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await client.close();
    },
  };
}

export interface LoadResult {
  sent: number;
  failed: number;
  byStatus: Record<number, number>;
}

/**
 * Sends `rps` requests per second to the routes in turn (a random user each), until `stop()` or
 * `maxMs`. Loopback only; at most `concurrency` requests in flight (more are skipped and counted
 * as failed, so an overloaded run shows up instead of queueing).
 */
export function generateLoad(opts: { url: string; routes: string[]; rps: number; maxMs: number; users?: number; seed?: number; concurrency?: number }) {
  const target = new URL(opts.url);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error('the load generator only talks to loopback');
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 64 });
  const random = mulberry32(opts.seed ?? 7);
  const result: LoadResult = { sent: 0, failed: 0, byStatus: {} };
  const started = Date.now();
  let inFlight = 0;
  let i = 0;
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const fire = () => {
    if (inFlight >= (opts.concurrency ?? 64)) {
      result.failed++;
      return;
    }
    const route = opts.routes[i++ % opts.routes.length];
    const user = `u${Math.floor(random() * (opts.users ?? 100_000))}`;
    inFlight++;
    result.sent++;
    const req = request({ host: '127.0.0.1', port: target.port, path: `/${route}?user=${user}`, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        result.byStatus[res.statusCode ?? 0] = (result.byStatus[res.statusCode ?? 0] ?? 0) + 1;
      });
    });
    req.on('error', () => {
      inFlight--;
      result.failed++;
    });
    req.end();
  };
  // Fire in 20 ms ticks: rps/50 requests per tick, carrying the fraction over.
  let owed = 0;
  const timer = setInterval(() => {
    if (stopped || Date.now() - started >= opts.maxMs) return stop();
    owed += opts.rps / 50;
    while (owed >= 1) {
      owed--;
      fire();
    }
  }, 20);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    const wait = setInterval(() => {
      if (inFlight === 0) {
        clearInterval(wait);
        agent.destroy();
        resolveDone();
      }
    }, 10);
  };
  return { result, stop, done };
}

/** Whether the SDK serves the new path to any of `n` sample users. */
export function servesNewPath(client: SwitchyardClient, flag: string, n = 500): boolean {
  for (let i = 0; i < n; i++) if (client.isEnabled(flag, { userId: `sample-${i}` })) return true;
  return false;
}

