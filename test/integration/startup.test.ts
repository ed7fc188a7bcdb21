/**
 * Start-up as a new user meets it, on the real process (`node --import tsx src/main.ts`, no build
 * needed): a data folder the gateway cannot write, a port already taken, an invalid API_PORT, a
 * signal that arrives before it listens, and the log's two formats (readable on a terminal, JSON
 * otherwise or with LOG_FORMAT=json). A problem a person must fix is one plain line and exit code 2.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { ADMIN } from '../helpers/gateway.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Settings of the gateway that must not leak from the test's environment into the child. */
const GATEWAY_ENV = /^(API_PORT|HOST|ADMIN_PASSWORD|DATA_DIR|DATABASE_URL|REDIS_URL|SECRET_KEY|LOG_LEVEL|LOG_FORMAT|NO_COLOR|CONFIG_FILE)$/;
const T = 30_000;

interface Run {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects if the process exits first. */
  printed(text: string): Promise<void>;
}

const runs: Run[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const r of runs.splice(0)) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGKILL');
      await r.exited;
    }
  }
  for (const c of cleanups.splice(0)) await c();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apg-startup-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `command args` with the gateway's settings in `env`; collects its output. */
function run(env: Record<string, string>, opts: SpawnOptions = {}, command = process.execPath, args = ['--import', 'tsx', 'src/main.ts']): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !GATEWAY_ENV.test(k)));
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...base, HOST: '127.0.0.1', ADMIN_PASSWORD: ADMIN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters.slice()) {
      if (out.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const r: Run = {
    proc,
    exited,
    stdout: () => out,
    stderr: () => err,
    printed: (text) => {
      if (out.includes(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ text, resolve });
        exited.then(() => setImmediate(() => reject(new Error(`exited without printing "${text}":\n${out}\n${err}`))));
      });
    },
  };
  runs.push(r);
  return r;
}

/** The non-empty lines of a text. */
const lines = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== '');

/** A start refused for a reason a person fixes: exit code 2, exactly one line on stderr, no stack, no JSON. */
async function refusedWithOneLine(r: Run): Promise<string> {
  const { code } = await r.exited;
  const err = lines(r.stderr());
  expect({ code, err }).toMatchObject({ code: 2, err: [expect.any(String)] });
  expect(err[0]).not.toMatch(/^\s+at |RangeError|Error:|^\{/);
  expect(r.stdout()).not.toContain('listening on');
  return err[0];
}

/** A TCP port on 127.0.0.1 that nothing listens on any more. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('a data folder the gateway cannot write', () => {
  const asRoot = process.getuid?.() === 0;
  // As root, access checks always pass: run the gateway as nobody (65534) against a folder owned by
  // root — the Docker case (./data made by root, the container's uid 1000). Otherwise, a folder of
  // our own with its write bit off.
  const NOBODY = 65534;
  const runAs: SpawnOptions = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
  if (asRoot) {
    // nobody must be able to reach the code it runs: a checkout under a private folder (mktemp -d
    // makes 0700 folders, as CI's clean clone may sit in one) gets the traverse bit for others on
    // the checkout's folder and its parents — nothing is made readable that was not already.
    for (let d = ROOT; ; d = path.dirname(d)) {
      const mode = fs.statSync(d).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(d, (mode & 0o7777) | 0o001);
      if (path.dirname(d) === d) break;
    }
  }

  it('one line naming the folder, its owner, the uid the gateway runs as and the command to run; exit code 2', async () => {
    const parent = tempDir();
    fs.chmodSync(parent, 0o755);
    const dir = path.join(parent, 'data');
    fs.mkdirSync(dir, { mode: 0o755 });
    if (!asRoot) fs.chmodSync(dir, 0o555);
    const line = await refusedWithOneLine(run({ DATA_DIR: dir, API_PORT: '0' }, runAs));
    expect(line).toMatch(/^could not start: DATA_DIR /);
    expect(line).toContain(dir);
    if (asRoot) {
      expect(line).toContain('it belongs to uid 0 and the gateway runs as uid 65534');
      expect(line).toContain(`sudo chown -R ${NOBODY}:${NOBODY} ${dir}`);
    } else {
      const uid = process.getuid!();
      expect(line).toContain(`it belongs to uid ${uid}, the uid the gateway runs as, but its mode is 555`);
      expect(line).toContain(`chmod -R u+rwX ${dir}`);
    }
    expect(fs.readdirSync(dir)).toEqual([]); // nothing was made there
  }, T);

  it('a missing DATA_DIR whose parent cannot be written: names the parent and how to make the folder; exit code 2', async () => {
    const parent = tempDir();
    fs.chmodSync(parent, asRoot ? 0o755 : 0o555);
    const dir = path.join(parent, 'nested', 'data');
    const line = await refusedWithOneLine(run({ DATA_DIR: dir, API_PORT: '0' }, runAs));
    expect(line).toContain(`DATA_DIR ${dir} does not exist and cannot be created: ${parent} is not writable`);
    if (asRoot) expect(line).toContain(`sudo mkdir -p ${dir} && sudo chown -R ${NOBODY}:${NOBODY} ${dir}`);
    else expect(line).toContain(`chmod u+rwx ${parent}`);
    fs.chmodSync(parent, 0o755);
    expect(fs.existsSync(path.join(parent, 'nested'))).toBe(false);
  }, T);

  it('a database file in DATA_DIR that the gateway cannot write (copied in by root): names the file; exit code 2', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o777);
    const db = path.join(dir, 'gateway.db');
    fs.writeFileSync(db, '');
    fs.chmodSync(db, 0o444);
    const line = await refusedWithOneLine(run({ DATA_DIR: dir, API_PORT: '0' }, runAs));
    expect(line).toContain(`${db} (in DATA_DIR) cannot be read and written by the gateway`);
  }, T);
});

describe('API_PORT', () => {
  it('a port already in use: one line naming the port and API_PORT; exit code 2', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const { port } = taken.address() as net.AddressInfo;
    const line = await refusedWithOneLine(run({ DATA_DIR: tempDir(), API_PORT: String(port) }));
    expect(line).toMatch(new RegExp(`^could not start: port ${port} on 127\\.0\\.0\\.1 is already in use .*API_PORT`));
  }, T);

  for (const bad of ['70000', '-1', 'abc', '8899.5']) {
    it(`API_PORT=${bad}: one configuration error line naming API_PORT and the value; exit code 2`, async () => {
      const line = await refusedWithOneLine(run({ DATA_DIR: tempDir(), API_PORT: bad }));
      expect(line).toBe(`configuration error: API_PORT must be a port number from 1 to 65535 (0: any free port), got "${bad}"`);
    }, T);
  }
});

describe('a signal before the gateway listens', () => {
  it('SIGTERM while storage is still being opened: stops without listening, exit code 0 (not 143)', async () => {
    // A "PostgreSQL" that accepts the connection and never answers keeps the start waiting.
    const connected: net.Socket[] = [];
    let sawConnection!: () => void;
    const seen = new Promise<void>((resolve) => { sawConnection = resolve; });
    const db = net.createServer((s) => {
      connected.push(s);
      s.on('error', () => {});
      sawConnection();
    });
    await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const s of connected) s.destroy();
      db.close(() => resolve());
    }));
    const { port } = db.address() as net.AddressInfo;
    const r = run({
      API_PORT: String(await closedPort()),
      DATA_DIR: tempDir(),
      DATABASE_URL: `postgres://gateway@127.0.0.1:${port}/gateway`,
      SECRET_KEY: 'a-test-secret-key-of-at-least-32-characters',
      LOG_FORMAT: 'json',
    });
    await seen; // the start is now waiting on the database
    r.proc.kill('SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
    const msgs = lines(r.stdout()).map((l) => JSON.parse(l).msg as string);
    expect(msgs).toContain('signal while starting: stopping before serving');
    expect(msgs.some((m) => m.includes('listening on'))).toBe(false);
  }, T);
});

describe('log format', () => {
  const upstreams: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
  });

  /** Adds a member backed by a stand-in provider, sends one request, and returns the process's output so far. */
  async function oneRequest(r: Run): Promise<void> {
    const up = await startUpstream({ format: 'anthropic', name: 'stand-in', models: ['claude-test'] });
    upstreams.push(up);
    await r.printed('listening on');
    const url = /listening on (http:\/\/[^\s"]+)/.exec(r.stdout())![1];
    const admin = (p: string, body: unknown) => fetch(url + p, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (res) => ({ status: res.status, json: await res.json() as any }));
    const created = await admin('/admin/providers', { name: 'relay-a', baseUrl: up.url, format: 'anthropic', apiKey: 'sk-test-key-123456' });
    expect(created.status).toBe(201);
    expect((await admin('/admin/pools/normal/members', { providerId: created.json.id, models: ['claude-test'] })).status).toBe(201);
    const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'sonnet', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(200);
    await res.text();
  }

  it('not a terminal: JSON lines (what log collectors read)', async () => {
    const r = run({ DATA_DIR: tempDir(), API_PORT: '0' });
    await oneRequest(r);
    await r.printed('"msg":"served"');
    const events = lines(r.stdout()).map((l) => JSON.parse(l));
    const served = events.filter((e) => e.msg === 'served');
    expect(served).toHaveLength(1);
    expect(served[0]).toMatchObject({ status: 200, provider: 'relay-a', upstreamModel: 'claude-test', model: 'sonnet', pool: 'normal' });
  }, T);

  it('LOG_FORMAT=pretty: one readable line per event, one per request, no colour off a terminal', async () => {
    const r = run({ DATA_DIR: tempDir(), API_PORT: '0', LOG_FORMAT: 'pretty' });
    await oneRequest(r);
    await r.printed('relay-a/claude-test');
    const out = lines(r.stdout());
    for (const l of out) expect(() => JSON.parse(l)).toThrow();
    expect(r.stdout()).not.toContain('\x1b[');
    expect(out.find((l) => l.includes('listening on'))).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  API Pool Gateway listening on http:\/\/127\.0\.0\.1:\d+ \(storage: SQLite /);
    const requestLines = out.filter((l) => l.includes('sonnet →'));
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  200 sonnet → relay-a\/claude-test \d+ ms \[normal\] \(req-[\w-]+\)$/);
  }, T);

  // A real terminal: `script` (util-linux) runs the gateway on a pseudo-terminal.
  const script = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

  it.runIf(script)('on a terminal, LOG_FORMAT unset: pretty and coloured; LOG_FORMAT=json there: JSON', async () => {
    const cmd = `exec ${JSON.stringify(process.execPath)} --import tsx src/main.ts`;
    const onTTY = (env: Record<string, string>) => run(env, { detached: true }, 'script', ['-qfec', cmd, '/dev/null']);
    const stop = async (r: Run) => {
      process.kill(-r.proc.pid!, 'SIGTERM'); // script and the gateway under it
      await r.exited;
    };

    const pretty = onTTY({ DATA_DIR: tempDir(), API_PORT: '0' });
    await oneRequest(pretty);
    await pretty.printed('relay-a/claude-test');
    await stop(pretty);
    const plain = pretty.stdout().replace(/\x1b\[[\d;]*m/g, '');
    expect(pretty.stdout()).toMatch(/\x1b\[32mINFO \x1b\[0m/); // coloured level
    expect(pretty.stdout()).toMatch(/\x1b\[32m200\x1b\[0m/); // coloured status
    expect(lines(plain).filter((l) => l.includes('sonnet → relay-a/claude-test'))).toHaveLength(1);
    expect(plain).not.toMatch(/^\{"level"/m);

    const json = onTTY({ DATA_DIR: tempDir(), API_PORT: '0', LOG_FORMAT: 'json' });
    await json.printed('listening on');
    await stop(json);
    const first = lines(json.stdout())[0];
    expect(JSON.parse(first)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    expect(json.stdout()).not.toContain('\x1b[');
  }, T);
});
