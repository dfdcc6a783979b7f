/**
 * Malformed and truncated stream data: a tiny SSE front passes the real server's
 * /api/client/streaming through, but corrupts it on purpose — a malformed `unleash-updated` on the
 * first connection, an event cut off mid-way on the second. The SDK must keep the last good set,
 * drop the connection, and re-hydrate (no Last-Event-ID), ending up with the server's state.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardClient, type SwitchyardError } from '@switchyard/sdk';
import { ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually } from './sdk.js';

const ENV = 'sdk-faults';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let server: ServerProcess;
let token: string;
let frontServer: Server;
let frontUrl: string;

interface Connection {
  lastEventId: string | undefined;
  forwarded: string;
}
const connections: Connection[] = [];

const MALFORMED = 'event: unleash-updated\nid: 999999\ndata: {"events":[{"type":"feature-updated","eventId":999999,"feature":{"name":42}}]}\n\n';

const HOP = new Set(['host', 'connection', 'content-length', 'accept-encoding']);

/** Connection 0: real hydration, then a malformed event. Connection 1: real data until the next update, cut off in its middle. Then: a clean pass-through. */
async function handleStream(req: IncomingMessage, res: ServerResponse) {
  const n = connections.length;
  const conn: Connection = { lastEventId: req.headers['last-event-id'] as string | undefined, forwarded: '' };
  connections.push(conn);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const upstream = await fetch(server.url + req.url, { headers, signal: ac.signal }).catch(() => null);
  if (!upstream || !upstream.body) return res.destroy();
  res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/event-stream' });
  const reader = upstream.body.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      seen += text;
      if (n === 1) {
        const at = seen.indexOf('event: unleash-updated');
        if (at !== -1) {
          // forward up to the middle of the update's data, then cut the connection
          const upTo = seen.indexOf('data:', at) + 20;
          const already = seen.length - text.length;
          const part = seen.slice(already, Math.max(already, upTo));
          conn.forwarded += part;
          res.write(part);
          setTimeout(() => res.destroy(), 50);
          return;
        }
      }
      conn.forwarded += text;
      res.write(text);
      if (n === 0 && seen.includes('event: unleash-connected') && /event: unleash-connected[\s\S]*?\n\n/.test(seen)) {
        res.write(MALFORMED);
        conn.forwarded += MALFORMED;
        // keep the connection open: the SDK must drop it by itself
        await new Promise<void>((r) => res.on('close', () => r()));
        return;
      }
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    ac.abort();
  }
}

beforeAll(async () => {
  server = await startServerProcess({ logLevel: 'warn' });
  await ok(server, 'POST', '/api/admin/environments', { name: ENV }, server.adminToken);
  await ok(
    server,
    'POST',
    `/api/admin/import?environment=${ENV}`,
    {
      version: 2,
      features: [
        { name: 'faults.a', enabled: true, strategies: [{ name: 'default', parameters: {} }] },
        { name: 'faults.b', enabled: false, strategies: [{ name: 'default', parameters: {} }] },
      ],
      segments: [],
    },
    server.adminToken,
  );
  token = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV }, server.adminToken)).secret;
  frontServer = createServer((req, res) => {
    if (req.url?.startsWith('/api/client/streaming')) return void handleStream(req, res);
    // everything else (the poll fallback) fails: only the stream can bring flags here
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => frontServer.listen(0, '127.0.0.1', r));
  frontUrl = `http://127.0.0.1:${(frontServer.address() as { port: number }).port}`;
});

afterAll(async () => {
  frontServer?.closeAllConnections();
  await new Promise<void>((r) => (frontServer ? frontServer.close(() => r()) : r()));
  await server?.stop();
});

describe('@switchyard/sdk with malformed and truncated stream data', () => {
  it('keeps the last good set, drops the connection and re-hydrates', async () => {
    const c = new SwitchyardClient({
      url: frontUrl,
      token,
      appName: 'e2e-faults',
      logger: silent,
      disableMetrics: true,
      refreshIntervalMs: 60_000,
      reconnect: { initialMs: 100, maxMs: 500 },
    });
    try {
      const errors: SwitchyardError[] = [];
      c.on('error', (e) => errors.push(e));
      await c.ready({ timeoutMs: 10_000 });
      expect(c.isEnabled('faults.a')).toBe(true);

      // connection 0 got a malformed event: dropped, the set is unchanged, connection 1 re-hydrates
      expect(await eventually(() => connections.length >= 2, 10_000)).toBe(true);
      expect(errors.some((e) => e.kind === 'malformed')).toBe(true);
      expect(c.isEnabled('faults.a')).toBe(true);
      expect(c.flagNames().sort()).toEqual(['faults.a', 'faults.b']);
      expect(connections[1].lastEventId).toBeUndefined();
      expect(await eventually(() => connections[1].forwarded.includes('unleash-connected'), 5000)).toBe(true);

      // an update cut off in the middle: never applied; the next connection re-hydrates and brings it
      await ok(server, 'POST', `/api/admin/flags/faults.b/environments/${ENV}/on`, undefined, server.adminToken);
      expect(await eventually(() => connections.length >= 3, 10_000)).toBe(true);
      expect(connections[2].lastEventId).toBeUndefined();
      expect(await eventually(() => c.isEnabled('faults.b'), 10_000)).toBe(true);
      expect(c.isEnabled('faults.a')).toBe(true);
      const res = await fetch(`${server.url}/api/client/features`, { headers: { authorization: token } });
      expect(c.revision).toBe((await res.json()).meta.revisionId);
      expect(c.source).toBe('stream');
    } finally {
      await c.close();
    }
  });
});
