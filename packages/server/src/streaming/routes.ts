import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { flagSetCache } from '../client-api/cache.js';
import { effectiveProjects } from '../client-api/payload.js';
import { ProblemSchema, UnleashHeaders } from '../operations/schemas.js';
import { sseFrame, streamingHub } from './hub.js';
import { UnleashStreams } from './unleash.js';
import { startReplication } from './replication.js';

const StreamQuery = Type.Object(
  {
    project: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100, description: 'Only these projects (within the token’s).' })),
    namePrefix: Type.Optional(Type.String({ maxLength: 255, description: 'Only flags whose name starts with this.' })),
  },
  { additionalProperties: true },
);

const EventStream = Type.String({ description: 'text/event-stream (see docs/streaming.md).' });

/** Settings pushed to `@switchyard/sdk` streams (reserved for the rollout guardian). */
export const SWITCHYARD_SETTINGS = { metricsIntervalMs: 60_000 };
const SETTINGS_FRAME = sseFrame({ event: 'switchyard-settings', data: JSON.stringify(SWITCHYARD_SETTINGS) });

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
  app.addHook('preClose', async () => {
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
      const preamble = isSwitchyardSdk(request) ? SETTINGS_FRAME : undefined;
      return hub.subscribe(request, reply, unleash.options(principal.environment, scope, request.query.namePrefix || undefined, preamble));
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
