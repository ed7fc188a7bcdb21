/**
 * The real gateway (src/start.ts) in its own process, for bench/run.ts.
 *
 * Env: BENCH_DATA_DIR (temp folder, made and removed by the parent), BENCH_ADMIN_PASSWORD,
 * LOG_LEVEL (default warn). Any other gateway setting is NOT inherited from the caller's
 * environment (no DATABASE_URL / REDIS_URL surprises): the bench measures the SQLite default.
 *
 * IPC: sends {type:'ready', url}; answers the probes of relay-probes.ts ({cmd:'cpu'} with
 * process.cpuUsage(), 'mem', 'eld-start' / 'eld-stop'); {cmd:'profile-start'} / {cmd:'profile-stop', file}
 * run the V8 sampling profiler in-process and write a .cpuprofile whose TypeScript frames are mapped
 * back to src/… lines (tsx source maps); {cmd:'affinity-fill', pool, prefix, n, memberIds} remembers
 * n conversations (`<prefix><i>`, i < n) through the gateway's own gw.affinity.set, as n served turns
 * would (the scale lane), and answers with the table's size afterwards (it is bounded: least recently
 * used entries go first).
 */
import { findSourceMap, SourceMap } from 'node:module';
import { Session } from 'node:inspector/promises';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/start.js';
import { answerProbe } from './relay-probes.js';

/** The repo root (this file runs from bench/ under tsx, or from bench/.build/bench/ compiled). */
const ROOT = (() => {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
})();

const config = loadConfig({
  API_PORT: '0',
  HOST: '127.0.0.1',
  ADMIN_PASSWORD: process.env.BENCH_ADMIN_PASSWORD ?? 'bench-admin',
  DATA_DIR: process.env.BENCH_DATA_DIR!,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const log = createLogger(config.logLevel);

let running: RunningGateway | null = null;
let session: Session | null = null;

async function profileStart(intervalUs: number): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
}

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId: string }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[]; positionTicks?: { line: number; ticks: number }[] }

type Entry = { originalSource?: string; originalLine?: number; originalColumn?: number };
const maps = new Map<string, SourceMap | null>();

/** The source map of a loaded file: tsx's (in memory) for .ts, or the .js.map written by bench/build.ts. */
function sourceMapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  try {
    if (/\.[cm]?tsx?$/.test(url)) map = findSourceMap(url) ?? findSourceMap(fileURLToPath(url)) ?? null;
    else if (fs.existsSync(`${fileURLToPath(url)}.map`)) map = new SourceMap(JSON.parse(fs.readFileSync(`${fileURLToPath(url)}.map`, 'utf8')));
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

/** Stops the profiler, maps frames back to their TypeScript lines, writes the profile; returns its path. */
async function profileStop(file: string): Promise<string> {
  if (!session) throw new Error('profiler not started');
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[] } };
  session.disconnect();
  session = null;
  for (const node of profile.nodes) {
    const cf = node.callFrame;
    if (!cf.url.startsWith('file://') || cf.url.includes('/node_modules/')) continue;
    const map = cf.lineNumber >= 0 ? sourceMapFor(cf.url) : null;
    let source = cf.url;
    const entry = map?.findEntry(cf.lineNumber, cf.columnNumber) as Entry | undefined;
    if (entry && entry.originalLine !== undefined) {
      cf.lineNumber = entry.originalLine;
      cf.columnNumber = entry.originalColumn ?? 0;
      if (entry.originalSource) source = entry.originalSource;
    }
    if (map && node.positionTicks) {
      for (const pt of node.positionTicks) {
        const e = map.findEntry(pt.line - 1, 0) as Entry | undefined;
        if (e && e.originalLine !== undefined) pt.line = e.originalLine + 1;
      }
    }
    // short names in the summary: src/relay/relay.ts
    try {
      cf.url = path.relative(ROOT, source.startsWith('file://') ? fileURLToPath(source) : source);
    } catch { /* keep the url */ }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}

interface Command { cmd?: string; id?: number; file?: string; intervalUs?: number; pool?: string; prefix?: string; n?: number; memberIds?: number[] }

/** Remembers `n` conversations as served turns would (gw.affinity.set); returns the table's size. */
function affinityFill(m: Command): { size: number; ms: number } {
  if (!running) throw new Error('gateway not running');
  const ids = m.memberIds ?? [];
  if (ids.length === 0) throw new Error('no member ids');
  const t0 = performance.now();
  const affinity = running.gateway.affinity;
  for (let i = 0; i < (m.n ?? 0); i++) affinity.set(m.pool ?? 'normal', `${m.prefix ?? 'bench-conv-'}${i}`, ids[i % ids.length]);
  return { size: affinity.table.size, ms: performance.now() - t0 };
}

process.on('message', (m: Command) => {
  const reply = (data: object) => process.send?.({ id: m.id, ...data });
  if (answerProbe(m)) return;
  if (m?.cmd === 'affinity-fill') {
    try {
      return reply({ type: 'ok', ...affinityFill(m) });
    } catch (e) {
      return reply({ type: 'error', message: String(e) });
    }
  }
  if (m?.cmd === 'profile-start') {
    profileStart(m.intervalUs ?? 200).then(() => reply({ type: 'ok' }), (e) => reply({ type: 'error', message: String(e) }));
  }
  if (m?.cmd === 'profile-stop') {
    profileStop(m.file!).then((file) => reply({ type: 'ok', file }), (e) => reply({ type: 'error', message: String(e) }));
  }
});

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  (running ? running.close() : Promise.resolve()).finally(() => {
    // the parent removes it too; this covers a parent that was SIGKILLed
    try { fs.rmSync(process.env.BENCH_DATA_DIR!, { recursive: true, force: true }); } catch { /* best effort */ }
    process.exit(0);
  });
};
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

startGateway(config, log).then(
  (r) => {
    running = r;
    process.send?.({ type: 'ready', url: r.url });
  },
  (err) => {
    console.error('gateway could not start:', err);
    process.exit(1);
  },
);
