/**
 * Child processes of the benchmark: forked with tsx, report readiness over IPC, answer small RPCs
 * (cpu usage, profiler), and are all killed when the bench exits — normally, on error or on Ctrl-C.
 */
import { fork, type ChildProcess } from 'node:child_process';
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
  stop(): Promise<void>;
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
export function startChild(name: string, file: string, env: Record<string, string>, opts: { execArgv?: string[]; timeoutMs?: number } = {}): Promise<Child> {
  const script = runtime.kind === 'node' ? path.join(runtime.dir, file.replace(/\.ts$/, '.js')) : path.join(BENCH_DIR, file);
  const proc = fork(script, [], {
    cwd: ROOT,
    // under tsx: tsx as an import hook, the children run the TypeScript sources
    execArgv: [...(runtime.kind === 'tsx' ? ['--import', 'tsx'] : []), ...(opts.execArgv ?? [])],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));

  const pending = new Map<number, (m: Record<string, unknown>) => void>();
  proc.on('message', (m: Record<string, unknown>) => {
    if (typeof m?.id === 'number' && pending.has(m.id)) {
      const resolve = pending.get(m.id)!;
      pending.delete(m.id);
      resolve(m);
    }
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
            const t = setTimeout(() => { pending.delete(id); rej(new Error(`${name}: no answer to ${cmd}`)); }, timeoutMs);
            pending.set(id, (msg) => { clearTimeout(t); res(msg as never); });
            proc.send({ cmd, id, ...args });
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
