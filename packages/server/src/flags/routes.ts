import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import {
  DependencySchema,
  Description,
  FlagEnvParams,
  FlagEnvStrategyParams,
  FlagName,
  FlagNameParams,
  ProjectId,
  StrategyInputSchema,
  VariantList,
} from '../http/schemas.js';
import { FLAG_TYPES, FlagService } from './service.js';

const tags = ['Flags'];
const FlagType = Type.Union(FLAG_TYPES.map((t) => Type.Literal(t)));
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });
const Owner = Type.String({ maxLength: 255 });

/** What a PATCH may change: every setting but the name. */
const FlagSettings = {
  project: Type.Optional(ProjectId),
  type: Type.Optional(FlagType),
  description: Type.Optional(Description),
  owner: Type.Optional(Owner),
  tags: Type.Optional(Tags),
  impressionData: Type.Optional(Type.Boolean()),
};
const CreateFlagBody = Type.Object({ name: FlagName, ...FlagSettings }, { additionalProperties: false });
const PatchFlagBody = Type.Object(FlagSettings, { additionalProperties: false });

const ListQuery = Type.Object(
  {
    project: Type.Optional(ProjectId),
    archived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const flags = new FlagService(services);
  const actor = (request: { principal?: { name: string } }) => request.principal!.name;

  app.get(
    '/api/admin/flags',
    { schema: { tags, summary: 'List flags (active by default; archived=true for the archive)', querystring: ListQuery } },
    async (request) => ({ flags: await flags.list({ project: request.query.project, archived: request.query.archived ?? false }) }),
  );

  app.post('/api/admin/flags', { schema: { tags, summary: 'Create a flag', body: CreateFlagBody } }, async (request, reply) => {
    const flag = await flags.create(actor(request), request.body);
    return reply.code(201).send(flag);
  });

  app.get('/api/admin/flags/:name', { schema: { tags, summary: 'Get a flag with its configuration in every environment', params: FlagNameParams } }, async (request) =>
    flags.get(request.params.name),
  );

  app.patch(
    '/api/admin/flags/:name',
    { schema: { tags, summary: 'Change a flag’s metadata', params: FlagNameParams, body: PatchFlagBody } },
    async (request) => flags.patch(actor(request), request.params.name, request.body),
  );

  app.delete(
    '/api/admin/flags/:name',
    { schema: { tags, summary: 'Delete an archived flag for good', params: FlagNameParams } },
    async (request, reply) => {
      await flags.delete(actor(request), request.params.name);
      return reply.code(204).send();
    },
  );

  app.post('/api/admin/flags/:name/archive', { schema: { tags, summary: 'Archive a flag (SDKs stop seeing it)', params: FlagNameParams } }, async (request) =>
    flags.archive(actor(request), request.params.name),
  );

  app.post('/api/admin/flags/:name/revive', { schema: { tags, summary: 'Bring an archived flag back', params: FlagNameParams } }, async (request) =>
    flags.revive(actor(request), request.params.name),
  );

  app.post('/api/admin/flags/:name/environments/:env/on', { schema: { tags, summary: 'Enable a flag in an environment', params: FlagEnvParams } }, async (request) =>
    flags.setEnabled(actor(request), request.params.name, request.params.env, true),
  );

  app.post('/api/admin/flags/:name/environments/:env/off', { schema: { tags, summary: 'Disable a flag in an environment', params: FlagEnvParams } }, async (request) =>
    flags.setEnabled(actor(request), request.params.name, request.params.env, false),
  );

  app.get(
    '/api/admin/flags/:name/environments/:env/strategies',
    { schema: { tags, summary: 'List a flag’s strategies in an environment', params: FlagEnvParams } },
    async (request) => ({ strategies: await flags.listStrategies(request.params.name, request.params.env) }),
  );

  app.post(
    '/api/admin/flags/:name/environments/:env/strategies',
    { schema: { tags, summary: 'Add a strategy to a flag in an environment', params: FlagEnvParams, body: StrategyInputSchema } },
    async (request, reply) => {
      const strategy = await flags.addStrategy(actor(request), request.params.name, request.params.env, request.body);
      return reply.code(201).send(strategy);
    },
  );

  app.put(
    '/api/admin/flags/:name/environments/:env/strategies/:id',
    { schema: { tags, summary: 'Replace a strategy', params: FlagEnvStrategyParams, body: StrategyInputSchema } },
    async (request) => flags.updateStrategy(actor(request), request.params.name, request.params.env, request.params.id, request.body),
  );

  app.delete(
    '/api/admin/flags/:name/environments/:env/strategies/:id',
    { schema: { tags, summary: 'Remove a strategy', params: FlagEnvStrategyParams } },
    async (request, reply) => {
      await flags.deleteStrategy(actor(request), request.params.name, request.params.env, request.params.id);
      return reply.code(204).send();
    },
  );

  app.put(
    '/api/admin/flags/:name/environments/:env/variants',
    {
      schema: {
        tags,
        summary: 'Set a flag’s variants in an environment (weights out of 1000; variable weights share what fixed ones leave)',
        params: FlagEnvParams,
        body: Type.Object({ variants: VariantList }, { additionalProperties: false }),
      },
    },
    async (request) => flags.setVariants(actor(request), request.params.name, request.params.env, request.body.variants),
  );

  app.put(
    '/api/admin/flags/:name/dependencies',
    {
      schema: {
        tags,
        summary: 'Set the flags this flag depends on (one level: a parent cannot have parents)',
        params: FlagNameParams,
        body: Type.Object({ dependencies: Type.Array(DependencySchema, { maxItems: 50 }) }, { additionalProperties: false }),
      },
    },
    async (request) => flags.setDependencies(actor(request), request.params.name, request.body.dependencies),
  );
};

export default routes;
