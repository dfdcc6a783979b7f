/**
 * Failure behaviour of @switchyard/sdk with a real server process: the server is killed and
 * restarted (same data directory, new port behind a fixed TCP front) while SDKs are connected,
 * and an SDK is started while the server is down.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SwitchyardClient } from '@switchyard/sdk/node';
import { ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually } from './sdk.js';

const ENV = 'sdk-failover';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** A fixed address in front of whichever server process is current (none while it is down: connections are dropped). */
async function front(): Promise<{ url: string; target: number | null; server: Server; drop(): void }> {
  const sockets = new Set<Socket>();
  const f = {
    url: '',
    target: null as number | null,
    server: createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      if (f.target === null) return client.destroy();
      const upstream = connect(f.target, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      client.pipe(upstream).pipe(client);
      const kill = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', kill);
      upstream.on('error', kill);
      client.on('close', kill);
      upstream.on('close', kill);
    }),
    drop() {
      for (const s of sockets) s.destroy();
    },
  };
  await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
  f.url = `http://127.0.0.1:${(f.server.address() as { port: number }).port}`;
  cleanup.push(() => {
    f.drop();
    return new Promise<void>((r) => f.server.close(() => r()));
  });
  return f;
}

async function setUp() {
  const dataDir = mkdtempSync(join(tmpdir(), 'sdk-failover-'));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startServerProcess({ logLevel: 'warn', dataDir });
  await ok(server, 'POST', '/api/admin/environments', { name: ENV }, server.adminToken);
  await ok(
    server,
    'POST',
    `/api/admin/import?environment=${ENV}`,
    {
      version: 2,
      features: [
        { name: 'fo.kill-switch', enabled: true, strategies: [{ name: 'default', parameters: {} }] },
        { name: 'fo.new', enabled: false, strategies: [{ name: 'default', parameters: {} }] },
      ],
      segments: [],
    },
    server.adminToken,
  );
  const token = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV }, server.adminToken)).secret as string;
  return { server, token, dataDir };
}

/** Kills the process outright (no graceful shutdown) and waits for it to exit. */
async function kill(server: ServerProcess) {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGKILL');
  await exited;
  await server.stop({ keepDataDir: true });
}

async function revision(server: ServerProcess, token: string): Promise<number> {
  const res = await fetch(`${server.url}/api/client/features`, { headers: { authorization: token } });
  return (await res.json()).meta.revisionId;
}

function client(url: string, token: string, extra: Partial<ConstructorParameters<typeof SwitchyardClient>[0]> = {}) {
  const c = new SwitchyardClient({
    url,
    token,
    appName: 'e2e-failover',
    logger: silent,
    disableMetrics: true,
    refreshIntervalMs: 300,
    requestTimeoutMs: 2000,
    reconnect: { initialMs: 100, maxMs: 1000 },
    ...extra,
  });
  cleanup.push(() => c.close());
  return c;
}

describe('@switchyard/sdk through server outages', () => {
  it('server killed and restarted while SDKs are connected: they keep answering, reconnect and converge to the new revision', async () => {
    const { server, token, dataDir } = await setUp();
    const f = await front();
    f.target = server.port;
    const backupFile = join(dataDir, 'sdk-backup.json');
    const streaming = client(f.url, token, { backupFile });
    const polling = client(f.url, token, { streaming: false });
    const stale: string[] = [];
    streaming.on('stale', () => stale.push('streaming'));
    polling.on('stale', () => stale.push('polling'));
    await Promise.all([streaming.ready({ timeoutMs: 10_000 }), polling.ready({ timeoutMs: 10_000 })]);
    expect(streaming.source).toBe('stream');
    expect(streaming.isEnabled('fo.kill-switch')).toBe(true);
    expect(polling.isEnabled('fo.kill-switch')).toBe(true);
    expect(await eventually(() => existsSync(backupFile), 5000)).toBe(true);

    await kill(server);
    f.target = null;
    f.drop();
    // Both notice, and keep answering from the last good set.
    expect(await eventually(() => streaming.status === 'stale' && polling.status === 'stale', 10_000)).toBe(true);
    expect(streaming.isEnabled('fo.kill-switch')).toBe(true);
    expect(polling.isEnabled('fo.kill-switch')).toBe(true);
    expect(streaming.isEnabled('fo.new')).toBe(false);

    const restarted = await startServerProcess({ logLevel: 'warn', dataDir });
    cleanup.push(() => restarted.stop({ keepDataDir: true }).then(() => undefined));
    f.target = restarted.port;
    await ok(restarted, 'POST', `/api/admin/flags/fo.kill-switch/environments/${ENV}/off`, undefined, restarted.adminToken);
    await ok(restarted, 'POST', `/api/admin/flags/fo.new/environments/${ENV}/on`, undefined, restarted.adminToken);
    const rev = await revision(restarted, token);

    expect(await eventually(() => streaming.revision === rev && polling.revision === rev, 15_000)).toBe(true);
    for (const c of [streaming, polling]) {
      expect(c.isEnabled('fo.kill-switch')).toBe(false);
      expect(c.isEnabled('fo.new')).toBe(true);
      expect(c.status).toBe('ready');
    }
    expect(await eventually(() => streaming.source === 'stream', 10_000)).toBe(true);
    expect(stale.sort()).toEqual(['polling', 'streaming']);
    // the backup follows the new revision
    expect(await eventually(() => JSON.parse(readFileSync(backupFile, 'utf8')).meta.revisionId === rev, 5000)).toBe(true);
  });

  it('SDK started while the server is down serves its backup file, then converges when the server is back', async () => {
    const { server, token, dataDir } = await setUp();
    const f = await front();
    f.target = server.port;
    const backupFile = join(dataDir, 'backup.json');
    const first = client(f.url, token, { backupFile });
    await first.ready({ timeoutMs: 10_000 });
    const rev = first.revision;
    await first.close();
    expect(JSON.parse(readFileSync(backupFile, 'utf8')).meta.revisionId).toBe(rev);

    await kill(server);
    f.target = null;
    const copy = join(dataDir, 'backup-copy.json');
    copyFileSync(backupFile, copy);
    const late = client(f.url, token, { backupFile: copy });
    await late.ready({ timeoutMs: 10_000 });
    expect(late.source).toBe('backup');
    expect(late.revision).toBe(rev);
    expect(late.isEnabled('fo.kill-switch')).toBe(true);
    expect(late.status).toBe('stale');

    const restarted = await startServerProcess({ logLevel: 'warn', dataDir });
    cleanup.push(() => restarted.stop({ keepDataDir: true }).then(() => undefined));
    await ok(restarted, 'POST', `/api/admin/flags/fo.kill-switch/environments/${ENV}/off`, undefined, restarted.adminToken);
    f.target = restarted.port;
    expect(await eventually(() => late.isEnabled('fo.kill-switch') === false, 15_000)).toBe(true);
    expect(late.status).toBe('ready');
    expect(late.revision).toBe(await revision(restarted, token));
  });
});
