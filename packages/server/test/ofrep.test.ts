/**
 * OFREP (OpenFeature Remote Evaluation Protocol) over app.inject: single and bulk evaluation
 * shapes, value typing, context mapping, the protocol's error bodies, auth, ETag/304, CORS, and
 * the eventStreams SSE stream (on a listening server, with a WHATWG EventSource).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSource } from 'eventsource';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createEnvironment, createProject, putFlag, request, setEnabled, token } from './fixtures.js';
import { ofrepContext, payloadValue, OfrepError } from '../src/ofrep/evaluate.js';
import { revisionFromEtag, streamTicket } from '../src/ofrep/stream.js';

const SINGLE = '/ofrep/v1/evaluate/flags/';
const BULK = '/ofrep/v1/evaluate/flags';

describe('OFREP context and values', () => {
  it('maps targetingKey to userId and the rest to Unleash fields and properties', () => {
    expect(
      ofrepContext(
        { targetingKey: 'u1', sessionId: 's1', plan: 'pro', seats: 3, beta: true, nested: { x: 1 }, properties: { region: 'eu' } },
        { environment: 'development' },
      ),
    ).toEqual({ userId: 'u1', sessionId: 's1', environment: 'development', properties: { plan: 'pro', seats: '3', beta: 'true', region: 'eu' } });
    expect(ofrepContext({ targetingKey: 'tk', userId: 'explicit' }, { environment: 'e' }).userId).toBe('explicit');
    expect(ofrepContext({ targetingKey: 42 }, { environment: 'e' }).userId).toBe('42');
    expect(ofrepContext(undefined, { environment: 'e', remoteAddress: '10.1.1.1' })).toEqual({ environment: 'e', remoteAddress: '10.1.1.1' });
    expect(ofrepContext({ remoteAddress: '192.0.2.1' }, { environment: 'e', remoteAddress: '10.1.1.1' }).remoteAddress).toBe('192.0.2.1');
    for (const bad of [[], 'x', 3, { targetingKey: { id: 1 } }, { targetingKey: ['a'] }, { properties: 'x' }]) {
      expect(() => ofrepContext(bad, { environment: 'e' }), JSON.stringify(bad)).toThrow(OfrepError);
    }
  });

  it('types variant payloads', () => {
    expect(payloadValue('f', { name: 'a', payload: { type: 'string', value: 'x' } })).toBe('x');
    expect(payloadValue('f', { name: 'a', payload: { type: 'csv', value: 'a,b' } })).toBe('a,b');
    expect(payloadValue('f', { name: 'a', payload: { type: 'number', value: ' 4.5 ' } })).toBe(4.5);
    expect(payloadValue('f', { name: 'a', payload: { type: 'json', value: '{"a":[1,2]}' } })).toEqual({ a: [1, 2] });
    expect(payloadValue('f', { name: 'a' })).toBe('a');
    expect(() => payloadValue('f', { name: 'a', payload: { type: 'number', value: 'abc' } })).toThrow(/not a number/);
    expect(() => payloadValue('f', { name: 'a', payload: { type: 'json', value: '{' } })).toThrow(/not valid JSON/);
  });

  it('reads the revision back from an event etag', () => {
    expect(revisionFromEtag('"12"')).toBe(12);
    expect(revisionFromEtag('W/"7"')).toBe(7);
    expect(revisionFromEtag('abc')).toBeNull();
    expect(revisionFromEtag(undefined)).toBeNull();
  });
});

describeEachDialect('OFREP', (dialect) => {
  let t: TestApp;
  let frontend: string;
  let backend: string;
  let alphaOnly: string;
  let prodFrontend: string;

  const variant = (name: string, payload?: { type: string; value: string }, weight = 1000) => ({
    name,
    weight,
    weightType: 'variable' as const,
    stickiness: 'userId',
    ...(payload ? { payload } : {}),
  });

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await createProject(t, 'alpha');
    const dev = (cfg: object) => ({ development: { enabled: true, strategies: [{ name: 'default' }], ...cfg } });
    await putFlag(t, { name: 'bool.on', environments: dev({}) });
    await putFlag(t, { name: 'bool.off', environments: { development: { enabled: false, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'bool.u1', environments: dev({ strategies: [{ name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1'] }] }] }) });
    await putFlag(t, { name: 'bool.pro', environments: dev({ strategies: [{ name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] }] }) });
    await putFlag(t, { name: 'bool.ip', environments: dev({ strategies: [{ name: 'remoteAddress', parameters: { IPs: '127.0.0.1' } }] }) });
    await putFlag(t, { name: 'str.flag', environments: dev({ variants: [variant('green', { type: 'string', value: 'hello' })] }) });
    await putFlag(t, { name: 'num.flag', environments: dev({ variants: [variant('big', { type: 'number', value: '42.5' })] }) });
    await putFlag(t, { name: 'json.flag', environments: dev({ variants: [variant('blue', { type: 'json', value: '{"color":"#00f","sizes":[1,2]}' })] }) });
    await putFlag(t, { name: 'name.flag', environments: dev({ variants: [variant('plain')] }) });
    await putFlag(t, {
      name: 'split.flag',
      environments: dev({ variants: [variant('red', { type: 'string', value: 'r' }, 500), variant('blue', { type: 'string', value: 'b' }, 500)] }),
    });
    await putFlag(t, {
      name: 'override.flag',
      environments: dev({
        variants: [{ ...variant('vip', { type: 'string', value: 'gold' }, 0), overrides: [{ contextName: 'userId', values: ['u1'] }] }, variant('std', { type: 'string', value: 'basic' })],
      }),
    });
    await putFlag(t, {
      name: 'strategy.variants',
      environments: dev({
        strategies: [
          { name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1'] }], variants: [variant('beta', { type: 'string', value: 'B' })] },
          { name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['u2'] }] },
        ],
      }),
    });
    await putFlag(t, { name: 'variant.off', environments: { development: { enabled: false, strategies: [{ name: 'default' }], variants: [variant('x', { type: 'string', value: 'x' })] } } });
    await putFlag(t, { name: 'bad.number', environments: dev({ variants: [variant('nan', { type: 'number', value: 'abc' })] }) });
    await putFlag(t, { name: 'alpha.flag', project: 'alpha', environments: dev({}) });
    await putFlag(t, { name: 'archived.flag', archived: true, environments: dev({}) });
    frontend = await token(t, 'frontend', 'development');
    backend = await token(t, 'backend', 'development');
    alphaOnly = await token(t, 'backend', 'development', ['alpha']);
    prodFrontend = await token(t, 'frontend', 'production');
  });
  afterAll(async () => {
    await t?.close();
  });

  const evalOne = (key: string, context?: unknown, tok = backend, headers: Record<string, string> = {}) =>
    request(t, 'POST', SINGLE + encodeURIComponent(key), { token: `Bearer ${tok}`, headers, body: context === undefined ? {} : { context } });

  it('evaluates boolean flags: value, variant on/off, reason, metadata', async () => {
    const on = await evalOne('bool.on');
    expect(on.status).toBe(200);
    expect(on.headers['content-type']).toMatch(/^application\/json/);
    expect(on.body).toEqual({
      key: 'bool.on',
      value: true,
      reason: 'STATIC',
      variant: 'on',
      metadata: { enabled: true, project: 'default', flagSetId: 'development', version: expect.stringMatching(/^\d+$/) },
    });
    expect((await evalOne('bool.off')).body).toMatchObject({ key: 'bool.off', value: false, reason: 'DISABLED', variant: 'off', metadata: { enabled: false } });
    expect((await evalOne('bool.u1', { targetingKey: 'u2' })).body).toMatchObject({ value: false, reason: 'DEFAULT', variant: 'off' });
    expect((await evalOne('bool.u1', { targetingKey: 'u1' })).body).toMatchObject({ value: true, reason: 'TARGETING_MATCH', variant: 'on' });
    expect((await evalOne('bool.pro', { targetingKey: 'x', plan: 'pro' })).body.value).toBe(true);
    expect((await evalOne('bool.pro', { targetingKey: 'x', properties: { plan: 'pro' } })).body.value).toBe(true);
    expect((await evalOne('bool.pro', { targetingKey: 'x', plan: 'free' })).body.value).toBe(false);
  });

  it('answers variant payloads typed by payload type', async () => {
    expect((await evalOne('str.flag', { targetingKey: 'u9' })).body).toMatchObject({ key: 'str.flag', value: 'hello', variant: 'green', reason: 'STATIC', metadata: { enabled: true } });
    expect((await evalOne('num.flag')).body).toMatchObject({ value: 42.5, variant: 'big' });
    expect((await evalOne('json.flag')).body).toMatchObject({ value: { color: '#00f', sizes: [1, 2] }, variant: 'blue' });
    expect((await evalOne('name.flag')).body).toMatchObject({ value: 'plain', variant: 'plain' });
    const split = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((u) => evalOne('split.flag', { targetingKey: u })));
    expect(new Set(split.map((r) => r.body.reason))).toEqual(new Set(['SPLIT']));
    expect(new Set(split.map((r) => r.body.value))).toEqual(new Set(['r', 'b']));
    for (const r of split) expect(r.body.value).toBe(r.body.variant === 'red' ? 'r' : 'b');
    expect((await evalOne('override.flag', { targetingKey: 'u1' })).body).toMatchObject({ value: 'gold', variant: 'vip', reason: 'TARGETING_MATCH' });
    expect((await evalOne('override.flag', { targetingKey: 'u2' })).body).toMatchObject({ value: 'basic', variant: 'std' });
  });

  it('leaves the value out (code default) when a variant flag has no variant for the context', async () => {
    const off = await evalOne('variant.off');
    expect(off.status).toBe(200);
    expect(off.body).toEqual({ key: 'variant.off', reason: 'DISABLED', variant: 'disabled', metadata: expect.objectContaining({ enabled: false }) });
    expect((await evalOne('strategy.variants', { targetingKey: 'u1' })).body).toMatchObject({ value: 'B', variant: 'beta', reason: 'TARGETING_MATCH' });
    const onNoVariant = await evalOne('strategy.variants', { targetingKey: 'u2' });
    expect(onNoVariant.body).toEqual({ key: 'strategy.variants', reason: 'DEFAULT', variant: 'disabled', metadata: expect.objectContaining({ enabled: true }) });
    expect((await evalOne('strategy.variants', { targetingKey: 'u3' })).body).toMatchObject({ reason: 'DEFAULT', variant: 'disabled', metadata: { enabled: false } });
  });

  it('defaults remoteAddress to the caller for frontend tokens only', async () => {
    expect((await evalOne('bool.ip', {}, frontend)).body.value).toBe(true);
    expect((await evalOne('bool.ip', {}, backend)).body.value).toBe(false);
    expect((await evalOne('bool.ip', { remoteAddress: '127.0.0.1' }, backend)).body.value).toBe(true);
  });

  it('answers the protocol error bodies', async () => {
    const missing = await evalOne('no.such.flag');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({ key: 'no.such.flag', errorCode: 'FLAG_NOT_FOUND', errorDetails: expect.stringContaining('no.such.flag'), status: 404 });
    expect((await evalOne('archived.flag')).body).toMatchObject({ key: 'archived.flag', errorCode: 'FLAG_NOT_FOUND' });

    const malformed = await t.app.inject({ method: 'POST', url: SINGLE + 'bool.on', headers: { authorization: backend, 'content-type': 'application/json' }, payload: '{"context": ' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ key: 'bool.on', errorCode: 'PARSE_ERROR', errorDetails: expect.stringContaining('not valid JSON') });

    for (const context of [[1], 'user-1', 7]) {
      const res = await evalOne('bool.on', context);
      expect(res.status, JSON.stringify(context)).toBe(400);
      expect(res.body).toMatchObject({ key: 'bool.on', errorCode: 'INVALID_CONTEXT' });
    }
    expect((await evalOne('bool.on', { targetingKey: { id: 1 } })).body).toMatchObject({ errorCode: 'INVALID_CONTEXT', errorDetails: expect.stringContaining('targetingKey') });
    const arrayBody = await request(t, 'POST', SINGLE + 'bool.on', { token: backend, body: [1, 2] });
    expect(arrayBody.body).toMatchObject({ key: 'bool.on', errorCode: 'PARSE_ERROR' });

    const badPayload = await evalOne('bad.number');
    expect(badPayload.status).toBe(400);
    expect(badPayload.body).toMatchObject({ key: 'bad.number', errorCode: 'PARSE_ERROR', errorDetails: expect.stringContaining('not a number') });
  });

  it('accepts an empty body and any content type', async () => {
    const empty = await t.app.inject({ method: 'POST', url: SINGLE + 'bool.on', headers: { authorization: backend } });
    expect(empty.statusCode).toBe(200);
    expect(empty.json().value).toBe(true);
    const emptyJson = await t.app.inject({ method: 'POST', url: SINGLE + 'bool.on', headers: { authorization: backend, 'content-type': 'application/json' }, payload: '' });
    expect(emptyJson.statusCode).toBe(200);
    const text = await t.app.inject({
      method: 'POST',
      url: SINGLE + 'bool.u1',
      headers: { authorization: backend, 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify({ context: { targetingKey: 'u1' } }),
    });
    expect(text.json()).toMatchObject({ value: true });
  });

  it('authenticates with Bearer, raw Authorization or X-API-Key; frontend and backend tokens only', async () => {
    const send = (headers: Record<string, string>) => t.app.inject({ method: 'POST', url: SINGLE + 'bool.on', headers: { 'content-type': 'application/json', ...headers }, payload: '{}' });
    for (const headers of [{ authorization: `Bearer ${frontend}` }, { authorization: backend }, { 'x-api-key': frontend }, { 'x-api-key': backend }] as Record<string, string>[]) {
      expect((await send(headers)).statusCode, JSON.stringify(Object.keys(headers))).toBe(200);
    }
    const none = await send({});
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toMatch(/problem\+json/);
    expect((await send({ authorization: 'Bearer nope' })).statusCode).toBe(401);
    const admin = await send({ authorization: 'Bearer test-admin-token' });
    expect(admin.statusCode).toBe(403);
    expect(admin.json().detail).toMatch(/frontend or backend/);
    const bulkAdmin = await t.app.inject({ method: 'POST', url: BULK, headers: { 'x-api-key': 'test-admin-token' }, payload: '{}' });
    expect(bulkAdmin.statusCode).toBe(403);
  });

  it('scopes to the token environment and projects', async () => {
    expect((await evalOne('alpha.flag', {}, alphaOnly)).body).toMatchObject({ value: true, metadata: { project: 'alpha' } });
    expect((await evalOne('bool.on', {}, alphaOnly)).status).toBe(404);
    // flags exist in every environment; where not configured they are off
    expect((await evalOne('bool.on', {}, prodFrontend)).body).toMatchObject({ value: false, reason: 'DISABLED' });
    const prod = await evalOne('no.such.flag', {}, prodFrontend);
    expect(prod.status).toBe(404);
    expect(prod.body.errorDetails).toContain('production');
    const bulk = await request(t, 'POST', BULK, { token: alphaOnly, body: {} });
    expect(bulk.body.flags.map((f: any) => f.key)).toEqual(['alpha.flag']);
  });

  it('bulk-evaluates every flag with metadata and an event stream', async () => {
    const res = await request(t, 'POST', BULK, { token: `Bearer ${frontend}`, body: { context: { targetingKey: 'u1', plan: 'pro' } } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const byKey = Object.fromEntries(res.body.flags.map((f: any) => [f.key, f]));
    expect(Object.keys(byKey)).toEqual([
      'alpha.flag', 'bad.number', 'bool.ip', 'bool.off', 'bool.on', 'bool.pro', 'bool.u1', 'json.flag', 'name.flag', 'num.flag',
      'override.flag', 'split.flag', 'str.flag', 'strategy.variants', 'variant.off',
    ]);
    expect(byKey['bool.on']).toEqual({ key: 'bool.on', value: true, reason: 'STATIC', variant: 'on', metadata: { enabled: true, project: 'default' } });
    expect(byKey['bool.off']).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off' });
    expect(byKey['bool.u1']).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(byKey['bool.pro'].value).toBe(true);
    expect(byKey['json.flag'].value).toEqual({ color: '#00f', sizes: [1, 2] });
    expect(byKey['num.flag'].value).toBe(42.5);
    expect(byKey['override.flag']).toMatchObject({ value: 'gold', variant: 'vip' });
    expect(byKey['variant.off']).not.toHaveProperty('value');
    expect(byKey['bad.number']).toMatchObject({ key: 'bad.number', errorCode: 'PARSE_ERROR' });
    expect(res.body.metadata).toEqual({ flagSetId: 'development' });
    expect(res.body.eventStreams).toHaveLength(1);
    const stream = res.body.eventStreams[0];
    expect(stream).toMatchObject({ type: 'sse', inactivityDelaySec: 120 });
    expect(stream.url).toMatch(/^http:\/\/localhost(:80)?\/ofrep\/v1\/events\?ticket=/);
    expect(stream.url).not.toContain(frontend.split('.').pop());
    const behindProxy = await request(t, 'POST', BULK, { token: frontend, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'flags.example.com' }, body: {} });
    expect(behindProxy.body.eventStreams[0].url).toMatch(/^https:\/\/flags\.example\.com\/ofrep\/v1\/events\?ticket=/);
  });

  it('answers 304 for an unchanged result; the ETag follows the context and the flag set', async () => {
    const bulk = (context: object, headers: Record<string, string> = {}, query = '') => request(t, 'POST', BULK + query, { token: frontend, headers, body: { context } });
    const first = await bulk({ targetingKey: 'u1' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(first.headers['cache-control']).toBe('no-cache');
    const again = await bulk({ targetingKey: 'u1' }, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.etag).toBe(etag);
    expect(again.raw.body).toBe('');
    expect((await bulk({ targetingKey: 'u1' }, { 'if-none-match': `W/${etag}` })).status).toBe(304);
    expect((await bulk({ targetingKey: 'u1' }, { 'if-none-match': `"other", ${etag}` })).status).toBe(304);
    // another context sees other values
    const other = await bulk({ targetingKey: 'u2' }, { 'if-none-match': etag });
    expect(other.status).toBe(200);
    expect(other.headers.etag).not.toBe(etag);
    // a change elsewhere (another environment) does not change what this context sees
    await createEnvironment(t, 'staging-ofrep');
    expect((await bulk({ targetingKey: 'u1' }, { 'if-none-match': etag })).status).toBe(304);
    // flagConfigEtag from a refetchEvaluation event is accepted
    expect((await bulk({ targetingKey: 'u1' }, { 'if-none-match': etag }, '?flagConfigEtag=%221%22&flagConfigLastModified=1771622898')).status).toBe(304);
    // a change to a flag the context sees: new ETag, new value
    await setEnabled(t, 'bool.off', 'development', true);
    const changed = await bulk({ targetingKey: 'u1' }, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(changed.body.flags.find((f: any) => f.key === 'bool.off')).toMatchObject({ value: true, variant: 'on' });
    await setEnabled(t, 'bool.off', 'development', false);
    expect((await bulk({ targetingKey: 'u1' }, { 'if-none-match': etag })).status).toBe(304);
  });

  it('answers bulk errors without a key', async () => {
    const malformed = await t.app.inject({ method: 'POST', url: BULK, headers: { authorization: frontend, 'content-type': 'application/json' }, payload: 'nope' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ errorCode: 'PARSE_ERROR', status: 400 });
    expect(malformed.json()).not.toHaveProperty('key');
    const invalid = await request(t, 'POST', BULK, { token: frontend, body: { context: ['x'] } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    const tooBig = await t.app.inject({
      method: 'POST',
      url: BULK,
      headers: { authorization: frontend, 'content-type': 'application/json' },
      payload: JSON.stringify({ context: { blob: 'x'.repeat(1024 * 1024 + 10) } }),
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toMatchObject({ errorCode: 'GENERAL' });
  });

  it('answers CORS preflights and sets CORS headers', async () => {
    for (const url of [BULK, SINGLE + 'bool.on']) {
      const pre = await t.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, if-none-match, x-api-key' },
      });
      expect(pre.statusCode, url).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('*');
      const allowed = String(pre.headers['access-control-allow-headers']).toLowerCase();
      for (const h of ['authorization', 'content-type', 'if-none-match', 'x-api-key']) expect(allowed).toContain(h);
    }
    const res = await request(t, 'POST', BULK, { token: frontend, headers: { origin: 'https://app.example' }, body: {} });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(String(res.headers['access-control-expose-headers'])).toMatch(/etag/i);
    const denied = await request(t, 'POST', BULK, { token: 'nope', headers: { origin: 'https://app.example' }, body: {} });
    expect(denied.headers['access-control-allow-origin']).toBe('*');
  });

  it('lists OFREP in the OpenAPI document', async () => {
    const doc = (await request(t, 'GET', '/docs/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/ofrep/v1/evaluate/flags/{key}', '/ofrep/v1/evaluate/flags', '/ofrep/v1/events']));
  });

  describe('event stream', () => {
    let base: string;
    const sources: EventSource[] = [];
    beforeAll(async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const addr = t.app.server.address() as { port: number };
      base = `http://127.0.0.1:${addr.port}`;
    });
    afterAll(() => {
      for (const s of sources) s.close();
    });

    const bulkAt = async (tok: string) => {
      const res = await fetch(base + BULK, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: '{"context":{}}' });
      return (await res.json()) as any;
    };

    /** Opens the stream, collecting parsed `message` events. */
    const open = (url: string, init?: { headers?: Record<string, string> }) => {
      const events: Array<{ id: string; data: any }> = [];
      const es = new EventSource(url, init?.headers ? { fetch: (u, i) => fetch(u, { ...i, headers: { ...i?.headers, ...init.headers } }) } : undefined);
      sources.push(es);
      es.addEventListener('message', (e) => events.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
      const opened = new Promise<void>((resolve, reject) => {
        es.addEventListener('open', () => resolve(), { once: true });
        es.addEventListener('error', (e) => reject(new Error(`stream error ${(e as any).code ?? ''} ${(e as any).message ?? ''}`)), { once: true });
      });
      return { es, events, opened };
    };

    const until = async (what: () => boolean, ms = 5000) => {
      const deadline = Date.now() + ms;
      while (!what()) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    it('sends refetchEvaluation on connect and on every change the token sees', async () => {
      const bulk = await bulkAt(frontend);
      const url: string = bulk.eventStreams[0].url.replace(/^http:\/\/[^/]+/, base);
      const { events, opened } = open(url);
      await opened;
      await until(() => events.length === 1);
      const revision = Number(events[0].id);
      expect(events[0].data).toMatchObject({ type: 'refetchEvaluation', etag: `"${revision}"`, lastModified: expect.any(Number) });

      await setEnabled(t, 'bool.off', 'development', true);
      await until(() => events.length === 2);
      expect(Number(events[1].id)).toBeGreaterThan(revision);
      expect(events[1].data).toMatchObject({ type: 'refetchEvaluation', etag: `"${events[1].id}"` });

      // changes in another environment send nothing
      await createEnvironment(t, 'qa-ofrep');
      await new Promise((r) => setTimeout(r, 100));
      expect(events).toHaveLength(2);
      await setEnabled(t, 'bool.off', 'development', false);
      await until(() => events.length === 3);
      expect(events.map((e) => e.data.type)).toEqual(['refetchEvaluation', 'refetchEvaluation', 'refetchEvaluation']);
    });

    it('sends nothing on connect when Last-Event-ID is current, and nothing for other projects', async () => {
      const bulk = await bulkAt(alphaOnly);
      const url: string = bulk.eventStreams[0].url.replace(/^http:\/\/[^/]+/, base);
      const revision = await t.services.storage.db.selectFrom('environments').select('revision').where('name', '=', 'development').executeTakeFirstOrThrow();
      const { events, opened } = open(url, { headers: { 'last-event-id': String(revision.revision) } });
      await opened;
      await setEnabled(t, 'bool.on', 'development', false); // default project: not visible to the alpha token
      await setEnabled(t, 'alpha.flag', 'development', false);
      await until(() => events.length === 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(events).toHaveLength(1);
      await setEnabled(t, 'bool.on', 'development', true);
      await setEnabled(t, 'alpha.flag', 'development', true);
    });

    it('authenticates with the ticket or a token header; refuses bad tickets, admin tokens and deleted tokens', async () => {
      const res = (url: string, headers: Record<string, string> = {}) => fetch(base + url, { headers: { accept: 'text/event-stream', ...headers } });
      const noAuth = await res('/ofrep/v1/events');
      expect(noAuth.status).toBe(401);
      expect(noAuth.headers.get('content-type')).toMatch(/problem\+json/);
      expect((await res('/ofrep/v1/events?ticket=abc.def')).status).toBe(401);
      expect((await res('/ofrep/v1/events', { authorization: 'Bearer test-admin-token' })).status).toBe(403);
      const header = await res('/ofrep/v1/events', { 'x-api-key': backend });
      expect(header.status).toBe(200);
      expect(header.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(header.headers.get('access-control-allow-origin')).toBe('*');
      await header.body?.cancel();

      const { secret, token: view } = await t.services.tokens.create('test', { type: 'frontend', environment: 'development' });
      const url: string = (await bulkAt(secret)).eventStreams[0].url.replace(/^http:\/\/[^/]+/, base);
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      await ok.body?.cancel();
      const forged = url.replace(/ticket=([^.]+)\.(.)/, (_m, id, c) => `ticket=${id}.${c === 'A' ? 'B' : 'A'}`);
      expect((await fetch(forged)).status).toBe(401);
      const row = await t.services.storage.db.selectFrom('api_tokens').select(['id', 'secret_hash']).where('id', '=', view.id).executeTakeFirstOrThrow();
      expect(url).toContain(encodeURIComponent(streamTicket(row.id, row.secret_hash)));
      await t.services.tokens.delete('test', view.id);
      expect((await fetch(url)).status).toBe(401);
    });
  });
});
