import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { migrationsDone } from '../storage/database.js';
import { sendProblem } from '../http/problem.js';
import { serverMetrics } from './prom.js';
import { ProblemSchema } from './schemas.js';

/**
 * `/health`, `/ready`, `/metrics` and `/docs/openapi.json`, none behind a token. This plugin also
 * times every request of the app (it does not get its own encapsulation context, so its
 * `onResponse` hook applies to all routes registered after it).
 */
const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const prom = serverMetrics(services);

  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL: label cardinality stays bounded.
    const route = request.routeOptions?.url ?? (reply.statusCode === 404 ? 'not_found' : 'unknown');
    prom.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const tags = ['operations'];

  app.get(
    '/health',
    {
      schema: {
        tags,
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: storage answers and migrations are done',
        security: [],
        response: {
          200: Type.Object({ status: Type.Literal('ready'), storage: Type.String() }, { additionalProperties: false }),
          503: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(services.storage.db);
      } catch (err) {
        request.log.warn({ err }, 'readiness: storage does not answer');
        return sendProblem(reply, 503, 'Service Unavailable', `The ${services.storage.dialect} database does not answer; check that it is running and reachable.`);
      }
      let done = false;
      try {
        done = await migrationsDone(services.storage);
      } catch (err) {
        request.log.warn({ err }, 'readiness: cannot read migrations');
      }
      if (!done) {
        return sendProblem(reply, 503, 'Service Unavailable', 'Database migrations have not all run yet; wait for the server to finish starting.');
      }
      return { status: 'ready' as const, storage: services.storage.dialect };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        response: { 200: Type.String({ description: 'Prometheus text format' }) },
      },
    },
    async (_request, reply) => {
      const text = await services.registry.metrics();
      return reply.type(services.registry.contentType).send(text);
    },
  );

  app.get(
    '/docs/openapi.json',
    { schema: { tags, summary: 'This API as an OpenAPI 3 document', security: [], hide: true } },
    async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger())),
  );
};

// Let the request timer reach every route: share the parent's context instead of encapsulating.
(routes as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export default routes;
