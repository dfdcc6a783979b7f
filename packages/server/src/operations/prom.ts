import { Counter, Gauge, Histogram } from 'prom-client';
import type { Services } from '../services.js';
import { flagSetCache } from '../client-api/cache.js';

export interface ServerMetrics {
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  registrations: Counter<'api'>;
  metricsPosts: Counter<'api'>;
  metricsToggles: Counter<'api'>;
}

const all = new WeakMap<Services, ServerMetrics>();

/** Window in which an SDK instance counts as known (seen by register or metrics). */
export const INSTANCE_WINDOW_MS = 60 * 60 * 1000;

/** The Prometheus metrics of one server, made once per `services.registry`. */
export function serverMetrics(services: Services): ServerMetrics {
  let m = all.get(services);
  if (m) return m;
  const registers = [services.registry];
  m = {
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    registrations: new Counter({
      name: 'switchyard_sdk_registrations_total',
      help: 'SDK registrations received (client and frontend API).',
      labelNames: ['api'] as const,
      registers,
    }),
    metricsPosts: new Counter({
      name: 'switchyard_sdk_metrics_posts_total',
      help: 'SDK metrics reports received (client and frontend API).',
      labelNames: ['api'] as const,
      registers,
    }),
    metricsToggles: new Counter({
      name: 'switchyard_sdk_metrics_flags_total',
      help: 'Per-flag counts stored from SDK metrics reports.',
      labelNames: ['api'] as const,
      registers,
    }),
  };
  const storage = services.storage;
  new Gauge({
    name: 'switchyard_flag_revision',
    help: 'Current flag-set revision per environment.',
    labelNames: ['environment'] as const,
    registers,
    async collect() {
      this.reset();
      try {
        const rows = await storage.db.selectFrom('environments').select(['name', 'revision']).execute();
        for (const r of rows) this.set({ environment: r.name }, Number(r.revision));
      } catch {
        for (const [environment, revision] of flagSetCache(services).knownRevisions()) this.set({ environment }, revision);
      }
    },
  });
  new Gauge({
    name: 'switchyard_sdk_instances',
    help: 'SDK instances seen (register or metrics) in the last hour, per environment.',
    labelNames: ['environment'] as const,
    registers,
    async collect() {
      this.reset();
      try {
        const since = new Date(Date.now() - INSTANCE_WINDOW_MS).toISOString();
        const rows = await storage.db
          .selectFrom('client_applications')
          .select(['environment', (eb) => eb.fn.countAll<number>().as('n')])
          .where('last_seen_at', '>=', since)
          .groupBy('environment')
          .execute();
        for (const r of rows) this.set({ environment: r.environment }, Number(r.n));
      } catch {
        // storage closed or unreachable: /ready reports it; leave the gauge empty
      }
    },
  });
  all.set(services, m);
  return m;
}
