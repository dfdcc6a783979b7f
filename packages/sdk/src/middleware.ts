/**
 * `@switchyard/sdk/middleware` (Node): request middleware that records cohort outcomes.
 *
 * Every request served under it gets an {@link OutcomeScope} held in AsyncLocalStorage; every flag
 * any `SwitchyardClient` evaluates while serving it is noted with its cohort (variant name, or
 * `on` / `off`), and when the response ends each of those flags gets one outcome: a request, an
 * error when the status is ≥ 500, the handler threw, or the client left before the response was
 * complete, and the request's duration in the latency histogram. Requests that evaluated no flag
 * record nothing.
 *
 * - Node's http: `http.createServer(withSwitchyard(handler))`
 * - Express:     `app.use(switchyardExpress())` before the routes (see below on body parsers)
 * - Fastify:     `await app.register(switchyardFastify)`
 * - other work (jobs, queue consumers): `await runWithOutcomes(() => work())`
 *
 * A body parser that resumes the middleware chain from the request stream's own async context
 * (without AsyncResource binding) would hide the scope from what comes after it; Express 5's
 * express.json() keeps it, and mounting `switchyardExpress()` after the body parsers is always
 * safe. Fastify parses bodies itself; the plugin re-enters the scope after parsing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OutcomeScope, setOutcomeScopeProvider } from './outcomes.js';

const storage = new AsyncLocalStorage<OutcomeScope>();
setOutcomeScopeProvider(() => storage.getStore());

const SCOPE = Symbol.for('switchyard.outcome-scope');

type Tagged = { [SCOPE]?: OutcomeScope };

/** How a request ended, for {@link MiddlewareOptions.isError}. */
export interface RequestEnd {
  /** The response status (as far as it got). */
  status: number;
  /** The client left (or the connection broke) before the response was complete. */
  aborted: boolean;
  /** The handler threw or rejected (Node http wrapper), or the scope was marked failed. */
  failed: boolean;
}

export interface MiddlewareOptions {
  /** Requests to leave out (health checks, event streams, …). */
  ignore?: (req: IncomingMessage) => boolean;
  /** Whether a request counts as an error. Default: status ≥ 500, failed, or aborted. */
  isError?: (end: RequestEnd) => boolean;
}

const defaultIsError = (end: RequestEnd) => end.failed || end.aborted || end.status >= 500;

/** The scope of the request (or job) being served now, if any: `currentScope()?.fail()` marks it failed. */
export function currentScope(): OutcomeScope | undefined {
  return storage.getStore();
}

/** The scope a middleware attached to this request, if any. */
export function scopeOf(req: IncomingMessage): OutcomeScope | undefined {
  return (req as IncomingMessage & Tagged)[SCOPE];
}

/** Starts a scope for `req` and finishes it when `res` closes. Returns undefined when the request is ignored or already has one. */
function begin(req: IncomingMessage, res: ServerResponse, opts: MiddlewareOptions): OutcomeScope | undefined {
  const tagged = req as IncomingMessage & Tagged;
  if (tagged[SCOPE]) return undefined;
  if (opts.ignore?.(req)) return undefined;
  const scope = new OutcomeScope();
  tagged[SCOPE] = scope;
  const isError = opts.isError ?? defaultIsError;
  res.once('close', () => {
    const aborted = !res.writableFinished;
    let error: boolean;
    try {
      error = isError({ status: res.statusCode, aborted, failed: scope.isFailed });
    } catch {
      error = defaultIsError({ status: res.statusCode, aborted, failed: scope.isFailed });
    }
    scope.finish({ error });
  });
  return scope;
}

type HttpHandler<Req extends IncomingMessage, Res extends ServerResponse> = (req: Req, res: Res) => unknown;

/**
 * Wraps a Node `http` request listener. A handler that throws or rejects is recorded as an error;
 * when it had not answered yet the wrapper answers 500, and the error goes to `onError`
 * (default: `console.error`), never to an unhandled rejection.
 */
export function withSwitchyard<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  handler: HttpHandler<Req, Res>,
  opts: MiddlewareOptions & { onError?: (err: unknown, req: Req, res: Res) => void } = {},
): (req: Req, res: Res) => void {
  const onError =
    opts.onError ??
    ((err: unknown) => {
      console.error('[switchyard] request handler failed:', err);
    });
  return (req, res) => {
    const scope = begin(req, res, opts);
    const fail = (err: unknown) => {
      scope?.fail();
      if (!res.headersSent && !res.writableEnded) {
        res.statusCode = 500;
        res.end();
      } else if (!res.writableEnded) {
        res.destroy(err instanceof Error ? err : undefined);
      }
      try {
        onError(err, req, res);
      } catch {
        // the app's error hook failed; nothing more to do
      }
    };
    const run = () => {
      try {
        const r = handler(req, res);
        if (r && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(undefined, fail);
      } catch (err) {
        fail(err);
      }
    };
    if (scope) storage.run(scope, run);
    else run();
  };
}

/** Express (4 and 5) middleware: `app.use(switchyardExpress())` before the routes. */
export function switchyardExpress(opts: MiddlewareOptions = {}): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return function switchyardOutcomes(req, res, next) {
    const scope = begin(req, res, opts);
    if (scope) storage.run(scope, () => next());
    else next();
  };
}

type Done = (err?: Error) => void;
interface FastifyLikeRequest {
  raw: IncomingMessage;
}
interface FastifyLikeReply {
  raw: ServerResponse;
}
interface FastifyLike {
  addHook(name: string, hook: (...args: any[]) => unknown): unknown;
}

/**
 * Fastify plugin: `await app.register(switchyardFastify, { ignore })`. It applies to the whole
 * app (not encapsulated): the scope opens in `onRequest` and is re-entered after body parsing
 * (`preValidation`) and before the handler (`preHandler`).
 */
export function switchyardFastify(app: unknown, opts: MiddlewareOptions, done: Done): void {
  const f = app as FastifyLike;
  const options: MiddlewareOptions = { ignore: opts?.ignore, isError: opts?.isError };
  f.addHook('onRequest', (request: FastifyLikeRequest, reply: FastifyLikeReply, next: Done) => {
    const scope = begin(request.raw, reply.raw, options);
    if (scope) storage.run(scope, next);
    else next();
  });
  const reenter = (request: FastifyLikeRequest, _reply: FastifyLikeReply, next: Done) => {
    const scope = scopeOf(request.raw);
    if (scope && storage.getStore() !== scope) storage.run(scope, next);
    else next();
  };
  f.addHook('preValidation', reenter);
  f.addHook('preHandler', reenter);
  done();
}
// Not encapsulated (the hooks apply to every route), as fastify-plugin would mark it.
(switchyardFastify as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(switchyardFastify as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'switchyard-outcomes';
(switchyardFastify as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')] = { name: 'switchyard-outcomes', fastify: '>=4' };

/**
 * Runs `work` in its own scope (a job, a queue message, a scheduled task): flags evaluated inside
 * record one outcome each when it settles — an error if it throws or rejects (the error is passed
 * on), its duration as latency. `currentScope()?.fail()` inside marks it failed without throwing.
 */
export async function runWithOutcomes<T>(work: () => T | Promise<T>): Promise<T> {
  const scope = new OutcomeScope();
  try {
    const result = await storage.run(scope, work);
    scope.finish();
    return result;
  } catch (err) {
    scope.finish({ error: true });
    throw err;
  }
}

export { OutcomeScope } from './outcomes.js';
