import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../../services.js';
import type { CommittedChange } from '../changes.js';
import type { EventView } from '../service.js';
import { canSeeProject, requireToken } from '../../auth/guard.js';
import { EnvironmentName, ProjectId } from '../../http/schemas.js';
import { notFound } from '../../http/problem.js';
import { SINK_TYPES } from './config.js';
import { SinkDirectory } from './directory.js';
import { SecretBox } from './secrets.js';
import { SinkService } from './service.js';
import { DEFAULT_DELIVERY, DeliveryWorker } from './worker.js';

/**
 * Notification sinks: per-project webhook, Slack, Grafana and Datadog targets for the audit log
 * (docs/notifications.md).
 *
 * Wiring: a `Changes` publisher queues one delivery row per matching sink inside every write's
 * transaction (no network there, only inserts); after the commit the delivery worker is nudged
 * and sends them. The admin API lives under `/api/admin/projects/:project/sinks`.
 */

const tags = ['Notifications'];
const SinkId = Type.String({ minLength: 1, maxLength: 100 });
const ProjectParams = Type.Object({ project: ProjectId }, { additionalProperties: false });
const SinkParams = Type.Object({ project: ProjectId, id: SinkId }, { additionalProperties: false });
const DeliveryParams = Type.Object({ project: ProjectId, id: SinkId, deliveryId: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

const Printable = '^[\\x21-\\x7e]+$';
const EventPattern = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^(\\*|[a-z0-9][a-z0-9._-]*\\*?)$',
  description: 'An event type (`feature-environment-enabled`), a prefix ending in `*` (`release-*`, `feature-*`), or `*`',
});
const Config = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'webhook: the receiver; slack: the incoming-webhook URL (secret); grafana: the Grafana base URL' })),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 512, pattern: Printable, description: 'webhook: the HMAC key (generated when omitted)' })),
    apiKey: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: Printable, description: 'grafana: service-account token; datadog: API key' })),
    site: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'datadog: API base URL (default https://api.datadoghq.com)' })),
    dashboardUid: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' }), Type.Null()])),
    panelId: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 2_147_483_647 }), Type.Null()])),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);
const Filters = {
  enabled: Type.Optional(Type.Boolean()),
  environments: Type.Optional(Type.Array(EnvironmentName, { maxItems: 100, description: 'Only events in these environments (events without one always match); empty = all' })),
  events: Type.Optional(Type.Array(EventPattern, { maxItems: 100, description: 'Only these event types; empty = all' })),
};
const Name = Type.String({ minLength: 1, maxLength: 100 });
const CreateBody = Type.Object({ name: Name, type: Type.Enum([...SINK_TYPES]), ...Filters, config: Config }, { additionalProperties: false });
const UpdateBody = Type.Object(
  { name: Type.Optional(Name), ...Filters, config: Type.Optional(Config), rotateSecret: Type.Optional(Type.Boolean({ description: 'webhook: generate a new secret (returned once)' })) },
  { additionalProperties: false },
);
const DeliveriesQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(['pending', 'sending', 'delivered', 'failed'])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only deliveries with a smaller id (paging)' })),
  },
  { additionalProperties: false },
);

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { changes, storage, config } = services;
  const log = app.log.child({ component: 'notifications' });

  const directory = new SinkDirectory();
  const box = new SecretBox(config.secretKey);
  const worker = new DeliveryWorker(storage, directory, box, { ...DEFAULT_DELIVERY, ...definedOnly(config.delivery ?? {}) }, log);
  const sinks = new SinkService(services, directory, box, worker);

  // Inside every write: one delivery row per (event with a project) × (enabled sink of that project whose filters match).
  const queued = new WeakSet<CommittedChange>();
  const removePublisher = changes.addPublisher(async (trx, committed) => {
    const { events, eventIds, actor, at } = committed;
    if (!events.some((e) => e.project && e.type !== 'project-deleted')) return;
    // A write that changes sinks sees its own rows; any other reads the cache.
    const fresh = events.some((e) => e.type.startsWith('sink-'));
    const byProject = fresh ? await SinkDirectory.read(trx) : await directory.get(trx);
    if (byProject.size === 0) return;
    const rows = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (!e.project || e.type === 'project-deleted') continue;
      let payload: string | undefined;
      for (const sink of byProject.get(e.project) ?? []) {
        if (!sink.matches(e)) continue;
        payload ??= JSON.stringify({
          id: eventIds[i],
          type: e.type,
          actor,
          project: e.project,
          environment: e.environment ?? null,
          flag: e.flag ?? null,
          before: e.before ?? null,
          after: e.after ?? null,
          createdAt: at,
        } satisfies EventView);
        rows.push({ sink_id: sink.id, event_id: eventIds[i] ?? null, payload, attempt: 0, next_attempt_at: at, status: 'pending' as const, last_error: null, created_at: at, delivered_at: null });
      }
    }
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('deliveries').values(rows.slice(i, i + 500)).execute();
    if (rows.length) queued.add(committed);
  });
  const onCommitted = (c: CommittedChange) => {
    if (c.events.some((e) => e.type === 'project-deleted')) directory.invalidate(); // its sinks went with it
    if (queued.has(c)) worker.nudge();
  };
  // Another replica's write (PostgreSQL): its deliveries may be claimable here too.
  const onRevision = () => worker.nudge();
  changes.on('committed', onCommitted);
  if (storage.dialect === 'postgres') changes.on('revision', onRevision);
  await worker.start();
  app.addHook('preClose', async () => {
    removePublisher();
    changes.off('committed', onCommitted);
    changes.off('revision', onRevision);
    await worker.stop();
  });

  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  app.addHook('preHandler', async (request) => {
    const project = (request.params as { project?: string } | undefined)?.project;
    if (project !== undefined && !canSeeProject(request.principal!, project)) throw notFound(`No project with id "${project}".`);
  });

  const base = '/api/admin/projects/:project/sinks';

  app.get(base, { schema: { tags, summary: 'List a project’s notification sinks (secrets are never returned)', params: ProjectParams } }, async (request) => ({
    sinks: await sinks.list(request.params.project),
  }));

  app.post(
    base,
    { schema: { tags, summary: 'Add a notification sink (webhook, slack, grafana, datadog); a generated webhook secret is returned this once', params: ProjectParams, body: CreateBody } },
    async (request, reply) => reply.code(201).send(await sinks.create(request.principal!.name, request.params.project, request.body)),
  );

  app.get(`${base}/:id`, { schema: { tags, summary: 'Get a notification sink', params: SinkParams } }, async (request) => sinks.get(request.params.project, request.params.id));

  app.put(
    `${base}/:id`,
    { schema: { tags, summary: 'Change a sink: given fields replace, omitted ones (and secrets) stay; rotateSecret makes a new webhook secret', params: SinkParams, body: UpdateBody } },
    async (request) => sinks.update(request.principal!.name, request.params.project, request.params.id, request.body),
  );

  app.delete(`${base}/:id`, { schema: { tags, summary: 'Delete a sink and its queued deliveries', params: SinkParams } }, async (request, reply) => {
    await sinks.delete(request.principal!.name, request.params.project, request.params.id);
    return reply.code(204).send();
  });

  app.post(`${base}/:id/test`, { schema: { tags, summary: 'Send a test event to the sink now and report what the receiver said', params: SinkParams } }, async (request) =>
    sinks.test(request.principal!.name, request.params.project, request.params.id),
  );

  app.get(
    `${base}/:id/deliveries`,
    { schema: { tags, summary: 'Recent deliveries to this sink, newest first, with status, attempts and the last error', params: SinkParams, querystring: DeliveriesQuery } },
    async (request) => sinks.deliveries(request.params.project, request.params.id, request.query),
  );

  app.post(
    `${base}/:id/deliveries/:deliveryId/retry`,
    { schema: { tags, summary: 'Queue a failed delivery again (attempts start over)', params: DeliveryParams } },
    async (request) => sinks.retry(request.params.project, request.params.id, request.params.deliveryId),
  );
};

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export default routes;
