/**
 * Same-format routes forward the client's body (protocols.md §1.3), with only the changes a
 * provider forces. These helpers make those changes copy-on-write: the original body is never
 * mutated, and it is returned as is when nothing needs changing (the common case).
 */
import type { ProviderOptions } from './types.js';
import { type Json, SYNTHETIC_SIGNATURE_PREFIX, isObj } from './util.js';

/**
 * An Anthropic request going to an Anthropic-format upstream:
 * - thinking blocks whose signature this gateway invented (answers that came from an OpenAI-format
 *   member of the pool), or that have no signature, are removed — a real Anthropic upstream
 *   rejects them (P10). If the last assistant turn lost its thinking block, `thinking` is turned
 *   off for this request ("a final assistant message must start with a thinking block").
 * - with `options.stripUnsupported`: `context_management` is dropped and every `cache_control`
 *   is reduced to `{type:"ephemeral"}` (partial clones reject ttl/scope, P11).
 * - with `dropSigned`: thinking (and redacted_thinking) blocks whose signature it picks are removed
 *   the same way (another provider signed them; or, given `() => true`, every one: the retry after
 *   an upstream refused a signature).
 * `model` is set to `upstreamModel`.
 */
export function prepareAnthropicPassthrough(body: Json, upstreamModel: string, options: ProviderOptions = {}, dropSigned?: (signature: string) => boolean): Json {
  let out: Json = body.model === upstreamModel ? body : { ...body, model: upstreamModel };
  const set = (key: string, value: unknown): void => {
    if (out === body) out = { ...body };
    if (value === undefined) delete out[key];
    else out[key] = value;
  };

  if (Array.isArray(body.messages)) {
    let messages: unknown[] | null = null;
    let lastAssistantLostThinking = false;
    let lastAssistant = -1;
    for (let i = 0; i < body.messages.length; i++) {
      const m = body.messages[i];
      if (isObj(m) && m.role === 'assistant') lastAssistant = i;
    }
    for (let i = 0; i < body.messages.length; i++) {
      const m = body.messages[i];
      if (!isObj(m) || m.role !== 'assistant' || !Array.isArray(m.content)) continue;
      let kept: unknown[] | null = null;
      for (let j = 0; j < m.content.length; j++) {
        const b = m.content[j];
        if (isObj(b) && ((b.type === 'thinking' && (!realSignature(b.signature) || dropSigned?.(b.signature as string)))
          || (b.type === 'redacted_thinking' && dropSigned !== undefined && typeof b.data === 'string' && dropSigned(b.data)))) {
          kept ??= m.content.slice(0, j);
          if (i === lastAssistant) lastAssistantLostThinking = true;
        } else if (kept) {
          kept.push(b);
        }
      }
      if (kept) {
        messages ??= body.messages.slice();
        messages[i] = kept.length > 0 ? { ...m, content: kept } : null;
      }
    }
    if (messages) {
      set('messages', messages.filter((m) => m !== null));
      if (lastAssistantLostThinking && isObj(body.thinking) && body.thinking.type !== 'disabled') {
        set('thinking', undefined);
        // clear_thinking edits require thinking to be on
        const cm = body.context_management;
        if (isObj(cm) && Array.isArray(cm.edits)) {
          const edits = cm.edits.filter((e) => !(isObj(e) && typeof e.type === 'string' && e.type.startsWith('clear_thinking')));
          set('context_management', edits.length > 0 ? { ...cm, edits } : undefined);
        }
      }
    }
  }

  if (options.stripUnsupported) {
    if (out.context_management !== undefined) set('context_management', undefined);
    if (out.cache_control !== undefined) set('cache_control', undefined);
    if (isObj(out.thinking) && out.thinking.cache_control !== undefined) {
      const { cache_control: _drop, ...thinking } = out.thinking;
      set('thinking', thinking);
    }
    const system = plainCacheControl(out.system);
    if (system !== out.system) set('system', system);
    const tools = plainCacheControl(out.tools);
    if (tools !== out.tools) set('tools', tools);
    if (Array.isArray(out.messages)) {
      let messages: unknown[] | null = null;
      for (let i = 0; i < out.messages.length; i++) {
        const m = out.messages[i];
        if (!isObj(m)) continue;
        const content = plainCacheControl(m.content);
        if (content !== m.content) {
          messages ??= out.messages.slice();
          messages[i] = { ...m, content };
        }
      }
      if (messages) set('messages', messages);
    }
  }
  return out;
}

/** A signature a real Anthropic upstream could have minted. */
function realSignature(sig: unknown): boolean {
  return typeof sig === 'string' && sig !== '' && !sig.startsWith(SYNTHETIC_SIGNATURE_PREFIX);
}

/** Blocks with `cache_control` beyond `{type}` (ttl, scope) → copies with `{type:"ephemeral"}`. */
function plainCacheControl(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  let out: unknown[] | null = null;
  for (let i = 0; i < v.length; i++) {
    const b = v[i];
    if (!isObj(b)) continue;
    let nb: Json = b;
    if (isObj(b.cache_control) && Object.keys(b.cache_control).some((k) => k !== 'type')) {
      nb = { ...b, cache_control: { type: 'ephemeral' } };
    }
    if (Array.isArray(b.content)) {
      const inner = plainCacheControl(b.content);
      if (inner !== b.content) nb = { ...nb, content: inner };
    }
    if (nb !== b) {
      out ??= v.slice();
      out[i] = nb;
    }
  }
  return out ?? v;
}

/** Fields every OpenAI-compatible server knows (kept under `stripUnsupported`). */
const OPENAI_CORE = new Set([
  'model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'stream',
  'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'reasoning_effort',
  'n', 'seed', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'user',
]);

/**
 * An OpenAI request going to an OpenAI-format upstream: `model` set; the output limit moved to
 * `options.maxTokensField` and capped at `options.maxTokensCap`; `stream_options` removed when the
 * provider rejects it; `reasoning_effort` removed when the provider has no reasoning; with
 * `stripUnsupported`, only the core fields kept.
 */
export function prepareOpenAIPassthrough(body: Json, upstreamModel: string, options: ProviderOptions = {}): Json {
  let out: Json = body.model === upstreamModel ? body : { ...body, model: upstreamModel };
  const set = (key: string, value: unknown): void => {
    if (out === body) out = { ...body };
    if (value === undefined) delete out[key];
    else out[key] = value;
  };
  // The client's own choice of field stands unless the provider is configured for one.
  const field = options.maxTokensField ?? (typeof body.max_completion_tokens === 'number' && typeof body.max_tokens !== 'number' ? 'max_completion_tokens' : 'max_tokens');
  const other = field === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
  const limit = typeof body[field] === 'number' ? body[field] : typeof body[other] === 'number' ? body[other] : undefined;
  if (typeof limit === 'number') {
    const capped = options.maxTokensCap && limit > options.maxTokensCap ? options.maxTokensCap : limit;
    if (body[field] !== capped) set(field, capped);
    if (options.maxTokensField && body[other] !== undefined) set(other, undefined);
  }
  if (options.streamOptions === false && body.stream_options !== undefined) set('stream_options', undefined);
  if (body.stream !== true && body.stream_options !== undefined) set('stream_options', undefined);
  if (options.reasoning === false && body.reasoning_effort !== undefined) set('reasoning_effort', undefined);
  if (options.stripUnsupported) {
    for (const k of Object.keys(out)) if (!OPENAI_CORE.has(k)) set(k, undefined);
  }
  return out;
}
