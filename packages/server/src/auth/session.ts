/**
 * Web UI sign-in: an admin token is exchanged once for a session cookie, so the browser never
 * keeps the token (not in localStorage, not in JavaScript at all after sign-in).
 *
 * - `POST /api/auth/session {token}` checks the token (it must be an admin token) and sets
 *   `switchyard_session=<random id>; HttpOnly; SameSite=Strict; Path=/` (plus `Secure` over
 *   HTTPS). The database keeps only SHA-256 of the id, with an expiry (12 hours, never later than
 *   the token's own expiry).
 * - `GET /api/auth/session` says who is signed in (401 when nobody is).
 * - `DELETE /api/auth/session` signs out: the row is deleted and the cookie cleared.
 * - The admin API (auth/guard.ts) accepts the cookie when a request carries no token header.
 *   A session is bound to its token: revoking or expiring the token ends the session.
 *
 * CSRF: every cookie-authenticated request that is not GET/HEAD/OPTIONS must carry the header
 * `x-switchyard-csrf: 1` (a cross-site form cannot add a header, and a cross-site script cannot
 * without a CORS preflight, which the admin API never grants); when the browser sends `Origin`,
 * it must be this server's (its host equals `Host` or `X-Forwarded-Host`). SameSite=Strict already keeps the cookie off cross-site requests;
 * these checks are the second lock. Requests with an `Authorization` header (CLI, scripts) are
 * not affected.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { Type, type Static } from 'typebox';
import type { Services } from '../services.js';
import type { Database } from '../storage/schema.js';
import type { Principal, TokenService } from './tokens.js';
import { forbidden, unauthorized } from '../http/problem.js';
import { ProblemSchema as Problem } from '../operations/schemas.js';

export const SESSION_COOKIE = 'switchyard_session';
export const CSRF_HEADER = 'x-switchyard-csrf';
/** How long a session lasts (absolute, from sign-in). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** `last_seen_at` is written at most this often per session. */
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

/** The `sessions` table (migration 003-sessions). */
export interface SessionsTable {
  id_hash: string;
  token_id: string;
  token_hash: string;
  name: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}
type SessionDb = Kysely<Database & { sessions: SessionsTable }>;

export interface SessionView {
  /** The name of the admin token the session was opened with (also the audit log's actor). */
  name: string;
  createdAt: string;
  expiresAt: string;
  /** The header every cookie-authenticated write must carry, with its value. */
  csrfHeader: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const normalizeToken = (raw: string) => raw.replace(/^Bearer\s+/i, '').trim();
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Cookie header → the session id, if any (a tiny parser: only our cookie matters). */
export function sessionIdFrom(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{20,200}$/.test(value) ? value : undefined;
  }
  return undefined;
}

export class SessionService {
  private readonly db: SessionDb;
  private readonly envAdminHash: string | null;

  constructor(private readonly services: Services) {
    this.db = services.storage.db as unknown as SessionDb;
    this.envAdminHash = services.config.adminToken ? sha256(services.config.adminToken) : null;
  }

  /** Opens a session for an admin token; refuses other tokens with a problem a person can act on. */
  async open(rawToken: string): Promise<{ id: string; view: SessionView }> {
    const principal = await this.services.tokens.resolve(rawToken);
    if (!principal) throw unauthorized('That token is not valid (unknown, revoked or expired). Paste an admin token, for example the one in <data-dir>/admin-token.');
    if (principal.type !== 'admin') {
      throw forbidden(`That is a ${principal.type} token; signing in to the web UI needs an admin token.`);
    }
    const now = new Date();
    let expires = new Date(now.getTime() + SESSION_TTL_MS);
    if (!principal.tokenId.startsWith('env:')) {
      const row = await this.db.selectFrom('api_tokens').select('expires_at').where('id', '=', principal.tokenId).executeTakeFirst();
      if (row?.expires_at && new Date(row.expires_at) < expires) expires = new Date(row.expires_at);
    }
    const id = randomBytes(32).toString('base64url');
    const view: SessionView = { name: principal.name, createdAt: now.toISOString(), expiresAt: expires.toISOString(), csrfHeader: `${CSRF_HEADER}: 1` };
    await this.db.deleteFrom('sessions').where('expires_at', '<', now.toISOString()).execute();
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: sha256(id),
        token_id: principal.tokenId,
        token_hash: sha256(normalizeToken(rawToken)),
        name: principal.name,
        created_at: view.createdAt,
        expires_at: view.expiresAt,
        last_seen_at: view.createdAt,
      })
      .execute();
    return { id, view };
  }

  /** The session's admin principal, or null when the session is unknown, expired, or its token is gone. */
  async resolve(id: string): Promise<{ principal: Principal; view: SessionView } | null> {
    const idHash = sha256(id);
    const row = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    if (!row || !timingSafeEqual(Buffer.from(row.id_hash, 'hex'), Buffer.from(idHash, 'hex'))) return null;
    const now = new Date();
    if (row.expires_at <= now.toISOString()) return null;
    if (!(await this.tokenStillValid(row, now))) return null;
    if (now.getTime() - Date.parse(row.last_seen_at) > TOUCH_INTERVAL_MS) {
      await this.db.updateTable('sessions').set({ last_seen_at: now.toISOString() }).where('id_hash', '=', idHash).execute();
    }
    return {
      principal: { type: 'admin', environment: '*', projects: '*', tokenId: row.token_id, name: row.name },
      view: { name: row.name, createdAt: row.created_at, expiresAt: row.expires_at, csrfHeader: `${CSRF_HEADER}: 1` },
    };
  }

  private async tokenStillValid(row: SessionsTable, now: Date): Promise<boolean> {
    if (row.token_id.startsWith('env:')) {
      return this.envAdminHash !== null && timingSafeEqual(Buffer.from(this.envAdminHash, 'hex'), Buffer.from(row.token_hash, 'hex'));
    }
    const token = await this.db
      .selectFrom('api_tokens')
      .select(['secret_hash', 'type', 'expires_at'])
      .where('id', '=', row.token_id)
      .executeTakeFirst();
    if (!token || token.type !== 'admin') return false;
    if (token.expires_at && token.expires_at < now.toISOString()) return false;
    return timingSafeEqual(Buffer.from(token.secret_hash, 'hex'), Buffer.from(row.token_hash, 'hex'));
  }

  async close(id: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', sha256(id)).execute();
  }
}

const services = new WeakMap<TokenService, SessionService>();

function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

function cookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`, ...(isHttps(request) ? ['Secure'] : [])].join('; ');
}

/** Refuses a cookie-authenticated write without the CSRF header, or from another origin. */
function checkCsrf(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const header = request.headers[CSRF_HEADER];
  if ((Array.isArray(header) ? header[0] : header) !== '1') {
    throw forbidden(`Requests signed in with the session cookie must send the header "${CSRF_HEADER}: 1" (cross-site request protection).`);
  }
  const origin = request.headers.origin;
  if (origin && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    const forwarded = request.headers['x-forwarded-host'];
    const hosts = [request.headers.host, ...(Array.isArray(forwarded) ? forwarded : forwarded ? forwarded.split(',') : [])].map((h) => h?.trim());
    if (!host || !hosts.includes(host)) throw forbidden(`Requests from ${origin} cannot use this server's session cookie.`);
  } else if (origin === 'null') {
    throw forbidden('Requests from an opaque origin cannot use the session cookie.');
  }
}

/**
 * For the guard: the admin principal of the request's session cookie, or null. Throws a 403
 * problem for a cookie-authenticated write that fails the CSRF checks.
 */
export async function sessionPrincipal(tokens: TokenService, request: FastifyRequest): Promise<Principal | null> {
  const sessions = services.get(tokens);
  const id = sessionIdFrom(request);
  if (!sessions || !id) return null;
  const found = await sessions.resolve(id);
  if (!found) return null;
  checkCsrf(request);
  return found.principal;
}

const SignInBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });
const SessionSchema = Type.Object(
  { name: Type.String(), createdAt: Type.String(), expiresAt: Type.String(), csrfHeader: Type.String() },
  { additionalProperties: false },
);

const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services: svc }) => {
  const sessions = new SessionService(svc);
  services.set(svc.tokens, sessions);
  const tags = ['auth'];

  app.post<{ Body: Static<typeof SignInBody> }>(
    '/api/auth/session',
    {
      schema: {
        tags,
        summary: 'Sign in to the web UI: exchange an admin token for an HttpOnly session cookie',
        description: `Send the header \`${CSRF_HEADER}: 1\`. Writes made with the cookie must send it too.`,
        security: [],
        body: SignInBody,
        response: { 201: SessionSchema, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      checkCsrf(request);
      const { id, view } = await sessions.open(request.body.token);
      const maxAge = Math.max(1, Math.floor((Date.parse(view.expiresAt) - Date.now()) / 1000));
      return reply.code(201).header('set-cookie', cookie(request, id, maxAge)).header('cache-control', 'no-store').send(view);
    },
  );

  app.get(
    '/api/auth/session',
    {
      schema: {
        tags,
        summary: 'Who is signed in with this session cookie',
        security: [],
        response: { 200: SessionSchema, 401: Problem },
      },
    },
    async (request, reply) => {
      const id = sessionIdFrom(request);
      const found = id ? await sessions.resolve(id) : null;
      if (!found) throw unauthorized('Not signed in (no session, or it expired, or its token was revoked). Sign in with an admin token.');
      return reply.header('cache-control', 'no-store').send(found.view);
    },
  );

  app.delete(
    '/api/auth/session',
    {
      schema: { tags, summary: 'Sign out: end the session and clear the cookie', security: [], response: { 204: Type.Null(), 403: Problem } },
    },
    async (request, reply) => {
      const id = sessionIdFrom(request);
      if (id) {
        checkCsrf(request);
        await sessions.close(id);
      }
      return reply.code(204).header('set-cookie', cookie(request, '', 0)).send();
    },
  );
};

export default routes;
