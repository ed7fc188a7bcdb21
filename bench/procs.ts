/**
 * Child processes of the benchmark: forked with tsx, report readiness over IPC, answer small RPCs
 * (cpu usage, profiler), and are all killed when the bench exits — normally, on error or on Ctrl-C.
 * Memory is read from outside, from /proc/<pid>/status of the child itself (VmRSS, VmHWM: that one
 * process and its threads, never its children); the peak is reset through /proc/<pid>/clear_refs.
 * With pinning on (setPinning), children start under `taskset -c <cpus>` (the same pid: taskset execs node).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');

export interface Child {
  name: string;
  proc: ChildProcess;
  /** The child's `ready` message (url …). */
  ready: { url: string; [k: string]: unknown };
  rpc<T = Record<string, unknown>>(cmd: string, args?: object, timeoutMs?: number): Promise<T>;
  /** process.cpuUsage() of the child, in µs (user + system). */
  cpu(): Promise<number>;
  /** Read / write syscalls made so far by the whole process (Linux /proc/<pid>/io; null elsewhere). */
  syscalls(): { reads: number; writes: number } | null;
  /** Resident memory of this process now and its peak since the last resetPeak (or start), in bytes; null off Linux. */
  rss(): ProcMem | null;
  /** Starts a new peak (VmHWM := VmRSS); false when the kernel does not allow it (then only sampling sees peaks). */
  resetPeak(): boolean;
  /** The soft limit of open files of the process (Linux /proc/<pid>/limits; null elsewhere). */
  fdLimit(): number | null;
  /** Open file descriptors of the process now (null off Linux). */
  fds(): number | null;
  stop(): Promise<void>;
}

export interface ProcMem {
  rss: number;
  /** Peak RSS since the last reset. */
  hwm: number;
  /** The anonymous part of rss (heaps, buffers, stacks); the rest is mapped files (the node binary's pages …) and shmem. */
  anon: number;
}

/** VmRSS / VmHWM of a pid, in bytes. */
export function procMem(pid: number): ProcMem | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s*(\d+)\s*kB/.exec(st)?.[1]);
    const hwm = Number(/VmHWM:\s*(\d+)\s*kB/.exec(st)?.[1]);
    const anon = Number(/RssAnon:\s*(\d+)\s*kB/.exec(st)?.[1] ?? NaN);
    return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss: rss * 1024, hwm: hwm * 1024, anon: anon * 1024 } : null;
  } catch {
    return null;
  }
}

export function fdLimitOf(pid: number | 'self'): number | null {
  try {
    const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.trim().split(/\s{2,}/)[1];
    return soft === undefined ? null : soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return null;
  }
}

// ---- CPU pinning ---------------------------------------------------------------------------

/** CPU lists per role for `taskset -c`; null: no pinning. */
let pinning: { relay: string; other: string } | null = null;

/**
 * Pins relays to one core and everything else (stand-in, this process — the load generator) to the
 * others, as the issue's own measurement did. Off with BENCH_PIN=0, without taskset or below 2 cores.
 * Returns a line for the header.
 */
export function setPinning(wanted: boolean, cpus: number): string {
  if (!wanted) return 'CPU pinning: off (BENCH_PIN=0)';
  if (cpus < 2) return `CPU pinning: off (${cpus} core)`;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return 'CPU pinning: off (no taskset)';
  }
  const other = cpus === 2 ? '1' : `1-${cpus - 1}`;
  try {
    // -a: every thread of this process (V8's and libuv's included)
    execFileSync('taskset', ['-a', '-p', '-c', other, String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    return `CPU pinning: off (taskset failed: ${(err as Error).message.split('\n')[0]})`;
  }
  pinning = { relay: '0', other };
  return `CPU pinning: proxy / gateway on CPU 0; stand-in and load generator (this process) on CPU ${other} (taskset; BENCH_PIN=0 turns it off)`;
}

/** How children run: compiled JS from bench/.build (see build.ts) with plain node, or the .ts sources under tsx. */
let runtime: { kind: 'node'; dir: string } | { kind: 'tsx' } = { kind: 'tsx' };
export function setRuntime(r: typeof runtime): void {
  runtime = r;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let rpcSeq = 0;

export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** Forks `file` (a .ts in bench/, or its compiled .js) and waits for its {type:'ready'} message. */
export function startChild(name: string, file: string, env: Record<string, string>, opts: { execArgv?: string[]; timeoutMs?: number; role?: 'relay' | 'other' } = {}): Promise<Child> {
  const script = runtime.kind === 'node' ? path.join(runtime.dir, file.replace(/\.ts$/, '.js')) : path.join(BENCH_DIR, file);
  // under tsx: tsx as an import hook, the children run the TypeScript sources
  const nodeArgs = [...(runtime.kind === 'tsx' ? ['--import', 'tsx'] : []), ...(opts.execArgv ?? [])];
  const pin = pinning ? pinning[opts.role ?? 'other'] : null;
  const proc = fork(script, [], {
    cwd: ROOT,
    // pinned: `taskset -c <cpus> node <args> <script>` (taskset execs node: same pid, IPC channel inherited)
    ...(pin ? { execPath: 'taskset', execArgv: ['-c', pin, process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  // (IPC errors are reported to the rpc that met them; unheard, they would end the bench)
  proc.on('error', () => {});

  const pending = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  proc.on('message', (m: Record<string, unknown>) => {
    if (typeof m?.id === 'number' && pending.has(m.id)) {
      const p = pending.get(m.id)!;
      pending.delete(m.id);
      p.resolve(m);
    }
  });
  proc.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it answered`));
    pending.clear();
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name}: not ready after ${opts.timeoutMs ?? 30_000} ms`)), opts.timeoutMs ?? 30_000);
    const onExit = (code: number | null, signal: string | null) => fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    function fail(err: Error) {
      clearTimeout(timer);
      proc.off('exit', onExit);
      proc.kill('SIGKILL');
      reject(err);
    }
    proc.once('exit', onExit);
    proc.on('message', function onReady(m: { type?: string; url?: string }) {
      if (m?.type !== 'ready') return;
      clearTimeout(timer);
      proc.off('exit', onExit);
      proc.off('message', onReady);
      const child: Child = {
        name,
        proc,
        ready: m as Child['ready'],
        rpc(cmd, args = {}, timeoutMs = 30_000) {
          const id = ++rpcSeq;
          return new Promise((res, rej) => {
            // a child that died fails the call (and so the lane), not the whole run
            if (!proc.connected) return rej(new Error(`${name} is gone (exit code ${proc.exitCode}, signal ${proc.signalCode}); no answer to ${cmd}`));
            const t = setTimeout(() => { pending.delete(id); rej(new Error(`${name}: no answer to ${cmd}`)); }, timeoutMs);
            pending.set(id, {
              resolve: (msg) => { clearTimeout(t); res(msg as never); },
              reject: (err) => { clearTimeout(t); rej(err); },
            });
            proc.send({ cmd, id, ...args }, (err) => {
              if (!err) return;
              clearTimeout(t);
              pending.delete(id);
              rej(new Error(`${name}: ${cmd} could not be sent (${err.message})`));
            });
          });
        },
        async cpu() {
          const m = await child.rpc<{ usage: { user: number; system: number } }>('cpu');
          return m.usage.user + m.usage.system;
        },
        syscalls() {
          try {
            const io = fs.readFileSync(`/proc/${proc.pid}/io`, 'utf8');
            return { reads: Number(/syscr:\s*(\d+)/.exec(io)?.[1]), writes: Number(/syscw:\s*(\d+)/.exec(io)?.[1]) };
          } catch {
            return null;
          }
        },
        rss: () => (proc.pid ? procMem(proc.pid) : null),
        resetPeak() {
          try {
            fs.writeFileSync(`/proc/${proc.pid}/clear_refs`, '5');
            return true;
          } catch {
            return false;
          }
        },
        fdLimit: () => (proc.pid ? fdLimitOf(proc.pid) : null),
        fds() {
          try {
            return fs.readdirSync(`/proc/${proc.pid}/fd`).length;
          } catch {
            return null;
          }
        },
        stop: () => stopProc(proc),
      };
      resolve(child);
    });
  });
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
function stopProc(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.kill('SIGTERM');
  });
}

/** Stops every child still running and removes temp folders. Safe to call more than once. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stopProc(p, 3000)));
  removeTempDirs();
}

function removeTempDirs(): void {
  for (const d of tempDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
    tempDirs.delete(d);
  }
}

/** Installs exit / signal / crash handlers that leave no child behind. */
export function installCleanup(): void {
  // Last resort, synchronous: whatever is still alive gets SIGKILL.
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
    removeTempDirs();
  });
  let stopping = false;
  const bail = (code: number, why: string, err?: unknown) => {
    if (err) console.error(err);
    if (stopping) return;
    stopping = true;
    console.error(`\nbench: ${why}; stopping child processes…`);
    stopAll().finally(() => process.exit(code));
    setTimeout(() => process.exit(code), 5000).unref();
  };
  process.on('SIGINT', () => bail(130, 'interrupted'));
  process.on('SIGTERM', () => bail(143, 'terminated'));
  process.on('SIGHUP', () => bail(129, 'hang-up'));
  process.on('uncaughtException', (err) => bail(1, 'crashed', err));
  process.on('unhandledRejection', (err) => bail(1, 'crashed (unhandled rejection)', err));
}
