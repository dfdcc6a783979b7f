/** A tiny HTTP server for SDK tests: scripted routes, open SSE streams the test writes to, recorded requests. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Stream {
  req: Recorded;
  res: ServerResponse;
  write(text: string): void;
  event(event: string, data: unknown, id?: string | number): void;
  end(): void;
  /** Destroys the socket (no clean end). */
  destroy(): void;
  closed: boolean;
}

export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

export interface FakeServer {
  url: string;
  requests: Recorded[];
  streams: Stream[];
  route(method: string, path: string, handler: Handler): void;
  /** Answers an SSE request: returns the stream for the test to write to. */
  openStream(res: ServerResponse, req: Recorded): Stream;
  waitFor<T>(check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function fakeServer(): Promise<FakeServer> {
  const routes = new Map<string, Handler>();
  const requests: Recorded[] = [];
  const streams: Stream[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const rec: Recorded = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(rec);
      const h = routes.get(`${rec.method} ${rec.path}`);
      if (!h) {
        res.statusCode = 404;
        res.end('not found');
        return;
      }
      try {
        await h(rec, res);
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const fs: FakeServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    streams,
    route(method, path, handler) {
      routes.set(`${method} ${path}`, handler);
    },
    openStream(res, req) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      const s: Stream = {
        req,
        res,
        closed: false,
        write(text) {
          if (!s.closed) res.write(text);
        },
        event(event, data, id) {
          s.write(`event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
        },
        end() {
          s.closed = true;
          res.end();
        },
        destroy() {
          s.closed = true;
          res.destroy();
        },
      };
      res.on('close', () => {
        s.closed = true;
      });
      streams.push(s);
      return s;
    },
    async waitFor(check, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = check();
        if (v !== undefined && v !== false) return v as never;
        if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const s of streams) if (!s.closed) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return fs;
}

export const silent = { debug() {}, info() {}, warn() {}, error() {} };

export function flag(name: string, enabled = true, extra: Record<string, unknown> = {}) {
  return { name, type: 'release', enabled, project: 'default', stale: false, impressionData: false, strategies: [{ name: 'default', parameters: {}, constraints: [] }], variants: [], ...extra };
}

export function payload(features: unknown[], segments: unknown[] = [], revisionId?: number) {
  return { version: 2, features, segments, ...(revisionId !== undefined ? { meta: { revisionId, etag: `"r${revisionId}"` } } : {}) };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`condition not met within ${timeoutMs} ms`));
      setTimeout(tick, 10);
    };
    tick();
  });
}
