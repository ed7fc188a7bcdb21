import fs from 'node:fs';
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { testDatabase } from '../helpers/postgres.js';
import { missing } from '../helpers/needs.js';
import { until } from '../helpers/wait.js';
import { addProvider, anthropicBody, openaiBody, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * CONTRACT "Prices and cost": the price table (GET / PUT /admin/prices, the reset to the shipped
 * table), each log row's `costUsd` (exact, both formats, streamed and not, cache tokens), glob
 * precedence, a model without a price, and the statistics' sums by pool, provider, member, key,
 * minute, hour and day, with the cache savings. Stand-in providers report known usage. Run on
 * SQLite and, when it is there, on PostgreSQL.
 */

interface Tokens {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/** A stand-in answer reporting exactly `t` (Anthropic: input excludes the cache; OpenAI: prompt_tokens includes cached ones). */
function answerWith(format: 'openai' | 'anthropic', t: Tokens) {
  const cacheRead = t.cacheRead ?? 0;
  const cacheWrite = t.cacheWrite ?? 0;
  return (_req: http.IncomingMessage, body: any, res: http.ServerResponse) => {
    const model = body?.model ?? 'unknown';
    const stream = body?.stream === true;
    if (format === 'anthropic') {
      const usage = { input_tokens: t.input, output_tokens: t.output, cache_read_input_tokens: cacheRead, cache_creation_input_tokens: cacheWrite };
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'priced' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
        return;
      }
      const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end([
        ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }),
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'priced' } }),
        ev('content_block_stop', { index: 0 }),
        ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: t.output } }),
        ev('message_stop', {}),
      ].join(''));
      return;
    }
    const usage = { prompt_tokens: t.input + cacheRead, completion_tokens: t.output, total_tokens: t.input + cacheRead + t.output, prompt_tokens_details: { cached_tokens: cacheRead } };
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'priced' }, finish_reason: 'stop' }], usage }));
      return;
    }
    const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end([
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'priced' }, finish_reason: null }] })}\n\n`,
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
      `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`,
      'data: [DONE]\n\n',
    ].join(''));
  };
}

/** The table the tests price by (nothing here depends on the shipped figures). */
const TABLE = [
  { match: 'claude-test-sonnet', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  { match: 'gpt-test-4o', input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5 },
  { match: 'acme-*', input: 1, output: 0, cacheRead: 0, cacheWrite: 0 },
  { match: 'acme-pro-*', input: 2, output: 0, cacheRead: 0, cacheWrite: 0 },
  { match: 'ACME-PRO-MAX-1', input: 4, output: 0, cacheRead: 0, cacheWrite: 0 },
  { match: '*-max-*', input: 8, output: 0, cacheRead: 0, cacheWrite: 0 },
  { match: 'claude-fallback-*', input: 5, output: 5, cacheRead: 5, cacheWrite: 5 },
];

// Anthropic usage: 1234 in, 567 out, 8000 cache read, 2000 cache write at 3 / 15 / 0.3 / 3.75:
// (3702 + 8505 + 2400 + 7500) / 1e6. Cache savings: 8000 × (3 − 0.3) / 1e6.
const A_TOKENS = { input: 1234, output: 567, cacheRead: 8000, cacheWrite: 2000 };
const A_COST = 0.022107;
const A_SAVED = 0.0216;
// OpenAI usage: prompt 5000 of which 1000 cached, 250 out at 2.5 / 10 / 1.25: (10000 + 2500 + 1250) / 1e6.
const O_TOKENS = { input: 4000, output: 250, cacheRead: 1000 };
const O_COST = 0.01375;
const O_SAVED = 0.00125;

function suite(engine: 'sqlite' | 'postgres', envFor: () => Record<string, string>) {
  const gateways: TestGateway[] = [];
  const ups: Upstream[] = [];
  const gateway = async (dataDir?: string) => {
    const g = await startTestGateway(envFor(), dataDir);
    gateways.push(g);
    return g;
  };
  const stop = async (g: TestGateway) => {
    gateways.splice(gateways.indexOf(g), 1);
    await g.close();
  };
  const upstream = async (format: 'openai' | 'anthropic', t: Tokens) => {
    const u = await startUpstream({ format });
    u.fallback = { kind: 'custom', handle: answerWith(format, t) };
    ups.push(u);
    return u;
  };
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close().catch(() => {})));
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function logs(g: TestGateway, query = '') {
    await g.gateway.telemetry.flush();
    const r = await g.admin('GET', `/admin/logs${query}`);
    expect(r.status).toBe(200);
    return r.body.logs as any[];
  }

  async function putTable(g: TestGateway, prices: unknown) {
    const r = await g.admin('PUT', '/admin/prices', { prices });
    expect(r.status).toBe(200);
    return r.body;
  }

  describe(`cost per request (${engine})`, () => {
    it('each log row carries its exact cost for both formats, streamed and not, cache reads and writes included', async () => {
      const g = await gateway();
      await putTable(g, TABLE);
      const a = await upstream('anthropic', A_TOKENS);
      const o = await upstream('openai', O_TOKENS);
      await addProvider(g, { name: 'Anth', baseUrl: a.url, format: 'anthropic' }, 'normal', ['claude-test-sonnet']);
      await addProvider(g, { name: 'Oai', baseUrl: o.url, format: 'openai' }, 'tool', ['gpt-test-4o']);

      // Anthropic provider: an Anthropic client streamed and not, an OpenAI client (converted) too.
      expect((await post(`${g.url}/v1/messages`, anthropicBody('sonnet'))).status).toBe(200);
      const streamed = await post(`${g.url}/v1/messages`, anthropicBody('sonnet', { stream: true }));
      expect(streamed.status).toBe(200);
      expect(streamed.text).toContain('message_stop');
      expect((await post(`${g.url}/v1/chat/completions`, openaiBody('sonnet', { stream: true }))).status).toBe(200);
      // OpenAI provider: both clients.
      expect((await post(`${g.url}/v1/chat/completions`, openaiBody('haiku'))).status).toBe(200);
      expect((await post(`${g.url}/v1/messages`, anthropicBody('haiku', { stream: true }))).status).toBe(200);

      const rows = (await logs(g)).reverse();
      expect(rows).toHaveLength(5);
      for (const r of rows.slice(0, 3)) {
        expect(r).toMatchObject({ upstreamModel: 'claude-test-sonnet', inputTokens: 1234, outputTokens: 567, cacheReadTokens: 8000, cacheCreationTokens: 2000 });
        expect(r.costUsd).toBe(A_COST);
        expect(r.cacheSavingsUsd).toBe(A_SAVED);
      }
      for (const r of rows.slice(3)) {
        expect(r).toMatchObject({ upstreamModel: 'gpt-test-4o', inputTokens: 4000, outputTokens: 250, cacheReadTokens: 1000, cacheCreationTokens: 0 });
        expect(r.costUsd).toBe(O_COST);
        expect(r.cacheSavingsUsd).toBe(O_SAVED);
      }
      // one row read alone says the same
      const one = await g.admin('GET', `/admin/logs/${rows[0].id}`);
      expect(one.body.costUsd).toBe(A_COST);

      // Prometheus: the cost counter by pool, provider and real model
      const metrics = await fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${g.env.ADMIN_PASSWORD}` } }).then((r) => r.text());
      expect(metrics).toContain(`apg_cost_usd_total{pool="tool",provider="Oai",model="gpt-test-4o"} ${O_COST * 2}`);
    });

    it('a model without a price has costUsd null; no upstream model falls back to the requested one; a glob picks the most specific row', async () => {
      const g = await gateway();
      await putTable(g, TABLE);
      const u = await upstream('anthropic', { input: 1_000_000, output: 0 });
      await addProvider(g, { name: 'P', baseUrl: u.url, format: 'anthropic' }, 'normal', ['acme-pro-max-1', 'acme-pro-max-2', 'acme-basic', 'x-max-y', 'someone/acme-lite', 'mystery-model']);
      // Weights are equal: six requests, one per member (the rotation takes them in turn).
      for (let i = 0; i < 6; i++) expect((await post(`${g.url}/v1/messages`, anthropicBody('sonnet'))).status).toBe(200);
      const rows = await logs(g);
      const cost = Object.fromEntries(rows.map((r) => [r.upstreamModel, r.costUsd]));
      expect(cost).toEqual({
        'acme-pro-max-1': 4, // the exact id (any case) beats every glob
        'acme-pro-max-2': 2, // acme-pro-* (9 literal characters) beats *-max-* (5) and acme-* (5)
        'acme-basic': 1,
        'x-max-y': 8,
        'someone/acme-lite': 1, // no row for the whole id: the part after the vendor prefix
        'mystery-model': null,
      });
      const mystery = rows.find((r) => r.upstreamModel === 'mystery-model');
      expect(mystery.cacheSavingsUsd).toBeNull();

      // The match endpoint says the same.
      for (const [model, match] of [['acme-pro-max-2', 'acme-pro-*'], ['Acme-Pro-Max-1', 'ACME-PRO-MAX-1'], ['mystery-model', null]] as const) {
        const m = await g.admin('GET', `/admin/prices/match?model=${encodeURIComponent(model)}`);
        expect(m.status).toBe(200);
        expect(m.body.price?.match ?? null).toBe(match);
      }
      expect((await g.admin('GET', '/admin/prices/match')).status).toBe(400);

      // Served by nobody (the advanced pool is empty: 503): priced by the requested model, which has no tokens.
      expect((await post(`${g.url}/v1/messages`, anthropicBody('claude-fallback-opus'))).status).toBe(503);
      expect((await post(`${g.url}/v1/messages`, anthropicBody('opus-unpriced'))).status).toBe(503);
      const refused = await logs(g, '?status=503');
      expect(refused.map((r) => [r.requestedModel, r.upstreamModel, r.costUsd])).toEqual([
        ['opus-unpriced', null, null],
        ['claude-fallback-opus', null, 0],
      ]);

      // Requests without a price are counted apart; they add nothing to the cost.
      const stats = (await g.admin('GET', '/admin/stats?window=1h')).body;
      expect(stats.totals.unpricedRequests).toBe(1);
      expect(stats.totals.costUsd).toBe(4 + 2 + 1 + 8 + 1);
    });

    it('a changed table prices the next request at once; rows already written keep their cost', async () => {
      const g = await gateway();
      await putTable(g, TABLE);
      const u = await upstream('anthropic', { input: 1_000_000, output: 0 });
      await addProvider(g, { name: 'P', baseUrl: u.url, format: 'anthropic' }, 'normal', ['acme-basic']);
      await post(`${g.url}/v1/messages`, anthropicBody());
      await putTable(g, TABLE.map((p) => (p.match === 'acme-*' ? { ...p, input: 0.5 } : p)));
      await post(`${g.url}/v1/messages`, anthropicBody());
      await putTable(g, TABLE.filter((p) => p.match !== 'acme-*'));
      await post(`${g.url}/v1/messages`, anthropicBody());
      expect((await logs(g)).map((r) => r.costUsd)).toEqual([null, 0.5, 1]);
    });
  });

  describe(`statistics (${engine})`, () => {
    it('sum the cost and the cache savings exactly by pool, provider, member, key, minute, hour and day; a restart rebuilds them from the log', async () => {
      const g = await gateway();
      await putTable(g, TABLE);
      const a = await upstream('anthropic', A_TOKENS);
      const o = await upstream('openai', O_TOKENS);
      const pa = await addProvider(g, { name: 'Anth', baseUrl: a.url, format: 'anthropic' }, 'normal', ['claude-test-sonnet']);
      const po = await addProvider(g, { name: 'Oai', baseUrl: o.url, format: 'openai' }, 'tool', ['gpt-test-4o']);
      const key = await g.admin('POST', '/admin/keys', { name: 'team-a' });
      expect(key.status).toBe(201);
      const other = await g.admin('POST', '/admin/keys', { name: 'team-b' });
      const as = (k: any) => ({ 'x-api-key': k.body.key });

      // team-a: 3 Anthropic-priced + 1 OpenAI-priced; team-b: 1 OpenAI-priced.
      for (let i = 0; i < 3; i++) expect((await post(`${g.url}/v1/messages`, anthropicBody('sonnet', { stream: i === 1 }), as(key))).status).toBe(200);
      expect((await post(`${g.url}/v1/chat/completions`, openaiBody('haiku'), as(key))).status).toBe(200);
      expect((await post(`${g.url}/v1/chat/completions`, openaiBody('haiku', { stream: true }), as(other))).status).toBe(200);

      const total = 0.093821; // 3 × 0.022107 + 2 × 0.01375
      const saved = 0.0673; // 3 × 0.0216 + 2 × 0.00125
      const check = (s: any) => {
        expect(s.totals).toMatchObject({ requests: 5, costUsd: total, cacheSavingsUsd: saved, unpricedRequests: 0 });
        expect(s.byPool.map((p: any) => [p.pool, p.costUsd, p.cacheSavingsUsd])).toEqual([['tool', 0.0275, 0.0025], ['normal', 0.066321, 0.0648]]);
        expect(s.byProvider.map((p: any) => [p.providerId, p.provider, p.costUsd])).toEqual([[pa.providerId, 'Anth', 0.066321], [po.providerId, 'Oai', 0.0275]]);
        expect(s.byMember.map((m: any) => [m.memberId, m.pool, m.provider, m.model, m.requests, m.costUsd])).toEqual([
          [po.memberIds[0], 'tool', 'Oai', 'gpt-test-4o', 2, 0.0275],
          [pa.memberIds[0], 'normal', 'Anth', 'claude-test-sonnet', 3, 0.066321],
        ]);
        expect(s.byKey.map((k: any) => [k.keyName, k.requests, k.costUsd])).toEqual([['team-a', 4, 0.080071], ['team-b', 1, 0.01375]]);
        // the buckets (minutes in the 1h window) and the hours add up to the same
        const sumPico = (xs: any[]) => xs.reduce((n, p) => n + Math.round(p.costUsd * 1e12), 0) / 1e12;
        expect(sumPico(s.series)).toBe(total);
        expect(s.byHour).toHaveLength(24);
        expect(sumPico(s.byHour)).toBe(total);
        expect(s.byHour.reduce((n: number, h: any) => n + Math.round(h.cacheSavingsUsd * 1e12), 0) / 1e12).toBe(saved);
      };
      check((await g.admin('GET', '/admin/stats?window=1h')).body);
      check((await g.admin('GET', '/admin/stats?window=24h')).body);

      // By day, from the request log (every replica's rows): today.
      const at = Date.parse((await logs(g))[0].time);
      const days = (await g.admin('GET', '/admin/stats?days=7')).body.byDay;
      expect(days).toHaveLength(1);
      expect(days[0]).toMatchObject({ day: new Date(at).toISOString().slice(0, 10), requests: 5, errors: 0, inputTokens: 3 * 1234 + 2 * 4000, outputTokens: 3 * 567 + 2 * 250, cacheReadTokens: 3 * 8000 + 2 * 1000, cacheCreationTokens: 3 * 2000, costUsd: total, cacheSavingsUsd: saved, unpricedRequests: 0 });
      // Days start at the viewer's midnight: 14 hours east or west, today's rows are on one day.
      for (const tz of [840, -840]) {
        const d = (await g.admin('GET', `/admin/stats?days=2&tzOffset=${tz}`)).body.byDay;
        expect(d).toHaveLength(1);
        expect(d[0].day).toBe(new Date(at + tz * 60_000).toISOString().slice(0, 10));
        expect(d[0].costUsd).toBe(total);
      }
      expect((await g.admin('GET', '/admin/stats?days=0')).body.byDay).toEqual([]);
      for (const bad of ['days=-1', 'days=1.5', 'days=401', 'tzOffset=900', 'tzOffset=x']) {
        const r = await g.admin('GET', `/admin/stats?${bad}`);
        expect(r.status).toBe(400);
        expect(r.body.error.field).toBe(bad.split('=')[0]);
      }

      // A restart refills the stats from the log, costs included.
      if (engine === 'sqlite') {
        await stop(g);
        const again = await gateway(g.dataDir);
        const s = (await again.admin('GET', '/admin/stats?window=1h')).body;
        expect(s.totals.costUsd).toBe(total);
        expect(s.totals.cacheSavingsUsd).toBe(saved);
        expect(s.byMember.map((m: any) => m.costUsd)).toEqual([0.0275, 0.066321]);
        // A request log that cannot be read: the days are left out, the rest still answers.
        await again.gateway.db.kysely.schema.dropTable('request_logs').execute();
        const broken = await again.admin('GET', '/admin/stats?days=7');
        expect(broken.status).toBe(200);
        expect(broken.body.byDay).toBeNull();
        expect(broken.body.totals.costUsd).toBe(total);
      }
    });
  });

  describe(`the price table (${engine})`, () => {
    it('ships with the data file; PUT replaces it and GET returns it; the answer sent back is accepted; reset returns to the shipped table', async () => {
      const shippedFile = JSON.parse(fs.readFileSync(new URL('../../src/telemetry/prices.json', import.meta.url), 'utf8'));
      const g = await gateway();
      const first = await g.admin('GET', '/admin/prices');
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ prices: shippedFile.prices, shipped: true, shippedAsOf: shippedFile.asOf, shippedSource: shippedFile.source });

      const put = await g.admin('PUT', '/admin/prices', { prices: TABLE });
      expect(put.status).toBe(200);
      expect(put.body.prices).toEqual(TABLE);
      expect(put.body.shipped).toBe(false);
      const got = await g.admin('GET', '/admin/prices');
      expect(got.body.prices).toEqual(TABLE);
      // GET's answer as it is, one row changed: accepted (the answer's own fields are ignored)
      const edited = { ...got.body, prices: got.body.prices.map((p: any, i: number) => (i === 0 ? { ...p, input: 3.5 } : p)) };
      const back = await g.admin('PUT', '/admin/prices', edited);
      expect(back.status).toBe(200);
      expect(back.body.prices[0]).toEqual({ ...TABLE[0], input: 3.5 });
      // match is trimmed; an empty table is a table (nothing priced)
      expect((await g.admin('PUT', '/admin/prices', { prices: [{ ...TABLE[0], match: '  spaced-* ' }] })).body.prices[0].match).toBe('spaced-*');
      expect((await g.admin('PUT', '/admin/prices', { prices: [] })).body.prices).toEqual([]);

      const reset = await g.admin('POST', '/admin/prices/reset');
      expect(reset.status).toBe(200);
      expect(reset.body.prices).toEqual(shippedFile.prices);
      expect(reset.body.shipped).toBe(true);
      // A PUT of the shipped list is the shipped table too.
      await putTable(g, TABLE);
      expect((await g.admin('PUT', '/admin/prices', { prices: shippedFile.prices })).body.shipped).toBe(true);
    });

    it('a bad document is 400 naming the first bad field, and changes nothing', async () => {
      const g = await gateway();
      await putTable(g, TABLE);
      const row = TABLE[0]!;
      const cases: [unknown, string][] = [
        [[], 'body'],
        [{}, 'prices'],
        [{ prices: 'all' }, 'prices'],
        [{ prices: [row], extra: 1 }, 'extra'],
        [{ prices: [row, 5] }, 'prices[1]'],
        [{ prices: [row, { ...row, match: 'other', input: -1 }] }, 'prices[1].input'],
        [{ prices: [{ ...row, output: '15' }] }, 'prices[0].output'],
        [{ prices: [{ ...row, cacheRead: null }] }, 'prices[0].cacheRead'],
        [{ prices: [{ match: 'm', input: 1, output: 1, cacheRead: 1 }] }, 'prices[0].cacheWrite'],
        [{ prices: [{ ...row, match: '' }] }, 'prices[0].match'],
        [{ prices: [{ ...row, match: '   ' }] }, 'prices[0].match'],
        [{ prices: [{ ...row, cache_read: 1 }] }, 'prices[0].cache_read'],
        [{ prices: [row, { ...row, match: row.match.toUpperCase() }] }, 'prices[1].match'],
      ];
      for (const [body, field] of cases) {
        const r = await g.admin('PUT', '/admin/prices', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.field, JSON.stringify(body)).toBe(field);
        const unknownField = ['extra', 'prices[0].cache_read'].includes(field);
        expect(r.body.error.message.startsWith(unknownField ? `unknown field ${field}` : `${field}: `), r.body.error.message).toBe(true);
      }
      const unknown = await g.admin('PUT', '/admin/prices', { prices: [{ ...row, cacheReads: 1 }] });
      expect(unknown.body.error.message).toContain('did you mean prices[0].cacheRead?');
      const text = await fetch(`${g.url}/admin/prices`, { method: 'PUT', headers: { authorization: `Bearer ${g.env.ADMIN_PASSWORD}`, 'content-type': 'application/json' }, body: '{"prices": [' });
      expect(text.status).toBe(400);
      expect((await g.admin('GET', '/admin/prices')).body.prices).toEqual(TABLE);
      expect(g.gateway.telemetry.prices.lookup('claude-test-sonnet')).toEqual(TABLE[0]);
      // without the admin token: 401, nothing changed
      expect((await g.admin('PUT', '/admin/prices', { prices: [] }, null)).status).toBe(401);
      expect((await g.admin('POST', '/admin/prices/reset', undefined, null)).status).toBe(401);
      expect((await g.admin('GET', '/admin/prices')).body.prices).toEqual(TABLE);
    });

    it('an edited table outlives a restart; a table never edited follows the shipped file', async () => {
      const g = await gateway();
      await putTable(g, TABLE);
      await stop(g);
      const again = await gateway(engine === 'sqlite' ? g.dataDir : undefined);
      const r = await again.admin('GET', '/admin/prices');
      expect(r.body.prices).toEqual(TABLE);
      expect(r.body.shipped).toBe(false);
      await again.admin('POST', '/admin/prices/reset');
      // A stored shipped table that an older version wrote is rewritten from this version's file at start.
      const kysely = again.gateway.db.kysely;
      await kysely.deleteFrom('prices').where('position', '>', 0).execute();
      await kysely.updateTable('prices').set({ input: 99 }).execute();
      await stop(again);
      const third = await gateway(engine === 'sqlite' ? g.dataDir : undefined);
      const shipped = (await third.admin('GET', '/admin/prices')).body;
      expect(shipped.shipped).toBe(true);
      expect(shipped.prices.length).toBeGreaterThan(20);
      expect(await third.gateway.db.kysely.selectFrom('prices').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst().then((x) => Number(x?.n))).toBe(shipped.prices.length);
    });
  });
}

suite('sqlite', () => ({}));

// Skipped without PostgreSQL on this machine (the run says so once, at its end). Each test gets a
// database of its own (a restart in a test starts a gateway on the same one).
describe.skipIf(missing('postgres'))('on PostgreSQL', () => {
  const SECRET_KEY = 'prices-test-secret-key-0123456789abcdef';
  let db = testDatabase();
  beforeEach(async () => {
    db = testDatabase();
    await db.create();
  });
  afterEach(() => db.drop());
  suite('postgres', () => ({ DATABASE_URL: db.url, SECRET_KEY }));

  it('a replica without Redis picks up another replica\'s new price table through its database poll', async () => {
    const env = { DATABASE_URL: db.url, SECRET_KEY };
    const a = await startTestGateway(env);
    const b = await startTestGateway(env);
    try {
      expect(b.gateway.telemetry.prices.lookup('acme-x')).toBeNull();
      expect((await a.admin('PUT', '/admin/prices', { prices: TABLE })).status).toBe(200);
      await until(async () => b.gateway.telemetry.prices.lookup('acme-x')?.input === 1, 'the other replica to load the new table', 15_000);
      expect((await b.admin('GET', '/admin/prices')).body).toMatchObject({ prices: TABLE, shipped: false });
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);
});
