import Fastify, { type FastifyInstance, type LogLevel } from 'fastify';
import swagger from '@fastify/swagger';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { openStorage, type Storage } from './storage/database.js';
import { Changes } from './events/changes.js';
import { TokenService } from './auth/tokens.js';
import { installProblemHandlers } from './http/problem.js';
import { installValidators } from './http/validation.js';
import type { ServerConfig, Services } from './services.js';
import operationsRoutes from './operations/routes.js';
import tokenRoutes from './auth/routes.js';
import projectRoutes from './projects/routes.js';
import environmentRoutes from './environments/routes.js';
import flagRoutes from './flags/routes.js';
import segmentRoutes from './segments/routes.js';
import eventRoutes from './events/routes.js';
import sinkRoutes from './events/sinks/routes.js';
import importExportRoutes from './import-export/routes.js';
import clientApiRoutes from './client-api/routes.js';
import frontendApiRoutes from './frontend-api/routes.js';
import streamingRoutes from './streaming/routes.js';
import ofrepRoutes from './ofrep/routes.js';
import sessionRoutes from './auth/session.js';
import playgroundRoutes from './playground/routes.js';
import signalRoutes from './signals/routes.js';
import releaseRoutes from './releases/routes.js';
import webRoutes from './web/static.js';

export interface BuiltApp {
  app: FastifyInstance;
  services: Services;
  /** Path of the bootstrap admin token file, when this start wrote one. */
  adminTokenFile: string | null;
}

export interface BuildOptions {
  config: ServerConfig;
  /** Open storage for the caller (tests pass a PostgreSQL schema). */
  storage?: Storage;
  logger?: boolean | object;
}

export async function buildApp({ config, storage: given, logger }: BuildOptions): Promise<BuiltApp> {
  const storage = given ?? (await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, schema: config.databaseSchema }));
  const changes = new Changes(storage);
  const tokens = new TokenService(storage, changes, config.adminToken);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const services: Services = { storage, changes, tokens, registry, config };

  const app = Fastify({
    logger: logger ?? {
      level: config.logLevel,
      // Tokens travel in these headers; they never reach a log line.
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    },
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
  });
  installProblemHandlers(app);
  installValidators(app);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Switchyard API', version: '0.1.0', description: 'Feature flags, progressive delivery and guarded rollouts.' },
      components: { securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'Authorization' } } },
      security: [{ token: [] }],
    },
  });

  for (const routes of [
    operationsRoutes,
    tokenRoutes,
    projectRoutes,
    environmentRoutes,
    flagRoutes,
    segmentRoutes,
    eventRoutes,
    sinkRoutes,
    importExportRoutes,
    clientApiRoutes,
    frontendApiRoutes,
    streamingRoutes,
    ofrepRoutes,
    sessionRoutes,
    playgroundRoutes,
    signalRoutes,
    releaseRoutes,
    // Last: the web UI at `/` with its SPA fallback (never for API paths).
    webRoutes,
  ]) {
    // SDKs poll and stream all day: their routes log warnings and errors only, so the log stays
    // about people's changes and failures rather than thousands of identical polls.
    const sdkFacing = routes === clientApiRoutes || routes === frontendApiRoutes || routes === streamingRoutes || routes === ofrepRoutes;
    await app.register(routes, { services, ...(sdkFacing ? { logLevel: config.sdkLogLevel as LogLevel } : {}) });
  }
  app.addHook('onClose', async () => storage.close());

  const adminTokenFile = await tokens.bootstrap(config.dataDir);
  return { app, services, adminTokenFile };
}
