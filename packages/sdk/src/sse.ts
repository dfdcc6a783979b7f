/**
 * A streaming Server-Sent Events parser (the WHATWG `text/event-stream` rules): bytes arrive in
 * chunks of any size — a chunk may end inside a UTF-8 sequence, inside a line, or between the
 * `\r` and `\n` of a line break — and events come out whole. Comments (`: heartbeat`) and
 * `retry:` are reported separately; `id:` sets the last event id that `Last-Event-ID` resumes from.
 */
export interface SseMessage {
  /** The `event:` field, `message` when absent. */
  event: string;
  data: string;
  /** The last event id at the time of dispatch (`''` when none was ever sent). */
  id: string;
}

export interface SseHandlers {
  onEvent(message: SseMessage): void;
  onComment?(comment: string): void;
  onRetry?(ms: number): void;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private afterCR = false;
  private started = false;
  private data: string[] | null = null;
  private eventType = '';
  private lastId = '';

  constructor(private readonly handlers: SseHandlers) {}

  /** The id of the last event seen (`id:` field), `''` when none. */
  get lastEventId(): string {
    return this.lastId;
  }

  /** Whether part of an event has been received but not dispatched (a truncated event at end of stream). */
  get pending(): boolean {
    return this.buffer.length > 0 || this.data !== null || this.eventType !== '';
  }

  /** Feeds raw bytes (decoded as a UTF-8 stream) or already decoded text. Handler exceptions propagate. */
  feed(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text.length === 0) return;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let pos = 0;
    if (this.afterCR) {
      this.afterCR = false;
      if (text.charCodeAt(0) === 10) pos = 1;
    }
    const n = text.length;
    while (pos < n) {
      let i = pos;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 10 || c === 13) break;
        i++;
      }
      if (i === n) {
        this.buffer += text.slice(pos);
        return;
      }
      const line = this.buffer.length ? this.buffer + text.slice(pos, i) : text.slice(pos, i);
      this.buffer = '';
      if (text.charCodeAt(i) === 13) {
        if (i + 1 < n) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.afterCR = true;
        }
      }
      pos = i + 1;
      this.line(line);
    }
  }

  /** Flushes the decoder at end of stream. Returns true when the stream ended inside an event. */
  end(): boolean {
    const rest = this.decoder.decode();
    if (rest) this.buffer += rest;
    return this.pending;
  }

  private line(line: string): void {
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.handlers.onComment?.(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        (this.data ??= []).push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const data = this.data;
    const event = this.eventType || 'message';
    this.data = null;
    this.eventType = '';
    if (data === null) return;
    this.handlers.onEvent({ event, data: data.join('\n'), id: this.lastId });
  }
}
