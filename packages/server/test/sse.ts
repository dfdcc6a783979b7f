/** A raw Server-Sent-Events client over node:http, for tests: every event and comment is recorded. */
import http from 'node:http';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
  at: number;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  ended = false;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private current: { event?: string; id?: string; data: string[] } = { data: [] };

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly body: string,
    private readonly req: http.ClientRequest,
    private readonly res: http.IncomingMessage,
  ) {}

  /** Connects; resolves with the client once the response headers (and, for non-200, the body) are in. */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(new SseClient(res.statusCode ?? 0, res.headers, body, req, res)));
          return;
        }
        const client = new SseClient(200, res.headers, '', req, res);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        const end = () => {
          client.ended = true;
          client.wake();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        resolve(client);
      });
      req.on('error', reject);
    });
  }

  private feed(chunk: string) {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.current.data.length > 0 || this.current.event) {
          this.events.push({ event: this.current.event ?? 'message', id: this.current.id, data: this.current.data.join('\n'), at: performance.now() });
        }
        this.current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) {
        this.comments++;
        continue;
      }
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') this.current.event = value;
      else if (field === 'id') this.current.id = value;
      else if (field === 'data') this.current.data.push(value);
    }
    this.wake();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `check()` holds (re-checked on every chunk), or fails after `timeoutMs`. */
  async until<T>(check: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const v = check();
      if (v) return v;
      if (this.ended) throw new Error(`stream ended before ${what}; events: ${JSON.stringify(this.events.map((e) => e.event))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => [e.event, e.id]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The `n`-th event (0-based) once it has arrived. */
  nth(n: number, timeoutMs = 5000): Promise<SseEvent> {
    return this.until(() => this.events[n], timeoutMs, `event #${n}`);
  }

  /** Waits for the stream to end (server closed it). */
  async closedByServer(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('stream still open');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    this.res.destroy();
    this.req.destroy();
  }
}

export const json = (e: SseEvent) => JSON.parse(e.data);
