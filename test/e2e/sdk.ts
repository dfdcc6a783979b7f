/** Starting the official Unleash SDKs against a spawned server, with timeouts and error capture. */
import { InMemStorageProvider, Unleash } from 'unleash-client';

export type FetchMode = 'full' | 'delta' | 'streaming';

export interface StartedUnleash {
  unleash: Unleash;
  warnings: string[];
  errors: Error[];
}

/** An official `unleash-client` that has fetched its first configuration from the server. */
export async function startUnleash(opts: {
  url: string;
  token: string;
  appName: string;
  mode?: FetchMode;
  refreshInterval?: number;
  disableMetrics?: boolean;
  metricsInterval?: number;
  timeoutMs?: number;
  /** Called right after construction, before any request completes (attach listeners here). */
  onCreate?: (unleash: Unleash) => void;
}): Promise<StartedUnleash> {
  const warnings: string[] = [];
  const errors: Error[] = [];
  const mode = opts.mode ?? 'full';
  const unleash = new Unleash({
    url: opts.url + '/api/',
    appName: opts.appName,
    customHeaders: { Authorization: opts.token },
    refreshInterval: opts.refreshInterval ?? 3_600_000,
    disableMetrics: opts.disableMetrics ?? true,
    metricsInterval: opts.metricsInterval,
    metricsJitter: 0,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    experimentalMode: mode === 'streaming' ? { type: 'streaming' } : { type: 'polling', format: mode },
  });
  opts.onCreate?.(unleash);
  unleash.on('warn', (w: unknown) => warnings.push(String(w instanceof Error ? w.message : w)));
  unleash.on('error', (e: Error) => errors.push(e));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`unleash-client (${mode}) did not synchronize within ${timeoutMs} ms; warnings: ${warnings.join('; ')}; errors: ${errors.map((e) => e.message).join('; ')}`)),
        timeoutMs,
      );
      unleash.once('synchronized', () => {
        clearTimeout(timer);
        resolve();
      });
      unleash.once('error', (e: Error) => {
        // 401/403 stop the SDK for good: fail fast instead of waiting for the timeout.
        if (/responded 40[13]/.test(e.message)) {
          clearTimeout(timer);
          reject(e);
        }
      });
    });
  } catch (err) {
    unleash.destroy();
    throw err;
  }
  return { unleash, warnings, errors };
}

/** Polls `check` until it returns true or the time runs out. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
