import type { Gateway } from '../gateway.js';
import type { Provider } from '../store/repo.js';
import { CHAT_PATH } from '../protocol/formats.js';
import { readErrorBody } from '../protocol/errors.js';
import { buildUpstreamUrl } from '../upstream/url.js';
import { upstreamHeaders } from '../upstream/client.js';
import { keysMasker } from '../secrets/redact.js';
import { MAX_UPSTREAM_BODY_BYTES, readBodyText } from '../upstream/read.js';

const TEST_TIMEOUT_MS = 30_000;

/**
 * The admin's "Test" button: a tiny real request to one model of one provider, in its own format,
 * outside the pools (nothing cools, the rotation does not move). Says what came back.
 */
export async function testProvider(gw: Gateway, p: Provider, model: string) {
  const result = await runTest(gw, p, model);
  // An upstream that echoes the key in its error text: the admin sees it masked.
  const mask = keysMasker(p.keys?.map((k) => k.apiKey) ?? [p.apiKey]);
  if (result.error !== undefined) result.error = mask(result.error);
  if (result.answer !== undefined) result.answer = mask(result.answer);
  return result;
}

interface TestResult { ok: boolean; status: number | null; latencyMs: number; error?: string; answer?: string }

async function runTest(gw: Gateway, p: Provider, model: string): Promise<TestResult> {
  const body = p.format === 'anthropic'
    ? { model, max_tokens: 16, messages: [{ role: 'user', content: 'Reply with the single word: pong' }] }
    : { model, [p.options?.maxTokensField ?? 'max_tokens']: 16, messages: [{ role: 'user', content: 'Reply with the single word: pong' }] };
  const url = buildUpstreamUrl(p.baseUrl, CHAT_PATH[p.format]);
  const started = performance.now();
  try {
    const res = await gw.upstreams.dispatcher(p).request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'POST',
      headers: upstreamHeaders(p, { stream: false }),
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
    });
    const text = await readBodyText(res, MAX_UPSTREAM_BODY_BYTES);
    const latencyMs = Math.round(performance.now() - started);
    if (res.statusCode >= 400) {
      const info = readErrorBody(text);
      return { ok: false, status: res.statusCode, latencyMs, error: info?.message ?? (text.slice(0, 500) || `HTTP ${res.statusCode}`) };
    }
    let json: Record<string, any>;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, status: res.statusCode, latencyMs, error: `the answer is not JSON: ${text.slice(0, 200)}` };
    }
    if (json.error) return { ok: false, status: res.statusCode, latencyMs, error: readErrorBody(text)?.message ?? JSON.stringify(json.error) };
    const answer = p.format === 'anthropic'
      ? (Array.isArray(json.content) ? json.content.filter((b: any) => b?.type === 'text').map((b: any) => b.text).join('') : '')
      : String(json.choices?.[0]?.message?.content ?? json.choices?.[0]?.message?.reasoning_content ?? '');
    return { ok: true, status: res.statusCode, latencyMs, answer };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    const latencyMs = Math.round(performance.now() - started);
    const error = e.name === 'TimeoutError' ? `no answer within ${TEST_TIMEOUT_MS / 1000} s` : e.code ? `${e.code}: ${e.message}` : (e.message ?? String(err));
    return { ok: false, status: null, latencyMs, error };
  }
}
