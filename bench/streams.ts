/**
 * Many concurrent open streams (the streams1k lane): N streamed requests at once, each a slow
 * stand-in stream (`bench-slow-stream:<S>` in the body: one SSE event a second for S seconds, see
 * upstream-server.ts), through one relay. The client is undici with one connection per stream.
 */
import { Agent, request } from 'undici';
import { HEADERS } from './load.js';

export interface StreamsRun {
  n: number;
  /** Streams whose first body bytes arrived (the relay is holding them). */
  opened: number;
  /** ms from the first request sent until the last stream opened (or until the wait gave up). */
  openMs: number;
  /** Ended with a complete `message_stop` frame after a 200. */
  completed: number;
  /** Non-200 answers, errors, and streams that ended without message_stop. */
  failed: number;
  /** The first few failure reasons. */
  reasons: string[];
  /** ms from the first request sent until every stream ended. */
  totalMs: number;
}

export interface StreamsHooks {
  /** Called once every stream is open (or when `openTimeoutMs` passed), while they all still run. */
  allOpen(opened: number): Promise<void>;
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
};

/** The body of a slow stream: the small request with the stand-in's marker in its text. */
export function slowStreamBody(seconds: number): string {
  return JSON.stringify({
    model: 'sonnet',
    max_tokens: 256,
    messages: [{ role: 'user', content: `Say hello slowly. bench-slow-stream:${seconds}` }],
    stream: true,
  });
}

/**
 * Opens `n` streams, at most `maxOpening` (default 100) still opening at any time — as fast as
 * the relay takes them, without overflowing its accept queue (Node listens with a backlog of 511;
 * a dropped SYN costs a 1 s retransmit) — calls hooks.allOpen once all are open (or after
 * openTimeoutMs), and resolves when every one has ended.
 */
export async function runStreams(url: string, body: string, n: number, hooks: StreamsHooks, opts: { openTimeoutMs: number; maxOpening?: number }): Promise<StreamsRun> {
  const agent = new Agent({ connections: n, pipelining: 1, keepAliveTimeout: 5_000, headersTimeout: 0, bodyTimeout: 0, connect: { timeout: 30_000 } });
  const payload = Buffer.from(body, 'utf8');
  const res: StreamsRun = { n, opened: 0, openMs: NaN, completed: 0, failed: 0, reasons: [], totalMs: NaN };
  const allOpen = deferred();
  let settled = 0; // opened or failed before opening
  let opening = 0;
  const slotFreed: (() => void)[] = [];
  const t0 = performance.now();
  const fail = (why: string) => {
    res.failed++;
    if (res.reasons.length < 5) res.reasons.push(why);
  };
  const markSettled = () => {
    opening--;
    slotFreed.shift()?.();
    if (++settled === n) allOpen.resolve();
  };

  const one = async (): Promise<void> => {
    let opened = false;
    try {
      const r = await request(url, { dispatcher: agent, method: 'POST', headers: HEADERS, body: payload });
      if (r.statusCode !== 200) {
        fail(`HTTP ${r.statusCode}: ${(await r.body.text()).slice(0, 120)}`);
        return;
      }
      let tail = '';
      for await (const chunk of r.body) {
        if (!opened) {
          opened = true;
          res.opened++;
          markSettled();
        }
        tail = (tail + (chunk as Buffer).toString('utf8')).slice(-256);
      }
      if (/event: message_stop\ndata: [^\n]*\n\n$/.test(tail)) res.completed++;
      else fail(`ended without message_stop: …${JSON.stringify(tail.slice(-80))}`);
    } catch (err) {
      fail(String((err as Error).message ?? err));
    } finally {
      if (!opened) markSettled();
    }
  };

  const maxOpening = opts.maxOpening ?? 100;
  const all: Promise<void>[] = [];
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((r) => { timer = setTimeout(r, opts.openTimeoutMs); });
  const launching = (async () => {
    for (let i = 0; i < n; i++) {
      while (opening >= maxOpening) await new Promise<void>((r) => slotFreed.push(r));
      opening++;
      all.push(one());
    }
  })();
  await Promise.race([allOpen.promise, gaveUp]);
  clearTimeout(timer);
  res.openMs = performance.now() - t0;
  try {
    await hooks.allOpen(res.opened);
  } finally {
    await launching;
    await Promise.all(all);
    res.totalMs = performance.now() - t0;
    await agent.close().catch(() => {});
  }
  return res;
}
