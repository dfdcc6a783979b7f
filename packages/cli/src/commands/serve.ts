import { Command } from 'commander';
import { CliError } from '../http.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the Switchyard server (UI and API)')
    .option('--port <port>', 'port to listen on (env PORT, default 4242)')
    .option('--host <host>', 'interface to bind (env HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory for SQLite and the admin token (env SWITCHYARD_DATA_DIR, default ./.switchyard)')
    .option('--database-url <url>', 'postgres:// URL to use PostgreSQL instead of SQLite (env DATABASE_URL)')
    .action(async (opts: { port?: string; host?: string; dataDir?: string; databaseUrl?: string }) => {
      // Loaded lazily so client commands start fast without the server's dependencies.
      const { configFromEnv, startServer } = await import('@switchyard/server');
      let port: number | undefined;
      if (opts.port !== undefined) {
        port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a number from 0 to 65535, got "${opts.port}"`);
      }
      const config = configFromEnv(process.env, { port, host: opts.host, dataDir: opts.dataDir, databaseUrl: opts.databaseUrl });
      if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
        throw new CliError(`PORT must be a number from 0 to 65535, got "${process.env.PORT}"`);
      }
      try {
        await startServer(config);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliError(`port ${config.port} on ${config.host} is already in use; pick another with --port or PORT`);
        if (e.code === 'EACCES') throw new CliError(`not allowed to listen on ${config.host}:${config.port}; pick a port above 1024`);
        throw new CliError(`cannot start the server: ${e.message}`);
      }
    });
}
