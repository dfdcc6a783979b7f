import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Storage } from '../storage/database.js';
import type { ApiTokenRow, TokenType } from '../storage/schema.js';
import type { Changes } from '../events/changes.js';
import { badRequest, notFound } from '../http/problem.js';

/** Who is calling, as resolved from a token. */
export interface Principal {
  type: TokenType;
  /** The token's environment; `'*'` for admin tokens. */
  environment: string;
  /** Projects the token may see; `'*'` for all. */
  projects: '*' | string[];
  tokenId: string;
  name: string;
}

export interface TokenView {
  id: string;
  name: string;
  type: TokenType;
  environment: string;
  projects: string[];
  createdAt: string;
  expiresAt: string | null;
  lastSeenAt: string | null;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Tokens look like Unleash's: `<project|*|[]>:<environment>.<secret>`. */
export function formatToken(projects: string[], environment: string, secret: string): string {
  const projectPart = projects.length === 1 ? projects[0] : projects.includes('*') ? '*' : '[]';
  return `${projectPart}:${environment}.${secret}`;
}

export class TokenService {
  /** sha256(token) → principal; filled from the database, dropped on every token write. */
  private cache: Map<string, Principal & { expiresAt: string | null }> | null = null;
  private readonly envAdminHash: Buffer | null;

  constructor(
    private readonly storage: Storage,
    private readonly changes: Changes,
    envAdminToken?: string,
  ) {
    this.envAdminHash = envAdminToken ? Buffer.from(sha256(envAdminToken), 'hex') : null;
  }

  async resolve(raw: string | undefined): Promise<Principal | null> {
    if (!raw) return null;
    const token = raw.replace(/^Bearer\s+/i, '').trim();
    if (!token || token.length > 512) return null;
    const hash = sha256(token);
    const hashBuf = Buffer.from(hash, 'hex');
    if (this.envAdminHash && timingSafeEqual(hashBuf, this.envAdminHash)) {
      return { type: 'admin', environment: '*', projects: '*', tokenId: 'env:SWITCHYARD_ADMIN_TOKEN', name: 'admin (environment)' };
    }
    const cache = await this.load();
    const found = cache.get(hash);
    if (!found) return null;
    // The map lookup already matched; compare again in constant time so the check itself never short-circuits.
    if (!timingSafeEqual(Buffer.from(hash, 'hex'), hashBuf)) return null;
    if (found.expiresAt && found.expiresAt < new Date().toISOString()) return null;
    const { expiresAt: _e, ...principal } = found;
    return principal;
  }

  private async load() {
    if (this.cache) return this.cache;
    const rows = await this.storage.db.selectFrom('api_tokens').selectAll().execute();
    const cache = new Map<string, Principal & { expiresAt: string | null }>();
    for (const row of rows) cache.set(row.secret_hash, { ...toPrincipal(row), expiresAt: row.expires_at });
    this.cache = cache;
    return cache;
  }

  invalidate(): void {
    this.cache = null;
  }

  async list(): Promise<TokenView[]> {
    const rows = await this.storage.db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
    return rows.map(toView);
  }

  async create(
    actor: string,
    input: { name?: string; type: TokenType; environment?: string; projects?: string[]; expiresAt?: string },
  ): Promise<{ secret: string; token: TokenView }> {
    const type = input.type;
    const projects = type === 'admin' ? ['*'] : input.projects && input.projects.length > 0 ? [...new Set(input.projects)] : ['*'];
    const environment = type === 'admin' ? '*' : input.environment;
    if (!environment) throw badRequest(`A ${type} token needs an environment; pass "environment".`);
    const secret = randomBytes(24).toString('hex');
    const token = formatToken(projects, environment, secret);
    const row: ApiTokenRow = {
      id: randomUUID(),
      name: input.name ?? `${type}-${environment}`,
      type,
      environment,
      projects: JSON.stringify(projects),
      secret_hash: sha256(token),
      created_at: new Date().toISOString(),
      expires_at: input.expiresAt ?? null,
      last_seen_at: null,
    };
    await this.changes.write(actor, async (trx, change) => {
      if (environment !== '*') {
        const env = await trx.selectFrom('environments').select('name').where('name', '=', environment).executeTakeFirst();
        if (!env) throw badRequest(`Environment "${environment}" does not exist; create it first or pick another.`);
      }
      if (!projects.includes('*')) {
        const existing = await trx.selectFrom('projects').select('id').where('id', 'in', projects).execute();
        const missing = projects.filter((p) => !existing.some((e) => e.id === p));
        if (missing.length) throw badRequest(`Project(s) ${missing.map((m) => `"${m}"`).join(', ')} do not exist.`);
      }
      await trx.insertInto('api_tokens').values(row).execute();
      change.event({ type: 'api-token-created', environment: environment === '*' ? null : environment, after: toView(row) });
    });
    this.invalidate();
    return { secret: token, token: toView(row) };
  }

  async delete(actor: string, id: string): Promise<void> {
    await this.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(`No API token with id "${id}".`);
      await trx.deleteFrom('api_tokens').where('id', '=', id).execute();
      change.event({ type: 'api-token-deleted', before: toView(row) });
    });
    this.invalidate();
  }

  /**
   * The bootstrap admin token: when SWITCHYARD_ADMIN_TOKEN is not set and no admin token exists
   * yet, create one and write it to `<dataDir>/admin-token` (0600). Returns the file path, if written.
   */
  async bootstrap(dataDir: string): Promise<string | null> {
    if (this.envAdminHash) return null;
    const file = join(dataDir, 'admin-token');
    const cache = await this.load();
    if (existsSync(file)) {
      const saved = readFileSync(file, 'utf8').trim();
      if (cache.has(sha256(saved))) return null;
    } else if ([...cache.values()].some((p) => p.type === 'admin')) {
      return null;
    }
    const { secret } = await this.create('system', { name: 'bootstrap admin', type: 'admin' });
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, secret + '\n', { mode: 0o600 });
    return file;
  }
}

function toPrincipal(row: ApiTokenRow): Principal {
  const projects = JSON.parse(row.projects) as string[];
  return {
    type: row.type,
    environment: row.environment,
    projects: projects.includes('*') ? '*' : projects,
    tokenId: row.id,
    name: row.name,
  };
}

function toView(row: ApiTokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    environment: row.environment,
    projects: JSON.parse(row.projects),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastSeenAt: row.last_seen_at,
  };
}
