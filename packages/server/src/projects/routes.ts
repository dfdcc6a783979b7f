import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { Description, ProjectId, ShortText } from '../http/schemas.js';
import { ProjectService } from './service.js';

const tags = ['Projects'];
const Params = Type.Object({ id: ProjectId }, { additionalProperties: false });

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const projects = new ProjectService(services);

  app.get('/api/admin/projects', { schema: { tags, summary: 'List projects' } }, async () => ({ projects: await projects.list() }));

  app.post(
    '/api/admin/projects',
    {
      schema: {
        tags,
        summary: 'Create a project',
        body: Type.Object({ id: ProjectId, name: Type.Optional(ShortText), description: Type.Optional(Description) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => reply.code(201).send(await projects.create(request.principal!.name, request.body)),
  );

  app.get('/api/admin/projects/:id', { schema: { tags, summary: 'Get a project', params: Params } }, async (request) => projects.get(request.params.id));

  app.put(
    '/api/admin/projects/:id',
    {
      schema: {
        tags,
        summary: 'Change a project’s name or description',
        params: Params,
        body: Type.Object({ name: Type.Optional(ShortText), description: Type.Optional(Description) }, { additionalProperties: false }),
      },
    },
    async (request) => projects.update(request.principal!.name, request.params.id, request.body),
  );

  app.delete('/api/admin/projects/:id', { schema: { tags, summary: 'Delete a project (refused while it has flags)', params: Params } }, async (request, reply) => {
    await projects.delete(request.principal!.name, request.params.id);
    return reply.code(204).send();
  });
};

export default routes;
