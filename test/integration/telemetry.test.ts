import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';
import { ADMIN, addProvider, anthropicBody, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let ups: Upstream[] = [];

beforeEach(async () => {
  gw = await startTestGateway();
  ups = [];
});
afterEach(async () => {
  await gw.close();
  await Promise.all(ups.map((u) => u.close()));
});

async function upstream(format: 'openai' | 'anthropic', name: string) {
  const u = await startUpstream({ format, name });
  ups.push(u);
  return u;
}

async function logs(query = '') {
  await gw.gateway.telemetry.flush();
  const r = await gw.admin('GET', `/admin/logs${query}`);
  expect(r.status).toBe(200);
  return r.body;
}

describe('request log', () => {
  it('a failed-then-recovered request shows its failed attempt, the route taken, tokens and timings', async () => {
    const bad = await upstream('anthropic', 'bad');
    const good = await upstream('anthropic', 'good');
    const b = await addProvider(gw, { name: 'bad', baseUrl: bad.url, format: 'anthropic' }, 'normal', ['m-bad']);
    const g = await addProvider(gw, { name: 'good', baseUrl: good.url, format: 'anthropic' }, 'normal', ['m-good']);
    bad.fallback = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    const r = await post(`${gw.url}/v1/messages`, anthropicBody('claude-sonnet-4-5', { stream: true }));
    expect(r.status).toBe(200);
    const { logs: rows, total } = await logs();
    expect(total).toBe(1);
    const row = rows[0];
    expect(row).toMatchObject({
      entryFormat: 'anthropic', requestedModel: 'claude-sonnet-4-5', pool: 'normal', providerId: g.providerId, provider: 'good', upstreamModel: 'm-good',
      status: 200, stream: true, inputTokens: 10, outputTokens: 3, error: null,
    });
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0]).toMatchObject({ providerId: b.providerId, provider: 'bad', model: 'm-bad', status: 429 });
    expect(row.attempts[0].reason).toContain('429');
    expect(row.latencyMs).toBeGreaterThan(0);
    expect(row.ttftMs).toBeGreaterThan(0);
    expect(row.ttftMs).toBeLessThanOrEqual(row.latencyMs);
    const detail = await gw.admin('GET', `/admin/logs/${row.id}`);
    expect(detail.body.attempts).toEqual(row.attempts);
    expect(detail.body.requestBody).toBeNull(); // bodies are off by default
  });

  it('filters by pool, provider and status, and pages', async () => {
    const a = await upstream('anthropic', 'A');
    const o = await upstream('openai', 'O');
    const pa = await addProvider(gw, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['x']);
    await addProvider(gw, { name: 'O', baseUrl: o.url, format: 'openai' }, 'tool', ['y']);
    for (let i = 0; i < 3; i++) await post(`${gw.url}/v1/messages`, anthropicBody());
    for (let i = 0; i < 2; i++) await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'));
    await post(`${gw.url}/v1/chat/completions`, openaiBody('gpt-4o')); // 404, no pool
    expect((await logs()).total).toBe(6);
    expect((await logs('?pool=normal')).total).toBe(3);
    expect((await logs(`?providerId=${pa.providerId}`)).total).toBe(3);
    expect((await logs('?status=ok')).total).toBe(5);
    const errors = await logs('?status=error');
    expect(errors.total).toBe(1);
    expect(errors.logs[0]).toMatchObject({ status: 404, pool: null, requestedModel: 'gpt-4o', entryFormat: 'openai' });
    expect(errors.logs[0].error).toContain('not served');
    expect((await logs('?status=404')).total).toBe(1);
    const page1 = await logs('?limit=4&offset=0');
    const page2 = await logs('?limit=4&offset=4');
    expect(page1.logs).toHaveLength(4);
    expect(page2.logs).toHaveLength(2);
    expect(page1.logs[0].id).toBeGreaterThan(page1.logs[3].id);
    expect(new Set([...page1.logs, ...page2.logs].map((l: any) => l.id)).size).toBe(6);
    expect((await logs(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).total).toBe(0);
    expect((await gw.admin('GET', '/admin/logs?status=weird')).status).toBe(400);
  });

  it('keeps bodies only when the setting is on, capped to the configured size', async () => {
    const a = await upstream('anthropic', 'A');
    await addProvider(gw, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['x']);
    const s = await gw.admin('PATCH', '/admin/settings', { logBodies: true, logBodyMaxBytes: 300 });
    expect(s.status).toBe(200);
    expect(s.body.logBodies).toBe(true);
    expect((await gw.admin('PATCH', '/admin/settings', { logBodyMaxBytes: 1 })).body.error.field).toBe('logBodyMaxBytes');
    await post(`${gw.url}/v1/messages`, anthropicBody('sonnet', { messages: [{ role: 'user', content: 'y'.repeat(2000) }] }));
    const row = (await logs()).logs[0];
    const d = (await gw.admin('GET', `/admin/logs/${row.id}`)).body;
    expect(d.requestBody).toContain('"model":"sonnet"');
    expect(d.requestBody.length).toBeLessThan(400);
    expect(d.responseBody).toContain('hello from A');
  });

  it('applies retention by count', async () => {
    const now = Date.now();
    const rows = Array.from({ length: 150 }, (_, i) => ({
      ts: now - i, entry_format: 'anthropic', requested_model: 'sonnet', pool: 'normal', provider_id: null, provider_name: null, upstream_model: null,
      status: 200, latency_ms: 1, ttft_ms: null, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0, stream: 0, attempts: '[]', error: null, request_body: null, response_body: null, key_id: null, key_name: null,
    }));
    await gw.gateway.writer.writeLogs(rows);
    await gw.admin('PATCH', '/admin/settings', { logRetentionCount: 100 });
    await gw.gateway.telemetry.prune();
    expect((await logs()).total).toBe(100);
  });
});

describe('a broken log database never fails or delays a request', () => {
  it('requests are answered while another process holds the database locked: the log writer waits, the answers do not', async () => {
    const a = await upstream('anthropic', 'A');
    const { memberIds: [id] } = await addProvider(gw, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['x']);
    const locker = new Database(path.join(gw.dataDir, 'gateway.db'));
    locker.exec('BEGIN EXCLUSIVE');
    try {
      // Proven by order, not by a clock: a write handed to the log writer before the request is
      // still stuck on the lock when the answer arrives. (The writer gives up after its busy
      // timeout; on a machine so slow that this came first, the round is tried again. A request
      // that waited for the database would never come first.)
      for (let i = 0; i < 5; i++) {
        await until(async () => {
          let settled = false;
          // (a write of the member's row as it is: harmless, and it needs the lock)
          gw.gateway.writer.setCooldown(id!, null, null).then(() => { settled = true; }, () => { settled = true; });
          const r = await post(`${gw.url}/v1/messages`, anthropicBody());
          expect(r.status).toBe(200);
          return !settled;
        }, 'an answer while the log writer waits on the lock', 15_000);
      }
      // the lock was real: nothing could be written while it was held
      expect(locker.prepare('SELECT COUNT(*) AS n FROM request_logs').get()).toEqual({ n: 0 });
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    // released: the log is written again
    expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    expect((await logs()).total).toBeGreaterThan(0);
  });

  it('requests keep being served when the log table is gone', async () => {
    const a = await upstream('anthropic', 'A');
    await addProvider(gw, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['x']);
    await gw.gateway.db.kysely.schema.dropTable('request_logs').execute();
    for (let i = 0; i < 3; i++) {
      expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    }
    await gw.gateway.telemetry.flush();
    expect(gw.gateway.telemetry.droppedRows).toBeGreaterThan(0);
    expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    // the stats still count them (they live in memory)
    expect((await gw.admin('GET', '/admin/stats?window=1h')).body.totals.requests).toBe(4);
  });
});

describe('stats', () => {
  it('counts requests, success rate, latency and tokens per pool and provider', async () => {
    const a = await upstream('anthropic', 'A');
    const o = await upstream('openai', 'O');
    await addProvider(gw, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['x']);
    await addProvider(gw, { name: 'O', baseUrl: o.url, format: 'openai' }, 'tool', ['y']);
    for (let i = 0; i < 3; i++) await post(`${gw.url}/v1/messages`, anthropicBody());
    await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku', { stream: true, stream_options: { include_usage: true } }));
    o.fallback = { kind: 'status', status: 500 };
    await post(`${gw.url}/v1/chat/completions`, openaiBody('haiku'));
    const s = (await gw.admin('GET', '/admin/stats?window=1h')).body;
    expect(s.window).toBe('1h');
    expect(s.bucketSeconds).toBe(60);
    expect(s.series).toHaveLength(60);
    expect(s.totals).toMatchObject({ requests: 5, success: 4, errors: 1, inputTokens: 40, outputTokens: 9 });
    expect(s.totals.successRate).toBeCloseTo(0.8);
    expect(s.totals.p50Ms).toBeGreaterThan(0);
    expect(s.totals.ttftP50Ms).toBeGreaterThan(0);
    expect(s.series.reduce((n: number, b: any) => n + b.requests, 0)).toBe(5);
    expect(s.byPool.map((p: any) => [p.pool, p.requests])).toEqual([['tool', 2], ['normal', 3]]);
    expect(s.byProvider.map((p: any) => [p.provider, p.requests])).toEqual([['A', 3], ['O', 1]]);
    expect(s.cooling).toHaveLength(1);
    expect(s.cooling[0]).toMatchObject({ pool: 'tool', provider: 'O', model: 'y' });
    expect(s.inFlight).toBe(0);
    const day = (await gw.admin('GET', '/admin/stats?window=24h')).body;
    expect(day.bucketSeconds).toBe(900);
    expect(day.totals.requests).toBe(5);
    expect((await gw.admin('GET', '/admin/stats?window=7d')).status).toBe(400);
  });

  it('the dashboard survives a restart (rebuilt from the request log)', async () => {
    const a = await upstream('anthropic', 'A');
    await addProvider(gw, { name: 'A', baseUrl: a.url, format: 'anthropic' }, 'normal', ['x']);
    for (let i = 0; i < 2; i++) await post(`${gw.url}/v1/messages`, anthropicBody());
    const dir = gw.dataDir;
    await gw.close();
    gw = await startTestGateway({}, dir);
    expect((await gw.admin('GET', '/admin/stats?window=1h')).body.totals.requests).toBe(2);
  });

  it('a day of many rows is rebuilt page by page, every row counted, older ones left out', async () => {
    const dir = gw.dataDir;
    await gw.close();
    // 12,345 rows in the last hour (several pages of 5,000) and 1,000 from two days ago
    const db = new Database(path.join(dir, 'gateway.db'));
    const ins = db.prepare("INSERT INTO request_logs (ts, entry_format, requested_model, pool, status, latency_ms, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, stream, attempts) VALUES (?, 'anthropic', 'sonnet', 'normal', 200, 10, 1, 2, 0, 0, 0, '[]')");
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < 1000; i++) ins.run(now - 48 * 3600_000 + i);
      for (let i = 0; i < 12_345; i++) ins.run(now - 30 * 60_000 + i);
    })();
    db.close();
    gw = await startTestGateway({}, dir);
    const day = (await gw.admin('GET', '/admin/stats?window=24h')).body;
    expect(day.totals.requests).toBe(12_345);
    expect(day.totals.outputTokens).toBe(2 * 12_345);
  });
});

describe('metrics', () => {
  it('/metrics needs the admin token and counts requests, failures, tokens, member state and in-flight', async () => {
    const bad = await upstream('openai', 'bad');
    const good = await upstream('openai', 'good');
    await addProvider(gw, { name: 'bad', baseUrl: bad.url, format: 'openai' }, 'advanced', ['b']);
    await addProvider(gw, { name: 'good', baseUrl: good.url, format: 'openai' }, 'advanced', ['g']);
    bad.fallback = { kind: 'reset' };
    expect((await post(`${gw.url}/v1/chat/completions`, openaiBody('opus'))).status).toBe(200);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/apg_requests_total\{pool="advanced",provider="good",model="g",status="200"\} 1/);
    expect(text).toMatch(/apg_upstream_failures_total\{pool="advanced",provider="bad",model="b",reason="connection"\} 1/);
    expect(text).toMatch(/apg_tokens_total\{pool="advanced",provider="good",model="g",kind="input"\} 10/);
    expect(text).toMatch(/apg_member_state\{pool="advanced",provider="bad",model="b",state="cooling"\} 1/);
    expect(text).toMatch(/apg_requests_in_flight 0/);
    expect(text).toMatch(/apg_request_duration_seconds_bucket/);
  });

  it('guessing the password through /metrics is throttled', async () => {
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer guess-${i}` } })).status;
    expect(last).toBe(429);
  });

  it('METRICS_PUBLIC=1 opens /metrics', async () => {
    await gw.close();
    gw = await startTestGateway({ METRICS_PUBLIC: '1' });
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
  });
});

describe('admin extras', () => {
  it('status reports the default-password state and the base URLs', async () => {
    const s = (await gw.admin('GET', '/admin/status')).body;
    expect(s.defaultPassword).toBe(false);
    expect(s.storage).toBe('sqlite');
    expect(s.openaiBaseUrl).toBe(`${gw.url}/v1`);
    expect(s.virtualModels).toEqual({ tool: 'haiku', normal: 'sonnet', advanced: 'opus' });
  });

  it('the Test button sends a tiny real request and reports the answer or the upstream error', async () => {
    const a = await upstream('anthropic', 'A');
    const c = await gw.admin('POST', '/admin/providers', { name: 'A', baseUrl: a.url, format: 'anthropic', apiKey: 'sk-test-0000000000' });
    const ok = await gw.admin('POST', `/admin/providers/${c.body.id}/test`, { model: 'claude-x' });
    expect(ok.body).toMatchObject({ ok: true, status: 200 });
    expect(ok.body.answer).toContain('claude-x');
    expect(a.requests.at(-1)!.body.max_tokens).toBe(16);
    a.fallback = { kind: 'status', status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } };
    const no = await gw.admin('POST', `/admin/providers/${c.body.id}/test`, { model: 'claude-x' });
    expect(no.body).toMatchObject({ ok: false, status: 401, error: 'invalid x-api-key' });
    expect((await gw.admin('POST', `/admin/providers/${c.body.id}/test`, {})).status).toBe(400);
    // the test cools nothing and logs nothing
    expect((await logs()).total).toBe(0);
  });
});
