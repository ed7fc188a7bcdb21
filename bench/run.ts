/**
 * `npm run bench`: the gateway against a Node floor, on one machine.
 *
 *   stand-in upstream (own process) ← direct            ← autocannon (this process)
 *                                   ← minimal proxy (own process)
 *                                   ← real gateway  (own process)
 *
 * The relays run one at a time. Each lane (a request body / format pairing) runs four scenarios
 * (non-streamed and streamed, at 1 and 32 connections) against every target the lane applies to,
 * then a sequential time-to-first-byte loop for the streamed case. Memory and scale lanes start
 * their own relay process (fresh: its idle RSS is that lane's, not what earlier lanes left).
 * Numbers only: exit code 0, also when a lane fails (it adds a note).
 *
 * Memory: the RSS of the relay process alone (proxy or gateway; /proc/<pid>/status VmRSS, its
 * threads included, no child process), per relay process: idle (after start, setup and a 2 s
 * settle, before any load), peak (VmHWM, reset before each cell through /proc/<pid>/clear_refs —
 * also the "RSS pk" column of the table), after (5 s after its last load, no gc) and after gc (then a
 * full global.gc(): the relays run with --expose-gc, which only exposes the function).
 *
 * Knobs (env):
 *   BENCH_DURATION=5      seconds measured per cell          BENCH_WARMUP=1   warm-up seconds per cell
 *   BENCH_CONNECTIONS=1,32                                   BENCH_TTFB_N=200 sequential requests for TTFB
 *   BENCH_LANES=small,small-x-openai,cc80k,cc80k-x-openai,cc80k-affinity-off,small-key,mem256,streams1k,scale,soak
 *                         (default: all; soak only with BENCH_SOAK_SECONDS)
 *       mem256     small body at BENCH_MEM_CONNECTIONS=256 connections, non-stream and stream, proxy and gateway,
 *                  each in a fresh relay: req/s, p99, peak RSS, idle → after
 *       streams1k  BENCH_STREAMS=1000 concurrent streams held open (the stand-in sends one SSE event a second for
 *                  BENCH_STREAM_SECONDS=15 s, then message_stop), proxy and gateway, fresh relays: RSS with all open,
 *                  the relay's event-loop delay (perf_hooks.monitorEventLoopDelay inside it) while they run,
 *                  streams completed, RSS after. Needs ~2×N open files in the relay (the bench says when ulimit -n is short)
 *       scale      the small body (with one of the access keys) against a gateway with BENCH_SCALE_PROVIDERS=50 ×
 *                  BENCH_SCALE_MODELS=10 members in the pool used, BENCH_SCALE_KEYS=1000 access keys,
 *                  BENCH_SCALE_CONVERSATIONS=100000 remembered conversations and a BENCH_SCALE_LOG_ROWS=1000000-row
 *                  request log (bench/scale.ts; ~10 s to fill): compared with small / small-key
 *       soak       BENCH_SOAK_SECONDS=600 (default 0: off) of small-body load at the highest BENCH_CONNECTIONS against
 *                  a fresh gateway: RSS at the start, every minute (shorter runs: every sixth) and at the end
 *   BENCH_ONLY=gateway,stream   run only cells whose id (target/lane/mode/cN, e.g. gateway/small/stream/c32)
 *                         has every listed word as a segment (a part containing "/" matches as a substring)
 *   BENCH_CROSS=auto|1|0  cross-format lanes: probe the gateway and run when it answers 200 (auto),
 *                         always (1), never (0)
 *   BENCH_PIN=auto|0      auto (default): with taskset and ≥ 2 cores, the proxy / gateway run on CPU 0 and the
 *                         stand-in and the load generator on the others (as the issue measured); 0: no pinning
 *   BENCH_PROFILE=1|<filter>  after each gateway c32 cell (1) or each gateway cell whose id contains <filter>,
 *                         run one more window with the sampling profiler on (not counted in the table) and
 *                         print a summary; .cpuprofile files go to BENCH_PROFILE_DIR (default: a temp dir)
 *   BENCH_QUIET_BUDGET=30 seconds the whole run may spend waiting for other processes on the machine to go
 *                         quiet (< BENCH_QUIET_PCT=15 % of a core) before a cell; BENCH_RETRIES=1 re-measures a
 *                         cell during which others used > 25 % of a core (keeps the least disturbed one)
 *   BENCH_JSON=<file>     also write all results as JSON
 *   BENCH_RUNTIME=node|tsx  node (default): the child processes run JS compiled into bench/.build by
 *                         bench/build.ts, as production runs dist/; tsx: straight from the .ts sources
 *   BENCH_BUILD=0         reuse bench/.build as it is (e.g. to A/B a patched compiled file without touching src/)
 *   STREAM_EVENTS=50, STREAM_SPACING=burst|tick   stand-in stream shape (see upstream-server.ts)
 *
 * The last block prints the issue's targets, each as "value (target …) ok/MISS", the gateway held
 * against the proxy of the same run (see the RATE_VS_PROXY … MEM_TARGET tables below).
 *
 * Adding rows: push a Lane onto ALL_LANES below (body, client path, targets, optional gate; fresh: own relay).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claudeCodeBodyJson, claudeCodeBody, describeClaudeCodeBody } from './claude-code-body.js';
import { HEADERS, check, closeAgent, load, ttfb, type CheckResult, type LoadResult, type TtfbResult } from './load.js';
import { BUILD_DIR, buildForBench } from './build.js';
import { fdLimitOf, installCleanup, ROOT, setPinning, setRuntime, startChild, stopAll, trackTempDir, type Child } from './procs.js';
import { summarise } from './profile-summary.js';
import type { EldReply, MemReply } from './relay-probes.js';
import { prefillScaleDb, type ScaleDb } from './scale.js';
import { runStreams, slowStreamBody, type StreamsRun } from './streams.js';

// ---- settings ------------------------------------------------------------------------------

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && process.env[name] !== '' && Number.isFinite(v) && v >= 0 ? v : fallback;
};
const DURATION = Math.max(1, Math.round(num('BENCH_DURATION', 5)));
const WARMUP = Math.round(num('BENCH_WARMUP', 1));
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,32').split(',').map(Number).filter((n) => n > 0);
const TTFB_N = Math.round(num('BENCH_TTFB_N', 200));
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const CROSS = (process.env.BENCH_CROSS ?? 'auto').toLowerCase();
const PROFILE = process.env.BENCH_PROFILE && process.env.BENCH_PROFILE !== '0' ? process.env.BENCH_PROFILE : null;
/** Before each cell, wait until other processes use < QUIET_PCT % of a core, spending at most BENCH_QUIET_BUDGET s per run. */
const QUIET_PCT = num('BENCH_QUIET_PCT', 15);
const QUIET_BUDGET_S = num('BENCH_QUIET_BUDGET', 30);
let quietBudgetMs = QUIET_BUDGET_S * 1000;
/** A cell during which others used > DISTURBED_PCT % of a core is measured again (up to BENCH_RETRIES times), the least disturbed kept. */
const DISTURBED_PCT = 25;
const RETRIES = Math.round(num('BENCH_RETRIES', 1));
/** node: children run compiled JS (bench/.build, like production's `node dist/main.js`); tsx: from the .ts sources. */
const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'node';
const PIN = !['0', 'false', 'no', 'off'].includes((process.env.BENCH_PIN ?? 'auto').toLowerCase());
/** Connections of the memory lane (mem256). */
const MEM_CONNECTIONS = Math.max(1, Math.round(num('BENCH_MEM_CONNECTIONS', 256)));
/** The open-streams lane: how many at once, and how long each stays open (one SSE event a second). */
const STREAMS_N = Math.max(1, Math.round(num('BENCH_STREAMS', 1000)));
const STREAM_SECONDS = Math.max(4, Math.round(num('BENCH_STREAM_SECONDS', 15)));
/** The soak lane: seconds of load against a fresh gateway (0: off). */
const SOAK_S = Math.round(num('BENCH_SOAK_SECONDS', 0));
const SCALE = {
  providers: Math.max(1, Math.round(num('BENCH_SCALE_PROVIDERS', 50))),
  models: Math.max(1, Math.round(num('BENCH_SCALE_MODELS', 10))),
  keys: Math.max(1, Math.round(num('BENCH_SCALE_KEYS', 1000))),
  conversations: Math.max(1, Math.round(num('BENCH_SCALE_CONVERSATIONS', 100_000))),
  logRows: Math.max(1, Math.round(num('BENCH_SCALE_LOG_ROWS', 1_000_000))),
};
/** Relay memory: settle before "idle", and after the load before "after". */
const IDLE_SETTLE_MS = 2000;
const AFTER_SETTLE_MS = 5000;
const ADMIN_PASSWORD = 'bench-admin-password';
const UPSTREAM_MODEL = 'bench-model';
const UPSTREAM_MODEL_OPENAI = 'bench-model-oai';
/** What the load sends as x-api-key unless a lane sets an access key (each relay process starts with it again). */
const CLIENT_KEY = HEADERS['x-api-key'];
/** The relays' node flags: --expose-gc only exposes global.gc (for the "after gc" figure); it changes nothing else. */
const RELAY_NODE_ARGS = ['--expose-gc'];

// ---- the issue's targets -------------------------------------------------------------------

/** Gateway req/s ÷ the proxy's (on the lane's proxyRef) at the highest connection count. */
const RATE_VS_PROXY: Record<string, number> = { small: 0.75, cc80k: 0.9, 'small-x-openai': 0.6, 'cc80k-x-openai': 0.6 };
/** Gateway CPU/req ÷ the proxy's. */
const CPU_VS_PROXY: Record<string, number> = { small: 1.35 };
/** Absolute gateway req/s and CPU µs/req at the highest connection count. */
const MIN_RPS: Record<string, number> = { 'cc80k-x-openai': 1500 };
const MAX_CPU_US: Record<string, number> = { 'cc80k-x-openai': 500 };
/** Gateway p50 − proxy p50 at 1 connection (ms), and streamed TTFB p50 − proxy's (ms). */
const ADDED_P50_MS: Record<string, number> = { small: 0.1, cc80k: 0.1, 'small-x-openai': 0.1, 'cc80k-x-openai': 0.1 };
const ADDED_TTFB_MS: Record<string, number> = { cc80k: 0.3, 'cc80k-x-openai': 0.3 };
const MB = 2 ** 20;
const MEM_TARGET = { idleMB: 90, peak256MB: 200, streamsMB: 300, nearIdleMB: 20, soakGrowthMB: 10 };
/** Scale: CPU/req of the scale lane ÷ the same request on the plain gateway ("must not grow", within noise). */
const SCALE_CPU_RATIO = 1.1;

// ---- lanes ---------------------------------------------------------------------------------

type Target = 'direct' | 'proxy' | 'gateway';
const TARGETS: Target[] = ['direct', 'proxy', 'gateway'];

interface Lane {
  id: string;
  label: string;
  /** load (default): autocannon cells; streams: the open-streams run; soak: the long run. */
  kind?: 'load' | 'streams' | 'soak';
  /** Client endpoint on every target. */
  path: string;
  /** Request body JSON text, for a streamed or a non-streamed call. */
  body(stream: boolean): string;
  targets: Target[];
  /** Connection counts of its cells (default BENCH_CONNECTIONS). */
  connections?: number[];
  /** Its own relay process, started for it and stopped after it (memory / scale lanes). */
  fresh?: boolean;
  /** The sequential TTFB loop after the streamed cells (default true). */
  ttfb?: boolean;
  /** 'cross': only when the gateway converts formats (see BENCH_CROSS). 'key': creates an access key
   *  first and sends it from then on (so it must be the gateway's last shared lane). 'affinity-off': turns
   *  the normal pool's conversation affinity off first (so it runs after the lanes that want it on).
   *  'scale': the prefilled gateway of bench/scale.ts (fresh). */
  gate?: 'cross' | 'key' | 'affinity-off' | 'scale';
  /** Another lane whose gateway rows this lane's gateway rows are compared with in the summary. */
  compareTo?: string;
  /** The lane whose proxy rows the gateway rows are held against (default: its own id). */
  proxyRef?: string;
}

const smallBody = (stream: boolean) => JSON.stringify({
  model: 'sonnet',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  ...(stream ? { stream: true } : {}),
});

const memo = <T>(f: (s: boolean) => T) => {
  const cache = new Map<boolean, T>();
  return (s: boolean) => (cache.has(s) ? cache.get(s)! : (cache.set(s, f(s)), cache.get(s)!));
};

const ALL_LANES: Lane[] = [
  { id: 'small', label: 'small body, Anthropic → Anthropic', path: '/v1/messages', body: memo(smallBody), targets: TARGETS },
  {
    id: 'small-x-openai',
    label: 'small body, Anthropic client → OpenAI provider',
    path: '/v1/messages',
    // "opus" → the advanced pool, whose only member is the OpenAI-format provider
    body: memo((stream) => smallBody(stream).replace('"model":"sonnet"', '"model":"opus"')),
    targets: ['gateway'],
    gate: 'cross',
    compareTo: 'small',
    proxyRef: 'small',
  },
  { id: 'cc80k', label: 'Claude Code 80 KB body, Anthropic → Anthropic', path: '/v1/messages', body: memo((stream) => claudeCodeBodyJson({ stream })), targets: TARGETS },
  {
    id: 'cc80k-x-openai',
    label: 'Claude Code 80 KB body, Anthropic client → OpenAI provider',
    path: '/v1/messages',
    body: memo((stream) => claudeCodeBodyJson({ stream, model: 'opus' })),
    targets: ['gateway'],
    gate: 'cross',
    compareTo: 'cc80k',
    proxyRef: 'cc80k',
  },
  {
    // The Claude Code body names its conversation (metadata.user_id), so the cc80k lane runs with
    // session affinity on (every request a lookup and a "kept"); this lane turns it off for the pool:
    // compared with cc80k, the cost of affinity.
    id: 'cc80k-affinity-off',
    label: 'Claude Code 80 KB body, Anthropic → Anthropic, conversation affinity off',
    path: '/v1/messages',
    body: memo((stream) => claudeCodeBodyJson({ stream })),
    targets: ['gateway'],
    gate: 'affinity-off',
    compareTo: 'cc80k',
    proxyRef: 'cc80k',
  },
  {
    // The same small request with an access key (with rpm and concurrency limits) checked on every
    // request: compared with the `small` lane, this is the cost of client authentication.
    id: 'small-key',
    label: 'small body, Anthropic → Anthropic, with an access key',
    path: '/v1/messages',
    body: memo(smallBody),
    targets: ['gateway'],
    gate: 'key',
    compareTo: 'small',
    proxyRef: 'small',
  },
  {
    id: 'mem256',
    label: `small body at ${MEM_CONNECTIONS} connections (memory; fresh relay)`,
    path: '/v1/messages',
    body: memo(smallBody),
    targets: ['proxy', 'gateway'],
    connections: [MEM_CONNECTIONS],
    fresh: true,
    ttfb: false,
  },
  {
    id: 'streams1k',
    kind: 'streams',
    label: `${STREAMS_N} concurrent open streams, ${STREAM_SECONDS} s each (fresh relay)`,
    path: '/v1/messages',
    body: () => slowStreamBody(STREAM_SECONDS),
    targets: ['proxy', 'gateway'],
    connections: [STREAMS_N],
    fresh: true,
  },
  {
    id: 'scale',
    label: `small body, with an access key, at scale: ${SCALE.providers}×${SCALE.models} members, ${SCALE.keys} keys, ${SCALE.conversations} conversations, ${SCALE.logRows} log rows (fresh gateway)`,
    path: '/v1/messages',
    body: memo(smallBody),
    targets: ['gateway'],
    fresh: true,
    gate: 'scale',
    compareTo: 'small',
    proxyRef: 'small',
  },
  {
    id: 'soak',
    kind: 'soak',
    label: `soak: ${SOAK_S} s of small-body load (fresh gateway)`,
    path: '/v1/messages',
    body: memo(smallBody),
    targets: ['gateway'],
    connections: [Math.max(...CONNECTIONS)],
    fresh: true,
  },
];
const LANE_FILTER = process.env.BENCH_LANES ? process.env.BENCH_LANES.split(',').map((s) => s.trim()) : null;
const LANES: Lane[] = ALL_LANES.filter((l) => (!LANE_FILTER || LANE_FILTER.includes(l.id)) && (l.id !== 'soak' || SOAK_S > 0));

interface Scenario { stream: boolean; connections: number }
const scenariosOf = (l: Lane): Scenario[] => {
  if (l.kind === 'streams') return [{ stream: true, connections: STREAMS_N }];
  if (l.kind === 'soak') return [{ stream: false, connections: Math.max(...CONNECTIONS) }];
  const conns = l.connections ?? CONNECTIONS;
  return [false, true].flatMap((stream) => conns.map((connections) => ({ stream, connections })));
};
const modeName = (stream: boolean) => (stream ? 'stream' : 'non-stream');
const cellId = (t: Target, l: Lane, s: Scenario) => `${t}/${l.id}/${modeName(s.stream)}/c${s.connections}`;
/** BENCH_ONLY parts: a plain word must equal one segment of the id (so "stream" ≠ "non-stream"); a part with "/" is a substring. */
const selected = (id: string) => ONLY.every((part) => (part.includes('/') ? id.includes(part) : id.split('/').includes(part)));
const laneSelected = (t: Target, l: Lane) => l.targets.includes(t) && scenariosOf(l).some((s) => selected(cellId(t, l, s)));

// ---- results -------------------------------------------------------------------------------

interface Cell extends LoadResult {
  target: Target;
  lane: string;
  stream: boolean;
  connections: number;
  /** CPU µs per answered request: relay process (proxy/gateway), stand-in, this process. */
  relayUsPerReq: number | null;
  upUsPerReq: number;
  /** CPU utilisation over the window, % of one core. */
  relayCpuPct: number | null;
  /** Write / read syscalls of the relay process per answered request (a count: immune to machine noise). */
  relayWritesPerReq: number | null;
  relayReadsPerReq: number | null;
  /** Peak RSS of the relay process over the cell (warm-up included), bytes. */
  relayPeakRss: number | null;
  upCpuPct: number;
  lgCpuPct: number;
  /** CPU used on the machine by everything else over the window (% of one core; null off Linux). */
  otherCpuPct: number | null;
  profiled: boolean;
}
/** Memory of one relay process (a "session": the shared lanes, or one fresh lane), bytes. */
interface SessionMem {
  target: Target;
  session: string;
  lanes: string[];
  idle: number | null;
  /** Its anonymous part (RssAnon: heaps, buffers; the rest of RSS is mostly the node binary's mapped pages). */
  idleAnon: number | null;
  /** V8 heap used (process.memoryUsage().heapUsed). */
  idleHeap: number | null;
  peak: number | null;
  after: number | null;
  afterAnon: number | null;
  afterGc: number | null;
  afterGcHeap: number | null;
  gcForced: boolean;
  /** Peaks come from VmHWM reset per window (true) or from 100 ms sampling (false). */
  hwm: boolean;
}
interface StreamsResult extends StreamsRun {
  target: Target;
  wanted: number;
  rssAllOpen: number | null;
  fdsAllOpen: number | null;
  peak: number | null;
  eld: EldReply | null;
  eldWindowMs: number;
  fdLimits: { relay: number | null; bench: number | null; standIn: number | null };
}
interface SoakSample { t: number; rss: number | null; heapUsed: number | null; rps: number | null; usPerReq: number | null; errors: number }
interface ScaleInfo { db: ScaleDb; members: number; affinitySize: number | null; affinityMs: number | null; setupMs: number }

const cells: Cell[] = [];
const ttfbs: (TtfbResult & { target: Target; lane: string })[] = [];
const sessions: SessionMem[] = [];
const streamsResults: StreamsResult[] = [];
const soakSamples: SoakSample[] = [];
let scaleInfo: ScaleInfo | null = null;
const notes: string[] = [];
const profiles: { cell: string; file: string }[] = [];
let pinLine = '';

/** Busy CPU time of the whole machine so far, in µs (Linux /proc/stat; null elsewhere). */
function machineBusyUs(): number | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal
    return ((total - idle) * 1e6) / 100; // USER_HZ = 100
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);

// ---- relay memory --------------------------------------------------------------------------

/**
 * Peak RSS of one relay process: per window (a cell) through VmHWM, reset at the window's start
 * (/proc/<pid>/clear_refs); where the kernel refuses that, by sampling VmRSS every 100 ms.
 * Also keeps the process's peak over the whole session.
 */
class MemTracker {
  sessionPeak = 0;
  readonly hwm: boolean;

  constructor(private readonly relay: Child) {
    this.hwm = relay.resetPeak();
  }

  now(): number | null {
    return this.relay.rss()?.rss ?? null;
  }

  /** Starts a window; the function returned ends it and gives its peak (bytes). */
  window(): () => number | null {
    let max = 0;
    const sample = () => {
      const m = this.relay.rss();
      if (m) max = Math.max(max, m.rss, this.hwm ? m.hwm : 0);
    };
    const hwm = this.hwm && this.relay.resetPeak();
    sample();
    const timer = hwm ? null : setInterval(sample, 100);
    return () => {
      if (timer) clearInterval(timer);
      sample();
      this.sessionPeak = Math.max(this.sessionPeak, max);
      return max || null;
    };
  }
}

async function relayMem(relay: Child, gc: boolean): Promise<MemReply | null> {
  try {
    const m = await relay.rpc<MemReply & { type: string }>('mem', { gc }, 60_000);
    return m.type === 'mem' ? m : null;
  } catch {
    return null;
  }
}

// ---- running -------------------------------------------------------------------------------

/** Waits (within the run's quiet budget) until processes other than ours use < QUIET_PCT of a core. */
async function waitForQuiet(): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (quietBudgetMs <= 0) return performance.now() - t0;
    const a = machineBusyUs();
    await sleep(500);
    const b = machineBusyUs();
    const spent = performance.now() - t0;
    if (a === null || b === null) return spent;
    // our processes are idle here: whatever the machine does is someone else's work
    if ((100 * (b - a)) / 500_000 < QUIET_PCT) return spent;
    quietBudgetMs -= 500;
  }
}

/** An extra load window with the gateway's sampling profiler on (kept out of the measured numbers). */
async function profileWindow(id: string, url: string, body: string, s: Scenario, relay: Child): Promise<void> {
  await relay.rpc('profile-start', { intervalUs: 250 });
  await load(url, body, s.connections, DURATION);
  const dir = process.env.BENCH_PROFILE_DIR ?? path.join(os.tmpdir(), 'apg-bench-profiles');
  const file = path.join(dir, `${id.replace(/\//g, '_')}-${Date.now()}.cpuprofile`);
  const m = await relay.rpc<{ type: string; file?: string; message?: string }>('profile-stop', { file });
  if (m.type === 'ok') profiles.push({ cell: id, file: m.file! });
  else notes.push(`profile of ${id} failed: ${m.message}`);
}

async function measure(target: Target, url: string, body: string, s: Scenario, upstream: Child, relay: Child | null): Promise<Cell> {
  const [up0, rel0] = await Promise.all([upstream.cpu(), relay ? relay.cpu() : Promise.resolve(0)]);
  const io0 = relay?.syscalls() ?? null;
  const lg0 = process.cpuUsage();
  const m0 = machineBusyUs();
  const t0 = performance.now();
  const r = await load(url, body, s.connections, DURATION);
  const wallUs = (performance.now() - t0) * 1000;
  const lg = process.cpuUsage(lg0);
  const m1 = machineBusyUs();
  const io1 = relay?.syscalls() ?? null;
  const [up1, rel1] = await Promise.all([upstream.cpu(), relay ? relay.cpu() : Promise.resolve(0)]);
  const n = Math.max(1, r.ok);
  const ours = up1 - up0 + (rel1 - rel0) + lg.user + lg.system;
  return {
    ...r,
    target,
    lane: '',
    stream: s.stream,
    connections: s.connections,
    relayUsPerReq: relay ? (rel1 - rel0) / n : null,
    upUsPerReq: (up1 - up0) / n,
    relayCpuPct: relay ? (100 * (rel1 - rel0)) / wallUs : null,
    relayWritesPerReq: io0 && io1 ? (io1.writes - io0.writes) / n : null,
    relayReadsPerReq: io0 && io1 ? (io1.reads - io0.reads) / n : null,
    relayPeakRss: null,
    upCpuPct: (100 * (up1 - up0)) / wallUs,
    lgCpuPct: (100 * (lg.user + lg.system)) / wallUs,
    otherCpuPct: m0 !== null && m1 !== null ? Math.max(0, (100 * (m1 - m0 - ours)) / wallUs) : null,
    profiled: false,
  };
}

/** One relay process (or none: direct) and what lanes running on it need. */
interface Ctx {
  target: Target;
  base: string;
  upstream: Child;
  relay: Child | null;
  mem: MemTracker | null;
  crossProviderAdded: boolean;
}

async function runCell(ctx: Ctx, lane: Lane, s: Scenario): Promise<void> {
  const { target, base, upstream, relay } = ctx;
  const id = cellId(target, lane, s);
  const url = base + lane.path;
  const body = lane.body(s.stream);
  process.stderr.write(`  ${id.padEnd(42)} `);
  const profile = target === 'gateway' && relay !== null && PROFILE !== null && (PROFILE === '1' ? s.connections >= 32 : id.includes(PROFILE));
  let best: Cell | null = null;
  const peakOf = ctx.mem?.window();
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    const waited = await waitForQuiet();
    if (waited > 600) process.stderr.write(`(waited ${(waited / 1000).toFixed(1)} s for a quiet machine) `);
    if (WARMUP > 0) await load(url, body, s.connections, WARMUP);
    const c = await measure(target, url, body, s, upstream, relay);
    if (!best || (c.otherCpuPct ?? 0) < (best.otherCpuPct ?? 0)) best = c;
    if ((best.otherCpuPct ?? 0) <= DISTURBED_PCT || quietBudgetMs <= 0) break;
    process.stderr.write(`(disturbed: others used ${f(c.otherCpuPct, 0)}% of a core; again) `);
  }
  const cell = { ...best!, lane: lane.id, profiled: profile, relayPeakRss: peakOf ? peakOf() : null };
  cells.push(cell);
  if (profile) await profileWindow(id, url, body, s, relay!);
  const bad = cell.non2xx + cell.errors + cell.timeouts;
  const rss = cell.relayPeakRss ? `  peak RSS ${f(cell.relayPeakRss / MB, 1)} MB` : '';
  process.stderr.write(`${cell.rps.toFixed(0).padStart(7)} req/s  p50 ${cell.p50.toFixed(2)} ms${rss}${bad ? `  (${bad} errors/non-2xx)` : ''}\n`);
}

/** Starts the target's relay for a session (none for direct) and sets it up for its lanes. */
async function startRelay(target: Target, upstream: Child, group: Lane[]): Promise<Ctx> {
  const ctx: Ctx = { target, base: upstream.ready.url, upstream, relay: null, mem: null, crossProviderAdded: false };
  if (target === 'proxy') {
    ctx.relay = await startChild('minimal-proxy', 'minimal-proxy.ts', { UPSTREAM_URL: upstream.ready.url, PROXY_MODEL: UPSTREAM_MODEL }, { role: 'relay', execArgv: RELAY_NODE_ARGS });
    ctx.base = ctx.relay.ready.url;
  } else if (target === 'gateway') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-bench-'));
    trackTempDir(dataDir);
    const scale = group.some((l) => l.gate === 'scale');
    const t0 = performance.now();
    let db: ScaleDb | null = null;
    if (scale) {
      process.stderr.write(`\n[gateway/scale] filling ${dataDir}: ${SCALE.keys} access keys, ${SCALE.logRows} request-log rows… `);
      db = await prefillScaleDb(dataDir, SCALE);
      process.stderr.write(`${(db.ms / 1000).toFixed(1)} s (${db.sizeMB.toFixed(0)} MB)\n`);
    }
    ctx.relay = await startChild('gateway', 'gateway-server.ts', { BENCH_DATA_DIR: dataDir, BENCH_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }, { role: 'relay', execArgv: RELAY_NODE_ARGS, timeoutMs: 120_000 });
    ctx.base = ctx.relay.ready.url;
    try {
      await setupGateway(ctx, upstream, db, t0);
    } catch (err) {
      await ctx.relay.stop();
      throw err;
    }
  }
  if (ctx.relay) ctx.mem = new MemTracker(ctx.relay);
  return ctx;
}

/** The gateway's providers and members: one stand-in provider, or (scale) many, plus remembered conversations. */
async function setupGateway(ctx: Ctx, upstream: Child, db: ScaleDb | null, t0: number): Promise<void> {
  if (!db) {
    await addProvider(ctx.base, { name: 'standin-anthropic', baseUrl: upstream.ready.url, format: 'anthropic' }, 'normal', [UPSTREAM_MODEL]);
    return;
  }
  // providers × models, all members of the pool the load uses (normal), all on the stand-in
  const memberIds: number[] = [];
  for (let p = 0; p < SCALE.providers; p++) {
    const models = Array.from({ length: SCALE.models }, (_, m) => `${UPSTREAM_MODEL}-${m}`);
    memberIds.push(...(await addProvider(ctx.base, { name: `standin-${p}`, baseUrl: upstream.ready.url, format: 'anthropic' }, 'normal', models)));
  }
  // conversations remembered as served turns would leave them (gw.affinity.set, in the gateway)
  const fill = await ctx.relay!.rpc<{ type: string; size?: number; ms?: number; message?: string }>('affinity-fill', { pool: 'normal', prefix: 'bench-conv-', n: SCALE.conversations, memberIds }, 120_000);
  if (fill.type !== 'ok') notes.push(`scale: affinity-fill failed: ${fill.message}`);
  else if ((fill.size ?? 0) < SCALE.conversations) notes.push(`scale: ${SCALE.conversations} conversations set through gw.affinity.set; the gateway's table keeps ${fill.size} of them (it is bounded: least recently used out first)`);
  scaleInfo = { db, members: memberIds.length, affinitySize: fill.size ?? null, affinityMs: fill.ms ?? null, setupMs: performance.now() - t0 };
  HEADERS['x-api-key'] = db.key;
}

/** The target's lanes: the shared ones on one relay process, then each fresh lane on its own. */
async function runTarget(target: Target, upstream: Child): Promise<void> {
  const lanes = LANES.filter((l) => laneSelected(target, l));
  const groups: Lane[][] = [];
  const shared = lanes.filter((l) => !l.fresh);
  if (shared.length) groups.push(shared);
  for (const l of lanes.filter((x) => x.fresh)) groups.push([l]);
  for (const group of groups) await runSession(target, upstream, group);
}

async function runSession(target: Target, upstream: Child, group: Lane[]): Promise<void> {
  const session = group[0].fresh ? group[0].id : 'shared';
  HEADERS['x-api-key'] = CLIENT_KEY;
  let ctx: Ctx;
  try {
    ctx = await startRelay(target, upstream, group);
  } catch (err) {
    notes.push(`${target} (${group.map((l) => l.id).join(', ')}): not run — the relay could not be started or set up: ${errText(err)}`);
    process.stderr.write(`\n[${target}] start failed: ${errText(err)}\n`);
    return;
  }
  const { relay } = ctx;
  process.stderr.write(`\n[${target}${session === 'shared' ? '' : `/${session}`}] ${ctx.base}${relay?.proc.pid ? ` (pid ${relay.proc.pid})` : ''}\n`);
  const mem: SessionMem | null = relay ? { target, session, lanes: group.map((l) => l.id), idle: null, idleAnon: null, idleHeap: null, peak: null, after: null, afterAnon: null, afterGc: null, afterGcHeap: null, gcForced: false, hwm: ctx.mem!.hwm } : null;
  try {
    if (relay && mem) {
      await sleep(IDLE_SETTLE_MS);
      const m = relay.rss();
      mem.idle = m?.rss ?? null;
      mem.idleAnon = m?.anon ?? null;
      mem.idleHeap = (await relayMem(relay, false))?.heapUsed ?? null;
      ctx.mem!.window()(); // the session's peak starts at idle
      process.stderr.write(`  ${`${target}/${session}/idle`.padEnd(42)} RSS ${f((mem.idle ?? NaN) / MB, 1)} MB\n`);
    }
    for (const lane of group) {
      try {
        await runLane(ctx, lane);
      } catch (err) {
        notes.push(`${target}/${lane.id}: failed — ${errText(err)}`);
        process.stderr.write(`\n  ${target}/${lane.id} failed: ${errText(err)}\n`);
      }
    }
    if (relay && mem && relay.proc.exitCode === null) {
      const end = ctx.mem!.window(); // since the last cell: TTFB loops, checks
      mem.peak = Math.max(end() ?? 0, ctx.mem!.sessionPeak) || null;
      await sleep(AFTER_SETTLE_MS);
      const m = relay.rss();
      mem.after = m?.rss ?? null;
      mem.afterAnon = m?.anon ?? null;
      const gc = await relayMem(relay, true);
      mem.gcForced = gc?.gc ?? false;
      await sleep(500); // (V8 gives pages back to the system just after a gc)
      mem.afterGc = gc?.gc ? ctx.mem!.now() : null;
      mem.afterGcHeap = gc?.gc ? gc.heapUsed : null;
      process.stderr.write(`  ${`${target}/${session}/memory`.padEnd(42)} idle ${f((mem.idle ?? NaN) / MB, 1)} → peak ${f((mem.peak ?? NaN) / MB, 1)} → after ${f((mem.after ?? NaN) / MB, 1)} (${AFTER_SETTLE_MS / 1000} s) → after gc ${f((mem.afterGc ?? NaN) / MB, 1)} MB\n`);
    }
  } finally {
    if (mem) sessions.push(mem);
    if (relay) await relay.stop();
  }
}

async function runLane(ctx: Ctx, lane: Lane): Promise<void> {
  const { target, base, upstream } = ctx;
  if (lane.kind === 'streams') return runStreamsLane(ctx, lane);
  if (lane.kind === 'soak') return runSoakLane(ctx, lane);
  if (lane.gate === 'cross' && !(await crossGate(ctx, lane, upstream))) return;
  if (lane.gate === 'key' && !(await keyGate(base, lane))) return;
  if (lane.gate === 'affinity-off') {
    const off = await admin(base, 'PATCH', '/admin/pools/normal', { affinity: 'none' });
    if (off.status !== 200) {
      notes.push(`${lane.id}: skipped — PATCH /admin/pools/normal answered ${off.status}`);
      return;
    }
  }
  const scenarios = scenariosOf(lane);
  for (const stream of [false, true]) {
    const c = await check(base + lane.path, lane.body(stream), stream);
    if (!c.ok) notes.push(`${target}/${lane.id}/${modeName(stream)}: check failed: ${c.note}`);
  }
  for (const s of scenarios) {
    if (selected(cellId(target, lane, s))) await runCell(ctx, lane, s);
  }
  if (TTFB_N > 0 && lane.ttfb !== false && scenarios.some((s) => s.stream && selected(cellId(target, lane, s)))) {
    const t = await ttfb(base + lane.path, lane.body(true), TTFB_N);
    ttfbs.push({ ...t, target, lane: lane.id });
    process.stderr.write(`  ${`${target}/${lane.id}/stream/ttfb`.padEnd(42)}  TTFB p50 ${t.ttfbP50.toFixed(3)} ms (n=${t.n}${t.errors ? `, ${t.errors} errors` : ''})\n`);
  }
}

/** N streams held open through the relay: RSS with all open, the relay's event-loop delay, completions. */
async function runStreamsLane(ctx: Ctx, lane: Lane): Promise<void> {
  const { target, base, relay, upstream } = ctx;
  const id = `${target}/${lane.id}/stream/c${STREAMS_N}`;
  const fdLimits = { relay: relay?.fdLimit() ?? null, bench: fdLimitOf('self'), standIn: upstream.fdLimit() };
  // a relay holds two sockets per stream (client side, upstream side); this process and the stand-in one
  const room = Math.min(
    fdLimits.relay === null ? Infinity : Math.floor((fdLimits.relay - 128) / 2),
    fdLimits.bench === null ? Infinity : fdLimits.bench - 256,
    fdLimits.standIn === null ? Infinity : fdLimits.standIn - 128,
  );
  const n = Math.max(1, Math.min(STREAMS_N, room));
  if (n < STREAMS_N) notes.push(`${id}: the open-file limit is too low for ${STREAMS_N} streams (ulimit -n: relay ${fdLimits.relay}, bench ${fdLimits.bench}, stand-in ${fdLimits.standIn}; a relay needs ~2 per stream): ran ${n}`);
  process.stderr.write(`  ${id.padEnd(42)} `);
  const peakOf = ctx.mem?.window();
  const t0 = performance.now();
  const out: StreamsResult = {
    target, wanted: STREAMS_N, n, opened: 0, openMs: NaN, completed: 0, failed: 0, reasons: [], totalMs: NaN,
    rssAllOpen: null, fdsAllOpen: null, peak: null, eld: null, eldWindowMs: 0, fdLimits,
  };
  const r = await runStreams(base + lane.path, lane.body(true), n, {
    allOpen: async (opened) => {
      process.stderr.write(`${opened}/${n} open after ${f(performance.now() - t0, 0)} ms; `);
      await sleep(1000);
      out.rssAllOpen = ctx.mem?.now() ?? null;
      out.fdsAllOpen = relay?.fds() ?? null;
      if (!relay) return;
      // the delay while they all run: until just before the first one ends
      await relay.rpc('eld-start');
      const e0 = performance.now();
      const left = t0 + STREAM_SECONDS * 1000 - 700 - performance.now();
      await sleep(Math.max(1000, left));
      const eld = await relay.rpc<EldReply & { type: string }>('eld-stop');
      out.eldWindowMs = performance.now() - e0;
      if (eld.type === 'eld') out.eld = eld;
    },
  }, { openTimeoutMs: Math.max(2000, STREAM_SECONDS * 1000 - 3000) });
  Object.assign(out, r);
  out.peak = peakOf ? peakOf() : null;
  streamsResults.push(out);
  process.stderr.write(`${r.completed}/${n} completed${r.failed ? `, ${r.failed} failed (${r.reasons[0]})` : ''}; RSS all open ${f((out.rssAllOpen ?? NaN) / MB, 1)} MB; event-loop delay p99 ${f(out.eld?.p99, 1)} ms\n`);
}

/** Long small-body load against a fresh gateway, RSS sampled as it goes. */
async function runSoakLane(ctx: Ctx, lane: Lane): Promise<void> {
  const { target, base, relay } = ctx;
  if (!relay) return;
  const conns = Math.max(...CONNECTIONS);
  const url = base + lane.path;
  const body = lane.body(false);
  const c = await check(url, body, false);
  if (!c.ok) notes.push(`${target}/soak: check failed: ${c.note}`);
  // a sample a minute; a shorter soak gets six
  const step = SOAK_S >= 360 ? 60 : Math.max(5, Math.ceil(SOAK_S / 6));
  const sample = async (t: number, r: LoadResult | null, us: number | null) => {
    const m = await relayMem(relay, false);
    soakSamples.push({ t, rss: ctx.mem!.now(), heapUsed: m?.heapUsed ?? null, rps: r?.rps ?? null, usPerReq: us, errors: r ? r.errors + r.non2xx + r.timeouts : 0 });
    const last = soakSamples[soakSamples.length - 1];
    process.stderr.write(`  ${`${target}/soak/t=${t}s`.padEnd(42)} RSS ${f((last.rss ?? NaN) / MB, 1)} MB, heap ${f((last.heapUsed ?? NaN) / MB, 1)} MB${r ? `, ${f(r.rps, 0)} req/s, ${f(us, 0)} µs/req` : ''}\n`);
  };
  await sample(0, null, null);
  const peakOf = ctx.mem!.window();
  for (let t = 0; t < SOAK_S;) {
    const d = Math.min(step, SOAK_S - t);
    const cpu0 = await relay.cpu();
    const r = await load(url, body, conns, d);
    const cpu1 = await relay.cpu();
    t += d;
    await sample(t, r, (cpu1 - cpu0) / Math.max(1, r.ok));
  }
  peakOf();
}

async function admin(base: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${ADMIN_PASSWORD}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* keep text */ }
  return { status: res.status, body: parsed };
}

/** Adds a provider and its models as members of `pool`; returns the member ids. */
async function addProvider(base: string, p: { name: string; baseUrl: string; format: 'anthropic' | 'openai' }, pool: string, models: string[]): Promise<number[]> {
  const created = await admin(base, 'POST', '/admin/providers', { ...p, apiKey: 'sk-standin-key-123456' });
  if (created.status !== 201) throw new Error(`POST /admin/providers → ${created.status} ${JSON.stringify(created.body)}`);
  const added = await admin(base, 'POST', `/admin/pools/${pool}/members`, { providerId: created.body.id, models });
  if (added.status !== 201) throw new Error(`POST /admin/pools/${pool}/members → ${added.status} ${JSON.stringify(added.body)}`);
  const members = (added.body as { members?: { id: number }[] }).members ?? [];
  return members.map((m) => m.id);
}

/** Creates an access key (after which every request needs one) and makes the load generator send it. */
async function keyGate(base: string, lane: Lane): Promise<boolean> {
  const created = await admin(base, 'POST', '/admin/keys', { name: 'bench', rpm: 1_000_000, maxConcurrent: 100_000 });
  if (created.status !== 201) {
    notes.push(`${lane.id}: skipped — POST /admin/keys answered ${created.status}`);
    return false;
  }
  HEADERS['x-api-key'] = (created.body as { key: string }).key;
  return true;
}

/** Adds the OpenAI-format provider (advanced pool) and decides whether the cross-format lane runs. */
async function crossGate(ctx: Ctx, lane: Lane, upstream: Child): Promise<boolean> {
  const { base } = ctx;
  if (CROSS === '0' || CROSS === 'false' || CROSS === 'no') {
    notes.push(`${lane.id}: skipped (BENCH_CROSS=${CROSS})`);
    return false;
  }
  if (!ctx.crossProviderAdded) {
    await addProvider(base, { name: 'standin-openai', baseUrl: upstream.ready.url, format: 'openai' }, 'advanced', [UPSTREAM_MODEL_OPENAI]);
    ctx.crossProviderAdded = true;
  }
  const probes: CheckResult[] = [await check(base + lane.path, lane.body(false), false), await check(base + lane.path, lane.body(true), true)];
  const ok = probes.every((p) => p.ok);
  if (ok) return true;
  const why = probes.find((p) => !p.ok)!.note;
  if (CROSS === '1' || CROSS === 'true' || CROSS === 'yes') {
    notes.push(`${lane.id}: probe failed but BENCH_CROSS=${CROSS} forces the run (${why})`);
    return true;
  }
  notes.push(`${lane.id}: skipped — the gateway does not serve Anthropic → OpenAI yet (probe: ${why}). Rows appear automatically once it answers 200; BENCH_CROSS=1 forces them.`);
  return false;
}

// ---- printing ------------------------------------------------------------------------------

const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const pad = (s: string, w: number, right = true) => (right ? s.padStart(w) : s.padEnd(w));
const mb = (b: number | null | undefined) => (b === null || b === undefined ? '-' : f(b / MB, 1));

function findCell(target: Target, lane: string, stream: boolean, connections: number): Cell | undefined {
  return cells.find((c) => c.target === target && c.lane === lane && c.stream === stream && c.connections === connections);
}
function findTtfb(target: Target, lane: string) {
  return ttfbs.find((t) => t.target === target && t.lane === lane);
}
const findSession = (target: Target, session: string) => sessions.find((s) => s.target === target && s.session === session);

function printTable(): void {
  const cols: [string, number, boolean][] = [
    ['scenario', 30, false], ['target', 8, false], ['conns', 5, true], ['req/s', 8, true], ['p50 ms', 8, true], ['p99 ms', 8, true],
    ['TTFB p50', 9, true], ['relay µs/req', 12, true], ['relay CPU', 9, true], ['wr/rd per req', 13, true], ['RSS pk MB', 9, true], ['up CPU', 7, true], ['lg CPU', 7, true], ['other', 6, true], ['errors', 6, true],
  ];
  const header = cols.map(([h, w, r]) => pad(h, w, r)).join('  ');
  const rule = '─'.repeat(header.length);
  console.log('');
  console.log(header);
  for (const lane of LANES) {
    const laneCells = cells.filter((c) => c.lane === lane.id);
    if (laneCells.length === 0) continue;
    console.log(rule);
    console.log(`${lane.label}  [${lane.id}]`);
    for (const s of scenariosOf(lane)) {
      let first = true;
      for (const t of TARGETS) {
        const c = findCell(t, lane.id, s.stream, s.connections);
        if (!c) continue;
        const tt = s.stream && s.connections === Math.min(...CONNECTIONS) ? findTtfb(t, lane.id) : undefined;
        const bad = c.non2xx + c.errors + c.timeouts;
        const row = [
          first ? `  ${modeName(s.stream)}` : '', t, String(s.connections), f(c.rps, 0), f(c.p50, 3), f(c.p99, 3),
          tt ? f(tt.ttfbP50, 3) : '', f(c.relayUsPerReq, 0), c.relayCpuPct === null ? '-' : `${f(c.relayCpuPct, 0)}%`,
          c.relayWritesPerReq === null ? '-' : `${f(c.relayWritesPerReq, 1)}/${f(c.relayReadsPerReq, 1)}`, mb(c.relayPeakRss),
          `${f(c.upCpuPct, 0)}%`, `${f(c.lgCpuPct, 0)}%`, c.otherCpuPct === null ? '-' : `${f(c.otherCpuPct, 0)}%`, String(bad),
        ];
        console.log(cols.map(([, w, r], i) => pad(row[i], w, r)).join('  ') + (c.profiled ? '  (profiled after)' : ''));
        first = false;
      }
    }
  }
  console.log(rule);
  console.log('p50/p99: full-response latency from autocannon, 2xx only, sub-ms precision. TTFB p50: sequential undici loop,');
  console.log(`${TTFB_N} streamed requests, send → first body chunk (shown on the c${Math.min(...CONNECTIONS)} streamed rows). relay µs/req: CPU time of the`);
  console.log('proxy/gateway process per answered request; wr/rd per req: its write / read syscalls per request (a count, not a');
  console.log('timing: unaffected by machine noise). RSS pk: the relay process\'s peak resident memory over the cell (warm-up');
  console.log('included). CPU %: share of one core over the window: relay, stand-in (up), load generator (lg), and every');
  console.log('other process on the machine (other; > ~10% means the cell was disturbed).');
  const disturbed = cells.filter((c) => (c.otherCpuPct ?? 0) > 15);
  if (disturbed.length) {
    console.log(`WARNING: ${disturbed.length} cell(s) ran while other processes used > 15% of a core (${disturbed.map((c) => `${c.target}/${c.lane}/${modeName(c.stream)}/c${c.connections} ${f(c.otherCpuPct, 0)}%`).join(', ')}); compare relay µs/req rather than req/s for those.`);
  }
}

function printMemory(): void {
  if (sessions.length === 0 && streamsResults.length === 0) return;
  const gcForced = sessions.some((s) => s.gcForced);
  const sampled = sessions.some((s) => !s.hwm);
  console.log('');
  console.log(`Relay memory (RSS of the proxy / gateway process alone, MB = 2^20 B; one row per relay process):`);
  console.log(`  ${pad('relay process for', 24, false)}  ${pad('target', 8, false)}  ${pad('idle', 7)}  ${pad('(anon)', 7)}  ${pad('peak', 7)}  ${pad('after', 7)}  ${pad('(anon)', 7)}  ${pad('after gc', 8)}  ${pad('V8 heap used: idle → after gc', 29)}`);
  for (const s of sessions) {
    const label = s.session === 'shared' ? `shared lanes (${s.lanes.length})` : s.session;
    console.log(`  ${pad(label, 24, false)}  ${pad(s.target, 8, false)}  ${pad(mb(s.idle), 7)}  ${pad(mb(s.idleAnon), 7)}  ${pad(mb(s.peak), 7)}  ${pad(mb(s.after), 7)}  ${pad(mb(s.afterAnon), 7)}  ${pad(s.gcForced ? mb(s.afterGc) : '-', 8)}  ${pad(`${mb(s.idleHeap)} → ${s.gcForced ? mb(s.afterGcHeap) : '-'}`, 29)}`);
  }
  console.log('  (anon): the anonymous part of RSS (RssAnon: JS heaps, buffers, malloc); the rest is mostly the node binary\'s mapped pages.');
  console.log(`  idle: after start, setup and ${IDLE_SETTLE_MS / 1000} s, before any load. peak: ${sampled ? 'sampled every 100 ms (VmHWM could not be reset)' : 'VmHWM, reset before each cell'}.`);
  console.log(`  after: ${AFTER_SETTLE_MS / 1000} s after the process's last load, no gc forced. after gc: then one full global.gc() (${gcForced ? 'forced through --expose-gc' : 'not available: no gc was forced'}).`);

  for (const r of streamsResults) {
    console.log('');
    console.log(`Open streams through the ${r.target}: ${r.n} at once${r.n < r.wanted ? ` (of ${r.wanted} wanted: open-file limit)` : ''}, one SSE event a second for ${STREAM_SECONDS} s each`);
    console.log(`  opened ${r.opened}/${r.n} in ${f(r.openMs, 0)} ms; completed with message_stop ${r.completed}/${r.n}${r.failed ? `; failed ${r.failed}: ${r.reasons.join(' | ')}` : ''}; all ended after ${f(r.totalMs / 1000, 1)} s`);
    console.log(`  RSS with all open ${mb(r.rssAllOpen)} MB (open fds ${r.fdsAllOpen ?? '-'}), peak ${mb(r.peak)} MB; after: see the table above`);
    console.log(`  event-loop delay in the relay while they ran (${f(r.eldWindowMs / 1000, 1)} s window; beyond the 10 ms timer): p50 ${f(r.eld?.p50, 2)} ms, p99 ${f(r.eld?.p99, 2)} ms, max ${f(r.eld?.max, 2)} ms`);
    console.log(`  open-file limits (soft): relay ${r.fdLimits.relay ?? '-'}, bench ${r.fdLimits.bench ?? '-'}, stand-in ${r.fdLimits.standIn ?? '-'}`);
  }

  if (soakSamples.length) {
    console.log('');
    console.log(`Soak: ${SOAK_S} s of small-body load at ${Math.max(...CONNECTIONS)} connections against a fresh gateway`);
    console.log(`  ${pad('t (s)', 6)}  ${pad('RSS MB', 7)}  ${pad('heap MB', 7)}  ${pad('req/s', 7)}  ${pad('µs/req', 7)}  ${pad('errors', 6)}`);
    for (const x of soakSamples) console.log(`  ${pad(String(x.t), 6)}  ${pad(mb(x.rss), 7)}  ${pad(mb(x.heapUsed), 7)}  ${pad(f(x.rps, 0), 7)}  ${pad(f(x.usPerReq, 0), 7)}  ${pad(String(x.errors), 6)}`);
  }

  if (scaleInfo) {
    const i = scaleInfo;
    console.log('');
    console.log(`Scale lane setup: ${i.db.keys} access keys and ${i.db.logRows} request-log rows written into the gateway's SQLite file before it started (${f(i.db.ms / 1000, 1)} s, ${f(i.db.sizeMB, 0)} MB; retention count set to keep them), ${i.members} members added through the admin API, ${SCALE.conversations} conversations set through gw.affinity.set (${f(i.affinityMs, 0)} ms; the table holds ${i.affinitySize ?? '-'}); setup ${f(i.setupMs / 1000, 1)} s in all.`);
  }
}

/** "value (target …) ok/MISS" */
const judged = (value: string, target: string, ok: boolean | null) => `${value} (target ${target})${ok === null ? '' : ok ? ' ok' : ' MISS'}`;

function printTargets(): void {
  console.log('');
  console.log('Issue targets (gateway vs the minimal relay "proxy", measured in this run; "ok" / "MISS" per figure):');
  const hi = Math.max(...CONNECTIONS);
  const lo = Math.min(...CONNECTIONS);
  const line = (name: string, text: string) => console.log(`  ${name.padEnd(34)} ${text}`);
  const missing: string[] = [];

  // (mem256 and scale have their own lines below)
  for (const lane of LANES.filter((l) => (l.kind ?? 'load') === 'load' && l.id !== 'mem256' && l.id !== 'scale')) {
    const ref = lane.proxyRef ?? lane.id;
    for (const stream of [false, true]) {
      const name = `${lane.id} ${modeName(stream)}`;
      const g = findCell('gateway', lane.id, stream, hi);
      const p = findCell('proxy', ref, stream, hi);
      const g1 = findCell('gateway', lane.id, stream, lo);
      const p1 = findCell('proxy', ref, stream, lo);
      const d1 = findCell('direct', ref, stream, lo);
      if (!g && !g1) continue;
      const vs = ref === lane.id ? 'proxy' : `proxy [${ref}]`;
      // lanes the issue sets no target for (affinity off, access key) are only held against their compareTo lane
      const judgedLane = [RATE_VS_PROXY, CPU_VS_PROXY, MIN_RPS, MAX_CPU_US, ADDED_P50_MS, ADDED_TTFB_MS].some((t) => t[lane.id] !== undefined) || !lane.compareTo;
      if (g && judgedLane) {
        const parts: string[] = [];
        if (p) {
          const ratio = g.rps / p.rps;
          const t = RATE_VS_PROXY[lane.id];
          parts.push(t !== undefined ? judged(`req/s ${f(g.rps, 0)} / ${vs} ${f(p.rps, 0)} = ${f(ratio, 2)}×`, `≥ ${t.toFixed(2)}×`, ratio >= t) : `req/s ${f(g.rps, 0)} / ${vs} ${f(p.rps, 0)} = ${f(ratio, 2)}×`);
          if (g.relayUsPerReq && p.relayUsPerReq) {
            const cr = g.relayUsPerReq / p.relayUsPerReq;
            const ct = CPU_VS_PROXY[lane.id];
            const v = `CPU/req ${f(g.relayUsPerReq, 0)} / ${f(p.relayUsPerReq, 0)} µs = ${f(cr, 2)}×`;
            parts.push(ct !== undefined ? judged(v, `≤ ${ct.toFixed(2)}×`, cr <= ct) : v);
          }
        } else if (RATE_VS_PROXY[lane.id] !== undefined) {
          parts.push(`req/s ${f(g.rps, 0)}, CPU/req ${f(g.relayUsPerReq, 0)} µs (no proxy [${ref}] cell in this run: ratio not judged)`);
        } else {
          parts.push(`req/s ${f(g.rps, 0)}, CPU/req ${f(g.relayUsPerReq, 0)} µs`);
        }
        if (MIN_RPS[lane.id] !== undefined) parts.push(judged(`${f(g.rps, 0)} req/s`, `≥ ${MIN_RPS[lane.id]}`, g.rps >= MIN_RPS[lane.id]));
        if (MAX_CPU_US[lane.id] !== undefined && g.relayUsPerReq !== null) parts.push(judged(`${f(g.relayUsPerReq, 0)} µs CPU/req`, `≤ ${MAX_CPU_US[lane.id]} µs`, g.relayUsPerReq <= MAX_CPU_US[lane.id]));
        line(`${name} @${hi}`, parts.join('; '));
      }
      if (g1 && (p1 || d1) && judgedLane) {
        const parts: string[] = [];
        if (p1) {
          const added = g1.p50 - p1.p50;
          const t = ADDED_P50_MS[lane.id];
          const v = `added p50 vs ${vs} ${f(added, 3)} ms`;
          parts.push(t !== undefined ? judged(v, `≤ ${t} ms`, added <= t) : v);
        }
        if (d1) parts.push(`vs direct ${f(g1.p50 - d1.p50, 3)} ms`);
        line(`${name} @${lo}`, parts.join('; '));
      }
      if (stream) {
        const tg = findTtfb('gateway', lane.id);
        const tp = findTtfb('proxy', ref);
        const td = findTtfb('direct', ref);
        if (tg && (tp || td) && judgedLane) {
          const parts: string[] = [];
          if (tp) {
            const added = tg.ttfbP50 - tp.ttfbP50;
            const t = ADDED_TTFB_MS[lane.id];
            const v = `added TTFB p50 vs ${vs} ${f(added, 3)} ms`;
            parts.push(t !== undefined ? judged(v, `≤ ${t} ms`, added <= t) : v);
          }
          if (td) parts.push(`vs direct ${f(tg.ttfbP50 - td.ttfbP50, 3)} ms`);
          line(`${name} TTFB`, parts.join('; '));
        }
      }
      if (lane.compareTo) {
        const bh = findCell('gateway', lane.compareTo, stream, hi);
        const b1 = findCell('gateway', lane.compareTo, stream, lo);
        const parts: string[] = [];
        if (g && bh) parts.push(`@${hi}: req/s ${f(g.rps / bh.rps, 2)}×, CPU/req ${f((g.relayUsPerReq ?? NaN) / (bh.relayUsPerReq ?? NaN), 2)}×`);
        if (g1 && b1) parts.push(`added p50 @${lo} ${f(g1.p50 - b1.p50, 3)} ms`);
        if (parts.length) line(`${name} vs gateway [${lane.compareTo}]`, parts.join('; '));
      }
    }
  }
  for (const id of Object.keys(RATE_VS_PROXY)) {
    if (!cells.some((c) => c.target === 'gateway' && c.lane === id)) missing.push(id);
  }

  // scale: CPU per request must not grow with providers, members, keys, conversations, log rows
  const scaleCells = cells.filter((c) => c.target === 'gateway' && c.lane === 'scale');
  if (scaleCells.length) {
    for (const base of ['small', 'small-key']) {
      const parts: string[] = [];
      const ratios: number[] = [];
      for (const c of scaleCells) {
        const b = findCell('gateway', base, c.stream, c.connections);
        if (!b || !c.relayUsPerReq || !b.relayUsPerReq) continue;
        const r = c.relayUsPerReq / b.relayUsPerReq;
        ratios.push(r);
        parts.push(`${modeName(c.stream)} c${c.connections} ${f(c.relayUsPerReq, 0)}/${f(b.relayUsPerReq, 0)} µs = ${f(r, 2)}× (req/s ${f(c.rps, 0)}/${f(b.rps, 0)})`);
      }
      if (!parts.length) continue;
      // the target is judged on the comparison doing the same per-request work (small-key: an access key too)
      const judge = base === 'small-key' || !scaleCells.some((c) => findCell('gateway', 'small-key', c.stream, c.connections));
      const worst = Math.max(...ratios);
      line(`scale vs ${base}: CPU/req ×`, `${parts.join('; ')}${judge ? ` — worst ${judged(`${f(worst, 2)}×`, `≤ ${SCALE_CPU_RATIO.toFixed(2)}×: must not grow${base === 'small' ? '; scale also checks an access key, small does not' : ''}`, worst <= SCALE_CPU_RATIO)}` : ' (informational: the scale lane sends an access key, small does not)'}`);
    }
    const ss = findSession('gateway', 'scale');
    const sh = findSession('gateway', 'mem256') ?? findSession('gateway', 'shared');
    if (ss) line('scale RSS', `idle ${mb(ss.idle)} MB, peak ${mb(ss.peak)} MB, after ${mb(ss.after)} MB${sh ? ` (plain gateway [${sh.session}]: idle ${mb(sh.idle)}, peak ${mb(sh.peak)})` : ''}`);
  } else missing.push('scale');

  // memory
  const gm = findSession('gateway', 'mem256');
  const pm = findSession('proxy', 'mem256');
  const gIdle = gm ?? findSession('gateway', 'shared');
  const pIdle = pm ?? findSession('proxy', 'shared');
  if (gIdle?.idle) {
    const v = gIdle.idle / MB;
    line('memory: gateway idle RSS', `${judged(`${f(v, 1)} MB`, `≤ ${MEM_TARGET.idleMB} MB`, v <= MEM_TARGET.idleMB)}${pIdle?.idle ? `; proxy ${mb(pIdle.idle)} MB, ${f(gIdle.idle / pIdle.idle, 2)}×` : ''}${gIdle.session !== 'mem256' ? ' [shared relay]' : ''}`);
  }
  if (gm) {
    for (const stream of [false, true]) {
      const g = findCell('gateway', 'mem256', stream, MEM_CONNECTIONS);
      const p = findCell('proxy', 'mem256', stream, MEM_CONNECTIONS);
      if (!g) continue;
      const v = (g.relayPeakRss ?? NaN) / MB;
      const pr = p?.relayPeakRss ? `; proxy ${mb(p.relayPeakRss)} MB, ${f((g.relayPeakRss ?? NaN) / p.relayPeakRss, 2)}×` : '';
      const rates = `; req/s ${f(g.rps, 0)}${p ? ` / proxy ${f(p.rps, 0)} = ${f(g.rps / p.rps, 2)}×` : ''}, p99 ${f(g.p99, 2)}${p ? ` / ${f(p.p99, 2)}` : ''} ms, CPU/req ${f(g.relayUsPerReq, 0)}${p ? ` / ${f(p.relayUsPerReq, 0)}` : ''} µs`;
      line(`memory: peak RSS @${MEM_CONNECTIONS} ${modeName(stream)}`, `${judged(`${f(v, 1)} MB`, `≤ ${MEM_TARGET.peak256MB} MB`, v <= MEM_TARGET.peak256MB)}${pr}${rates}`);
    }
    if (gm.after && gm.idle) {
      const d = (gm.after - gm.idle) / MB;
      line(`memory: after the @${MEM_CONNECTIONS} load`, `${judged(`${mb(gm.after)} MB = idle ${d >= 0 ? '+' : ''}${f(d, 1)} MB ${AFTER_SETTLE_MS / 1000} s after, no gc`, `back near idle: ≤ idle + ${MEM_TARGET.nearIdleMB} MB`, d <= MEM_TARGET.nearIdleMB)}; after a forced gc ${gm.gcForced ? `${mb(gm.afterGc)} MB` : '-'}${pm?.after ? `; proxy ${mb(pm.idle)} → ${mb(pm.after)} MB` : ''}`);
    }
  } else missing.push('mem256');
  const gs = streamsResults.find((r) => r.target === 'gateway');
  const ps = streamsResults.find((r) => r.target === 'proxy');
  if (gs) {
    const v = (gs.rssAllOpen ?? NaN) / MB;
    const pv = ps?.rssAllOpen ? `; proxy ${mb(ps.rssAllOpen)} MB, ${f((gs.rssAllOpen ?? NaN) / ps.rssAllOpen, 2)}×` : '';
    line(`memory: ${gs.n} open streams`, `${judged(`${f(v, 1)} MB with all open`, `≤ ${MEM_TARGET.streamsMB} MB${gs.n < 1000 ? `; only ${gs.n} streams` : ''}`, gs.n >= 1000 ? v <= MEM_TARGET.streamsMB : null)}${pv}; completed ${gs.completed}/${gs.n}${ps ? ` (proxy ${ps.completed}/${ps.n})` : ''}; event-loop delay p50/p99/max ${f(gs.eld?.p50, 1)}/${f(gs.eld?.p99, 1)}/${f(gs.eld?.max, 1)} ms${ps ? ` (proxy ${f(ps.eld?.p50, 1)}/${f(ps.eld?.p99, 1)}/${f(ps.eld?.max, 1)})` : ''}`);
    const gss = findSession('gateway', 'streams1k');
    if (gss) line('memory: after the streams ended', `${mb(gss.after)} MB (idle ${mb(gss.idle)}; after gc ${gss.gcForced ? mb(gss.afterGc) : '-'})`);
  } else missing.push('streams1k');
  if (soakSamples.length >= 2) {
    const first = soakSamples[1];
    const last = soakSamples[soakSamples.length - 1];
    if (first.rss !== null && last.rss !== null) {
      const d = (last.rss - first.rss) / MB;
      line(`memory: soak ${SOAK_S} s`, `${judged(`RSS ${mb(soakSamples[0].rss)} (idle) → ${mb(first.rss)} (t=${first.t} s) → ${mb(last.rss)} MB (end): ${d >= 0 ? '+' : ''}${f(d, 1)} MB from t=${first.t} s`, `no growth: ≤ +${MEM_TARGET.soakGrowthMB} MB`, d <= MEM_TARGET.soakGrowthMB)}`);
    }
  } else missing.push(`soak (BENCH_SOAK_SECONDS${SOAK_S > 0 ? '' : '=0: off; 600 for the issue\'s 10 minutes'})`);
  if (missing.length) line('not measured in this run', missing.join(', '));
}

function gitState(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return `${head}${dirty ? ` + ${dirty} uncommitted change(s) under src/` : ' (clean src/)'}`;
  } catch {
    return 'unknown (not a git checkout?)';
  }
}

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  installCleanup();
  const cpus = os.cpus();
  const loadCells = LANES.filter((l) => (l.kind ?? 'load') === 'load').reduce((acc, l) => acc + TARGETS.filter((t) => laneSelected(t, l)).length * scenariosOf(l).length, 0);
  const extraS = TARGETS.reduce((acc, t) => acc + LANES.filter((l) => laneSelected(t, l) && l.kind === 'streams').length * (STREAM_SECONDS + 10), 0)
    + (LANES.some((l) => l.id === 'scale' && laneSelected('gateway', l)) ? 30 : 0) + (LANES.some((l) => l.id === 'soak') ? SOAK_S : 0)
    // a fresh relay: start, idle settle, after settle
    + TARGETS.reduce((acc, t) => acc + LANES.filter((l) => l.fresh && laneSelected(t, l)).length * 9, 0);
  console.log(`API Pool Gateway benchmark — node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${os.platform()} ${os.release()}`);
  console.log(`cells: ${DURATION} s measured after ${WARMUP} s warm-up; connections ${CONNECTIONS.join(', ')}; stream = ${process.env.STREAM_EVENTS ?? 50} SSE events (${process.env.STREAM_SPACING ?? 'burst'}); up to ${loadCells} cells ≈ ${Math.ceil((loadCells * (DURATION + WARMUP + 0.3) + extraS) / 60)} min + TTFB loops`);
  console.log(`lanes: ${LANES.map((l) => l.id).join(', ')}${SOAK_S > 0 ? '' : ' (soak: off, BENCH_SOAK_SECONDS=0)'}`);
  console.log(`bodies: small ${Buffer.byteLength(smallBody(false))} B; Claude Code: ${describeClaudeCodeBody(claudeCodeBody())}`);
  console.log(`tree: ${gitState()}`);
  pinLine = setPinning(PIN, cpus.length);
  console.log(pinLine);
  console.log(`relay memory: RSS of the relay process only (/proc/<pid>/status); relays run with --expose-gc ("after gc" rows force one full gc; nothing else is forced); open-file limit here ${fdLimitOf('self') ?? '?'}`);
  if (RUNTIME === 'node' && process.env.BENCH_BUILD === '0' && fs.existsSync(path.join(BUILD_DIR, 'bench', 'gateway-server.js'))) {
    setRuntime({ kind: 'node', dir: path.join(BUILD_DIR, 'bench') });
    console.log(`runtime: node, reusing ${path.relative(ROOT, BUILD_DIR)} as it is (BENCH_BUILD=0: not rebuilt from src/)`);
  } else if (RUNTIME === 'node') {
    const b = buildForBench();
    setRuntime({ kind: 'node', dir: b.dir });
    console.log(`runtime: node, ${b.files} files compiled to ${path.relative(ROOT, BUILD_DIR)} in ${b.ms.toFixed(0)} ms (BENCH_RUNTIME=tsx runs the sources under tsx)`);
  } else {
    setRuntime({ kind: 'tsx' });
    console.log('runtime: tsx (sources; esbuild keepNames adds __name() calls — production runs compiled JS)');
  }
  const b0 = machineBusyUs();
  await sleep(1000);
  const b1 = machineBusyUs();
  if (b0 !== null && b1 !== null) {
    const pct = (100 * (b1 - b0)) / 1e6;
    console.log(`machine load before start: ${pct.toFixed(0)}% of one core${pct > 10 ? ' — other work is running; it will skew req/s and latency (see the "other" column)' : ''}`);
  }

  const upstream = await startChild('stand-in', 'upstream-server.ts', {
    STREAM_EVENTS: process.env.STREAM_EVENTS ?? '50',
    STREAM_SPACING: process.env.STREAM_SPACING ?? 'burst',
    UPSTREAM_MODEL,
  });
  try {
    for (const target of TARGETS) {
      try {
        await runTarget(target, upstream);
      } catch (err) {
        notes.push(`${target}: stopped early — ${errText(err)}`);
      }
    }
  } finally {
    await upstream.stop();
  }

  if (quietBudgetMs <= 0 && QUIET_BUDGET_S > 0) notes.push('the quiet-wait budget (BENCH_QUIET_BUDGET) ran out: other work kept the machine busy; cells with a high "other" column are disturbed');
  printTable();
  printMemory();
  printTargets();
  if (notes.length) {
    console.log('');
    console.log('Notes:');
    for (const n of notes) console.log(`  - ${n}`);
  }
  for (const p of profiles) {
    console.log('');
    console.log(`CPU profile of the gateway: an extra ${DURATION} s window of ${p.cell}, after its measurement:`);
    console.log(summarise(p.file, 25).text);
  }
  if (process.env.BENCH_JSON) {
    fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({
      date: new Date().toISOString(), node: process.version, cpus: cpus.length, pinning: pinLine, duration: DURATION, warmup: WARMUP,
      cells, ttfb: ttfbs, memory: sessions, streams: streamsResults, soak: soakSamples, scale: scaleInfo, notes, profiles,
    }, null, 2));
    console.log(`\nresults written to ${process.env.BENCH_JSON}`);
  }
  await closeAgent();
  await stopAll();
}

main().then(
  () => process.exit(0),
  async (err) => {
    // (a lane that fails only adds a note; this is the run itself failing, e.g. no stand-in)
    console.error('bench failed:', err);
    await stopAll();
    process.exit(1);
  },
);
