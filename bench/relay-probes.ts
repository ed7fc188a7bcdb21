/**
 * Measurement plumbing shared by the two relay processes (minimal-proxy.ts, gateway-server.ts):
 * IPC commands that look at the process from inside, for bench/run.ts. Nothing here touches the
 * request path; the event-loop monitor runs only between 'eld-start' and 'eld-stop'.
 *
 *   {cmd:'cpu'}        → {usage: process.cpuUsage()}
 *   {cmd:'mem', gc?}   → {rss, heapUsed, heapTotal, external, arrayBuffers, gc}: process.memoryUsage(),
 *                        after a full global.gc() when gc is true and the process runs with --expose-gc
 *                        (gc says whether one was forced)
 *   {cmd:'eld-start'}  → starts perf_hooks.monitorEventLoopDelay (10 ms timer), from a clean histogram
 *   {cmd:'eld-stop'}   → {p50, p99, max, mean, n}: the delay, in ms, beyond the 10 ms timer period
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const ELD_RESOLUTION_MS = 10;
let eld: IntervalHistogram | null = null;

export interface MemReply { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; gc: boolean }
export interface EldReply { p50: number; p99: number; max: number; mean: number; n: number }

/** Node's histogram holds the whole timer interval (≈ the resolution when idle): the excess over it, in ms. */
const excess = (ns: number) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);

/** Answers a bench probe; false when `m` is not one (the caller handles its own commands). */
export function answerProbe(m: { cmd?: string; id?: number; gc?: boolean }): boolean {
  const reply = (data: object) => process.send?.({ id: m.id, ...data });
  switch (m?.cmd) {
    case 'cpu':
      reply({ type: 'cpu', usage: process.cpuUsage() });
      return true;
    case 'mem': {
      const gc = (globalThis as { gc?: () => void }).gc;
      const forced = m.gc === true && typeof gc === 'function';
      if (forced) gc!();
      const u = process.memoryUsage();
      reply({ type: 'mem', rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, gc: forced });
      return true;
    }
    case 'eld-start':
      eld?.disable();
      eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
      eld.enable();
      reply({ type: 'ok' });
      return true;
    case 'eld-stop': {
      if (!eld) {
        reply({ type: 'error', message: 'eld-start was not sent' });
        return true;
      }
      eld.disable();
      const h = eld;
      eld = null;
      const out: EldReply = { p50: excess(h.percentile(50)), p99: excess(h.percentile(99)), max: excess(h.max), mean: excess(h.mean), n: h.count };
      reply({ type: 'eld', ...out });
      return true;
    }
    default:
      return false;
  }
}
