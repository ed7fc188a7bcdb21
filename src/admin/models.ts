import type { Gateway } from '../gateway.js';
import type { ModelCapabilities, Provider, ProviderModel } from '../store/repo.js';
import { readErrorBody } from '../protocol/errors.js';
import { buildUpstreamUrl } from '../upstream/url.js';
import { upstreamHeaders } from '../upstream/client.js';
import { keysMasker } from '../secrets/redact.js';
import { MAX_UPSTREAM_BODY_BYTES, readBodyText } from '../upstream/read.js';
import { MAX_CONTEXT_WINDOW } from './validate.js';

const FETCH_TIMEOUT_MS = 15_000;


/** Where model lists state a context window, in the order asked (OpenRouter, vLLM, LiteLLM, …). */
const CONTEXT_PATHS: readonly (readonly string[])[] = [
  ['context_length'], ['context_window'], ['max_context_length'], ['max_model_len'], ['max_input_tokens'], ['top_provider', 'context_length'],
];

function at(item: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = item;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function tokens(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  return Number.isInteger(n) && n > 0 && n <= MAX_CONTEXT_WINDOW ? n : null;
}

/** An input-modality list: says images when "image" is in it; says nothing when it holds no names. */
function imageIn(list: unknown): boolean | null {
  if (!Array.isArray(list)) return null;
  const names = list.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase());
  return names.length === 0 ? null : names.includes('image');
}

/**
 * What one entry of a provider's model list says its model can hold: the context window from the
 * first of `context_length`, `context_window`, `max_context_length`, `max_model_len`,
 * `max_input_tokens`, `top_provider.context_length` that holds a token count; vision from
 * `architecture.input_modalities`, `modalities` (a list, or `{input: […]}`) or `capabilities.vision`.
 * Null where the entry does not say: never guessed from the model's name.
 */
export function readModelCapabilities(item: unknown): ModelCapabilities {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return { contextWindow: null, vision: null };
  const o = item as Record<string, unknown>;
  let contextWindow: number | null = null;
  for (const path of CONTEXT_PATHS) {
    contextWindow = tokens(at(o, path));
    if (contextWindow !== null) break;
  }
  const modalities = at(o, ['modalities']);
  const capVision = at(o, ['capabilities', 'vision']);
  const vision = imageIn(at(o, ['architecture', 'input_modalities']))
    ?? imageIn(modalities)
    ?? imageIn(at(o, ['modalities', 'input']))
    ?? (typeof capVision === 'boolean' ? capVision : null);
  return { contextWindow, vision };
}

/**
 * Reads a provider's own model list (`GET …/models` with its key, in its format) and returns the
 * models, sorted by id and without duplicates, with what the list says they hold. Follows
 * Anthropic's `has_more` pages.
 */
export async function fetchProviderModels(gw: Gateway, p: Provider): Promise<{ ok: true; models: ProviderModel[] } | { ok: false; error: string }> {
  const result = await fetchModels(gw, p);
  // An upstream that echoes the key in its error text: the admin sees it masked.
  return result.ok ? result : { ok: false, error: keysMasker(p.keys?.map((k) => k.apiKey) ?? [p.apiKey])(result.error) };
}

async function fetchModels(gw: Gateway, p: Provider): Promise<{ ok: true; models: ProviderModel[] } | { ok: false; error: string }> {
  const found = new Map<string, ProviderModel>();
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
        if (typeof id !== 'string' || id.trim() === '') continue;
        const caps = readModelCapabilities(item);
        const seen = found.get(id.trim());
        // listed twice: what either entry says is kept
        if (seen) found.set(seen.id, { id: seen.id, contextWindow: seen.contextWindow ?? caps.contextWindow, vision: seen.vision ?? caps.vision });
        else found.set(id.trim(), { id: id.trim(), ...caps });
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
  return { ok: true, models: [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}
