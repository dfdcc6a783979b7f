import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { Services } from '../services.js';
import type { RevisionChange } from '../events/changes.js';
import { flagSetCache } from '../client-api/cache.js';
import { deltaService } from '../client-api/delta.js';
import type { ProjectScope } from '../client-api/payload.js';
import { scopeKey } from '../client-api/cache.js';
import { sendProblem } from '../http/problem.js';

/**
 * What a stream shows one subscriber at one moment.
 *
 * - `state` names the data the subscriber holds after `frames` (for flag streams: the delta
 *   API's ETag of the flag set). Subscribers of a channel in the same state share one
 *   `update()` call and the very same `frames` Buffer per revision.
 * - `revision` is the environment revision that state was read at.
 * - `frames` are ready-to-write SSE bytes (see {@link sseFrame}), one Buffer or several written
 *   in order; `null` writes nothing. Hand out the same Buffer objects to every subscriber that
 *   should get the same bytes: the hub frames each Buffer for the wire once.
 */
export interface StreamUpdate {
  state: string;
  revision: number;
  frames: Buffer | Buffer[] | null;
}

export interface SubscribeOptions {
  /** The environment whose `revision` events drive this stream. */
  environment: string;
  /**
   * The channel within the environment, e.g. `ofrep\0<scopeKey>`: every subscriber with the same
   * environment and channel must pass an equivalent `update` (the hub calls one of them per state).
   */
  channel: string;
  /** Metrics label (`unleash`, `frontend`, `ofrep`, …). */
  kind: string;
  /**
   * This subscriber's first frames (hydration, or what changed since `Last-Event-ID`), called once
   * when it connects. `lastEventId` is the `Last-Event-ID` header, if any.
   */
  initial(lastEventId: string | undefined): Promise<StreamUpdate>;
  /**
   * Called at most once per channel, state and revision after the environment's revision moves:
   * what to send to subscribers holding `fromState`. Return `state === fromState` (and no frames)
   * when nothing they see changed.
   */
  update(fromState: string): Promise<StreamUpdate>;
  /** Extra response headers (CORS for browser streams, say). */
  headers?: Record<string, string>;
}

export interface HubOptions {
  /** Most concurrent streams on this server; more answer 429 (default 10,000; env SWITCHYARD_MAX_STREAMS). */
  maxStreams: number;
  /** Interval of the `:` comment that keeps proxies and SDK read timeouts happy (default 15 s). */
  heartbeatMs: number;
  /**
   * A subscriber that still has more than this many bytes unsent when its next frame (or heartbeat)
   * is due is dropped; it reconnects and re-hydrates (default 1 MiB).
   */
  maxBufferedBytes: number;
  /** Retry-After seconds on 429 (default 60). */
  retryAfterSeconds: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  maxStreams: 10_000,
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  retryAfterSeconds: 60,
};

interface Subscriber {
  res: ServerResponse;
  socket: Socket;
  /** Whether the body is in HTTP/1.1 chunked encoding (frames are then written as whole chunks). */
  chunked: boolean;
  channel: Channel;
  state: string;
  revision: number;
  kind: string;
}

interface Channel {
  environment: string;
  key: string;
  update: (fromState: string) => Promise<StreamUpdate>;
  subscribers: Set<Subscriber>;
  running: boolean;
  dirty: boolean;
}

/** One SSE message as bytes. Multi-line data becomes several `data:` lines, as the format requires. */
export function sseFrame(message: { event?: string; id?: string | number; data?: string; retry?: number; comment?: string }): Buffer {
  let out = '';
  if (message.comment !== undefined) out += `: ${message.comment.replace(/[\r\n]+/g, ' ')}\n`;
  if (message.event) out += `event: ${message.event}\n`;
  if (message.id !== undefined) out += `id: ${String(message.id).replace(/[\r\n]+/g, '')}\n`;
  if (message.retry !== undefined) out += `retry: ${Math.floor(message.retry)}\n`;
  if (message.data !== undefined) for (const line of message.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return Buffer.from(out + '\n', 'utf8');
}

const HEARTBEAT = Buffer.from(':\n\n', 'utf8');
const CRLF = Buffer.from('\r\n', 'latin1');
const OPENING = Buffer.from(': connected\n\n', 'utf8');

/**
 * The streaming hub: Server-Sent-Event connections grouped by environment and channel, pushed to
 * on every `revision` event of `services.changes` (local writes, and other replicas' writes
 * re-emitted by the replication listener).
 *
 * Usage, from a route (auth already done by an `onRequest` hook):
 *
 * ```ts
 * const hub = streamingHub(services);
 * app.get('/ofrep/v1/…/stream', { onRequest }, (request, reply) =>
 *   hub.subscribeChanges(request, reply, {
 *     environment: request.principal!.environment,
 *     scope: request.principal!.projects,
 *     kind: 'ofrep',
 *     frame: (revision) => sseFrame({ event: 'refetchEvaluation', id: revision, data: JSON.stringify({ revision }) }),
 *   }),
 * );
 * ```
 *
 * `subscribe` is the general form (own initial frames and per-state updates, used by the Unleash
 * stream for hydration + deltas); `subscribeChanges` sends `frame(revision)` whenever the flag
 * set visible to `scope` changes. Both:
 * - answer 429 problem+json with `Retry-After` when the server already holds `maxStreams` streams,
 * - otherwise take over the reply (`reply.hijack()`), write `200 text/event-stream` and the
 *   initial frames, and keep the connection until the client leaves or the server closes,
 * - write each update to every socket without waiting on any, and drop a subscriber that still
 *   has more than `maxBufferedBytes` unsent when the next frame is due (a slow client never
 *   holds others back),
 * - send a `:` comment every `heartbeatMs`.
 * Errors before the stream starts (in `initial`) are thrown to Fastify's error handler.
 */
export class StreamingHub {
  readonly options: HubOptions;
  private readonly channels = new Map<string, Channel>();
  private readonly byEnvironment = new Map<string, Set<Channel>>();
  /** Latest revision heard per environment. */
  private readonly latest = new Map<string, number>();
  private connections = 0;
  private heartbeat: NodeJS.Timeout;
  private closed = false;
  /** Where update failures go (the routes plugin points this at the server log). */
  onError: (err: unknown) => void = () => {};
  private readonly metrics: { streams: Gauge<'kind'>; dropped: Counter<'reason'>; rejected: Counter<'kind'>; pushes: Counter<'kind'> };
  private readonly onRevision = (changes: RevisionChange[]) => {
    for (const c of changes) {
      if (c.revision > (this.latest.get(c.environment) ?? -1) || !this.latest.has(c.environment)) this.latest.set(c.environment, c.revision);
      const chans = this.byEnvironment.get(c.environment);
      if (chans) for (const ch of chans) this.schedule(ch);
    }
  };

  constructor(
    private readonly services: Services,
    options: Partial<HubOptions> = {},
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    // The cache listens first, so by the time we hear a revision it already serves it.
    flagSetCache(services);
    services.changes.on('revision', this.onRevision);
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
    const registers = [services.registry];
    const streams = new Gauge({ name: 'switchyard_streams', help: 'Open SSE streams by kind.', labelNames: ['kind'] as const, registers });
    this.metrics = {
      streams,
      dropped: new Counter({ name: 'switchyard_streams_dropped_total', help: 'Streams the server closed (slow: send buffer over the bound).', labelNames: ['reason'] as const, registers }),
      rejected: new Counter({ name: 'switchyard_streams_rejected_total', help: 'Streams refused with 429 (connection limit).', labelNames: ['kind'] as const, registers }),
      pushes: new Counter({ name: 'switchyard_stream_pushes_total', help: 'Update frames written to streams.', labelNames: ['kind'] as const, registers }),
    };
  }

  /** Changes settings at run time (tests, operators); a new heartbeat interval restarts the timer. */
  configure(options: Partial<HubOptions>): void {
    Object.assign(this.options, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
    if (options.heartbeatMs !== undefined && !this.closed) {
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Open streams (including those still sending their initial frames). */
  get size(): number {
    return this.connections;
  }

  /**
   * Starts an SSE stream on this request (see the class comment). Resolves once the stream is
   * open (or refused); the stream itself lives on until either side closes it.
   */
  async subscribe(request: FastifyRequest, reply: FastifyReply, opts: SubscribeOptions): Promise<FastifyReply | void> {
    if (this.closed) return sendProblem(reply, 503, 'Service Unavailable', 'The server is shutting down; reconnect to another replica or retry shortly.');
    if (this.connections >= this.options.maxStreams) {
      this.metrics.rejected.inc({ kind: opts.kind });
      reply.header('retry-after', String(this.options.retryAfterSeconds));
      return sendProblem(
        reply,
        429,
        'Too Many Requests',
        `This server already holds ${this.options.maxStreams} streams; poll the polling API instead and retry streaming after ${this.options.retryAfterSeconds} s.`,
      );
    }
    this.connections++;
    let opened = false;
    try {
      const lastEventIdHeader = request.headers['last-event-id'];
      const lastEventId = Array.isArray(lastEventIdHeader) ? lastEventIdHeader[0] : lastEventIdHeader;
      const first = await opts.initial(lastEventId?.trim() || undefined);
      const res = reply.raw;
      const socket = res.socket;
      reply.hijack();
      if (this.closed || !socket || socket.destroyed || res.destroyed || request.raw.destroyed || res.writableEnded) {
        // The client left (or the server began closing) while `initial` was loading.
        res.destroy();
        return;
      }
      socket.setNoDelay(true);
      socket.setTimeout(0);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...opts.headers,
      });
      res.flushHeaders();
      opened = true;
      const channel = this.channel(opts);
      const chunked = (res as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding === true;
      const sub: Subscriber = { res, socket, chunked, channel, state: first.state, revision: first.revision, kind: opts.kind };
      channel.subscribers.add(sub);
      this.metrics.streams.inc({ kind: opts.kind });
      res.on('close', () => this.remove(sub));
      this.write(sub, OPENING);
      if (first.frames) this.write(sub, first.frames);
      // A revision heard while `initial` was loading: bring this subscriber up to date.
      if ((this.latest.get(opts.environment) ?? -1) > first.revision) this.schedule(channel);
    } finally {
      if (!opened) this.connections--;
    }
  }

  /**
   * A stream that sends `frame(revision)` whenever the flag set visible to `scope` in `environment`
   * changes (nothing at connect time). For change notifications: the frontend API's `changed`,
   * OFREP's `refetchEvaluation`.
   */
  subscribeChanges(
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { environment: string; scope: ProjectScope; kind: string; frame: (revision: number) => Buffer | string; headers?: Record<string, string>; channel?: string },
  ): Promise<FastifyReply | void> {
    const delta = deltaService(flagSetCache(this.services));
    const frames = new Map<number, Buffer>();
    return this.subscribe(request, reply, {
      environment: opts.environment,
      channel: opts.channel ?? `${opts.kind}\0${scopeKey(opts.scope)}`,
      kind: opts.kind,
      headers: opts.headers,
      initial: async () => {
        const doc = await delta.document(opts.environment, opts.scope, undefined, undefined);
        if ('unchanged' in doc) throw new Error('unreachable: no ETag was sent');
        return { state: doc.etag, revision: doc.revision, frames: null };
      },
      update: async (from) => {
        const doc = await delta.document(opts.environment, opts.scope, undefined, from);
        if ('unchanged' in doc) return { state: from, revision: this.latest.get(opts.environment) ?? 0, frames: null };
        let frame = frames.get(doc.revision);
        if (!frame) {
          const f = opts.frame(doc.revision);
          frame = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
          frames.clear();
          frames.set(doc.revision, frame);
        }
        return { state: doc.etag, revision: doc.revision, frames: frame };
      },
    });
  }

  /**
   * Runs the channel updates of `environment` (or of every environment) although its revision did
   * not move: for stream content that depends on more than the flag set (the metrics interval in
   * `switchyard-settings`, signals/). Channels whose `update` finds nothing new write nothing.
   */
  refresh(environment?: string): void {
    if (this.closed) return;
    for (const [env, chans] of this.byEnvironment) {
      if (environment === undefined || env === environment) for (const ch of chans) this.schedule(ch);
    }
  }

  /** Ends every stream and stops listening (graceful shutdown; clients reconnect elsewhere). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.services.changes.off('revision', this.onRevision);
    for (const ch of this.channels.values()) for (const sub of [...ch.subscribers]) sub.res.end();
  }

  private channel(opts: SubscribeOptions): Channel {
    const key = `${opts.environment}\0${opts.channel}`;
    let ch = this.channels.get(key);
    if (!ch) {
      ch = { environment: opts.environment, key, update: opts.update, subscribers: new Set(), running: false, dirty: false };
      this.channels.set(key, ch);
      let set = this.byEnvironment.get(opts.environment);
      if (!set) this.byEnvironment.set(opts.environment, (set = new Set()));
      set.add(ch);
    }
    return ch;
  }

  private remove(sub: Subscriber) {
    const ch = sub.channel;
    if (!ch.subscribers.delete(sub)) return;
    this.connections--;
    this.metrics.streams.dec({ kind: sub.kind });
    if (ch.subscribers.size === 0 && !ch.running) this.forget(ch);
  }

  private forget(ch: Channel) {
    this.channels.delete(ch.key);
    const set = this.byEnvironment.get(ch.environment);
    set?.delete(ch);
    if (set?.size === 0) this.byEnvironment.delete(ch.environment);
  }

  /** Runs the channel's updates; revisions arriving meanwhile are coalesced into one more round. */
  private schedule(ch: Channel) {
    if (ch.running) {
      ch.dirty = true;
      return;
    }
    ch.running = true;
    void (async () => {
      try {
        do {
          ch.dirty = false;
          const byState = new Map<string, Subscriber[]>();
          for (const sub of ch.subscribers) {
            const list = byState.get(sub.state);
            if (list) list.push(sub);
            else byState.set(sub.state, [sub]);
          }
          for (const [state, subs] of byState) {
            let u: StreamUpdate;
            try {
              u = await ch.update(state);
            } catch (err) {
              // The database hiccupped: leave these subscribers where they are and try again shortly.
              this.onError(err);
              setTimeout(() => this.schedule(ch), 1000).unref();
              continue;
            }
            if (u.state === state || !u.frames) {
              for (const sub of subs) if (sub.state === state) sub.state = u.state;
              continue;
            }
            let written = 0;
            for (const sub of subs) {
              if (sub.state !== state || !ch.subscribers.has(sub)) continue;
              sub.state = u.state;
              sub.revision = u.revision;
              this.write(sub, u.frames);
              written++;
            }
            this.metrics.pushes.inc({ kind: subs[0].kind }, written);
          }
        } while (ch.dirty && !this.closed);
      } finally {
        ch.running = false;
        if (ch.subscribers.size === 0) this.forget(ch);
      }
    })();
  }

  /**
   * Writes one frame straight to the socket (headers were flushed at open; after that the body is
   * ours), as one whole HTTP chunk when the response is chunked. The chunk-framed bytes are made
   * once per frame and shared by every subscriber: one write call, one syscall per socket.
   */
  private write(sub: Subscriber, data: Buffer | Buffer[]) {
    if (Array.isArray(data)) {
      for (const d of data) this.write(sub, d);
      return;
    }
    const { res, socket } = sub;
    if (res.destroyed || res.writableEnded || socket.destroyed) return;
    // Bytes still unsent from earlier frames: a client this far behind is dropped (it reconnects
    // and re-hydrates) instead of piling up memory here.
    if (socket.writableLength > this.options.maxBufferedBytes) {
      this.metrics.dropped.inc({ reason: 'slow' });
      res.destroy();
      return;
    }
    socket.write(sub.chunked ? this.chunk(data) : data);
  }

  private readonly chunks = new WeakMap<Buffer, Buffer>();
  private chunk(data: Buffer): Buffer {
    let framed = this.chunks.get(data);
    if (!framed) {
      framed = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF]);
      this.chunks.set(data, framed);
    }
    return framed;
  }

  private beat() {
    for (const ch of this.channels.values()) for (const sub of ch.subscribers) this.write(sub, HEARTBEAT);
  }
}

const hubs = new WeakMap<Services, StreamingHub>();

/** The streaming hub of one server, made on first use with `services.config`'s stream settings. */
export function streamingHub(services: Services): StreamingHub {
  let hub = hubs.get(services);
  if (!hub) {
    hub = new StreamingHub(services, {
      maxStreams: services.config.maxStreams,
      heartbeatMs: services.config.streamHeartbeatMs,
    });
    hubs.set(services, hub);
  }
  return hub;
}
