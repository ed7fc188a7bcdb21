/**
 * Load generation and measurement: autocannon (programmatic) for throughput / latency, a
 * sequential undici loop for time-to-first-byte, and a one-shot request check.
 */
import { createRequire } from 'node:module';
import { Agent, request } from 'undici';

// autocannon ships no types; the slice of its API used here, typed locally (no global d.ts).
interface AutocannonOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  pipelining: number;
  duration: number;
  timeout: number;
}
interface AutocannonResult {
  totalCompletedRequests: number;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
}
interface AutocannonInstance {
  on(ev: 'response', fn: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
}
type Autocannon = (opts: AutocannonOptions, cb: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export const HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  'anthropic-version': '2023-06-01',
  'x-api-key': 'sk-bench-client',
};

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function sortedCopy(xs: number[]): Float64Array {
  return Float64Array.from(xs).sort();
}

export interface LoadResult {
  /** 2xx answers per second over the measured window. */
  rps: number;
  /** 2xx answers counted. */
  ok: number;
  /** Latency percentiles in ms (2xx only; full sub-ms precision, not autocannon's integer histogram). */
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
}

/** One autocannon run. Latencies are taken from the 'response' events (float ms). */
export function load(url: string, body: string, connections: number, durationS: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const lat: number[] = [];
    const inst = autocannon(
      { url, method: 'POST', headers: HEADERS, body, connections, pipelining: 1, duration: durationS, timeout: 30 },
      (err, r) => {
        if (err) return reject(err);
        const s = sortedCopy(lat);
        resolve({
          rps: lat.length / r.duration,
          ok: lat.length,
          p50: percentile(s, 50),
          p99: percentile(s, 99),
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          durationS: r.duration,
        });
      },
    );
    inst.on('response', (_c, status, _bytes, ms) => {
      if (status >= 200 && status < 300) lat.push(ms);
    });
  });
}

const agent = new Agent({ keepAliveTimeout: 30_000, pipelining: 1, connections: 4 });

export interface TtfbResult {
  n: number;
  /** ms from sending the request to the first body chunk. */
  ttfbP50: number;
  ttfbP90: number;
  /** ms from sending to the end of the body. */
  totalP50: number;
  errors: number;
}

/** Sequential streamed requests over one keep-alive connection: time to the first body chunk. */
export async function ttfb(url: string, body: string, n: number, warmup = 20): Promise<TtfbResult> {
  const first: number[] = [];
  const total: number[] = [];
  let errors = 0;
  // encoded once: the client's own UTF-8 encoding of an 80 KB body is not the relay's time
  const payload = Buffer.from(body, 'utf8');
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    let t1 = -1;
    try {
      const res = await request(url, { dispatcher: agent, method: 'POST', headers: HEADERS, body: payload });
      for await (const _chunk of res.body) {
        if (t1 < 0) t1 = performance.now();
      }
      const t2 = performance.now();
      if (res.statusCode !== 200) { errors++; continue; }
      if (i >= warmup) {
        first.push(t1 < 0 ? t2 - t0 : t1 - t0);
        total.push(t2 - t0);
      }
    } catch {
      errors++;
    }
  }
  const f = sortedCopy(first);
  const t = sortedCopy(total);
  return { n: first.length, ttfbP50: percentile(f, 50), ttfbP90: percentile(f, 90), totalP50: percentile(t, 50), errors };
}

export interface CheckResult {
  ok: boolean;
  status: number;
  note: string;
}

/** One request, answer read whole and checked: 200, and a complete Anthropic message / stream. */
export async function check(url: string, body: string, stream: boolean): Promise<CheckResult> {
  try {
    const res = await request(url, { dispatcher: agent, method: 'POST', headers: HEADERS, body });
    const text = await res.body.text();
    const ct = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200) return { ok: false, status: res.statusCode, note: `HTTP ${res.statusCode}: ${text.slice(0, 160)}` };
    if (stream) {
      const events = text.split('\n\n').filter((s) => s.trim() !== '').length;
      if (!ct.includes('text/event-stream')) return { ok: false, status: 200, note: `content-type ${ct}, not a stream` };
      if (!/event: message_stop\ndata: [^\n]*\n\n$/.test(text)) return { ok: false, status: 200, note: `stream did not end with message_stop (${events} events): …${text.slice(-120)}` };
      return { ok: true, status: 200, note: `${events} events` };
    }
    const json = JSON.parse(text) as { type?: string };
    if (json.type !== 'message') return { ok: false, status: 200, note: `not an Anthropic message: ${text.slice(0, 160)}` };
    return { ok: true, status: 200, note: `${text.length} B message` };
  } catch (err) {
    return { ok: false, status: 0, note: String(err) };
  }
}

export async function closeAgent(): Promise<void> {
  await agent.close();
}
