/**
 * Anthropic Messages request → OpenAI Chat Completions request (protocols.md §1.1, §1.4, §1.5).
 * One pass over the body; big strings (texts, base64 data) are referenced, never copied or scanned.
 */
import type { ConversionContext, ProviderOptions } from '../types.js';
import {
  type Json, IMAGE_TOKENS_ESTIMATE, charsToTokens, hasText, hashUserId, isObj, nonEmpty, num, randomId,
  shortToolName, stringifyToolInput,
} from '../util.js';
import { ConversionError } from '../errors.js';

/** Joins the text blocks of one message / the system prompt. */
const TEXT_JOIN = '\n\n';
/** Joins the text parts of one tool result. */
const TOOL_TEXT_JOIN = '\n';

interface Acc {
  chars: number;
  images: number;
  options: ProviderOptions;
}

export function anthropicRequestToOpenAI(
  body: Json,
  upstreamModel: string,
  options: ProviderOptions,
): { body: Json; ctx: ConversionContext } {
  const acc: Acc = { chars: 0, images: 0, options };
  const toolNames = new Map<string, string>();
  const out: Json = { model: upstreamModel };

  // ---- tools first, so tool_use names in the history use the same short names ----
  const tools: Json[] = [];
  if (Array.isArray(body.tools)) {
    for (const t of body.tools) {
      if (!isObj(t)) continue;
      // Server / versioned tools (web_search_20250305, bash_20250124, …) cannot run on an OpenAI upstream.
      if (t.type !== undefined && t.type !== 'custom') continue;
      const name = nonEmpty(t.name);
      if (!name) continue;
      const short = shortToolName(name);
      if (short !== name) toolNames.set(short, name);
      const fn: Json = { name: short };
      if (typeof t.description === 'string') {
        fn.description = t.description;
        acc.chars += t.description.length;
      }
      fn.parameters = isObj(t.input_schema) ? t.input_schema : { type: 'object', properties: {} };
      acc.chars += 400; // a schema's typical size; never stringified on the hot path
      tools.push({ type: 'function', function: fn });
    }
  }

  // ---- system (top-level + any mid-conversation role:"system" messages, P15) ----
  const system: string[] = [];
  addSystem(body.system, system, acc, 'system');

  // ---- messages (shapes that cannot be translated are a ConversionError naming the field) ----
  const msgs: Json[] = [];
  if (Array.isArray(body.messages)) {
    for (let i = 0; i < body.messages.length; i++) {
      const m: unknown = body.messages[i];
      const at = `messages[${i}]`;
      if (!isObj(m)) throw new ConversionError(at, 'must be an object with a role and content');
      switch (m.role) {
        case 'user': userMessage(m.content, msgs, acc, at); break;
        case 'assistant': assistantMessage(m.content, msgs, acc, at); break;
        case 'system': addSystem(m.content, system, acc, `${at}.content`); break;
        default: throw new ConversionError(`${at}.role`, 'must be "user" or "assistant"');
      }
    }
  }
  const messages = pairToolCalls(msgs);
  if (system.length > 0) messages.unshift({ role: 'system', content: system.join(TEXT_JOIN) });
  out.messages = messages;

  // ---- sampling / limits ----
  const maxTokens = num(body.max_tokens);
  if (maxTokens !== undefined && maxTokens > 0) {
    let mt = Math.floor(maxTokens);
    const cap = options.maxTokensCap;
    if (cap && mt > cap) mt = cap;
    out[options.maxTokensField ?? 'max_tokens'] = mt;
  }
  const temperature = num(body.temperature);
  if (temperature !== undefined) out.temperature = temperature;
  const topP = num(body.top_p);
  if (topP !== undefined) out.top_p = topP;
  // top_k: no OpenAI field (dropped).
  if (Array.isArray(body.stop_sequences)) {
    const stop: string[] = [];
    for (const s of body.stop_sequences) {
      if (typeof s === 'string' && s !== '') stop.push(s);
      if (stop.length === 4) break; // OpenAI: up to 4 (P12)
    }
    if (stop.length > 0) out.stop = stop;
  }

  const stream = body.stream === true;
  if (stream) {
    out.stream = true;
    if (options.streamOptions !== false) out.stream_options = { include_usage: true };
  }

  // ---- tools / tool_choice (§1.4) ----
  if (tools.length > 0) {
    out.tools = tools;
    const tc = body.tool_choice;
    if (isObj(tc)) {
      switch (tc.type) {
        case 'auto': out.tool_choice = 'auto'; break;
        case 'any': out.tool_choice = 'required'; break;
        case 'none': out.tool_choice = 'none'; break;
        case 'tool': {
          // A named tool that did not survive (a server tool) would be a 400 upstream: let the model choose.
          const name = nonEmpty(tc.name);
          const short = name ? shortToolName(name) : undefined;
          out.tool_choice = short && tools.some((t) => (t.function as Json).name === short)
            ? { type: 'function', function: { name: short } }
            : 'auto';
          break;
        }
        default: break;
      }
      if (tc.disable_parallel_tool_use === true && tc.type !== 'none') out.parallel_tool_calls = false;
    }
  }

  // ---- reasoning (§1.5) ----
  if (options.reasoning !== false) {
    const effort = reasoningEffort(body.thinking, body.output_config);
    if (effort) out.reasoning_effort = effort;
  }

  // ---- structured output ----
  const fmt = isObj(body.output_config) && isObj(body.output_config.format) ? body.output_config.format
    : isObj(body.output_format) ? body.output_format : undefined;
  if (fmt && fmt.type === 'json_schema' && isObj(fmt.schema)) {
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: fmt.schema } };
  }

  // ---- end user (P14): hashed, 64 hex chars ----
  if (isObj(body.metadata) && typeof body.metadata.user_id === 'string' && body.metadata.user_id !== '') {
    out.user = hashUserId(body.metadata.user_id);
  }

  // Everything else (thinking, output_config, metadata, context_management, container, mcp_servers,
  // service_tier, inference_geo, top-level cache_control, top_k) is simply not copied.

  const ctx: ConversionContext = {
    clientModel: typeof body.model === 'string' ? body.model : upstreamModel,
    upstreamModel,
    stream,
    includeUsage: false,
    toolNames,
    estimatedInputTokens: charsToTokens(acc.chars) + acc.images * IMAGE_TOKENS_ESTIMATE + 4 * messages.length + 8 * tools.length,
  };
  return { body: out, ctx };
}

/** Appends the text of a `system` value (string or text blocks) to `into`. */
function addSystem(v: unknown, into: string[], acc: Acc, at: string): void {
  if (typeof v === 'string') {
    if (hasText(v)) {
      into.push(v);
      acc.chars += v.length;
    }
    return;
  }
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) throw new ConversionError(at, 'must be a string or an array of text blocks');
  for (const b of v) {
    if (isObj(b) && typeof b.text === 'string' && hasText(b.text)) {
      into.push(b.text);
      acc.chars += b.text.length;
    }
  }
}

/** One Anthropic user message → `tool` messages (all first, P8) and then one `user` message. */
function userMessage(content: unknown, msgs: Json[], acc: Acc, at: string): void {
  if (typeof content === 'string') {
    if (hasText(content)) {
      msgs.push({ role: 'user', content });
      acc.chars += content.length;
    }
    return;
  }
  if (!Array.isArray(content)) throw new ConversionError(`${at}.content`, 'must be a string or an array of content blocks');
  const parts: Json[] = [];
  let textOnly = true;
  const addPart = (p: Json): void => {
    if (p.type !== 'text') textOnly = false;
    parts.push(p);
  };
  for (let j = 0; j < content.length; j++) {
    const b: unknown = content[j];
    if (!isObj(b)) throw new ConversionError(`${at}.content[${j}]`, 'must be a content block (an object with a type)');
    switch (b.type) {
      case 'text':
        if (typeof b.text === 'string' && hasText(b.text)) {
          addPart({ type: 'text', text: b.text });
          acc.chars += b.text.length;
        }
        break;
      case 'image': {
        const p = imagePart(b.source);
        if (p) {
          addPart(p);
          acc.images++;
        }
        break;
      }
      case 'document':
        documentParts(b, addPart, acc);
        break;
      case 'search_result': {
        const t = searchResultText(b);
        if (t) {
          addPart({ type: 'text', text: t });
          acc.chars += t.length;
        }
        break;
      }
      case 'tool_result':
        msgs.push(toolMessage(b, addPart, acc, `${at}.content[${j}]`));
        break;
      default:
        // thinking / redacted_thinking / tool_reference / container_upload / server blocks: dropped
        break;
    }
  }
  if (parts.length === 0) return;
  if (textOnly) {
    let s = parts[0]!.text as string;
    for (let i = 1; i < parts.length; i++) s += TEXT_JOIN + (parts[i]!.text as string);
    msgs.push({ role: 'user', content: s });
  } else {
    msgs.push({ role: 'user', content: parts });
  }
}

/** A tool_result block → an OpenAI `tool` message; its images go to the trailing user message. */
function toolMessage(b: Json, addPart: (p: Json) => void, acc: Acc, at: string): Json {
  let text = '';
  let movedImages = 0;
  const c = b.content;
  if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
    throw new ConversionError(`${at}.content`, 'must be a string or an array of content blocks');
  }
  if (typeof c === 'string') {
    text = c;
  } else if (Array.isArray(c)) {
    const texts: string[] = [];
    for (const item of c) {
      if (!isObj(item)) continue;
      if (item.type === 'text') {
        if (typeof item.text === 'string' && item.text !== '') texts.push(item.text);
      } else if (item.type === 'image') {
        const p = imagePart(item.source);
        if (p) {
          addPart(p);
          movedImages++;
          acc.images++;
        }
      } else if (item.type === 'document') {
        documentParts(item, addPart, acc);
      } else if (item.type === 'search_result') {
        const t = searchResultText(item);
        if (t) texts.push(t);
      }
    }
    text = texts.join(TOOL_TEXT_JOIN);
  }
  if (text === '' && movedImages > 0) text = `(${movedImages === 1 ? 'an image' : `${movedImages} images`} returned; attached in the next message)`;
  if (b.is_error === true) text = text === '' ? 'Error' : `Error: ${text}`;
  acc.chars += text.length;
  return { role: 'tool', tool_call_id: typeof b.tool_use_id === 'string' ? b.tool_use_id : '', content: text };
}

/** One Anthropic assistant message → one OpenAI assistant message (text + tool_calls). */
function assistantMessage(content: unknown, msgs: Json[], acc: Acc, at: string): void {
  if (typeof content === 'string') {
    if (hasText(content)) {
      msgs.push({ role: 'assistant', content });
      acc.chars += content.length;
    }
    return;
  }
  if (!Array.isArray(content)) throw new ConversionError(`${at}.content`, 'must be a string or an array of content blocks');
  let text: string | null = null;
  let reasoning: string | null = null;
  let calls: Json[] | null = null;
  for (let j = 0; j < content.length; j++) {
    const b: unknown = content[j];
    if (!isObj(b)) throw new ConversionError(`${at}.content[${j}]`, 'must be a content block (an object with a type)');
    switch (b.type) {
      case 'text':
        if (typeof b.text === 'string' && hasText(b.text)) {
          text = text === null ? b.text : text + TEXT_JOIN + b.text;
          acc.chars += b.text.length;
        }
        break;
      case 'tool_use': {
        const name = typeof b.name === 'string' ? shortToolName(b.name) : '';
        const args = stringifyToolInput(b.input);
        acc.chars += args.length + name.length;
        (calls ??= []).push({
          id: typeof b.id === 'string' && b.id !== '' ? b.id : randomId('call_'),
          type: 'function',
          function: { name, arguments: args },
        });
        break;
      }
      case 'thinking':
        // Dropped (§1.1) unless the provider needs it replayed (DeepSeek thinking + tools, P9).
        if (acc.options.reasoningContent === true && typeof b.thinking === 'string' && b.thinking !== '') {
          reasoning = reasoning === null ? b.thinking : reasoning + TEXT_JOIN + b.thinking;
        }
        break;
      default:
        // redacted_thinking, server_tool_use, *_tool_result: dropped
        break;
    }
  }
  if (text === null && calls === null) return;
  // content: null (never "") when there are only tool calls (§1.1 rule 3, P7).
  const msg: Json = { role: 'assistant', content: text };
  if (calls) msg.tool_calls = calls;
  if (reasoning !== null) msg.reasoning_content = reasoning;
  msgs.push(msg);
}

/** image source → OpenAI image_url part (base64 → data URL; url → url; file → dropped). */
function imagePart(source: unknown): Json | null {
  if (!isObj(source)) return null;
  if (source.type === 'base64' && typeof source.data === 'string') {
    const mt = typeof source.media_type === 'string' ? source.media_type : 'image/png';
    return { type: 'image_url', image_url: { url: `data:${mt};base64,${source.data}` } };
  }
  if (source.type === 'url' && typeof source.url === 'string') {
    return { type: 'image_url', image_url: { url: source.url } };
  }
  return null;
}

/** document block → a PDF `file` part, or text parts (text / content sources). */
function documentParts(b: Json, addPart: (p: Json) => void, acc: Acc): void {
  const src = b.source;
  if (!isObj(src)) return;
  const title = typeof b.title === 'string' && b.title !== '' ? b.title : undefined;
  if (src.type === 'base64' && typeof src.data === 'string') {
    const mt = typeof src.media_type === 'string' ? src.media_type : 'application/pdf';
    if (mt === 'application/pdf') {
      addPart({
        type: 'file',
        file: { filename: title ?? 'document.pdf', file_data: `data:application/pdf;base64,${src.data}` },
      });
      acc.images += 2; // a rough page-count guess for the estimate
    } else if (mt.startsWith('text/')) {
      const t = Buffer.from(src.data, 'base64').toString('utf8');
      if (hasText(t)) {
        addPart({ type: 'text', text: t });
        acc.chars += t.length;
      }
    }
    return;
  }
  if (src.type === 'text' && typeof src.data === 'string') {
    if (hasText(src.data)) {
      addPart({ type: 'text', text: title ? `${title}\n\n${src.data}` : src.data });
      acc.chars += src.data.length;
    }
    return;
  }
  if (src.type === 'url' && typeof src.url === 'string') {
    // Chat Completions has no file_url: name the document so the model knows it exists.
    addPart({ type: 'text', text: `[document${title ? ` "${title}"` : ''}: ${src.url}]` });
    return;
  }
  if (src.type === 'content' && Array.isArray(src.content)) {
    for (const item of src.content) {
      if (!isObj(item)) continue;
      if (item.type === 'text' && typeof item.text === 'string' && hasText(item.text)) {
        addPart({ type: 'text', text: item.text });
        acc.chars += item.text.length;
      } else if (item.type === 'image') {
        const p = imagePart(item.source);
        if (p) {
          addPart(p);
          acc.images++;
        }
      }
    }
  }
}

/** search_result block → plain text (title, source, texts). */
function searchResultText(b: Json): string {
  const texts: string[] = [];
  if (Array.isArray(b.content)) {
    for (const c of b.content) if (isObj(c) && typeof c.text === 'string' && c.text !== '') texts.push(c.text);
  }
  if (texts.length === 0) return '';
  const head = [typeof b.title === 'string' ? b.title : '', typeof b.source === 'string' ? b.source : '']
    .filter((s) => s !== '')
    .join(' — ');
  return head ? `${head}\n${texts.join('\n')}` : texts.join('\n');
}

/**
 * OpenAI's pairing rules (§1.1 rules 1–2): every assistant tool_call must be answered by a `tool`
 * message right after it, and every `tool` message must answer one. Unanswered calls are dropped
 * (YR); stray tool messages become user text so their content is not lost.
 */
function pairToolCalls(msgs: Json[]): Json[] {
  // Fast path: check first, rebuild only when something is off.
  let ok = true;
  for (let i = 0; i < msgs.length && ok; i++) {
    const m = msgs[i]!;
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      const ids = new Set<unknown>();
      let j = i + 1;
      for (; j < msgs.length && msgs[j]!.role === 'tool'; j++) {
        if (ids.has(msgs[j]!.tool_call_id)) { ok = false; break; }
        ids.add(msgs[j]!.tool_call_id);
      }
      const calls = m.tool_calls as Json[];
      if (ids.size !== calls.length) ok = false;
      else for (const c of calls) if (!ids.has(c.id)) { ok = false; break; }
      i = j - 1;
    } else if (m.role === 'tool') {
      ok = false;
    }
  }
  if (ok) return msgs;

  const out: Json[] = [];
  for (let i = 0; i < msgs.length; ) {
    const m = msgs[i]!;
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      let j = i + 1;
      const answered = new Set<unknown>();
      for (; j < msgs.length && msgs[j]!.role === 'tool'; j++) answered.add(msgs[j]!.tool_call_id);
      const calls = (m.tool_calls as Json[]).filter((c) => answered.has(c.id));
      if (calls.length > 0) out.push({ ...m, tool_calls: calls });
      else if (m.content !== null) out.push({ role: 'assistant', content: m.content });
      const pending = new Set<unknown>(calls.map((c) => c.id));
      for (let k = i + 1; k < j; k++) {
        const t = msgs[k]!;
        if (pending.delete(t.tool_call_id)) out.push(t);
        else out.push(strayToolResult(t));
      }
      i = j;
      continue;
    }
    out.push(m.role === 'tool' ? strayToolResult(m) : m);
    i++;
  }
  return out;
}

function strayToolResult(t: Json): Json {
  return { role: 'user', content: `[tool result ${String(t.tool_call_id)}]\n${String(t.content ?? '')}` };
}

/** thinking / output_config.effort → reasoning_effort (§1.5 Rec.). */
function reasoningEffort(thinking: unknown, outputConfig: unknown): string | undefined {
  if (!isObj(thinking)) return undefined;
  if (thinking.type === 'enabled') {
    const budget = num(thinking.budget_tokens) ?? 0;
    return budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high';
  }
  if (thinking.type === 'adaptive') {
    // Adaptive without an explicit effort = "let the model decide" = the provider's default.
    const effort = isObj(outputConfig) ? outputConfig.effort : undefined;
    switch (effort) {
      case 'low': case 'medium': case 'high': return effort;
      case 'xhigh': case 'max': return 'high';
      default: return undefined;
    }
  }
  return undefined;
}
