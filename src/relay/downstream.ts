import type { FastifyReply } from 'fastify';
import type { Dialect } from '../protocol/dialect.js';
import type { LiveMember } from '../routing/registry.js';
import { routeHeaders } from './reply.js';

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * The client's side of one streamed request, across all its attempts: the response head, the
 * writes (with back-pressure), and the keep-alives. Owns its keep-alive timer; `close()` ends it.
 *
 * The head goes out with the first content of the member that answers — or earlier, when the
 * request has been held back (CONTRACT "When the client sees the first byte") for longer than
 * KEEPALIVE_SECONDS: then the stream is opened naming the member being tried at that moment, and
 * keep-alives flow while the hold goes on, so that no proxy between the client and the gateway
 * cuts a silent connection. Once opened, a failure that would have been an error status becomes
 * the client format's error frame.
 */
export class Downstream {
  /** The response head has been written. */
  opened = false;
  /** The member being tried now (named by the route headers if the stream must open before content). */
  current: LiveMember | null = null;
  /** Everything written, for the request log (when bodies are logged). */
  readonly capture: { text: string; max: number } | null;
  private lastWriteAt = performance.now();
  private readonly ticker: Ticker;
  private closed = false;
  private readonly out;

  constructor(
    private readonly reply: FastifyReply,
    private readonly dialect: Dialect,
    private readonly opts: { keepAliveMs: number; draining: () => boolean; captureMax: number | null },
  ) {
    this.out = reply.raw;
    this.capture = opts.captureMax !== null ? { text: '', max: opts.captureMax } : null;
    this.ticker = tickerFor(opts.keepAliveMs / 3);
    this.ticker.streams.add(this);
  }

  /** Writes the response head (200, SSE, the route named by `member`); once. */
  open(member: LiveMember): void {
    if (this.opened) return;
    this.opened = true;
    routeHeaders(this.reply, member);
    this.reply.hijack();
    const headers: Record<string, string> = { ...SSE_HEADERS };
    for (const [k, v] of Object.entries(this.reply.getHeaders())) if (v !== undefined) headers[k] = String(v);
    if (this.opts.draining()) headers.connection = 'close'; // the hijacked reply skips the drain's onSend hook
    this.out.writeHead(200, headers); // sent with the first events, written in the same tick
  }

  /** Writes stream text or bytes; the promise (when there is one) settles when the socket can take more. */
  write(data: string | Buffer): Promise<void> | void {
    if (data.length === 0 || this.out.destroyed) return;
    this.lastWriteAt = performance.now();
    const c = this.capture;
    if (c && c.text.length < c.max) c.text += typeof data === 'string' ? data : data.toString('utf8');
    if (this.out.write(data)) return;
    return new Promise((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
    });
  }

  /** Ends the stream with the client format's error frame. */
  async fail(status: number, message: string, type?: string): Promise<void> {
    await this.write(this.dialect.errorFrame(status, message, type));
    this.end();
  }

  end(): void {
    this.close();
    if (!this.out.destroyed) this.out.end();
  }

  destroy(): void {
    this.close();
    this.out.destroy();
  }

  get destroyed(): boolean {
    return this.out.destroyed;
  }

  /** Stops the keep-alives (the request is over). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ticker.streams.delete(this);
    if (this.ticker.streams.size === 0) this.ticker.stop();
  }

  /** Called by its ticker every third of KEEPALIVE_SECONDS. */
  tick(): void {
    try {
      this.keepAlive();
    } catch {
      // (runs in a timer: a throw here would end the process; the next write or the end says more)
    }
  }

  private keepAlive(): void {
    if (performance.now() - this.lastWriteAt < this.opts.keepAliveMs || this.out.destroyed) return;
    if (!this.opened) {
      if (this.out.headersSent) return; // answered otherwise (an error status, a replayed answer)
      if (!this.current) return; // between attempts: the next one names its member
      this.open(this.current);
    }
    if (this.out.writableLength === 0) void this.write(this.dialect.keepAlive); // one per KEEPALIVE_SECONDS of silence
  }
}

/**
 * One interval per period for all open streams, not one per stream: a busy gateway would otherwise
 * create and clear a timer for every streamed request. Started with the first stream, stopped when
 * the last one closes.
 */
interface Ticker {
  streams: Set<Downstream>;
  stop(): void;
}

const tickers = new Map<number, Ticker>();

function tickerFor(periodMs: number): Ticker {
  let t = tickers.get(periodMs);
  if (t) return t;
  const streams = new Set<Downstream>();
  const timer = setInterval(() => {
    for (const d of streams) d.tick();
  }, periodMs);
  timer.unref();
  t = {
    streams,
    stop: () => {
      clearInterval(timer);
      tickers.delete(periodMs);
    },
  };
  tickers.set(periodMs, t);
  return t;
}
