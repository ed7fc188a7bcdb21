import type { Gateway } from '../gateway.js';
import type { Provider } from '../store/repo.js';
import { readErrorBody } from '../protocol/errors.js';
import { buildUpstreamUrl } from '../upstream/url.js';
import { upstreamHeaders } from '../upstream/client.js';
import { keyMasker } from '../secrets/redact.js';
import { MAX_UPSTREAM_BODY_BYTES, readBodyText } from '../upstream/read.js';

const FETCH_TIMEOUT_MS = 15_000;

/**
 * Reads a provider's own model list (`GET …/models` with its key, in its format) and returns the
 * model ids, sorted and without duplicates. Follows Anthropic's `has_more` pages.
 */
export async function fetchProviderModels(gw: Gateway, p: Provider): Promise<{ ok: true; models: string[] } | { ok: false; error: string }> {
  const result = await fetchModels(gw, p);
  // An upstream that echoes the key in its error text: the admin sees it masked.
  return result.ok ? result : { ok: false, error: keyMasker(p.apiKey)(result.error) };
}

async function fetchModels(gw: Gateway, p: Provider): Promise<{ ok: true; models: string[] } | { ok: false; error: string }> {
  const ids = new Set<string>();
  let after: string | null = null;
  const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  try {
    for (let page = 0; page < 20; page++) {
      const url = buildUpstreamUrl(p.baseUrl, '/models');
      if (p.format === 'anthropic') {
        url.searchParams.set('limit', '1000');
        if (after) url.searchParams.set('after_id', after);
      }
      const res = await gw.upstreams.dispatcher(p).request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: upstreamHeaders(p, { stream: false, json: false }),
        signal,
      });
      const text = await readBodyText(res, MAX_UPSTREAM_BODY_BYTES);
      if (res.statusCode >= 400) {
        const info = readErrorBody(text);
        return { ok: false, error: `HTTP ${res.statusCode}${info ? `: ${info.message}` : text ? `: ${text.slice(0, 200)}` : ''}` };
      }
      let json: { data?: unknown; models?: unknown; has_more?: unknown; last_id?: unknown };
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, error: `the answer is not JSON: ${text.slice(0, 120)}` };
      }
      const list = Array.isArray(json?.data) ? json.data : Array.isArray(json?.models) ? json.models : Array.isArray(json) ? json : null;
      if (!list) return { ok: false, error: 'the answer has no "data" list of models' };
      for (const item of list as unknown[]) {
        const id = typeof item === 'string' ? item : (item as { id?: unknown; name?: unknown })?.id ?? (item as { name?: unknown })?.name;
        if (typeof id === 'string' && id.trim() !== '') ids.add(id.trim());
      }
      if (p.format === 'anthropic' && json.has_more === true && typeof json.last_id === 'string') {
        after = json.last_id;
        continue;
      }
      break;
    }
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: string };
    if (signal.aborted) return { ok: false, error: `no answer within ${FETCH_TIMEOUT_MS / 1000} s` };
    return { ok: false, error: e.code ? `${e.code}: ${e.message}` : (e.message ?? String(err)) };
  }
  return { ok: true, models: [...ids].sort() };
}
