/**
 * Serves the built web UI (`packages/web/dist`) at `/`, with a single-page-app fallback: a GET
 * from a browser (Accept: text/html) that is not an API path and not a file answers `index.html`,
 * so deep links such as `/flags/my-flag` work after a reload; other clients get the usual 404
 * problem. API prefixes are never shadowed: `/api`, `/health`,
 * `/ready`, `/metrics`, `/docs` and `/ofrep` keep their routes and their problem+json 404s.
 *
 * When the UI has not been built, `/` says so in plain words (503) instead of a blank page.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';

/** `packages/web/dist`, seen from `packages/server/{src,dist}/web/`. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Paths the UI must never answer: they belong to the APIs (and 404 there as problem+json). */
export const RESERVED_PREFIXES = ['/api', '/health', '/ready', '/metrics', '/docs', '/ofrep'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The UI talks only to its own origin; inline scripts are never needed (Vite emits files). */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function isReserved(path: string): boolean {
  return RESERVED_PREFIXES.some((p) => path === p || path.startsWith(p + '/') || path.startsWith(p + '?'));
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>Switchyard is running, but the web UI has not been built.</h1>
<p>Build it with <code>npm run build</code> (or <code>npm run build -w @switchyard/web</code>) and reload this page.
<code>npm start</code> builds it for you.</p>
<p>The API works without it: see <a href="/docs/openapi.json">/docs/openapi.json</a>.</p>
</body></html>
`;

async function fileAt(dir: string, urlPath: string): Promise<{ path: string; size: number; mtime: Date } | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const path = resolve(dir, '.' + decoded);
  if (path !== dir && !path.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return null;
  try {
    const s = await stat(path);
    return s.isFile() ? { path, size: s.size, mtime: s.mtime } : null;
  } catch {
    return null;
  }
}

function send(reply: FastifyReply, file: { path: string; size: number; mtime: Date }, cache: string) {
  const type = TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream';
  const etag = `W/"${file.size.toString(16)}-${file.mtime.getTime().toString(16)}"`;
  reply
    .header('content-type', type)
    .header('cache-control', cache)
    .header('etag', etag)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
  if (reply.request.headers['if-none-match'] === etag) return reply.code(304).send();
  reply.header('content-length', file.size);
  if (reply.request.method === 'HEAD') return reply.send();
  return reply.send(createReadStream(file.path));
}

const routes: FastifyPluginAsync<{ services?: Services; dir?: string }> = async (app, opts) => {
  const dir = resolve(opts.dir ?? DEFAULT_WEB_DIR);

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    if (isReserved(path)) return reply.callNotFound();
    // Deep links are for browsers (they ask for HTML); any other client gets the usual problem+json 404.
    const wantsHtml = /\btext\/html\b/.test(String(request.headers.accept ?? ''));
    const looksLikeFile = path.startsWith('/assets/') || /\.[a-z0-9]{1,5}$/i.test(path);
    if (path !== '/' && !looksLikeFile && !wantsHtml) return reply.callNotFound();
    const index = await fileAt(dir, '/index.html');
    if (!index) {
      return reply.code(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    }
    if (path !== '/' && path !== '/index.html') {
      const file = await fileAt(dir, path);
      // Hashed build output never changes under its name.
      if (file) return send(reply, file, path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      // A missing asset is a 404, not the app (a stale tab asking for an old bundle gets a clear answer).
      if (looksLikeFile) return reply.callNotFound();
    }
    return send(reply, index, 'no-cache');
  };

  const schema = { hide: true, security: [] } as const;
  app.get('/', { schema }, handler);
  app.get('/*', { schema }, handler);
};

export default routes;
