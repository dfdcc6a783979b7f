import { buildApp } from './app.js';
import type { ServerConfig } from './services.js';

/** Starts the server and closes it gracefully on SIGINT/SIGTERM (in-flight requests finish). */
export async function startServer(config: ServerConfig) {
  const built = await buildApp({ config });
  const { app, adminTokenFile, services } = built;
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ storage: services.storage.describe }, 'storage ready');
  if (adminTokenFile) app.log.info(`admin token written to ${adminTokenFile}`);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  return built;
}
