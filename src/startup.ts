/**
 * Start-up problems a person must fix (a data folder the process cannot write, a port already in
 * use, a HOST that is not this machine's): each becomes one line naming the thing and the fix, and
 * `main.ts` exits with code 2, like a bad setting. Anything else keeps its full report (exit 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';

/** A start-up problem explained in one line (`main.ts`: printed as `could not start: …`, exit code 2). */
export class StartupProblem extends Error {}

/** Who this process runs as (null where the platform has no uids). */
export interface RunAs {
  uid: number;
  gid: number;
}

function currentUser(): RunAs | null {
  return typeof process.getuid === 'function' && typeof process.getgid === 'function'
    ? { uid: process.getuid(), gid: process.getgid() }
    : null;
}

/** Files the gateway keeps in DATA_DIR (SQLite and its WAL files, the key file). */
const DATA_FILES = ['gateway.db', 'gateway.db-wal', 'gateway.db-shm', 'secret.key'];

/**
 * With SQLite (no DATABASE_URL), DATA_DIR must be a folder this process can create files in, and
 * the files already there must be readable and writable (secret.key: readable). Throws a
 * StartupProblem naming the path, its owner's uid, the uid the gateway runs as and the command to
 * run. With DATABASE_URL the folder is not used and not checked.
 */
export function checkDataDir(config: Pick<Config, 'dataDir' | 'databaseUrl'>, user: RunAs | null = currentUser(), inContainer = fs.existsSync('/.dockerenv')): void {
  if (config.databaseUrl) return;
  const dir = path.resolve(config.dataDir);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // Missing: it is made at start, so its nearest existing parent must be writable.
    const parent = nearestExisting(path.dirname(dir));
    const why = accessProblem(parent, fs.constants.W_OK | fs.constants.X_OK);
    if (why) throw new StartupProblem(dataDirMessage({ dir, target: parent, missing: true, why, stat: fs.statSync(parent), user, inContainer }));
    return;
  }
  if (!st.isDirectory()) throw new StartupProblem(`DATA_DIR ${dir} is not a folder: set DATA_DIR to a folder (the SQLite database and secret.key are kept there)`);
  const why = accessProblem(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  if (why) throw new StartupProblem(dataDirMessage({ dir, target: dir, missing: false, why, stat: st, user, inContainer }));
  for (const name of DATA_FILES) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) continue;
    const mode = name === 'secret.key' ? fs.constants.R_OK : fs.constants.R_OK | fs.constants.W_OK;
    const fileWhy = accessProblem(file, mode);
    if (fileWhy) throw new StartupProblem(dataDirMessage({ dir, target: file, missing: false, why: fileWhy, stat: fs.statSync(file), user, inContainer }));
  }
}

function nearestExisting(p: string): string {
  let cur = p;
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) cur = path.dirname(cur);
  return cur;
}

/** Null when `mode` is allowed; else the error code (EACCES, EROFS, EPERM). */
function accessProblem(p: string, mode: number): string | null {
  try {
    fs.accessSync(p, mode);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EACCES';
  }
}

/** The one line for a DATA_DIR (or a file in it) this process cannot use. */
export function dataDirMessage(p: {
  dir: string;
  /** The path that is not writable: the folder, its parent (missing folder) or a file in it. */
  target: string;
  missing: boolean;
  /** accessSync's error code. */
  why: string;
  stat: Pick<fs.Stats, 'uid' | 'gid' | 'mode'>;
  user: RunAs | null;
  inContainer: boolean;
}): string {
  const what = p.missing
    ? `DATA_DIR ${p.dir} does not exist and cannot be created: ${p.target}`
    : p.target === p.dir ? `DATA_DIR ${p.dir}` : `${p.target} (in DATA_DIR)`;
  const verb = p.missing || p.target === p.dir ? 'is not writable by the gateway' : 'cannot be read and written by the gateway';
  if (p.why === 'EROFS') {
    return `${what} is on a read-only file system: mount it read-write (with Docker: no ":ro" on the /data volume), or set DATA_DIR to a writable folder`;
  }
  const folder = p.dir;
  if (!p.user) return `${what} ${verb} (${p.why}): give the gateway's user write access to ${folder}, or set DATA_DIR to a folder it can write`;
  const { uid, gid } = p.user;
  const mode = (p.stat.mode & 0o777).toString(8).padStart(3, '0');
  if (p.stat.uid === uid) {
    // Our own folder or file, but its mode does not let us in.
    return `${what} ${verb}: it belongs to uid ${uid}, the uid the gateway runs as, but its mode is ${mode}; run \`${p.missing ? `chmod u+rwx ${p.target}` : `chmod -R u+rwX ${folder}`}\`, or set DATA_DIR to a folder uid ${uid} can write`;
  }
  const chown = p.missing
    ? `sudo mkdir -p ${p.dir} && sudo chown -R ${uid}:${gid} ${p.dir}`
    : `sudo chown -R ${uid}:${gid} ${folder}`;
  const docker = p.inContainer
    ? ` (with Docker, run it on the host for the folder mounted there, e.g. \`sudo chown -R ${uid}:${gid} ./data\`)`
    : '';
  return `${what} ${verb}: it belongs to uid ${p.stat.uid} and the gateway runs as uid ${uid}; run \`${chown}\`${docker}, or set DATA_DIR to a folder uid ${uid} can write`;
}

/**
 * The one line for a start failure a person fixes with a setting or a command, or null for any
 * other failure (reported in full). Covers listening (port in use or reserved, HOST not an address
 * of this machine) and a SQLite file that cannot be opened.
 */
export function explainStartError(err: unknown, config: Pick<Config, 'port' | 'host' | 'dataDir' | 'databaseUrl'>): string | null {
  if (err instanceof StartupProblem) return err.message;
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  if (!e || typeof e !== 'object') return null;
  const port = e.port ?? config.port;
  if (e.syscall === 'listen' || e.code === 'EADDRINUSE') {
    switch (e.code) {
      case 'EADDRINUSE':
        return `port ${port} on ${config.host} is already in use (another gateway, or another program, listens there): stop that program, or start the gateway on a free port with API_PORT (e.g. API_PORT=${port >= 65535 ? 8900 : port + 1})`;
      case 'EACCES':
      case 'EPERM':
        return `port ${port} needs administrator rights on this system (ports below 1024 do): choose a port from 1024 up with API_PORT (default 8899), or put a reverse proxy in front`;
      case 'EADDRNOTAVAIL':
        return `HOST ${config.host} is not an address of this machine: use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this machine's own addresses`;
      default:
        return null;
    }
  }
  if ((e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') && e.hostname === config.host) {
    return `HOST ${config.host} does not resolve to an address of this machine: use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this machine's own addresses`;
  }
  if (!config.databaseUrl && typeof e.code === 'string' && /^SQLITE_(CANTOPEN|READONLY|PERM|IOERR)/.test(e.code)) {
    try {
      checkDataDir(config);
    } catch (problem) {
      if (problem instanceof StartupProblem) return problem.message;
    }
    return `the SQLite database in DATA_DIR ${path.resolve(config.dataDir)} cannot be opened (${e.code}: ${e.message}): check that folder and its files, or set DATA_DIR to another folder`;
  }
  return null;
}
