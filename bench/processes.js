// Shared by the HTTP and propagation benchmarks: free ports, child servers that are waited for
// and always stopped, and admin API calls. Traffic goes only to 127.0.0.1.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'packages/cli/dist/bin.js');
export const ADMIN = 'bench-admin-' + Math.random().toString(36).slice(2);

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Spawns `node args…` and waits until `readyPath` answers 200 on the port. */
export async function spawnServer(name, args, env, port, readyPath) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-20_000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-20_000)));
  let exited = null;
  const exit = new Promise((res) => child.on('exit', (code) => res((exited = code ?? -1))));
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) throw new Error(`${name} exited (${exited}) before it was ready:\n${output}`);
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} not ready within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stop, output: () => output };
}

/** The Switchyard server (SQLite in `dataDir`) as a child process, with the bench admin token. */
export async function spawnSwitchyard(dataDir, env = {}) {
  const port = await freePort();
  return spawnServer(
    'switchyard',
    [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir],
    { SWITCHYARD_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', DATABASE_URL: '', NODE_ENV: 'production', ...env },
    port,
    '/ready',
  );
}

/** An admin API call; throws unless 2xx. */
export async function call(base, method, path, body, token = ADMIN) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}
