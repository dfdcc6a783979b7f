/**
 * Push, not poll: an official `unleash-client` in streaming mode (`/api/client/streaming`, SSE)
 * sees a change made through the `switchyard` CLI within moments, while its polling interval is
 * an hour — and a delta-polling client catches up on its next poll.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually, startUnleash } from './sdk.js';

const ENV = 'stream-test';
let server: ServerProcess;
let token: string;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--url', server.url, '--token', server.adminToken!], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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
        { name: 'stream.flag', enabled: false, strategies: [{ name: 'default', parameters: {} }] },
        { name: 'stream.other', enabled: true, strategies: [{ name: 'default', parameters: {} }] },
      ],
      segments: [],
    },
    server.adminToken,
  );
  token = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV }, server.adminToken)).secret;
});

afterAll(async () => {
  await server?.stop();
});

describe('streaming to the official SDK', () => {
  it('pushes a flag change made with the CLI to a streaming unleash-client', async () => {
    const streaming = await startUnleash({ url: server.url, token, appName: 'e2e-streaming', mode: 'streaming' });
    const delta = await startUnleash({ url: server.url, token, appName: 'e2e-delta', mode: 'delta', refreshInterval: 200 });
    try {
      expect(streaming.unleash.isEnabled('stream.flag')).toBe(false);
      expect(streaming.unleash.isEnabled('stream.other')).toBe(true);

      const started = Date.now();
      const on = await cli(['flags', 'enable', 'stream.flag', '--environment', ENV]);
      expect(on.stderr).toBe('');
      expect(on.code).toBe(0);
      expect(await eventually(() => streaming.unleash.isEnabled('stream.flag'), 5000, 10)).toBe(true);
      const pushMs = Date.now() - started;
      expect(pushMs).toBeLessThan(3000);
      expect(await eventually(() => delta.unleash.isEnabled('stream.flag'), 5000)).toBe(true);

      const off = await cli(['flags', 'disable', 'stream.flag', '--environment', ENV]);
      expect(off.code).toBe(0);
      expect(await eventually(() => !streaming.unleash.isEnabled('stream.flag'), 5000, 10)).toBe(true);
      expect(await eventually(() => !delta.unleash.isEnabled('stream.flag'), 5000)).toBe(true);
      // untouched flags survive incremental updates
      expect(streaming.unleash.isEnabled('stream.other')).toBe(true);
      expect(delta.unleash.isEnabled('stream.other')).toBe(true);
      expect(streaming.errors.map((e) => e.message)).toEqual([]);
    } finally {
      streaming.unleash.destroy();
      delta.unleash.destroy();
    }
  });
});
