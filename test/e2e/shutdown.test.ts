import { describe, expect, it } from 'vitest';
import { http, startServerProcess } from './server.js';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, exits 0 on SIGTERM and never logs a token', async () => {
    const server = await startServerProcess();
    const token = server.adminToken!;
    // Keep a few requests in flight while the signal arrives.
    const inflight = Array.from({ length: 20 }, (_, i) =>
      http(server, 'POST', '/api/admin/flags', { name: `shutdown-${i}` }, token).then((r) => r.status, () => 'aborted'),
    );
    await new Promise((r) => setTimeout(r, 5));
    const code = await server.stop();
    const statuses = await Promise.all(inflight);
    expect(code).toBe(0);
    // Every request either completed normally or never reached the server; none failed half-way with a 5xx.
    for (const s of statuses) expect(s === 201 || s === 'aborted').toBe(true);
    expect(server.logs()).toContain('shutting down');
    expect(server.logs()).not.toContain(token);
  });
});
