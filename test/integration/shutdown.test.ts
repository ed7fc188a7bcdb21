/**
 * Health probes and graceful shutdown (CONTRACT "Health and shutdown") on a real process: the
 * gateway runs as a child (`node --import tsx src/main.ts`, no build needed) with its own data
 * folder, and gets real signals. The providers are stand-ins in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { completion, startUpstream, type Upstream } from '../helpers/upstream.js';
import { ADMIN, anthropicBody, openaiBody } from '../helpers/gateway.js';
import { loadConfig } from '../../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Settings of the gateway that must not leak from the test's environment into the child. */
const GATEWAY_ENV = /^(API_PORT|HOST|ADMIN_PASSWORD|DEFAULT_COOLDOWN_SECONDS|VIRTUAL_MODEL_\w+|DATA_DIR|DATABASE_URL|REDIS_URL|REDIS_KEY_PREFIX|UPSTREAM_\w+|MAX_\w+|SECRET_KEY|ALLOWED_HOSTS|TRUST_PROXY|REQUEST_TIMEOUT_SECONDS|SHUTDOWN_GRACE_SECONDS|KEEPALIVE_SECONDS|METRICS_PUBLIC|LOG_LEVEL|LOG_FORMAT|AFFINITY_IDLE_SECONDS)$/;

interface Child {
  proc: ChildProcess;
  url: string;
  host: string;
  port: number;
  /** Resolves with the exit code (or the signal that killed it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the process has logged a line whose msg contains `text`. */
  logged(text: string): Promise<void>;
  output(): string;
}

const children: Child[] = [];
const upstreams: Upstream[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
  }
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

function newDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'apg-shutdown-'));
}

/** Starts the gateway as a child process on a free loopback port; resolves once it listens. */
async function spawnGateway(dataDir: string, env: Record<string, string> = {}): Promise<Child> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !GATEWAY_ENV.test(k)));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...base, API_PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_PASSWORD: ADMIN, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const lines: { msg?: string; url?: string }[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let partial = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      let j: { msg?: string; url?: string } = {};
      try { j = JSON.parse(line); } catch { continue; }
      lines.push(j);
      for (const w of waiters.slice()) {
        if (j.msg?.includes(w.text)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
  const logged = (text: string) => {
    if (lines.some((l) => l.msg?.includes(text))) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      waiters.push({ text, resolve });
      exited.then(() => setImmediate(() => reject(new Error(`the gateway exited without logging "${text}":\n${out}`))));
    });
  };
  await logged('API Pool Gateway listening on');
  const url = lines.find((l) => l.url)!.url!;
  const port = Number(new URL(url).port);
  const child: Child = { proc, url, host: `127.0.0.1:${port}`, port, exited, logged, output: () => out };
  children.push(child);
  return child;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One request on a fresh connection (no pooled socket that a draining gateway may have closed). */
function request(c: Child, method: string, p: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = http.request({
      host: '127.0.0.1', port: c.port, path: p, method, agent: false,
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        let json: any = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const admin = (c: Child, method: string, p: string, body?: unknown) =>
  request(c, method, p, { body, headers: { authorization: `Bearer ${ADMIN}` } });

async function addMember(c: Child, up: Upstream, pool: 'tool' | 'normal' | 'advanced', model: string): Promise<void> {
  const created = await admin(c, 'POST', '/admin/providers', { name: `${up.format}-${pool}`, baseUrl: up.url, format: up.format, apiKey: 'sk-test-key-123456' });
  expect(created.status).toBe(201);
  const added = await admin(c, 'POST', `/admin/pools/${pool}/members`, { providerId: created.json.id, models: [model] });
  expect(added.status).toBe(201);
}

interface OpenStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Resolves once the first bytes of the answer have arrived. */
  first: Promise<void>;
  /** Resolves with the whole text once the answer has ended. */
  done: Promise<string>;
}

/** Sends a streamed request and resolves with its head; the body keeps arriving. */
function openStream(c: Child, p: string, body: unknown, headers: Record<string, string> = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: c.port, path: p, method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      let gotFirst: () => void;
      const first = new Promise<void>((r) => { gotFirst = r; });
      const done = new Promise<string>((r, j) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => { text += d; gotFirst(); });
        res.on('end', () => r(text));
        res.on('error', j);
      });
      resolve({ status: res.statusCode!, headers: res.headers, first, done });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The `data:` payloads of an SSE text, in order. */
function dataLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
}

describe('SHUTDOWN_GRACE_SECONDS', () => {
  it('defaults to 30 s, may be 0, refuses a negative value', () => {
    expect(loadConfig({}).shutdownGraceMs).toBe(30_000);
    expect(loadConfig({ SHUTDOWN_GRACE_SECONDS: '0' }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ SHUTDOWN_GRACE_SECONDS: '2.5' }).shutdownGraceMs).toBe(2500);
    expect(() => loadConfig({ SHUTDOWN_GRACE_SECONDS: '-1' })).toThrow('SHUTDOWN_GRACE_SECONDS');
  });
});

describe('health probes', () => {
  it('/healthz and /readyz answer 200 without credentials, pass the Host check, and are neither logged nor counted', async () => {
    const c = await spawnGateway(newDataDir());
    // with an access key, /v1/* needs one; the probes never do
    const key = await admin(c, 'POST', '/admin/keys', { name: 'ci', pools: ['normal'] });
    expect(key.status).toBe(201);
    expect((await request(c, 'GET', '/v1/models')).status).toBe(401);

    const healthz = await request(c, 'GET', '/healthz');
    expect(healthz.status).toBe(200);
    expect(healthz.json).toEqual({ status: 'ok' });
    const readyz = await request(c, 'GET', '/readyz');
    expect(readyz.status).toBe(200);
    expect(readyz.json).toEqual({ status: 'ready' });
    expect((await request(c, 'GET', '/health')).json).toEqual({ status: 'ok' });
    expect((await request(c, 'HEAD', '/readyz')).status).toBe(200);

    // Kubernetes probes ask for the pod IP: IP literals pass; DNS names not allowed do not
    expect((await request(c, 'GET', '/readyz', { headers: { host: `10.1.2.3:${c.port}` } })).status).toBe(200);
    expect((await request(c, 'GET', '/healthz', { headers: { host: '[fd00::7]:8899' } })).status).toBe(200);
    expect((await request(c, 'GET', '/healthz', { headers: { host: 'rebind.example' } })).status).toBe(403);
    expect((await request(c, 'GET', '/readyz', { headers: { host: 'rebind.example' } })).status).toBe(403);

    // not requests of the log or of the statistics
    const logs = await admin(c, 'GET', '/admin/logs');
    expect(logs.json.total).toBe(0);
    const metrics = await admin(c, 'GET', '/metrics');
    expect(metrics.text).not.toMatch(/^apg_requests_total\{/m);
    expect(c.output()).not.toContain('/healthz');
    expect(c.output()).not.toContain('/readyz');

    c.proc.kill('SIGTERM');
    expect(await c.exited).toEqual({ code: 0, signal: null });
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with requests in flight: /readyz 503 and new requests 503 while draining, the stream and a late answer complete, exit 0, their log rows are kept', async () => {
    const up = await startUpstream({ format: 'anthropic' });
    upstreams.push(up);
    const dataDir = newDataDir();
    const c = await spawnGateway(dataDir, { SHUTDOWN_GRACE_SECONDS: '20' });
    await addMember(c, up, 'normal', 'real-model');
    up.queue.push({ kind: 'slow-stream', events: 8, intervalMs: 100 });

    const s = await openStream(c, '/v1/messages', anthropicBody('sonnet', { stream: true }));
    expect(s.status).toBe(200);
    await s.first;
    // and a non-streamed request on a keep-alive connection, answered during the drain
    let answer!: () => void;
    let atUpstream!: () => void;
    const arrived = new Promise<void>((r) => { atUpstream = r; });
    up.queue.push({ kind: 'custom', handle: (_req, body, res) => {
      answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(completion('anthropic', body.model, 'late but whole')));
      };
      atUpstream();
    } });
    const keepAlive = new http.Agent({ keepAlive: true });
    const late = new Promise<Answer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: c.port, path: '/v1/messages', method: 'POST', agent: keepAlive, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(anthropicBody('sonnet')));
    });
    await arrived;
    c.proc.kill('SIGTERM');
    await c.logged('shutting down: draining');

    const ready = await request(c, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'draining' });
    expect((await request(c, 'GET', '/healthz')).status).toBe(200);
    // a new request is not taken: 503 in the client's format, and the connection closes
    const refused = await request(c, 'POST', '/v1/messages', { body: anthropicBody('sonnet') });
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(refused.json.type).toBe('error');
    expect(refused.json.error.type).toBe('overloaded_error');
    expect(refused.json.error.message).toMatch(/restarting/);
    const refusedOpenAI = await request(c, 'POST', '/v1/chat/completions', { body: openaiBody('sonnet') });
    expect(refusedOpenAI.status).toBe(503);
    expect(refusedOpenAI.json.error.code).toBe('overloaded');
    expect((await admin(c, 'GET', '/admin/logs')).status).toBe(503);
    expect(up.requests).toHaveLength(2);

    // the request in flight is answered in full, and its keep-alive connection takes no more
    answer();
    const lateAnswer = await late;
    keepAlive.destroy();
    expect(lateAnswer.status).toBe(200);
    expect(lateAnswer.json.content[0].text).toBe('late but whole');
    expect(lateAnswer.headers.connection).toBe('close');

    // the stream in flight runs to its normal end
    const text = await s.done;
    for (let i = 0; i < 8; i++) expect(text).toContain(`piece${i} `);
    expect(text).toContain('event: message_stop');
    expect(text).not.toContain('event: error');
    expect(await c.exited).toEqual({ code: 0, signal: null });

    // after a restart on the same data folder, the request's row is in the log
    const again = await spawnGateway(dataDir);
    const logs = await admin(again, 'GET', '/admin/logs');
    expect(logs.json.total).toBe(2);
    const stream = logs.json.logs.find((l: any) => l.stream);
    expect(stream).toMatchObject({ status: 200, error: null, upstreamModel: 'real-model', outputTokens: 8 });
    expect(logs.json.logs.find((l: any) => !l.stream)).toMatchObject({ status: 200, error: null });
    again.proc.kill('SIGINT');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('SHUTDOWN_GRACE_SECONDS=1: streams still open end with an error frame in each format, a waiting request gets 503, exit 0, rows kept', async () => {
    const upA = await startUpstream({ format: 'anthropic' });
    const upO = await startUpstream({ format: 'openai' });
    upstreams.push(upA, upO);
    const dataDir = newDataDir();
    const c = await spawnGateway(dataDir, { SHUTDOWN_GRACE_SECONDS: '1' });
    await addMember(c, upA, 'normal', 'model-a');
    await addMember(c, upO, 'tool', 'model-o');
    await addMember(c, upA, 'advanced', 'model-slow');
    // each would run about 5 s
    upA.queue.push({ kind: 'slow-stream', events: 50, intervalMs: 100 });
    upO.queue.push({ kind: 'slow-stream', events: 50, intervalMs: 100 });

    const a = await openStream(c, '/v1/messages', anthropicBody('sonnet', { stream: true }));
    await a.first;
    const o = await openStream(c, '/v1/chat/completions', openaiBody('haiku', { stream: true }));
    await o.first;
    // a non-streamed request whose provider has not answered at the deadline
    let arrived!: () => void;
    const atUpstream = new Promise<void>((r) => { arrived = r; });
    upA.queue.push({ kind: 'custom', handle: () => arrived() });
    const waiting = request(c, 'POST', '/v1/messages', { body: anthropicBody('opus') });
    await atUpstream;

    c.proc.kill('SIGTERM');
    const [textA, textO, w] = await Promise.all([a.done, o.done, waiting]);

    // Anthropic: ends with `event: error` (overloaded_error, the gateway is restarting), no message_stop
    expect(textA).not.toContain('message_stop');
    expect(textA.trimEnd()).toMatch(/event: error\ndata: [^\n]+$/);
    const lastA = JSON.parse(dataLines(textA).at(-1)!);
    expect(lastA).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(lastA.error.message).toMatch(/gateway is restarting/);
    // OpenAI: a data: {"error":…} line, then the end (no [DONE])
    const dataO = dataLines(textO);
    expect(dataO).not.toContain('[DONE]');
    const lastO = JSON.parse(dataO.at(-1)!);
    expect(lastO.error).toMatchObject({ type: 'server_error', code: 'overloaded' });
    expect(lastO.error.message).toMatch(/gateway is restarting/);
    // the non-streamed request: 503 overloaded in its format
    expect(w.status).toBe(503);
    expect(w.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(w.json.error.message).toMatch(/gateway is restarting/);

    expect(await c.exited).toEqual({ code: 0, signal: null });

    // rows of the requests cut by the shutdown are written; nothing was cooled for it
    const again = await spawnGateway(dataDir);
    const logs = await admin(again, 'GET', '/admin/logs');
    expect(logs.json.total).toBe(3);
    const byModel = Object.fromEntries(logs.json.logs.map((l: any) => [l.requestedModel, l]));
    expect(byModel.sonnet).toMatchObject({ status: 200, stream: true, entryFormat: 'anthropic' });
    expect(byModel.sonnet.error).toMatch(/restarting/);
    expect(byModel.haiku).toMatchObject({ status: 200, stream: true, entryFormat: 'openai' });
    expect(byModel.haiku.error).toMatch(/restarting/);
    expect(byModel.opus).toMatchObject({ status: 503, stream: false });
    const pools = (await admin(again, 'GET', '/admin/pools')).json.pools;
    for (const p of pools) for (const m of p.members) expect(m.state).not.toBe('cooling');
    again.proc.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('a second signal ends the grace at once: the open stream gets its error frame, exit 0', async () => {
    const up = await startUpstream({ format: 'anthropic' });
    upstreams.push(up);
    const c = await spawnGateway(newDataDir(), { SHUTDOWN_GRACE_SECONDS: '60' });
    await addMember(c, up, 'normal', 'model-a');
    up.queue.push({ kind: 'slow-stream', events: 600, intervalMs: 100 });
    const s = await openStream(c, '/v1/messages', anthropicBody('sonnet', { stream: true }));
    await s.first;
    c.proc.kill('SIGTERM');
    await c.logged('shutting down: draining');
    c.proc.kill('SIGTERM');
    const text = await s.done;
    expect(JSON.parse(dataLines(text).at(-1)!).error.type).toBe('overloaded_error');
    expect(await c.exited).toEqual({ code: 0, signal: null });
  }, 30_000);
});
