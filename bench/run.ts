/**
 * `npm run bench`: the gateway against a Node floor, on one machine.
 *
 *   stand-in upstream (own process) ← direct            ← autocannon (this process)
 *                                   ← minimal proxy (own process)
 *                                   ← real gateway  (own process)
 *
 * The relays run one at a time. Each lane (a request body / format pairing) runs four scenarios
 * (non-streamed and streamed, at 1 and 32 connections) against every target the lane applies to,
 * then a sequential time-to-first-byte loop for the streamed case. Numbers only: exit code 0.
 *
 * Knobs (env):
 *   BENCH_DURATION=5      seconds measured per cell          BENCH_WARMUP=1   warm-up seconds per cell
 *   BENCH_CONNECTIONS=1,32                                   BENCH_TTFB_N=200 sequential requests for TTFB
 *   BENCH_LANES=small,cc80k,cc80k-x-openai,cc80k-affinity-off,small-key   (default: all)
 *   BENCH_ONLY=gateway,stream   run only cells whose id (target/lane/mode/cN, e.g. gateway/small/stream/c32)
 *                         has every listed word as a segment (a part containing "/" matches as a substring)
 *   BENCH_CROSS=auto|1|0  cross-format lanes: probe the gateway and run when it answers 200 (auto),
 *                         always (1), never (0)
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
 * Adding rows: push a Lane onto LANES below (body, client path, model, targets, optional gate).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claudeCodeBodyJson, claudeCodeBody, describeClaudeCodeBody } from './claude-code-body.js';
import { HEADERS, check, closeAgent, load, ttfb, type CheckResult, type LoadResult, type TtfbResult } from './load.js';
import { BUILD_DIR, buildForBench } from './build.js';
import { installCleanup, ROOT, setRuntime, startChild, stopAll, trackTempDir, type Child } from './procs.js';
import { summarise } from './profile-summary.js';

// ---- settings ------------------------------------------------------------------------------

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
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
const ADMIN_PASSWORD = 'bench-admin-password';
const UPSTREAM_MODEL = 'bench-model';
const UPSTREAM_MODEL_OPENAI = 'bench-model-oai';

// ---- lanes ---------------------------------------------------------------------------------

type Target = 'direct' | 'proxy' | 'gateway';
const TARGETS: Target[] = ['direct', 'proxy', 'gateway'];

interface Lane {
  id: string;
  label: string;
  /** Client endpoint on every target. */
  path: string;
  /** Request body JSON text, for a streamed or a non-streamed call. */
  body(stream: boolean): string;
  targets: Target[];
  /** 'cross': only when the gateway converts formats (see BENCH_CROSS). 'key': creates an access key
   *  first and sends it from then on (so it must be the gateway's last lane). 'affinity-off': turns
   *  the normal pool's conversation affinity off first (so it runs after the lanes that want it on). */
  gate?: 'cross' | 'key' | 'affinity-off';
  /** Another lane whose gateway rows this lane's gateway rows are compared with in the summary. */
  compareTo?: string;
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

const LANES: Lane[] = [
  { id: 'small', label: 'small body, Anthropic → Anthropic', path: '/v1/messages', body: memo(smallBody), targets: TARGETS },
  { id: 'cc80k', label: 'Claude Code 80 KB body, Anthropic → Anthropic', path: '/v1/messages', body: memo((stream) => claudeCodeBodyJson({ stream })), targets: TARGETS },
  {
    id: 'cc80k-x-openai',
    label: 'Claude Code 80 KB body, Anthropic client → OpenAI provider',
    path: '/v1/messages',
    // "opus" → the advanced pool, whose only member is the OpenAI-format provider
    body: memo((stream) => claudeCodeBodyJson({ stream, model: 'opus' })),
    targets: ['gateway'],
    gate: 'cross',
    compareTo: 'cc80k',
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
  },
].filter((l) => !process.env.BENCH_LANES || process.env.BENCH_LANES.split(',').includes(l.id)) as Lane[];

interface Scenario { stream: boolean; connections: number }
const SCENARIOS: Scenario[] = [false, true].flatMap((stream) => CONNECTIONS.map((connections) => ({ stream, connections })));
const modeName = (stream: boolean) => (stream ? 'stream' : 'non-stream');
const cellId = (t: Target, l: Lane, s: Scenario) => `${t}/${l.id}/${modeName(s.stream)}/c${s.connections}`;
/** BENCH_ONLY parts: a plain word must equal one segment of the id (so "stream" ≠ "non-stream"); a part with "/" is a substring. */
const selected = (id: string) => ONLY.every((part) => (part.includes('/') ? id.includes(part) : id.split('/').includes(part)));

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
  upCpuPct: number;
  lgCpuPct: number;
  /** CPU used on the machine by everything else over the window (% of one core; null off Linux). */
  otherCpuPct: number | null;
  profiled: boolean;
}
const cells: Cell[] = [];
const ttfbs: (TtfbResult & { target: Target; lane: string })[] = [];
const notes: string[] = [];
const profiles: { cell: string; file: string }[] = [];

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

// ---- running -------------------------------------------------------------------------------

/** Waits (within the run's quiet budget) until processes other than ours use < QUIET_PCT of a core. */
async function waitForQuiet(): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (quietBudgetMs <= 0) return performance.now() - t0;
    const a = machineBusyUs();
    await new Promise((r) => setTimeout(r, 500));
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
    upCpuPct: (100 * (up1 - up0)) / wallUs,
    lgCpuPct: (100 * (lg.user + lg.system)) / wallUs,
    otherCpuPct: m0 !== null && m1 !== null ? Math.max(0, (100 * (m1 - m0 - ours)) / wallUs) : null,
    profiled: false,
  };
}

async function runCell(target: Target, base: string, lane: Lane, s: Scenario, upstream: Child, relay: Child | null): Promise<void> {
  const id = cellId(target, lane, s);
  const url = base + lane.path;
  const body = lane.body(s.stream);
  process.stderr.write(`  ${id.padEnd(42)} `);
  const profile = target === 'gateway' && relay !== null && PROFILE !== null && (PROFILE === '1' ? s.connections >= 32 : id.includes(PROFILE));
  let best: Cell | null = null;
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    const waited = await waitForQuiet();
    if (waited > 600) process.stderr.write(`(waited ${(waited / 1000).toFixed(1)} s for a quiet machine) `);
    if (WARMUP > 0) await load(url, body, s.connections, WARMUP);
    const c = await measure(target, url, body, s, upstream, relay);
    if (!best || (c.otherCpuPct ?? 0) < (best.otherCpuPct ?? 0)) best = c;
    if ((best.otherCpuPct ?? 0) <= DISTURBED_PCT || quietBudgetMs <= 0) break;
    process.stderr.write(`(disturbed: others used ${f(c.otherCpuPct, 0)}% of a core; again) `);
  }
  const cell = { ...best!, lane: lane.id, profiled: profile };
  cells.push(cell);
  if (profile) await profileWindow(id, url, body, s, relay!);
  const bad = cell.non2xx + cell.errors + cell.timeouts;
  process.stderr.write(`${cell.rps.toFixed(0).padStart(7)} req/s  p50 ${cell.p50.toFixed(2)} ms${bad ? `  (${bad} errors/non-2xx)` : ''}\n`);
}

async function runTarget(target: Target, upstream: Child): Promise<void> {
  const lanes = LANES.filter((l) => l.targets.includes(target) && SCENARIOS.some((s) => selected(cellId(target, l, s))));
  if (lanes.length === 0) return;
  let relay: Child | null = null;
  let base = upstream.ready.url;
  if (target === 'proxy') {
    relay = await startChild('minimal-proxy', 'minimal-proxy.ts', { UPSTREAM_URL: upstream.ready.url, PROXY_MODEL: UPSTREAM_MODEL });
    base = relay.ready.url;
  } else if (target === 'gateway') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-bench-'));
    trackTempDir(dataDir);
    relay = await startChild('gateway', 'gateway-server.ts', { BENCH_DATA_DIR: dataDir, BENCH_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    base = relay.ready.url;
    await addProvider(base, { name: 'standin-anthropic', baseUrl: upstream.ready.url, format: 'anthropic' }, 'normal', [UPSTREAM_MODEL]);
  }
  process.stderr.write(`\n[${target}] ${base}\n`);
  try {
    for (const lane of lanes) {
      if (lane.gate === 'cross' && !(await crossGate(base, lane, upstream))) continue;
      if (lane.gate === 'key' && !(await keyGate(base, lane))) continue;
      if (lane.gate === 'affinity-off') {
        const off = await admin(base, 'PATCH', '/admin/pools/normal', { affinity: 'none' });
        if (off.status !== 200) {
          notes.push(`${lane.id}: skipped — PATCH /admin/pools/normal answered ${off.status}`);
          continue;
        }
      }
      for (const stream of [false, true]) {
        const c = await check(base + lane.path, lane.body(stream), stream);
        if (!c.ok) notes.push(`${target}/${lane.id}/${modeName(stream)}: check failed: ${c.note}`);
      }
      for (const s of SCENARIOS) {
        if (selected(cellId(target, lane, s))) await runCell(target, base, lane, s, upstream, relay);
      }
      if (TTFB_N > 0 && SCENARIOS.some((s) => s.stream && selected(cellId(target, lane, s)))) {
        const t = await ttfb(base + lane.path, lane.body(true), TTFB_N);
        ttfbs.push({ ...t, target, lane: lane.id });
        process.stderr.write(`  ${`${target}/${lane.id}/stream/ttfb`.padEnd(42)}  TTFB p50 ${t.ttfbP50.toFixed(3)} ms (n=${t.n}${t.errors ? `, ${t.errors} errors` : ''})\n`);
      }
    }
  } finally {
    if (relay) await relay.stop();
  }
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

async function addProvider(base: string, p: { name: string; baseUrl: string; format: 'anthropic' | 'openai' }, pool: string, models: string[]): Promise<void> {
  const created = await admin(base, 'POST', '/admin/providers', { ...p, apiKey: 'sk-standin-key-123456' });
  if (created.status !== 201) throw new Error(`POST /admin/providers → ${created.status} ${JSON.stringify(created.body)}`);
  const added = await admin(base, 'POST', `/admin/pools/${pool}/members`, { providerId: created.body.id, models });
  if (added.status !== 201) throw new Error(`POST /admin/pools/${pool}/members → ${added.status} ${JSON.stringify(added.body)}`);
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

let crossProviderAdded = false;
/** Adds the OpenAI-format provider (advanced pool) and decides whether the cross-format lane runs. */
async function crossGate(base: string, lane: Lane, upstream: Child): Promise<boolean> {
  if (CROSS === '0' || CROSS === 'false' || CROSS === 'no') {
    notes.push(`${lane.id}: skipped (BENCH_CROSS=${CROSS})`);
    return false;
  }
  if (!crossProviderAdded) {
    await addProvider(base, { name: 'standin-openai', baseUrl: upstream.ready.url, format: 'openai' }, 'advanced', [UPSTREAM_MODEL_OPENAI]);
    crossProviderAdded = true;
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

function findCell(target: Target, lane: string, stream: boolean, connections: number): Cell | undefined {
  return cells.find((c) => c.target === target && c.lane === lane && c.stream === stream && c.connections === connections);
}
function findTtfb(target: Target, lane: string) {
  return ttfbs.find((t) => t.target === target && t.lane === lane);
}

function printTable(): void {
  const cols: [string, number, boolean][] = [
    ['scenario', 30, false], ['target', 8, false], ['conns', 5, true], ['req/s', 8, true], ['p50 ms', 8, true], ['p99 ms', 8, true],
    ['TTFB p50', 9, true], ['relay µs/req', 12, true], ['relay CPU', 9, true], ['wr/rd per req', 13, true], ['up CPU', 7, true], ['lg CPU', 7, true], ['other', 6, true], ['errors', 6, true],
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
    for (const s of SCENARIOS) {
      let first = true;
      for (const t of TARGETS) {
        const c = findCell(t, lane.id, s.stream, s.connections);
        if (!c) continue;
        const tt = s.stream && s.connections === 1 ? findTtfb(t, lane.id) : undefined;
        const bad = c.non2xx + c.errors + c.timeouts;
        const row = [
          first ? `  ${modeName(s.stream)}` : '', t, String(s.connections), f(c.rps, 0), f(c.p50, 3), f(c.p99, 3),
          tt ? f(tt.ttfbP50, 3) : '', f(c.relayUsPerReq, 0), c.relayCpuPct === null ? '-' : `${f(c.relayCpuPct, 0)}%`,
          c.relayWritesPerReq === null ? '-' : `${f(c.relayWritesPerReq, 1)}/${f(c.relayReadsPerReq, 1)}`,
          `${f(c.upCpuPct, 0)}%`, `${f(c.lgCpuPct, 0)}%`, c.otherCpuPct === null ? '-' : `${f(c.otherCpuPct, 0)}%`, String(bad),
        ];
        console.log(cols.map(([, w, r], i) => pad(row[i], w, r)).join('  ') + (c.profiled ? '  (profiled after)' : ''));
        first = false;
      }
    }
  }
  console.log(rule);
  console.log('p50/p99: full-response latency from autocannon, 2xx only, sub-ms precision. TTFB p50: sequential undici loop,');
  console.log(`${TTFB_N} streamed requests, send → first body chunk (shown on the c1 streamed rows). relay µs/req: CPU time of the`);
  console.log('proxy/gateway process per answered request; wr/rd per req: its write / read syscalls per request (a count, not a');
  console.log('timing: unaffected by machine noise). CPU %: share of one core over the window: relay, stand-in (up),');
  console.log(`load generator (lg), and every other process on the machine (other; > ~10% means the cell was disturbed).`);
  const disturbed = cells.filter((c) => (c.otherCpuPct ?? 0) > 15);
  if (disturbed.length) {
    console.log(`WARNING: ${disturbed.length} cell(s) ran while other processes used > 15% of a core (${disturbed.map((c) => `${c.target}/${c.lane}/${modeName(c.stream)}/c${c.connections} ${f(c.otherCpuPct, 0)}%`).join(', ')}); compare relay µs/req rather than req/s for those.`);
  }
}

function printTargets(): void {
  console.log('');
  console.log('Issue targets (gateway vs the Node floor):');
  const hi = Math.max(...CONNECTIONS);
  const lo = Math.min(...CONNECTIONS);
  for (const lane of LANES) {
    for (const stream of [false, true]) {
      const g = findCell('gateway', lane.id, stream, hi);
      const p = findCell('proxy', lane.id, stream, hi);
      const g1 = findCell('gateway', lane.id, stream, lo);
      const p1 = findCell('proxy', lane.id, stream, lo);
      const d1 = findCell('direct', lane.id, stream, lo);
      if (!g && !g1) continue;
      const name = `  ${lane.id} ${modeName(stream)}`.padEnd(30);
      if (g && p) {
        const ratio = g.rps / p.rps;
        const cpu = g.relayUsPerReq && p.relayUsPerReq ? `; CPU/req gateway/proxy ${f(g.relayUsPerReq / p.relayUsPerReq, 2)}×` : '';
        console.log(`${name} throughput @${hi} conns gateway/proxy = ${f(g.rps, 0)}/${f(p.rps, 0)} = ${f(ratio, 2)}   (target ≥ 0.50)${cpu}`);
      }
      if (g1 && (d1 || p1)) {
        const parts = [];
        if (d1) parts.push(`gateway − direct = ${f(g1.p50 - d1.p50, 3)} ms`);
        if (p1) parts.push(`gateway − proxy = ${f(g1.p50 - p1.p50, 3)} ms`);
        console.log(`${name} added p50 @${lo} conn: ${parts.join(', ')}   (target < 0.5 ms)`);
      }
      if (lane.compareTo) {
        const base = LANES.find((l) => l.id === lane.compareTo);
        const bh = findCell('gateway', lane.compareTo, stream, hi);
        const b1 = findCell('gateway', lane.compareTo, stream, lo);
        if (base && g && bh) {
          console.log(`${name} gateway vs [${base.id}] @${hi} conns: throughput ${f(g.rps / bh.rps, 2)}×, CPU/req ${f((g.relayUsPerReq ?? NaN) / (bh.relayUsPerReq ?? NaN), 2)}×`);
        }
        if (base && g1 && b1) console.log(`${name} gateway vs [${base.id}] added p50 @${lo} conn: ${f(g1.p50 - b1.p50, 3)} ms`);
      }
      if (stream) {
        const tg = findTtfb('gateway', lane.id);
        const tp = findTtfb('proxy', lane.id);
        const td = findTtfb('direct', lane.id);
        if (tg && (tp || td)) {
          console.log(`${name} added TTFB p50: ${[td ? `gateway − direct = ${f(tg.ttfbP50 - td.ttfbP50, 3)} ms` : '', tp ? `gateway − proxy = ${f(tg.ttfbP50 - tp.ttfbP50, 3)} ms` : ''].filter(Boolean).join(', ')}`);
        }
      }
    }
  }
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
  const nCells = LANES.reduce((acc, l) => acc + l.targets.filter((t) => SCENARIOS.some((s) => selected(cellId(t, l, s)))).length * SCENARIOS.length, 0);
  console.log(`API Pool Gateway benchmark — node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${os.platform()} ${os.release()}`);
  console.log(`cells: ${DURATION} s measured after ${WARMUP} s warm-up; connections ${CONNECTIONS.join(', ')}; stream = ${process.env.STREAM_EVENTS ?? 50} SSE events (${process.env.STREAM_SPACING ?? 'burst'}); up to ${nCells} cells ≈ ${Math.ceil((nCells * (DURATION + WARMUP + 0.3)) / 60)} min + TTFB loops`);
  console.log(`bodies: small ${Buffer.byteLength(smallBody(false))} B; Claude Code: ${describeClaudeCodeBody(claudeCodeBody())}`);
  console.log(`tree: ${gitState()}`);
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
  await new Promise((r) => setTimeout(r, 1000));
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
    for (const target of TARGETS) await runTarget(target, upstream);
  } finally {
    await upstream.stop();
  }

  if (quietBudgetMs <= 0 && QUIET_BUDGET_S > 0) notes.push('the quiet-wait budget (BENCH_QUIET_BUDGET) ran out: other work kept the machine busy; cells with a high "other" column are disturbed');
  printTable();
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
    fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus.length, duration: DURATION, warmup: WARMUP, cells, ttfb: ttfbs, notes, profiles }, null, 2));
    console.log(`\nresults written to ${process.env.BENCH_JSON}`);
  }
  await closeAgent();
  await stopAll();
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error('bench failed:', err);
    await stopAll();
    process.exit(1);
  },
);
