/**
 * The release API (`/api/admin/releases`, `/api/admin/release-templates`, admin tokens) and the
 * guardian runner's life cycle: started when the server is ready, stopped before it closes.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { badRequest } from '../http/problem.js';
import { sseFrame } from '../streaming/hub.js';
import { ACTIVE_STATES, type PlanState } from './model.js';
import { ActionBody, CreatePlanBody, DecisionsQuery, ListQuery, PlanParams, SeriesQuery, TemplateBody, TemplateParams } from './schemas.js';
import { planSeries } from './series.js';
import { ReleaseService } from './service.js';
import { ReleaseFeed } from './feed.js';
import { GuardianRunner } from './runner.js';
import { leadership } from './leader.js';
import { releaseDb, type PlanView } from './store.js';
import { alertSource, cohortSource, markAlertHandled, signalsFor, toPlanAlert, GUARDED_METRICS_INTERVAL_MS } from '../signals/index.js';

export interface Releases {
  service: ReleaseService;
  runner: GuardianRunner;
  feed: ReleaseFeed;
}

const registry = new WeakMap<Services, Releases>();

/** The release service and guardian runner of a server (after its routes are registered). */
export function releasesOf(services: Services): Releases {
  const r = registry.get(services);
  if (!r) throw new Error('the release routes are not registered on this server');
  return r;
}

const tags = ['Releases'];
const templateTags = ['Release templates'];

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = services.storage.db;
  const signals = signalsFor(services);
  const feed = new ReleaseFeed(services.storage);
  const service = new ReleaseService(services, feed);
  const runner = new GuardianRunner(services, service, {
    intervalMs: services.config.releaseCheckIntervalMs ?? 5000,
    // Reports received in the last second are left for the next check (their rows may still be committing).
    source: cohortSource(db, { settleMs: 1000 }),
    alerts: alertSource(db),
    leadership: leadership(services.storage, services.config.databaseUrl, fastify.log, services.config.releaseLeaderRetryMs ?? 5000),
    log: fastify.log,
  });
  registry.set(services, { service, runner, feed });

  // Guards: a flag with a running or paused plan has its cohort outcomes stored, and SDKs in its
  // environment report every 5 s (read from the plans table, so every replica agrees).
  signals.setGuardSource(async (environment) =>
    (
      await releaseDb(db).selectFrom('release_plans').select('flag').where('environment', '=', environment).where('state', 'in', ['running', 'paused']).execute()
    ).map((r) => ({ flag: r.flag, metricsIntervalMs: GUARDED_METRICS_INTERVAL_MS })),
  );
  service.onChange = (environment) => signals.guardsChanged(environment);
  // An alert stops the plans of its flag at once, on whichever replica received it (the stop is
  // compare-and-set like every transition); the runner re-checks stored alerts on every tick.
  const offAlert = signals.onAlert(async (alert) => {
    const stopped = await runner.alert({ ...toPlanAlert(alert), id: alert.id });
    if (stopped.length === 0) await markAlertHandled(db, alert.id, 'no running release plan for this flag');
  });
  const streams = new Set<FastifyReply>();

  fastify.addHook('onReady', async () => {
    await runner.start();
  });
  fastify.addHook('preClose', async () => {
    offAlert();
    signals.setGuardSource(undefined);
    for (const s of streams) s.raw.end();
    await runner.stop();
    feed.close();
  });

  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const actor = (request: FastifyRequest) => request.principal!.name;

  // ---------------------------------------------------------------- templates
  app.get('/api/admin/release-templates', { schema: { tags: templateTags, summary: 'List release templates (built-in and your own)' } }, async () => ({
    templates: await service.templates.list(),
  }));
  app.post('/api/admin/release-templates', { schema: { tags: templateTags, summary: 'Create a release template', body: TemplateBody } }, async (request, reply) =>
    reply.code(201).send(await service.templates.create(actor(request), request.body)),
  );
  app.get('/api/admin/release-templates/:id', { schema: { tags: templateTags, summary: 'Get a release template', params: TemplateParams } }, async (request) =>
    service.templates.get(request.params.id),
  );
  app.put('/api/admin/release-templates/:id', { schema: { tags: templateTags, summary: 'Replace a release template (running plans keep their copy)', params: TemplateParams, body: TemplateBody } }, async (request) => {
    const { id, ...body } = request.body;
    if (id !== undefined && id !== request.params.id) throw badRequest(`The body's id "${id}" is not the path's "${request.params.id}"; a template's id cannot change.`);
    return service.templates.replace(actor(request), request.params.id, body);
  });
  app.delete('/api/admin/release-templates/:id', { schema: { tags: templateTags, summary: 'Delete a release template', params: TemplateParams } }, async (request, reply) => {
    await service.templates.delete(actor(request), request.params.id);
    return reply.code(204).send();
  });

  // ---------------------------------------------------------------- plans
  app.get('/api/admin/releases', { schema: { tags, summary: 'List release plans, newest first (filter by flag, environment, state)', querystring: ListQuery } }, async (request) => {
    const { state, ...rest } = request.query;
    const states = state?.flatMap((s): PlanState[] => (s === 'active' ? [...ACTIVE_STATES] : [s]));
    return service.list({ ...rest, state: states });
  });

  app.post('/api/admin/releases', { schema: { tags, summary: 'Create a release plan: a template applied to one flag in one environment', body: CreatePlanBody } }, async (request, reply) =>
    reply.code(201).send(await service.create(actor(request), request.body)),
  );

  app.get('/api/admin/releases/stream', { schema: { tags, summary: 'Live plan updates (SSE `plan` events) for every plan, or those of a flag / environment', querystring: ListQuery } }, async (request, reply) =>
    stream(reply, { flag: request.query.flag, environment: request.query.environment, project: request.query.project }),
  );

  app.get('/api/admin/releases/:id', { schema: { tags, summary: 'Get a release plan (state, milestone, traffic per cohort, last decision)', params: PlanParams } }, async (request) =>
    service.get(request.params.id),
  );

  app.delete('/api/admin/releases/:id', { schema: { tags, summary: 'Delete a draft release plan', params: PlanParams } }, async (request, reply) => {
    await service.delete(actor(request), request.params.id);
    return reply.code(204).send();
  });

  const actions = {
    start: 'Start a draft plan: apply its first milestone',
    pause: 'Pause a running plan (the flag stays as it is; the guardian stops acting)',
    resume: 'Resume a paused plan (the milestone’s gate and bake time start over; evidence carries on)',
    advance: 'Advance to the next milestone now (the last one completes the plan)',
    rollback: 'Roll back now (to the previous milestone or off, as the plan says), with a reason',
  } as const;
  for (const [name, summary] of Object.entries(actions) as Array<[keyof typeof actions, string]>) {
    app.post(`/api/admin/releases/:id/${name}`, { schema: { tags, summary, params: PlanParams, body: ActionBody } }, async (request) =>
      service[name](actor(request), request.params.id, { reason: request.body?.reason, expectedStep: request.body?.expectedStep }),
    );
  }

  app.get('/api/admin/releases/:id/decisions', { schema: { tags, summary: 'The plan’s decisions with their evidence, newest first', params: PlanParams, querystring: DecisionsQuery } }, async (request) =>
    service.decisions(request.params.id, request.query),
  );

  app.get(
    '/api/admin/releases/:id/series',
    {
      schema: {
        tags,
        summary: 'The plan’s checks as a time series for charts, oldest first: per check, each cohort’s requests, errors, error rate and latency quantiles (this check and the milestone so far) and the combined e-value against 1/α',
        params: PlanParams,
        querystring: SeriesQuery,
      },
    },
    async (request) => planSeries(db, await service.get(request.params.id), request.query),
  );

  app.get('/api/admin/releases/:id/stream', { schema: { tags, summary: 'Live updates of one plan as Server-Sent Events (`plan` event with the plan, at once and on every change)', params: PlanParams } }, async (request, reply) => {
    await service.get(request.params.id); // 404 before the stream opens
    return stream(reply, { id: request.params.id });
  });

  /** An SSE stream of `plan` events: the plan(s) now, then each new version. */
  async function stream(reply: FastifyReply, filter: { id?: string; flag?: string; environment?: string; project?: string }) {
    const sent = new Map<string, number>();
    const res = reply.raw;
    const send = (plan: PlanView) => {
      if ((sent.get(plan.id) ?? -1) >= plan.version || res.destroyed || res.writableEnded) return;
      sent.set(plan.id, plan.version);
      res.write(sseFrame({ event: 'plan', id: `${plan.id}:${plan.version}`, data: JSON.stringify(plan) }));
    };
    const matches = (p: PlanView) =>
      (!filter.flag || p.flag === filter.flag) && (!filter.environment || p.environment === filter.environment) && (!filter.project || p.project === filter.project);
    let queue = Promise.resolve();
    const unsubscribe = feed.subscribe((id) => {
      if (filter.id && id !== filter.id) return;
      queue = queue.then(async () => {
        try {
          const plan = await service.get(id);
          if (matches(plan)) send(plan);
        } catch {
          // deleted draft, or a database hiccup: the next change brings it up to date
        }
      });
    });
    reply.hijack();
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    streams.add(reply);
    const heartbeat = setInterval(() => res.write(':\n\n'), services.config.streamHeartbeatMs ?? 15_000);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(reply);
    });
    try {
      if (filter.id) send(await service.get(filter.id));
      else for (const p of (await service.list({ flag: filter.flag, environment: filter.environment, project: filter.project, state: [...ACTIVE_STATES] })).plans) send(p);
    } catch {
      res.end();
    }
  }
};

export default routes;
