import { StringDecoder } from 'node:string_decoder';

/** One server-sent event as read from an upstream. */
export interface SseEvent {
  /** The `event:` field, when present. */
  event?: string;
  /** The `data:` lines joined with "\n"; "" for a comment-only or empty block. */
  data: string;
  /** The event block exactly as received, blank-line terminator included (for pass-through). */
  raw: string;
}

/**
 * Incremental SSE parser: feed it bytes as they arrive, it returns every event completed so far.
 * Handles \n, \r\n and \r line ends, multi-line data and events split across chunks anywhere
 * (including inside a multi-byte UTF-8 character).
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';

  push(chunk: Buffer | string): SseEvent[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    return this.drain();
  }

  /** The stream ended: returns a last event that had no blank line after it, if any. */
  end(): SseEvent[] {
    this.buf += this.decoder.end();
    const out = this.drain();
    if (this.buf.trim() !== '') {
      const ev = parseBlock(this.buf, this.buf + '\n\n');
      this.buf = '';
      if (ev) out.push(ev);
    }
    this.buf = '';
    return out;
  }

  /** Bytes received but not yet part of a complete event. */
  get pending(): string {
    return this.buf;
  }

  private drain(): SseEvent[] {
    const out: SseEvent[] = [];
    for (;;) {
      const b = findBoundary(this.buf);
      if (!b) break;
      const block = this.buf.slice(0, b.start);
      const raw = this.buf.slice(0, b.end);
      this.buf = this.buf.slice(b.end);
      const ev = parseBlock(block, raw);
      if (ev) out.push(ev);
    }
    return out;
  }
}

/** Finds the first blank line (end of an event block). */
function findBoundary(s: string): { start: number; end: number } | null {
  // Fast path: "\n\n" is by far the most common terminator.
  const lf = s.indexOf('\n\n');
  if (s.indexOf('\r') === -1) return lf === -1 ? null : { start: lf, end: lf + 2 };
  const m = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(s);
  return m ? { start: m.index, end: m.index + m[0].length } : null;
}

function parseBlock(block: string, raw: string): SseEvent | null {
  let event: string | undefined;
  let data: string[] | undefined;
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === '' || line.charCodeAt(0) === 58 /* ':' comment */) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') (data ??= []).push(value);
    else if (field === 'event') event = value;
  }
  if (event === undefined && data === undefined) {
    // comment-only block (keep-alive): still report it so callers can see liveness
    return { data: '', raw };
  }
  return { event, data: data ? data.join('\n') : '', raw };
}

/** Serialises one event the way both Anthropic and OpenAI streams do. */
export function sseFrame(data: string, event?: string): string {
  return event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
}
