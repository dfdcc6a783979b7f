import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { ConstraintSchema, Description, ProjectId } from '../http/schemas.js';
import { SegmentService } from './service.js';

const tags = ['Segments'];
const Params = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false });
const Body = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' }),
    description: Type.Optional(Description),
    project: Type.Optional(Type.Union([ProjectId, Type.Null()], { description: 'Project the segment belongs to; null for a global segment' })),
    constraints: Type.Array(ConstraintSchema, { maxItems: 100 }),
  },
  { additionalProperties: false },
);

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const segments = new SegmentService(services);

  app.get(
    '/api/admin/segments',
    { schema: { tags, summary: 'List segments', querystring: Type.Object({ project: Type.Optional(ProjectId) }, { additionalProperties: false }) } },
    async (request) => ({ segments: await segments.list(request.query.project) }),
  );

  app.post('/api/admin/segments', { schema: { tags, summary: 'Create a segment (a reusable set of constraints)', body: Body } }, async (request, reply) =>
    reply.code(201).send(await segments.create(request.principal!.name, request.body)),
  );

  app.get('/api/admin/segments/:id', { schema: { tags, summary: 'Get a segment', params: Params } }, async (request) => segments.get(request.params.id));

  app.put('/api/admin/segments/:id', { schema: { tags, summary: 'Replace a segment', params: Params, body: Body } }, async (request) =>
    segments.update(request.principal!.name, request.params.id, request.body),
  );

  app.delete('/api/admin/segments/:id', { schema: { tags, summary: 'Delete a segment (refused while a strategy uses it)', params: Params } }, async (request, reply) => {
    await segments.delete(request.principal!.name, request.params.id);
    return reply.code(204).send();
  });
};

export default routes;
