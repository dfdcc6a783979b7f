import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '@switchyard/sdk';

function parseAll(chunks: (string | Uint8Array)[]) {
  const events: SseMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const p = new SseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c), onRetry: (ms) => retries.push(ms) });
  for (const c of chunks) p.feed(c);
  const truncated = p.end();
  return { events, comments, retries, truncated, lastEventId: p.lastEventId };
}

const STREAM =
  '\uFEFF: hello\n\n' +
  'event: unleash-connected\nid: 7\ndata: {"events":[{"type":"hydration","features":[{"name":"ünïcödé-✓"}]}]}\n\n' +
  ': heartbeat\r\n\r\n' +
  'retry: 1500\r\n' +
  'event: unleash-updated\r\nid: 8\r\ndata: line one\r\ndata:line two\r\n\r\n' +
  'data: plain\r\rid\n\n' +
  'event: ignored-without-data\n\n' +
  'event: x\nid: 9\u0000bad\ndata\n\n';

const EXPECTED: SseMessage[] = [
  { event: 'unleash-connected', id: '7', data: '{"events":[{"type":"hydration","features":[{"name":"ünïcödé-✓"}]}]}' },
  { event: 'unleash-updated', id: '8', data: 'line one\nline two' },
  { event: 'message', id: '8', data: 'plain' },
  { event: 'x', id: '', data: '' },
];

describe('SseParser', () => {
  it('parses events, ids, comments, retry, CR / LF / CRLF line ends and a BOM', () => {
    const r = parseAll([STREAM]);
    expect(r.events).toEqual(EXPECTED);
    expect(r.comments).toEqual(['hello', 'heartbeat']);
    expect(r.retries).toEqual([1500]);
    expect(r.truncated).toBe(false);
  });

  it('gives the same events for every split of the text into two chunks', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const r = parseAll([STREAM.slice(0, i), STREAM.slice(i)]);
      expect(r.events, `split at ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same events for every split of the bytes (inside UTF-8 sequences too) and for one byte at a time', () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let i = 0; i <= bytes.length; i += 1) {
      const r = parseAll([bytes.slice(0, i), bytes.slice(i)]);
      expect(r.events, `byte split at ${i}`).toEqual(EXPECTED);
    }
    const single = parseAll([...bytes].map((b) => new Uint8Array([b])));
    expect(single.events).toEqual(EXPECTED);
  });

  it('gives the same events for random chunkings', () => {
    const bytes = new TextEncoder().encode(STREAM.repeat(3));
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + Math.floor(rnd() * 40);
        chunks.push(bytes.slice(i, i + n));
        i += n;
      }
      // the BOM is only stripped at the very start
      const r = parseAll(chunks);
      expect(r.events.length).toBe(12);
      expect(r.events.slice(0, 4)).toEqual(EXPECTED);
    }
  });

  it('reports an event cut off by the end of the stream as truncated, and never dispatches it', () => {
    const r = parseAll(['event: unleash-updated\nid: 3\ndata: {"events":[{"type":"feature-upd']);
    expect(r.events).toEqual([]);
    expect(r.truncated).toBe(true);
    const r2 = parseAll(['event: a\ndata: 1\n\nevent: b\ndata: 2\n']);
    expect(r2.events.map((e) => e.event)).toEqual(['a']);
    expect(r2.truncated).toBe(true);
    expect(parseAll(['data: 1\n\n']).truncated).toBe(false);
  });

  it('keeps the last event id across events and ignores ids with NUL', () => {
    const r = parseAll(['id: 1\ndata: a\n\ndata: b\n\nid: 2\u0000\ndata: c\n\n']);
    expect(r.events.map((e) => e.id)).toEqual(['1', '1', '1']);
    expect(r.lastEventId).toBe('1');
  });

  it('lets a handler exception propagate (the client drops the connection)', () => {
    const p = new SseParser({
      onEvent: () => {
        throw new Error('bad');
      },
    });
    expect(() => p.feed('data: x\n\n')).toThrow('bad');
  });
});
