import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { flagSetCache } from '../client-api/cache.js';
import { effectiveProjects } from '../client-api/payload.js';
import { ProblemSchema, UnleashHeaders } from '../operations/schemas.js';
import { sseFrame, streamingHub, type StreamUpdate, type SubscribeOptions } from './hub.js';
import { UnleashStreams } from './unleash.js';
import { startReplication } from './replication.js';
import { signalsFor, type Signals } from '../signals/service.js';

const StreamQuery = Type.Object(
  {
    project: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100, description: 'Only these projects (within the token’s).' })),
    namePrefix: Type.Optional(Type.String({ maxLength: 255, description: 'Only flags whose name starts with this.' })),
  },
  { additionalProperties: true },
);

const EventStream = Type.String({ description: 'text/event-stream (see docs/streaming.md).' });

const settingsFrames = new Map<number | null, Buffer>();
/** `switchyard-settings` with the metrics interval asked of the SDK (null: none any more), one shared Buffer per value. */
function settingsFrame(metricsIntervalMs: number | null): Buffer {
  let f = settingsFrames.get(metricsIntervalMs);
  if (!f) settingsFrames.set(metricsIntervalMs, (f = sseFrame({ event: 'switchyard-settings', data: JSON.stringify({ metricsIntervalMs }) })));
  return f;
}

const asList = (frames: Buffer | Buffer[] | null): Buffer[] => (frames === null ? [] : Array.isArray(frames) ? frames : [frames]);

/**
 * An Unleash stream for `@switchyard/sdk`, plus `switchyard-settings` (signals/): first thing on
 * every connection `{metricsIntervalMs}` — the interval asked while a flag of the environment has
 * an active guarded plan, else `null` (no request: the SDK keeps its own) — and again whenever
 * that changes. The subscriber's state carries the interval it was last told, so the hub's
 * per-state updates send each change once.
 */
function withSettings(base: SubscribeOptions, signals: Signals): SubscribeOptions {
  const env = base.environment;
  const split = (state: string) => {
    const i = state.lastIndexOf('\u0001');
    const raw = state.slice(i + 1);
    return { inner: state.slice(0, i), interval: raw === '' ? null : Number(raw) };
  };
  const join = (inner: string, interval: number | null) => `${inner}\u0001${interval ?? ''}`;
  return {
    ...base,
    channel: `${base.channel}\0switchyard`,
    initial: async (lastEventId) => {
      const [u, interval] = await Promise.all([base.initial(lastEventId), signals.requestedMetricsInterval(env)]);
      // Always first: a reconnecting SDK forgets an interval asked for by a plan that ended meanwhile.
      return { state: join(u.state, interval ?? null), revision: u.revision, frames: [settingsFrame(interval ?? null), ...asList(u.frames)] };
    },
    update: async (from): Promise<StreamUpdate> => {
      const { inner, interval: told } = split(from);
      const [u, asked] = await Promise.all([base.update(inner), signals.requestedMetricsInterval(env, { fresh: true })]);
      const interval = asked ?? null;
      const frames: Buffer[] = [];
      if (interval !== told) frames.push(settingsFrame(interval));
      if (u.state !== inner) frames.push(...asList(u.frames));
      return { state: join(u.state, interval), revision: u.revision, frames: frames.length ? frames : null };
    },
  };
}

/** Whether the caller is `@switchyard/sdk` (it says so in `unleash-sdk` or `x-switchyard-sdk`). */
export function isSwitchyardSdk(request: FastifyRequest): boolean {
  const sdk = request.headers['unleash-sdk'];
  const raw = Array.isArray(sdk) ? sdk[0] : sdk;
  return request.headers['x-switchyard-sdk'] !== undefined || (typeof raw === 'string' && raw.startsWith('switchyard-sdk:'));
}

/**
 * Real-time delivery: `GET /api/client/streaming` (Unleash's streaming protocol, backend tokens)
 * and `GET /api/frontend/streaming` (a `changed` event per revision, frontend tokens), both on the
 * streaming hub; and, on PostgreSQL, the LISTEN/NOTIFY replication that lets other replicas'
 * writes reach this server's streams.
 */
const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const hub = streamingHub(services);
  hub.onError = (err) => app.log.warn({ err }, 'stream update failed; retrying');
  const cache = flagSetCache(services);
  const unleash = new UnleashStreams(cache);
  const replication = await startReplication(services, app.log);
  const signals = signalsFor(services);
  // A guard that starts or ends without a revision (signals.guardsChanged): update the settings of open streams now.
  const stopGuards = signals.onGuardsChanged((environment) => hub.refresh(environment));
  app.addHook('preClose', async () => {
    stopGuards();
    hub.close();
    await replication.stop();
  });

  app.get<{ Querystring: { project?: string[]; namePrefix?: string } }>(
    '/api/client/streaming',
    {
      onRequest: requireToken(services.tokens, ['backend']),
      schema: {
        tags: ['client-api'],
        security: [{ token: [] }],
        headers: UnleashHeaders,
        summary: 'Flag configuration as a Server-Sent-Event stream (Unleash streaming: unleash-connected, unleash-updated)',
        querystring: StreamQuery,
        response: { 200: EventStream, 401: ProblemSchema, 403: ProblemSchema, 429: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const requested = request.query.project?.length ? [...new Set(request.query.project)].sort() : undefined;
      const scope = effectiveProjects(principal.projects, requested);
      const options = unleash.options(principal.environment, scope, request.query.namePrefix || undefined);
      return hub.subscribe(request, reply, isSwitchyardSdk(request) ? withSettings(options, signals) : options);
    },
  );

  app.get(
    '/api/frontend/streaming',
    {
      onRequest: requireToken(services.tokens, ['frontend']),
      schema: {
        tags: ['frontend-api'],
        security: [{ token: [] }],
        summary: 'A `changed` event whenever the flags visible to this frontend token change (refetch /api/frontend)',
        response: { 200: EventStream, 401: ProblemSchema, 403: ProblemSchema, 429: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      reply.header('access-control-allow-origin', '*');
      return hub.subscribeChanges(request, reply, {
        environment: principal.environment,
        scope: principal.projects,
        kind: 'frontend',
        headers: { 'access-control-allow-origin': '*' },
        frame: (revision) => sseFrame({ event: 'changed', id: revision, data: JSON.stringify({ revision }) }),
      });
    },
  );
};
export default routes;
