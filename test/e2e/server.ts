/**
 * Spawns the real Switchyard server (`node packages/cli/dist/bin.js serve`) on a free port with a
 * temp data dir, waits for `/ready`, and stops it. Shared by the e2e tests and the CLI tests.
 *
 * Nothing here is ever skipped: a missing build, SDK package or spec file is an error, locally
 * and in CI alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'packages/cli/dist/bin.js');
export const ADMIN_TOKEN = 'e2e-admin-token-' + Math.random().toString(36).slice(2);

export function requireBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` before the tests (npm test does).`);
}

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  /** The admin token: SWITCHYARD_ADMIN_TOKEN, or null when the server bootstrapped its own. */
  adminToken: string | null;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** Sends SIGTERM, waits for exit (SIGKILL after 5 s), removes the data dir unless kept. */
  stop(opts?: { keepDataDir?: boolean }): Promise<number | null>;
}

export interface StartOptions {
  /** SWITCHYARD_ADMIN_TOKEN; `null` to start without one (bootstrap). Default: ADMIN_TOKEN. */
  adminToken?: string | null;
  dataDir?: string;
  /** Extra environment variables. */
  env?: Record<string, string | undefined>;
  /** Pass port and data dir through PORT / SWITCHYARD_DATA_DIR instead of flags. */
  viaEnv?: boolean;
  logLevel?: string;
  readyTimeoutMs?: number;
}

export async function startServerProcess(opts: StartOptions = {}): Promise<ServerProcess> {
  requireBuilt();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
      if (!String((err as Error).message).includes('EADDRINUSE') && !String((err as Error).message).includes('already in use')) throw err;
    }
  }
  throw lastError;
}

async function startOnce(opts: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  const adminToken = opts.adminToken === undefined ? ADMIN_TOKEN : opts.adminToken;
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: opts.logLevel ?? 'info', ...opts.env };
  delete env.SWITCHYARD_ADMIN_TOKEN;
  delete env.DATABASE_URL;
  delete env.PORT;
  delete env.HOST;
  delete env.SWITCHYARD_DATA_DIR;
  if (adminToken) env.SWITCHYARD_ADMIN_TOKEN = adminToken;
  if (opts.env?.DATABASE_URL) env.DATABASE_URL = opts.env.DATABASE_URL;
  const args = [BIN, 'serve'];
  if (opts.viaEnv) {
    env.PORT = String(port);
    env.SWITCHYARD_DATA_DIR = dataDir;
  } else {
    args.push('--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir);
  }
  const child = spawn(process.execPath, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res((exited = code))));

  const url = `http://127.0.0.1:${port}`;
  const stop = async ({ keepDataDir = false } = {}) => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    }
    if (ownDir && !keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    return exited ?? null;
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (true) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`switchyard serve exited with code ${exited} before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`switchyard serve did not answer 200 on /ready within ${opts.readyTimeoutMs ?? 20_000} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, port, dataDir, adminToken, child, logs: () => output, stop };
}

/** fetch + JSON against a running server with a token. */
export async function http(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
  token?: string | null,
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

/** Like http() but throws unless the status is 2xx. */
export async function ok(server: { url: string }, method: string, path: string, body?: unknown, token?: string | null) {
  const res = await http(server, method, path, body, token);
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${method} ${path} → ${res.status}: ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`);
  }
  return res.body;
}
