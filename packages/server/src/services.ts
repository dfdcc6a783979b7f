import type { Registry } from 'prom-client';
import type { Storage } from './storage/database.js';
import type { Changes } from './events/changes.js';
import type { TokenService } from './auth/tokens.js';

/** What every capability's routes get: the storage, the change log, auth, and the metrics registry. */
export interface Services {
  storage: Storage;
  changes: Changes;
  tokens: TokenService;
  registry: Registry;
  config: ServerConfig;
}

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  adminToken?: string;
  /** Largest accepted request body in bytes (import has its own, larger limit). */
  bodyLimit: number;
  logLevel: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    port: Number(env.PORT ?? 4242),
    host: env.HOST ?? '127.0.0.1',
    dataDir: env.SWITCHYARD_DATA_DIR ?? './.switchyard',
    databaseUrl: env.DATABASE_URL || undefined,
    adminToken: env.SWITCHYARD_ADMIN_TOKEN || undefined,
    bodyLimit: 1024 * 1024,
    logLevel: env.LOG_LEVEL ?? 'info',
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}
