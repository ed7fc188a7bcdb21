/**
 * A same-format request goes upstream as the bytes the client sent, with only the model changed
 * (protocol/client-body.ts); everything that re-serialises (a conversion, a body the provider's
 * options change, thinking another provider signed) still sees the client's exact text — Chinese,
 * emoji and all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addProvider, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let ups: Upstream[] = [];
afterEach(async () => {
  await gw?.close();
  await Promise.all(ups.map((u) => u.close()));
  ups = [];
});

async function setup(format: 'anthropic' | 'openai', options?: object): Promise<Upstream> {
  gw = await startTestGateway();
  const u = await startUpstream({ format, name: 'U' });
  ups.push(u);
  await addProvider(gw, { name: 'U', baseUrl: u.url, format, ...(options ? { options } : {}) }, 'normal', ['上游-model']);
  return u;
}

const TEXT = '请把这个函数改成异步的 — naïve café 🚀';
/** Pretty-printed, keys in the client's order, a nested "model" before the real one: all must survive. */
const anthropicText = (extra: object = {}) => JSON.stringify({
  tools: [{ name: 'pick', description: '选择', input_schema: { type: 'object', properties: { model: { type: 'string' } } } }],
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  metadata: { user_id: '用户_session_1' },
  messages: [{ role: 'user', content: TEXT }],
  ...extra,
}, null, 2);

describe('the client\'s bytes, forwarded', () => {
  it('Anthropic → Anthropic: the upstream receives the very bytes sent, but for the model', async () => {
    const u = await setup('anthropic');
    const sent = anthropicText();
    const r = await post(`${gw.url}/v1/messages`, sent);
    expect(r.status).toBe(200);
    const expected = sent.replace('"model": "claude-sonnet-4-5"', '"model": "上游-model"');
    expect(expected).not.toBe(sent);
    expect(u.requests[0].raw.toString('utf8')).toBe(expected);
    // the log names the model and the conversation as the client wrote them
    await gw.gateway.telemetry.flush();
    const row = (await gw.admin('GET', '/admin/logs')).body.logs[0];
    expect(row.requestedModel).toBe('claude-sonnet-4-5');
    expect(row.conversation).toBe('用户_session_1');
  });

  it('OpenAI → OpenAI, streamed: the same', async () => {
    const u = await setup('openai');
    const sent = JSON.stringify({ model: 'sonnet', stream: true, messages: [{ role: 'user', content: TEXT }], user: '用户' });
    const r = await post(`${gw.url}/v1/chat/completions`, sent);
    expect(r.status).toBe(200);
    expect(u.requests[0].raw.toString('utf8')).toBe(sent.replace('"model":"sonnet"', '"model":"上游-model"'));
  });

  it('a model key spelled with an escape: not spliced, the body still goes right', async () => {
    const u = await setup('anthropic');
    const r = await post(`${gw.url}/v1/messages`, anthropicText().replace('"model": "claude', '"mod\\u0065l": "claude'));
    expect(r.status).toBe(200);
    expect(u.requests[0].body.model).toBe('上游-model');
    expect(u.requests[0].body.messages[0].content).toBe(TEXT);
  });

  it('Anthropic client → OpenAI provider: the converted body holds the exact text', async () => {
    const u = await setup('openai');
    const r = await post(`${gw.url}/v1/messages`, anthropicText({ system: '你是助手' }));
    expect(r.status).toBe(200);
    const body = u.requests[0].body;
    expect(body.model).toBe('上游-model');
    expect(body.messages).toEqual([{ role: 'system', content: '你是助手' }, { role: 'user', content: TEXT }]);
  });

  it('a provider option that changes the body (stripUnsupported): prepared from the exact text', async () => {
    const u = await setup('anthropic', { stripUnsupported: true });
    const sent = anthropicText({ system: [{ type: 'text', text: '系统提示', cache_control: { type: 'ephemeral', ttl: '1h' } }] });
    const r = await post(`${gw.url}/v1/messages`, sent);
    expect(r.status).toBe(200);
    const body = u.requests[0].body;
    expect(body.system).toEqual([{ type: 'text', text: '系统提示', cache_control: { type: 'ephemeral' } }]);
    expect(body.messages[0].content).toBe(TEXT);
    expect(body.tools[0].description).toBe('选择');
  });

  it('an unsigned thinking block in the history: removed, the rest exact', async () => {
    const u = await setup('anthropic');
    const sent = anthropicText({
      messages: [
        { role: 'user', content: TEXT },
        { role: 'assistant', content: [{ type: 'thinking', thinking: '想一想', signature: '' }, { type: 'text', text: '好的' }] },
        { role: 'user', content: '继续' },
      ],
    });
    const r = await post(`${gw.url}/v1/messages`, sent);
    expect(r.status).toBe(200);
    expect(u.requests[0].body.messages[1].content).toEqual([{ type: 'text', text: '好的' }]);
    expect(u.requests[0].body.messages[2].content).toBe('继续');
  });

  it('logged bodies are the text the client sent', async () => {
    await setup('anthropic');
    await gw.admin('PATCH', '/admin/settings', { logBodies: true });
    const sent = anthropicText();
    expect((await post(`${gw.url}/v1/messages`, sent)).status).toBe(200);
    await gw.gateway.telemetry.flush();
    const id = (await gw.admin('GET', '/admin/logs')).body.logs[0].id;
    const row = (await gw.admin('GET', `/admin/logs/${id}`)).body;
    expect(row.requestBody).toBe(sent);
  });
});
