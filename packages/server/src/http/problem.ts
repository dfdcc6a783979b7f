import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';

/** An error that becomes an RFC 9457 problem+json response with a message a person can act on. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) => new Problem(400, 'Bad Request', detail, extra);
export const notFound = (detail: string) => new Problem(404, 'Not Found', detail);
export const conflict = (detail: string) => new Problem(409, 'Conflict', detail);
export const unauthorized = (detail: string) => new Problem(401, 'Unauthorized', detail);
export const forbidden = (detail: string) => new Problem(403, 'Forbidden', detail);

export function sendProblem(reply: FastifyReply, status: number, title: string, detail: string, extra: Record<string, unknown> = {}) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, detail, instance: reply.request.url, ...extra });
}

/** Installs the error and not-found handlers so that every failure is problem+json, never a 500 for bad input. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'Not Found', `No route for ${request.method} ${request.url.split('?')[0]}. See /docs/openapi.json for the API.`),
  );
  app.setErrorHandler((error: FastifyError | Problem, request, reply) => {
    if (error instanceof Problem) return sendProblem(reply, error.status, error.title, error.detail, error.extra);
    if ((error as FastifyError).validation) {
      const errors = (error as FastifyError).validation!.map((v) => ({
        field: `${(error as FastifyError).validationContext ?? 'body'}${v.instancePath || ''}`,
        message: explain(v),
      }));
      const first = errors[0];
      return sendProblem(reply, 400, 'Bad Request', `Invalid ${first.field}: ${first.message}.`, { errors });
    }
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      const detail =
        (error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'The request body is too large; split it or send less.'
          : (error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `Unsupported content type ${request.headers['content-type'] ?? '(none)'}; send application/json.`
            : error.message;
      return sendProblem(reply, status, titleFor(status), detail);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, 'Internal Server Error', 'Something went wrong on our side; the error has been logged.');
  });
}

function titleFor(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests' } as Record<number, string>
  )[status] ?? 'Error';
}

/** Turns an Ajv error into words a person can act on. */
function explain(v: { keyword: string; message?: string; params: Record<string, any> }): string {
  switch (v.keyword) {
    case 'additionalProperties':
      return `has an unknown property "${v.params.additionalProperty}"; remove it`;
    case 'required':
      return `is missing the required property "${v.params.missingProperty}"`;
    case 'enum':
      return `must be one of ${(v.params.allowedValues as unknown[]).map((a) => JSON.stringify(a)).join(', ')}`;
    case 'maxLength':
      return `is too long (at most ${v.params.limit} characters)`;
    case 'pattern':
      return `has characters that are not allowed (must match ${v.params.pattern})`;
    default:
      return v.message ?? 'is invalid';
  }
}
