import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { EventView } from '../service.js';
import type { PublicConfig, SecretConfig } from './config.js';
import type { SinkType } from './tables.js';
import { plain, RELEASE_END, RELEASE_START, severity, slack, summarize, title } from './summary.js';

/**
 * One attempt to deliver one event to one sink: builds the request for the sink's kind, sends it
 * with a timeout, and says what happened. Never called inside a database transaction.
 */

export interface LoadedSink {
  id: string;
  project: string;
  name: string;
  type: SinkType;
  config: PublicConfig;
  secrets: SecretConfig;
}

export interface Attempt {
  deliveryId: number;
  event: EventView;
  sink: LoadedSink;
  /** A test delivery (`POST …/sinks/:id/test`): no rollout bookkeeping. */
  test: boolean;
  timeoutMs: number;
  /** Aborted when the server stops. */
  signal: AbortSignal;
  db: Kysely<Database>;
}

/** A failed attempt; `permanent` ones are not retried (a 4xx other than 408/425/429, a redirect). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Not yet: something this delivery needs is still queued (a Grafana rollout region's start). Not an attempt. */
export class Deferred extends Error {
  constructor(readonly ms: number) {
    super('deferred');
  }
}

/** The server is stopping: the attempt is put back, uncounted. */
export class Aborted extends Error {}

export const USER_AGENT = 'Switchyard-Notifications/0.1';

export async function send(a: Attempt): Promise<string> {
  switch (a.sink.type) {
    case 'webhook':
      return webhook(a);
    case 'slack':
      return slackMessage(a);
    case 'grafana':
      return grafana(a);
    case 'datadog':
      return datadog(a);
  }
}

// ---- generic webhook -------------------------------------------------------------------------

export interface WebhookBody {
  deliveryId: number;
  type: string;
  summary: string;
  test: boolean;
  sink: { id: string; name: string; project: string };
  event: EventView;
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret's UTF-8 bytes>`. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

async function webhook(a: Attempt): Promise<string> {
  const body = JSON.stringify({
    deliveryId: a.deliveryId,
    type: a.event.type,
    summary: summarize(a.event, plain),
    test: a.test,
    sink: { id: a.sink.id, name: a.sink.name, project: a.sink.project },
    event: a.event,
  } satisfies WebhookBody);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await request(a, a.sink.config.url!, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-switchyard-event': a.event.type,
      'x-switchyard-delivery': String(a.deliveryId),
      'x-switchyard-timestamp': timestamp,
      'x-switchyard-signature': signature(a.sink.secrets.secret ?? '', timestamp, body),
    },
    body,
  });
  return `HTTP ${res.status}`;
}

// ---- Slack incoming webhook --------------------------------------------------------------------

const ICONS: Record<string, string> = { error: ':rotating_light: ', warning: ':double_vertical_bar: ', success: ':white_check_mark: ', info: '' };

export function slackBody(e: EventView): { text: string; blocks: unknown[] } {
  const line = `${ICONS[severity(e)]}${summarize(e, slack)}`;
  const context = [
    'Switchyard',
    e.project ? `project ${slack.text(e.project)}` : null,
    e.environment ? `environment ${slack.text(e.environment)}` : null,
    `\`${slack.text(e.type)}\``,
    `<!date^${Math.floor(Date.parse(e.createdAt) / 1000)}^{date_short_pretty} {time_secs}|${e.createdAt}>`,
  ].filter(Boolean);
  return {
    text: line,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: line } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] },
    ],
  };
}

async function slackMessage(a: Attempt): Promise<string> {
  const res = await request(a, a.sink.secrets.url!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify(slackBody(a.event)),
  });
  return `HTTP ${res.status}`;
}

// ---- Grafana annotations -----------------------------------------------------------------------

export function eventTags(e: EventView, extra: string[] = []): string[] {
  return [
    'switchyard',
    ...(e.project ? [`project:${e.project}`] : []),
    ...(e.environment ? [`environment:${e.environment}`] : []),
    ...(e.flag ? [`flag:${e.flag}`] : []),
    `event:${e.type}`,
    ...extra,
  ];
}

async function grafana(a: Attempt): Promise<string> {
  const { config, secrets } = a.sink;
  const base = config.url!.replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${secrets.apiKey}`, 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT };
  const e = a.event;
  const at = Date.parse(e.createdAt);
  const placement = { ...(config.dashboardUid ? { dashboardUID: config.dashboardUid } : {}), ...(config.panelId !== undefined ? { panelId: config.panelId } : {}) };
  const tags = eventTags(e, config.tags);
  const text = summarize(e, plain);
  const create = async (body: Record<string, unknown>): Promise<number> => {
    const res = await request(a, `${base}/api/annotations`, { method: 'POST', headers, body: JSON.stringify({ ...body, ...placement }) });
    const id = Number((parseJson(res.body) as { id?: unknown })?.id);
    if (!Number.isFinite(id)) throw new DeliveryError(`Grafana answered HTTP ${res.status} without an annotation id`);
    return id;
  };
  const db = a.db;
  const notes = () => db.selectFrom('sink_annotations').selectAll().where('sink_id', '=', a.sink.id);
  const remember = async (key: string, annotationId: number, endedAt: string | null) => {
    await db
      .insertInto('sink_annotations')
      .values({ sink_id: a.sink.id, key, annotation_id: annotationId, delivery_id: a.deliveryId, created_at: new Date().toISOString(), ended_at: endedAt })
      .onConflict((oc) =>
        oc.columns(['sink_id', 'key']).doUpdateSet({ annotation_id: annotationId, delivery_id: a.deliveryId, created_at: new Date().toISOString(), ended_at: endedAt }),
      )
      .execute();
  };

  const rollout = !a.test && e.flag && e.environment ? `region:${e.environment}/${e.flag}` : null;

  // A rollout: a region from its start to its end. Created (as a point) at the start, PATCHed with timeEnd at the end.
  if (rollout && RELEASE_START.has(e.type)) {
    const open = await notes().where('key', '=', rollout).executeTakeFirst();
    if (open?.delivery_id === a.deliveryId) return 'region already created';
    const id = await create({ time: at, tags: [...tags, 'rollout'], text: `Rollout: ${text}` });
    await remember(rollout, id, null);
    return `region ${id} opened`;
  }

  let note = '';
  if (rollout && RELEASE_END.has(e.type)) {
    const region = await notes().where('key', '=', rollout).executeTakeFirst();
    if (region && region.ended_at === null) {
      await request(a, `${base}/api/annotations/${region.annotation_id}`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({ timeEnd: at, text: `Rollout: ${text}`, tags: [...tags, 'rollout'] }),
      });
      await db.updateTable('sink_annotations').set({ ended_at: e.createdAt }).where('sink_id', '=', a.sink.id).where('key', '=', rollout).execute();
      note = `region ${region.annotation_id} closed; `;
    } else if (!region) {
      if (await startQueued(a, e)) throw new Deferred(2_000);
      // The start was never delivered (it failed for good): draw the region now if the event says when it began.
      const started = startedAt(e);
      if (started !== undefined && started < at) {
        const id = await create({ time: started, timeEnd: at, tags: [...tags, 'rollout'], text: `Rollout: ${text}` });
        await remember(rollout, id, e.createdAt);
        note = `region ${id} drawn; `;
      }
    }
  }

  // A point for each decision and each flag change (once, even when the delivery is retried).
  const pointKey = `point:${a.deliveryId}`;
  if (!a.test && (await notes().where('key', '=', pointKey).executeTakeFirst())) return `${note}point already created`;
  const id = await create({ time: at, tags, text });
  if (!a.test) await remember(pointKey, id, null);
  return `${note}point ${id}`;
}

/** Whether a start of the same rollout is still queued for this sink (then the end waits for it). */
async function startQueued(a: Attempt, e: EventView): Promise<boolean> {
  const rows = await a.db
    .selectFrom('deliveries')
    .select('payload')
    .where('sink_id', '=', a.sink.id)
    .where('id', '<', a.deliveryId)
    .where('status', 'in', ['pending', 'sending'])
    .execute();
  return rows.some((r) => {
    const p = parseJson(r.payload) as EventView | undefined;
    return !!p && RELEASE_START.has(p.type) && p.flag === e.flag && p.environment === e.environment;
  });
}

function startedAt(e: EventView): number | undefined {
  const v = (e.after as { startedAt?: unknown } | null)?.startedAt;
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

// ---- Datadog events ----------------------------------------------------------------------------

export function datadogBody(e: EventView, extraTags: string[] = []) {
  const lines = [summarize(e, plain), '', `Event: ${e.type}`, `Actor: ${e.actor}`];
  if (e.project) lines.push(`Project: ${e.project}`);
  if (e.environment) lines.push(`Environment: ${e.environment}`);
  if (e.flag) lines.push(`Flag: ${e.flag}`);
  const text = lines.join('\n');
  return {
    title: title(e),
    text: text.length > 4000 ? `${text.slice(0, 3999)}…` : text,
    tags: eventTags(e, extraTags).map((t) => (t.startsWith('environment:') ? `env:${t.slice(12)}` : t)),
    alert_type: severity(e),
    source_type_name: 'switchyard',
    date_happened: Math.floor(Date.parse(e.createdAt) / 1000),
    ...(e.flag ? { aggregation_key: `switchyard:${e.project ?? ''}:${e.flag}` } : {}),
  };
}

async function datadog(a: Attempt): Promise<string> {
  const site = a.sink.config.site!.replace(/\/+$/, '');
  const res = await request(a, `${site}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT, 'dd-api-key': a.sink.secrets.apiKey! },
    body: JSON.stringify(datadogBody(a.event, a.sink.config.tags)),
  });
  return `HTTP ${res.status}`;
}

// ---- HTTP ----------------------------------------------------------------------------------------

const MAX_BODY = 4096;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

async function readSome(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
}

/**
 * Sends one request with the attempt's timeout. 2xx → the response; anything else → DeliveryError
 * whose message names the status (or the network failure) but never the URL (a Slack URL is a secret).
 */
async function request(a: Attempt, url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  const host = new URL(url).host;
  const signal = AbortSignal.any([a.signal, AbortSignal.timeout(a.timeoutMs)]);
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { ...init, redirect: 'manual', signal });
    body = await readSome(res);
  } catch (err) {
    if (a.signal.aborted) throw new Aborted('server stopping');
    if (signal.aborted) throw new DeliveryError(`${init.method} to ${host}: no response within ${a.timeoutMs / 1000} s`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DeliveryError(`${init.method} to ${host} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body };
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 300);
  const message = `${init.method} to ${host}: HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`;
  if (res.status >= 300 && res.status < 400) throw new DeliveryError(`${message} (redirects are not followed; configure the final URL)`, true);
  const permanent = res.status >= 400 && res.status < 500 && ![408, 425, 429].includes(res.status);
  throw new DeliveryError(message, permanent, retryAfter(res.headers.get('retry-after')));
}
