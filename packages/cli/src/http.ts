import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:4242';

/** A failure the CLI reports as `error: <message>` and exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/**
 * The token to send: `--token`, then `SWITCHYARD_TOKEN`, then the bootstrap admin token file
 * (`$SWITCHYARD_DATA_DIR/admin-token`, default `./.switchyard/admin-token`) when present.
 */
export function resolveToken(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.token) return opts.token;
  if (env.SWITCHYARD_TOKEN) return env.SWITCHYARD_TOKEN;
  const file = join(env.SWITCHYARD_DATA_DIR || './.switchyard', 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim() || undefined;
  return undefined;
}

export function resolveUrl(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env): string {
  return (opts.url || env.SWITCHYARD_URL || DEFAULT_URL).replace(/\/+$/, '');
}

/** A thin JSON client for the admin API: problem+json becomes a CliError carrying its `detail`. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.baseUrl = resolveUrl(opts, env);
    this.token = resolveToken(opts, env);
  }

  async request<T = any>(method: string, path: string, body?: unknown, query: Record<string, string | undefined> = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = this.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new CliError(`cannot reach Switchyard at ${this.baseUrl}: ${describeFetchError(err)}. Is the server running (switchyard serve)? Set --url or SWITCHYARD_URL to point elsewhere.`);
    }
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) throw new CliError(problemMessage(res, parsed, text, Boolean(this.token)));
    return parsed as T;
  }

  get<T = any>(path: string, query?: Record<string, string | undefined>) {
    return this.request<T>('GET', path, undefined, query);
  }
  post<T = any>(path: string, body?: unknown, query?: Record<string, string | undefined>) {
    return this.request<T>('POST', path, body ?? {}, query);
  }
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'the request timed out';
  const cause = e?.cause;
  if (cause?.code && cause.message) return `${cause.code} (${cause.message})`;
  return cause?.code ?? cause?.message ?? e?.message ?? String(err);
}

function problemMessage(res: Response, body: any, text: string, hadToken: boolean): string {
  let msg: string;
  if (body && typeof body === 'object' && (body.detail || body.title || body.message)) {
    msg = String(body.detail ?? body.message ?? body.title);
  } else {
    msg = `HTTP ${res.status} ${res.statusText}${text && text.length < 200 ? `: ${text}` : ''}`;
  }
  if (res.status === 401 && !hadToken) {
    msg += ' (no token given: pass --token, set SWITCHYARD_TOKEN, or run where ./.switchyard/admin-token exists)';
  }
  return msg;
}
