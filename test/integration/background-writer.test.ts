import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { SqliteBackgroundWriter } from '../../src/store/background-writer.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addProvider, anthropicBody, getPools, memberOf, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** The SQLite writer thread dying: it is restarted, said once in the log, and writing goes on. */

let gw: TestGateway | null = null;
let up: Upstream | null = null;

afterEach(async () => {
  await gw?.close();
  await up?.close();
  gw = null;
  up = null;
});

describe('SQLite background writer', () => {
  it('a killed writer thread is restarted and logged once; request logs and cooldowns keep being written', async () => {
    const lines: any[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
    gw = await startTestGateway({}, undefined, pino({ level: 'info' }, sink));
    up = await startUpstream({ format: 'anthropic', name: 'A' });
    const { memberIds: [id] } = await addProvider(gw, { name: 'A', baseUrl: up.url, format: 'anthropic' }, 'normal', ['m']);
    const writer = gw.gateway.writer as SqliteBackgroundWriter;
    const total = async () => {
      await gw!.gateway.telemetry.flush();
      return (await gw!.admin('GET', '/admin/logs')).body.total as number;
    };
    expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    await until(async () => (await total()) === 1, 'the first log row');

    await writer.killThreadForTest();
    await until(async () => lines.some((l) => /writer thread died/.test(l.msg)), 'the death to be logged');

    for (let i = 0; i < 3; i++) expect((await post(`${gw.url}/v1/messages`, anthropicBody())).status).toBe(200);
    await until(async () => (await total()) === 4, 'the rows written after the restart');
    const deaths = lines.filter((l) => /writer thread died/.test(l.msg));
    expect(deaths.length).toBe(1);
    expect(deaths[0].level).toBe(50); // error
    expect(gw.gateway.telemetry.droppedRows).toBe(0);

    // a cooldown goes through the new thread too (read back from the database)
    up.fallback = { kind: 'status', status: 500 };
    await post(`${gw.url}/v1/messages`, anthropicBody());
    const until_ = Date.parse(memberOf(await getPools(gw), id).cooldownUntil);
    await until(async () => (await gw!.gateway.repo.listMembers()).find((m) => m.id === id)!.cooldownUntil === until_, 'the cooldown to be stored');
  });

  it('writes in flight when the thread dies are sent again to the new one', async () => {
    gw = await startTestGateway();
    const writer = gw.gateway.writer as SqliteBackgroundWriter;
    const row = { ts: Date.now(), entry_format: 'anthropic', requested_model: 'x', pool: 'normal', provider_id: null, provider_name: null, upstream_model: null, status: 200, latency_ms: 1, ttft_ms: null, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0, stream: 0, attempts: '[]', error: null, request_body: null, response_body: null, key_id: null, key_name: null };
    const writes = Array.from({ length: 20 }, () => writer.writeLogs([row as any]));
    await writer.killThreadForTest();
    await Promise.all(writes);
    // every write landed (one batch committed in the very instant the thread died could land twice)
    const total = (await gw.admin('GET', '/admin/logs')).body.total;
    expect(total).toBeGreaterThanOrEqual(20);
    expect(total).toBeLessThanOrEqual(21);
  });
});
