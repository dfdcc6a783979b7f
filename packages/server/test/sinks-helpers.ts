import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import type { BuiltApp, ServerConfig } from '../src/index.js';
import type { DeliveryOptions } from '../src/events/sinks/worker.js';
import { openTestApp, type TestDatabase } from './harness.js';

/** Fast retries for tests: the policy's shape, in milliseconds. */
export const FAST: Partial<DeliveryOptions> = { retryDelaysMs: [100, 200, 400], maxAttempts: 4, pollMs: 100, jitter: 0, timeoutMs: 1_000 };

export function startServer(db: TestDatabase, options: { delivery?: Partial<DeliveryOptions>; secretKey?: string; config?: Partial<ServerConfig> } = {}): Promise<BuiltApp> {
  return openTestApp(db, { secretKey: options.secretKey, delivery: options.delivery ?? FAST, ...options.config });
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: any;
  at: number;
}

export type Responder = (req: Received, n: number) => { status?: number; body?: unknown; headers?: Record<string, string>; hangMs?: number } | undefined;

/** A tiny HTTP receiver on 127.0.0.1 that records every request and answers as `respond` says (200 `{}` by default). */
export class Receiver {
  readonly requests: Received[] = [];
  respond: Responder = () => undefined;
  private server!: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  static async start(respond?: Responder): Promise<Receiver> {
    const r = new Receiver();
    if (respond) r.respond = respond;
    r.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = raw ? JSON.parse(raw) : undefined;
        } catch {
          body = undefined;
        }
        const got: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body, at: Date.now() };
        r.requests.push(got);
        const answer = r.respond(got, r.requests.length) ?? {};
        const reply = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
          res.end(JSON.stringify(answer.body ?? {}));
        };
        if (answer.hangMs) {
          const t = setTimeout(() => {
            r.timers.delete(t);
            reply();
          }, answer.hangMs);
          r.timers.add(t);
        } else reply();
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    const addr = r.server.address();
    r.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return r;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The receiver's side of the signature check, as docs/notifications.md shows it. */
export function verifySignature(secret: string, headers: IncomingMessage['headers'], raw: string, toleranceSec = 300): boolean {
  const timestamp = String(headers['x-switchyard-timestamp'] ?? '');
  const signature = String(headers['x-switchyard-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSec) return false;
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`;
  return expected.length === signature.length && expected === signature;
}
