import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Bodies are validated strictly: a number where a string belongs is an error, not something to
 * coerce. Query strings and path parameters arrive as text, so there types are coerced.
 */
export function installValidators(app: FastifyInstance): void {
  const common: Options = { allErrors: false, strict: false, removeAdditional: false, useDefaults: true };
  const strict = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
  const coercing = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }));
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    return ajv.compile(schema as FastifySchema & object) as any;
  });
}
