import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { ENVIRONMENT_TYPES, EnvironmentName } from '../http/schemas.js';
import { EnvironmentService } from './service.js';

const tags = ['Environments'];
const Params = Type.Object({ name: EnvironmentName }, { additionalProperties: false });
const EnvType = Type.Union(ENVIRONMENT_TYPES.map((t) => Type.Literal(t)));
const SortOrder = Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 });

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const environments = new EnvironmentService(services);

  app.get('/api/admin/environments', { schema: { tags, summary: 'List environments with their current revision' } }, async () => ({
    environments: await environments.list(),
  }));

  app.post(
    '/api/admin/environments',
    {
      schema: {
        tags,
        summary: 'Create an environment',
        body: Type.Object({ name: EnvironmentName, type: Type.Optional(EnvType), sortOrder: Type.Optional(SortOrder) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => reply.code(201).send(await environments.create(request.principal!.name, request.body)),
  );

  app.get('/api/admin/environments/:name', { schema: { tags, summary: 'Get an environment', params: Params } }, async (request) =>
    environments.get(request.params.name),
  );

  app.put(
    '/api/admin/environments/:name',
    {
      schema: {
        tags,
        summary: 'Change an environment’s type or sort order',
        params: Params,
        body: Type.Object({ type: Type.Optional(EnvType), sortOrder: Type.Optional(SortOrder) }, { additionalProperties: false }),
      },
    },
    async (request) => environments.update(request.principal!.name, request.params.name, request.body),
  );

  app.delete(
    '/api/admin/environments/:name',
    { schema: { tags, summary: 'Delete an environment and every flag’s configuration in it', params: Params } },
    async (request, reply) => {
      await environments.delete(request.principal!.name, request.params.name);
      return reply.code(204).send();
    },
  );
};

export default routes;
