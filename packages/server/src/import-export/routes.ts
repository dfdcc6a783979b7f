import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { EnvironmentName, ProjectId } from '../http/schemas.js';
import { ImportExportService } from './service.js';

const tags = ['Import/export'];
const IMPORT_BODY_LIMIT = 10 * 1024 * 1024;

const Query = Type.Object(
  {
    environment: Type.Optional(EnvironmentName),
    project: Type.Optional(ProjectId),
  },
  { additionalProperties: false },
);

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const service = new ImportExportService(services);

  app.post(
    '/api/admin/import',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Import an Unleash client-API payload {version, features[], segments[]} (into ?environment) or a Switchyard export; one transaction, one revision',
        description:
          'Flags in the file are created or replaced (metadata, dependencies and their state in the environment); other flags are left alone. Segments are matched by name; ids in the file are remapped. Missing projects are created. ?project puts every flag into that project.',
        querystring: Query,
        body: Type.Object({}, { additionalProperties: true, description: 'Unleash client-API payload or Switchyard export' }),
      },
    },
    async (request) => service.import(request.principal!.name, request.body, request.query),
  );

  app.get(
    '/api/admin/export',
    { schema: { tags, summary: 'Export flags, segments, projects and environments in Switchyard’s format', querystring: Query } },
    async (request) => service.export(request.query),
  );
};

export default routes;
