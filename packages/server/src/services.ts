import type { Registry } from 'prom-client';
import type { Storage } from './storage/database.js';
import type { Changes } from './events/changes.js';
import type { TokenService } from './auth/tokens.js';
import type { DeliveryOptions } from './events/sinks/worker.js';

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
  /** Log level of the SDK-facing routes (client API, frontend API, streams, OFREP). */
  sdkLogLevel: string;
  /** PostgreSQL schema to work in (env SWITCHYARD_DATABASE_SCHEMA); default: the connection's search_path. */
  databaseSchema?: string;
  /** Most concurrent SSE streams per server (env SWITCHYARD_MAX_STREAMS, default 10,000); more get 429. */
  maxStreams?: number;
  /** SSE heartbeat interval in ms (env SWITCHYARD_STREAM_HEARTBEAT_MS, default 15,000). */
  streamHeartbeatMs?: number;
  /**
   * Whether the frontend API also answers flags that are off (`enabled: false`) when a request
   * does not say (`includeDisabled` / `Switchyard-Include-Disabled`). Env
   * SWITCHYARD_FRONTEND_INCLUDE_DISABLED=true; default false, as Unleash.
   */
  frontendIncludeDisabled?: boolean;
  /** Key that encrypts notification-sink secrets at rest (env SWITCHYARD_SECRET_KEY); without it they are stored as given. */
  secretKey?: string;
  /** Notification delivery (events/sinks/worker.ts); env SWITCHYARD_DELIVERY_WORKER=false runs no worker on this replica. */
  delivery?: Partial<DeliveryOptions>;
  /** How often the guardian checks running release plans, ms (env SWITCHYARD_RELEASE_CHECK_MS, default 5,000; 0 = never by itself). */
  releaseCheckIntervalMs?: number;
  /** How often a replica without the guardian's advisory lock tries to take it, ms (env SWITCHYARD_RELEASE_LEADER_RETRY_MS, default 5,000). */
  releaseLeaderRetryMs?: number;
}

const positiveInt = (v: string | undefined): number | undefined => {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

const nonNegativeInt = (v: string | undefined): number | undefined => {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    port: Number(env.PORT ?? 4242),
    host: env.HOST ?? '127.0.0.1',
    dataDir: env.SWITCHYARD_DATA_DIR ?? './.switchyard',
    databaseUrl: env.DATABASE_URL || undefined,
    adminToken: env.SWITCHYARD_ADMIN_TOKEN || undefined,
    bodyLimit: 1024 * 1024,
    logLevel: env.LOG_LEVEL ?? 'info',
    sdkLogLevel: env.SWITCHYARD_SDK_LOG_LEVEL ?? atLeast(env.LOG_LEVEL ?? 'info', 'warn'),
    databaseSchema: env.SWITCHYARD_DATABASE_SCHEMA || undefined,
    maxStreams: positiveInt(env.SWITCHYARD_MAX_STREAMS),
    streamHeartbeatMs: positiveInt(env.SWITCHYARD_STREAM_HEARTBEAT_MS),
    frontendIncludeDisabled: /^(1|true|yes|on)$/i.test(env.SWITCHYARD_FRONTEND_INCLUDE_DISABLED ?? ''),
    secretKey: env.SWITCHYARD_SECRET_KEY || undefined,
    delivery: /^(0|false|no|off)$/i.test(env.SWITCHYARD_DELIVERY_WORKER ?? '') ? { worker: false } : undefined,
    releaseCheckIntervalMs: nonNegativeInt(env.SWITCHYARD_RELEASE_CHECK_MS),
    releaseLeaderRetryMs: positiveInt(env.SWITCHYARD_RELEASE_LEADER_RETRY_MS),
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The more severe of two pino levels (so `silent` stays silent). */
function atLeast(level: string, floor: string): string {
  return LEVELS.indexOf(level) > LEVELS.indexOf(floor) ? level : floor;
}
