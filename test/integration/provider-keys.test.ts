import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorJson, startUpstream, streamEvents, type Behaviour, type Upstream } from '../helpers/upstream.js';
import { testDatabase } from '../helpers/postgres.js';
import { missing } from '../helpers/needs.js';
import { addProvider, anthropicBody, getPools, memberOf, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { UNREADABLE_KEY } from '../../src/admin/routes.js';

/**
 * CONTRACT "Provider keys": keys sealed at rest (AES-256-GCM under SECRET_KEY or DATA_DIR/secret.key),
 * a PATCH cannot move a stored key to another origin, and a key echoed by an upstream never leaves
 * the gateway (client answers, request log, lastError, process log).
 */

const KEY = 'sk-live-SECRETPART-0123456789abcdef';
const LEAK = 'SECRETPART'; // the part of KEY that must never appear outside the provider call
const MASKED = '****cdef';
const SECRET_A = 'secret-key-A-for-the-tests-0123456789abcdef';
const SECRET_B = 'secret-key-B-for-the-tests-0123456789abcdef';

const gateways: TestGateway[] = [];
const ups: Upstream[] = [];
const servers: http.Server[] = [];

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close().catch(() => {})));
  await Promise.all(ups.splice(0).map((u) => u.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function gateway(env: Record<string, string> = {}, dataDir?: string, logger?: pino.Logger) {
  const g = await startTestGateway(env, dataDir, logger);
  gateways.push(g);
  return g;
}
async function stop(g: TestGateway) {
  gateways.splice(gateways.indexOf(g), 1);
  await g.close();
}
async function upstream(format: 'openai' | 'anthropic', opts: { key?: string; name?: string } = {}) {
  const u = await startUpstream({ format, ...opts });
  ups.push(u);
  return u;
}

/** A pino logger whose lines are kept in memory. */
function capturingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Every byte of every file in the data folder (database, WAL, key file), as latin1 text. */
function dataDirBytes(dir: string): string {
  return fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f)).toString('latin1')).join('\n');
}

function storedKey(dir: string, id: number): string {
  const db = new Database(path.join(dir, 'gateway.db'), { readonly: true });
  try {
    return (db.prepare('SELECT api_key FROM providers WHERE id = ?').get(id) as { api_key: string }).api_key;
  } finally {
    db.close();
  }
}

const sentKey = (u: Upstream, i = -1) => {
  const r = u.requests.at(i)!;
  return u.format === 'anthropic' ? r.headers['x-api-key'] : r.headers.authorization?.replace(/^Bearer /, '');
};

describe('provider keys are sealed at rest (SQLite)', () => {
  it('the stored row is enc:v1:…, no file of the data folder holds the key, and secret.key is 0600', async () => {
    const g = await gateway();
    const u = await upstream('anthropic', { key: KEY });
    const { providerId } = await addProvider(g, { name: 'P', baseUrl: u.url, format: 'anthropic', apiKey: KEY }, 'normal', ['m']);
    const stored = storedKey(g.dataDir, providerId);
    expect(stored).toMatch(/^enc:v1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain(LEAK);
    const r = await post(`${g.url}/v1/messages`, anthropicBody());
    expect(r.status).toBe(200);
    expect(sentKey(u)).toBe(KEY);
    expect((await g.admin('GET', `/admin/providers/${providerId}`)).body.apiKeyMasked).toBe(MASKED);
    expect(fs.statSync(path.join(g.dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    await stop(g);
    expect(dataDirBytes(g.dataDir)).not.toContain(LEAK);
  });

  it('a plain-text row left by an older version is sealed at the next start, and restarts keep serving with the right key', async () => {
    const g1 = await gateway();
    const u = await upstream('openai', { key: 'sk-plain-OLDVERSION-0123456789' });
    const { providerId } = await addProvider(g1, { name: 'Old', baseUrl: u.url, format: 'openai', apiKey: 'placeholder-0000000000' }, 'normal', ['m']);
    await stop(g1);
    // what an older version wrote: the key itself
    const db = new Database(path.join(g1.dataDir, 'gateway.db'));
    db.prepare('UPDATE providers SET api_key = ? WHERE id = ?').run('sk-plain-OLDVERSION-0123456789', providerId);
    db.close();
    expect(storedKey(g1.dataDir, providerId)).toBe('sk-plain-OLDVERSION-0123456789');

    const g2 = await gateway({}, g1.dataDir);
    const sealed = storedKey(g1.dataDir, providerId);
    expect(sealed).toMatch(/^enc:v1:/);
    expect(sealed).not.toContain('OLDVERSION');
    expect((await post(`${g2.url}/v1/chat/completions`, openaiBody())).status).toBe(200);
    expect(sentKey(u)).toBe('sk-plain-OLDVERSION-0123456789');
    await stop(g2);

    const g3 = await gateway({}, g1.dataDir);
    expect(storedKey(g1.dataDir, providerId)).toBe(sealed); // idempotent: sealed once
    expect((await post(`${g3.url}/v1/chat/completions`, openaiBody())).status).toBe(200);
    expect(sentKey(u)).toBe('sk-plain-OLDVERSION-0123456789');
    expect(u.requests).toHaveLength(2);
  });

  it('a wrong SECRET_KEY does not crash: a clear error names the provider, the UI sees it, requests fail upstream, a new key fixes it', async () => {
    const g1 = await gateway({ SECRET_KEY: SECRET_A });
    const u = await upstream('anthropic', { key: KEY });
    const { providerId, memberIds } = await addProvider(g1, { name: 'Keyed', baseUrl: u.url, format: 'anthropic', apiKey: KEY }, 'normal', ['m']);
    expect(fs.existsSync(path.join(g1.dataDir, 'secret.key'))).toBe(false); // SECRET_KEY set: no key file
    await stop(g1);

    const { log, lines } = capturingLogger();
    const g2 = await gateway({ SECRET_KEY: SECRET_B }, g1.dataDir, log);
    const problem = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 50 && /cannot be decrypted/.test(l.msg));
    expect(problem).toHaveLength(1);
    expect(problem[0]).toMatchObject({ provider: 'Keyed', providerId });
    expect(problem[0].msg).toContain('SECRET_KEY changed?');
    expect((await g2.admin('GET', `/admin/providers/${providerId}`)).body.apiKeyMasked).toBe(UNREADABLE_KEY);

    const r = await post(`${g2.url}/v1/messages`, anthropicBody());
    expect(r.status).toBe(401); // the upstream refused a request without a key
    expect(u.requests.at(-1)!.headers['x-api-key']).toBeUndefined();
    await g2.gateway.reload(); // a reload does not repeat the error
    expect(lines.filter((l) => /cannot be decrypted/.test(l))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(LEAK);

    expect((await g2.admin('PATCH', `/admin/providers/${providerId}`, { apiKey: KEY })).body.apiKeyMasked).toBe(MASKED);
    await g2.admin('POST', `/admin/pools/normal/members/${memberIds[0]}/reset`);
    expect((await post(`${g2.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect(sentKey(u)).toBe(KEY);
  });

  it('SECRET_KEY set after starting without it: keys sealed under the old key file are sealed again under SECRET_KEY', async () => {
    const g1 = await gateway();
    const u = await upstream('anthropic', { key: KEY });
    const { providerId } = await addProvider(g1, { name: 'P', baseUrl: u.url, format: 'anthropic', apiKey: KEY }, 'normal', ['m']);
    const underFile = storedKey(g1.dataDir, providerId);
    await stop(g1);
    const g2 = await gateway({ SECRET_KEY: SECRET_A }, g1.dataDir);
    expect(storedKey(g1.dataDir, providerId)).not.toBe(underFile);
    await stop(g2);
    fs.rmSync(path.join(g1.dataDir, 'secret.key'));
    const g3 = await gateway({ SECRET_KEY: SECRET_A }, g1.dataDir);
    expect((await post(`${g3.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect(sentKey(u)).toBe(KEY);
  });
});

// Skipped without PostgreSQL on this machine (the run says so once, at its end).
describe.skipIf(missing('postgres'))('PostgreSQL: SECRET_KEY is required, and keys are sealed there too', () => {
  const db = testDatabase();
  const databaseUrl = db.url;
  beforeAll(() => db.create());
  afterAll(() => db.drop());

  it('DATABASE_URL without SECRET_KEY: the start is refused, saying SECRET_KEY is required and the same on every replica', async () => {
    await expect(startTestGateway({ DATABASE_URL: databaseUrl })).rejects.toThrow(
      /SECRET_KEY is required with DATABASE_URL.*every replica must be given the same SECRET_KEY/,
    );
  });

  it('with SECRET_KEY: the row in PostgreSQL is sealed, and a second replica with the same SECRET_KEY sends the right key', async () => {
    const env = { DATABASE_URL: databaseUrl, SECRET_KEY: SECRET_A };
    const a = await gateway(env);
    const u = await upstream('anthropic', { key: KEY });
    const { providerId } = await addProvider(a, { name: 'PG', baseUrl: u.url, format: 'anthropic', apiKey: KEY }, 'normal', ['m']);
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT api_key FROM providers WHERE id = $1', [providerId]);
      expect(rows[0].api_key).toMatch(/^enc:v1:/);
      expect(rows[0].api_key).not.toContain(LEAK);
    } finally {
      await c.end();
    }
    const b = await gateway(env);
    expect((await post(`${b.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect(sentKey(u)).toBe(KEY);
  });
});

describe('PATCH cannot move a stored key to another origin', () => {
  it('a new origin without apiKey: 400 naming apiKey, nothing changed; same origin, or with the key: accepted', async () => {
    const g = await gateway();
    const old = await upstream('openai', { key: KEY });
    const moved = await upstream('openai', { key: 'sk-for-the-new-host-000000' });
    const { providerId } = await addProvider(g, { name: 'P', baseUrl: `${old.url}/v1`, format: 'openai', apiKey: KEY }, 'normal', ['m']);

    for (const baseUrl of [moved.url, old.url.replace('http:', 'https:'), old.url.replace('127.0.0.1', 'localhost')]) {
      const r = await g.admin('PATCH', `/admin/providers/${providerId}`, { baseUrl });
      expect(r.status).toBe(400);
      expect(r.body.error.field).toBe('apiKey');
      expect(r.body.error.message).toMatch(/another origin.*never sent to a new host/);
    }
    expect((await g.admin('GET', `/admin/providers/${providerId}`)).body.baseUrl).toBe(`${old.url}/v1`);

    const samePath = await g.admin('PATCH', `/admin/providers/${providerId}`, { baseUrl: `${old.url}/` });
    expect(samePath.status).toBe(200);
    expect(samePath.body.baseUrl).toBe(old.url);
    expect((await post(`${g.url}/v1/chat/completions`, openaiBody())).status).toBe(200);
    expect(sentKey(old)).toBe(KEY);

    const withKey = await g.admin('PATCH', `/admin/providers/${providerId}`, { baseUrl: moved.url, apiKey: 'sk-for-the-new-host-000000' });
    expect(withKey.status).toBe(200);
    expect((await post(`${g.url}/v1/chat/completions`, openaiBody())).status).toBe(200);
    expect(sentKey(moved)).toBe('sk-for-the-new-host-000000');
    expect(moved.requests.every((r) => !JSON.stringify(r.headers).includes(LEAK))).toBe(true);
  });

  it('a provider without a key may move freely', async () => {
    const g = await gateway();
    const c = await g.admin('POST', '/admin/providers', { name: 'Open', baseUrl: 'http://127.0.0.1:9', format: 'openai', apiKey: '' });
    const r = await g.admin('PATCH', `/admin/providers/${c.body.id}`, { baseUrl: 'http://127.0.0.2:9' });
    expect(r.status).toBe(200);
    expect(r.body.baseUrl).toBe('http://127.0.0.2:9');
  });
});

// ---- an upstream that echoes the key it was sent ----

const keyOf = (req: http.IncomingMessage) => String(req.headers['x-api-key'] ?? String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
const echo = (req: http.IncomingMessage) => `Incorrect API key provided: ${keyOf(req)}. You can find your API key at https://example.invalid/keys.`;

const echo401 = (format: 'openai' | 'anthropic'): Behaviour => ({
  kind: 'custom',
  handle: (req, _body, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(errorJson(format, 'authentication_error', echo(req))));
  },
});

/** The same echo in a 400 (the request's own fault: passed back to the client) or a 500 (the member's failure). */
const echoStatus = (format: 'openai' | 'anthropic', status: number): Behaviour => ({
  kind: 'custom',
  handle: (req, _body, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(errorJson(format, status === 400 ? 'invalid_request_error' : 'api_error', echo(req))));
  },
});

const errorEventText = (format: 'openai' | 'anthropic', message: string) => format === 'anthropic'
  ? `event: error\ndata: ${JSON.stringify(errorJson('anthropic', 'authentication_error', message))}\n\n`
  : `data: ${JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } })}\n\n`;

const firstEventError = (format: 'openai' | 'anthropic'): Behaviour => ({
  kind: 'custom',
  handle: (req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(errorEventText(format, echo(req)));
  },
});

const midStreamError = (format: 'openai' | 'anthropic'): Behaviour => ({
  kind: 'custom',
  handle: (req, body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(streamEvents(format, body.model, 3).slice(0, 3).join('') + errorEventText(format, echo(req)));
  },
});

describe('a provider key echoed by an upstream never leaves the gateway', () => {
  let g: TestGateway;
  let lines: string[];
  let anth: Upstream;
  let oai: Upstream;
  const members: Record<string, number> = {};

  beforeAll(async () => {
    const cap = capturingLogger();
    lines = cap.lines;
    g = await startTestGateway({}, undefined, cap.log);
    anth = await startUpstream({ format: 'anthropic', name: 'A' });
    oai = await startUpstream({ format: 'openai', name: 'O' });
    members.anthropic = (await addProvider(g, { name: 'A', baseUrl: anth.url, format: 'anthropic', apiKey: KEY }, 'normal', ['m-a'])).memberIds[0]!;
    members.openai = (await addProvider(g, { name: 'O', baseUrl: oai.url, format: 'openai', apiKey: KEY }, 'advanced', ['m-o'])).memberIds[0]!;
    expect((await g.admin('PATCH', '/admin/settings', { logBodies: true })).status).toBe(200);
  });
  afterAll(async () => {
    await g?.close();
    await anth?.close();
    await oai?.close();
  });

  /** One request of `entry` format to the pool served by a `provider`-format member; the member is reset after. */
  async function ask(entry: 'anthropic' | 'openai', provider: 'anthropic' | 'openai', stream: boolean, b: Behaviour) {
    (provider === 'anthropic' ? anth : oai).queue.push(b);
    const model = provider === 'anthropic' ? 'sonnet' : 'opus';
    const r = entry === 'anthropic'
      ? await post(`${g.url}/v1/messages`, anthropicBody(model, { stream }))
      : await post(`${g.url}/v1/chat/completions`, openaiBody(model, { stream }));
    const lastError = memberOf(await getPools(g), members[provider]!).lastError as string | null;
    await g.admin('POST', `/admin/pools/${provider === 'anthropic' ? 'normal' : 'advanced'}/members/${members[provider]}/reset`);
    return { ...r, lastError };
  }

  const combos = (['anthropic', 'openai'] as const).flatMap((entry) =>
    (['anthropic', 'openai'] as const).flatMap((provider) => [false, true].map((stream) => ({ entry, provider, stream }))));

  it.each(combos)('401 echoing the key: $entry client, $provider provider, stream=$stream', async ({ entry, provider, stream }) => {
    const r = await ask(entry, provider, stream, echo401(provider));
    expect(r.status).toBe(401);
    expect(r.text).not.toContain(LEAK);
    // a provider refusing the gateway's key: the client is told so in the gateway's own words (the
    // upstream's, masked, are in lastError and the log)
    expect(r.text).toContain('not your access key');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(entry === 'anthropic' ? r.body.type : typeof r.body.error.message).toBe(entry === 'anthropic' ? 'error' : 'string');
    expect(r.lastError).toContain(MASKED);
    expect(r.lastError).not.toContain(LEAK);
  });

  it.each(combos.filter((c) => !c.stream))('400 and 500 echoing the key reach the client masked: $entry client, $provider provider', async ({ entry, provider }) => {
    for (const status of [400, 500]) {
      const r = await ask(entry, provider, false, echoStatus(provider, status));
      expect(r.status).toBe(status);
      expect(r.text).not.toContain(LEAK);
      expect(r.text).toContain(MASKED); // the upstream's message reached the client, masked
    }
  });

  it.each(combos.filter((c) => c.stream))('a 200 stream whose first event is an error echoing the key: $entry client, $provider provider', async ({ entry, provider }) => {
    const r = await ask(entry, provider, true, firstEventError(provider));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toContain(LEAK);
    if (r.status === 401 || r.status === 403) expect(r.text).toContain('not your access key');
    else expect(r.text).toContain(MASKED);
    expect(r.lastError).toContain(MASKED);
    expect(r.lastError).not.toContain(LEAK);
  });

  it.each(combos.filter((c) => c.stream))('a mid-stream error event echoing the key: $entry client, $provider provider', async ({ entry, provider }) => {
    const r = await ask(entry, provider, true, midStreamError(provider));
    expect(r.status).toBe(200);
    expect(r.text).toContain('piece0'); // the stream had begun
    expect(r.text).not.toContain(LEAK);
    expect(r.text).toContain(MASKED);
    expect(r.lastError).toContain(MASKED); // the broken stream cooled its member
    expect(r.lastError).not.toContain(LEAK);
  });

  it('…and not in the request log (rows, attempts, bodies), the pools, the stats, or the process log', async () => {
    await g.gateway.telemetry.flush();
    const list = await g.admin('GET', '/admin/logs?limit=500');
    expect(list.body.total).toBe(combos.length + 8 + 8);
    let all = JSON.stringify(list.body);
    for (const row of list.body.logs) all += JSON.stringify((await g.admin('GET', `/admin/logs/${row.id}`)).body);
    expect(all).toContain(MASKED);
    expect(all).not.toContain(LEAK);
    expect(list.body.logs.some((row: any) => row.responseBody !== undefined || row.hasBodies)).toBe(true);
    expect(JSON.stringify(await getPools(g))).not.toContain(LEAK);
    expect(JSON.stringify((await g.admin('GET', '/admin/stats')).body)).not.toContain(LEAK);
    const log = lines.join('\n');
    expect(log).toContain('upstream attempt failed');
    expect(log).not.toContain(LEAK);
  });

  it('…nor in the Test button or a model-list fetch', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errorJson('openai', 'invalid_api_key', echo(req))));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = await g.admin('POST', '/admin/providers', { name: 'Echo', baseUrl: url, format: 'openai', apiKey: KEY });
    const t = await g.admin('POST', `/admin/providers/${c.body.id}/test`, { model: 'm' });
    expect(t.body).toMatchObject({ ok: false, status: 401 });
    expect(t.body.error).toContain(MASKED);
    expect(JSON.stringify(t.body)).not.toContain(LEAK);
    const f = await g.admin('POST', `/admin/providers/${c.body.id}/models/fetch`);
    expect(f.status).toBe(502);
    expect(f.body.error.message).toContain(MASKED);
    expect(JSON.stringify(f.body)).not.toContain(LEAK);
  });

  it('after all that, no file of the data folder holds the key', async () => {
    await g.gateway.telemetry.flush();
    await g.close();
    expect(dataDirBytes(g.dataDir)).not.toContain(LEAK);
    g = undefined as unknown as TestGateway;
  });
});
