/**
 * OpenAI Chat Completions request → Anthropic Messages request (protocols.md §1.2, §1.4, §1.5).
 */
import type { ConversionContext, ProviderOptions } from '../types.js';
import {
  type Json, IMAGE_TOKENS_ESTIMATE, charsToTokens, claudeAtLeast, hasText, hashUserId, isObj, nonEmpty, num,
  parseToolArgs, randomId, sanitizeToolId,
} from '../util.js';
import { ConversionError } from '../errors.js';

/** `max_tokens` is required by Anthropic; used when the client sends none (§1.2 Rec.). */
export const DEFAULT_MAX_TOKENS = 8192;
/** thinking budgets for reasoning_effort low / medium / high (§1.5 Rec.). */
const BUDGET: Record<string, number> = { low: 1024, medium: 4096, high: 16384, xhigh: 32000, max: 32000 };
const MIN_BUDGET = 1024;

interface Acc {
  chars: number;
  images: number;
}

type Block = Json;
interface Msg {
  role: 'user' | 'assistant';
  content: Block[];
}

export function openaiRequestToAnthropic(
  body: Json,
  upstreamModel: string,
  options: ProviderOptions,
): { body: Json; ctx: ConversionContext } {
  const acc: Acc = { chars: 0, images: 0 };
  const system: string[] = [];
  const msgs: Msg[] = [];
  /** Number of tool_result blocks at the front of the last message (they must come first, P8). */
  let leadingResults = 0;

  const append = (role: 'user' | 'assistant', blocks: Block[]): void => {
    const last = msgs[msgs.length - 1];
    if (last && last.role === role) {
      for (const b of blocks) last.content.push(b);
    } else {
      msgs.push({ role, content: blocks });
      leadingResults = 0;
    }
  };
  const appendResult = (block: Block): void => {
    const last = msgs[msgs.length - 1];
    if (last && last.role === 'user') {
      last.content.splice(leadingResults, 0, block);
    } else {
      msgs.push({ role: 'user', content: [block] });
      leadingResults = 0;
    }
    leadingResults++;
  };

  // Shapes that cannot be translated are a ConversionError naming the field.
  if (Array.isArray(body.messages)) {
    for (let i = 0; i < body.messages.length; i++) {
      const m: unknown = body.messages[i];
      const at = `messages[${i}]`;
      if (!isObj(m)) throw new ConversionError(at, 'must be an object with a role and content');
      const c = m.content;
      if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
        throw new ConversionError(`${at}.content`, 'must be a string or an array of content parts');
      }
      if (Array.isArray(c)) {
        for (let j = 0; j < c.length; j++) {
          if (!isObj(c[j])) throw new ConversionError(`${at}.content[${j}]`, 'must be a content part (an object with a type)');
        }
      }
      switch (m.role) {
        case 'system':
        case 'developer': {
          const t = textOf(m.content);
          if (hasText(t)) {
            system.push(t);
            acc.chars += t.length;
          }
          break;
        }
        case 'user': {
          const blocks = userBlocks(m.content, acc);
          if (blocks.length > 0) append('user', blocks);
          break;
        }
        case 'assistant': {
          const blocks = assistantBlocks(m, acc, at);
          if (blocks.length > 0) append('assistant', blocks);
          break;
        }
        case 'tool': {
          const block: Block = { type: 'tool_result', tool_use_id: sanitizeToolId(m.tool_call_id) };
          const content = toolResultContent(m.content);
          if (content !== undefined) {
            block.content = content;
            acc.chars += typeof content === 'string' ? content.length : 0;
          }
          appendResult(block);
          break;
        }
        case 'function':
          throw new ConversionError(`${at}.role`, 'the legacy "function" role cannot be translated: send tool calls and "tool" messages');
        default:
          throw new ConversionError(`${at}.role`, 'must be "system", "developer", "user", "assistant" or "tool"');
      }
    }
  }
  // Anthropic wants the conversation to open with a user turn (NEWAPI, defensive).
  if (msgs.length === 0 || msgs[0]!.role !== 'user') msgs.unshift({ role: 'user', content: [{ type: 'text', text: '...' }] });
  // "final assistant content cannot end with trailing whitespace"
  const lastMsg = msgs[msgs.length - 1]!;
  if (lastMsg.role === 'assistant') {
    const lastBlock = lastMsg.content[lastMsg.content.length - 1];
    if (lastBlock && lastBlock.type === 'text' && typeof lastBlock.text === 'string') lastBlock.text = lastBlock.text.trimEnd();
  }

  const out: Json = { model: upstreamModel };
  let maxTokens = Math.floor(num(body.max_completion_tokens) ?? num(body.max_tokens) ?? DEFAULT_MAX_TOKENS);
  if (maxTokens < 1) maxTokens = DEFAULT_MAX_TOKENS;
  const cap = options.maxTokensCap;
  if (cap && maxTokens > cap) maxTokens = cap;
  out.max_tokens = maxTokens;
  if (system.length > 0) out.system = system.join('\n\n');
  out.messages = msgs;

  // ---- sampling: temperature 0–1, never together with top_p (P16) ----
  const legacySampling = !claudeAtLeast(upstreamModel, 4, 7); // deprecated after Opus 4.6 (A-SDK)
  const temperature = num(body.temperature);
  const topP = num(body.top_p);
  if (legacySampling) {
    if (temperature !== undefined) out.temperature = Math.min(Math.max(temperature, 0), 1);
    else if (topP !== undefined) out.top_p = topP;
  }

  // ---- stop (P12) ----
  const stops = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop : [];
  const stopSequences = stops.filter((s): s is string => typeof s === 'string' && hasText(s));
  if (stopSequences.length > 0) out.stop_sequences = stopSequences;

  // ---- stream ----
  const stream = body.stream === true;
  if (stream) out.stream = true;
  const includeUsage = stream && isObj(body.stream_options) && body.stream_options.include_usage === true;

  // ---- tools / tool_choice (§1.4) ----
  const tools: Json[] = [];
  if (Array.isArray(body.tools)) {
    for (const t of body.tools) {
      if (!isObj(t) || (t.type !== undefined && t.type !== 'function') || !isObj(t.function)) continue;
      const fn = t.function;
      const name = nonEmpty(fn.name);
      if (!name) continue;
      const tool: Json = { name };
      if (typeof fn.description === 'string' && fn.description !== '') {
        tool.description = fn.description;
        acc.chars += fn.description.length;
      }
      const p = fn.parameters;
      tool.input_schema = !isObj(p) ? { type: 'object', properties: {} } : p.type === 'object' ? p : { ...p, type: 'object' };
      acc.chars += 400;
      tools.push(tool);
    }
  }
  let forcedTool = false;
  if (tools.length > 0) {
    out.tools = tools;
    let choice: Json | undefined;
    const tc = body.tool_choice;
    if (tc === 'auto') choice = { type: 'auto' };
    else if (tc === 'required') choice = { type: 'any' };
    else if (tc === 'none') choice = { type: 'none' };
    else if (isObj(tc) && isObj(tc.function) && nonEmpty(tc.function.name)) choice = { type: 'tool', name: tc.function.name };
    if (body.parallel_tool_calls === false && choice?.type !== 'none') {
      choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
    }
    if (choice) out.tool_choice = choice;
    forcedTool = choice?.type === 'any' || choice?.type === 'tool';
  }

  // ---- reasoning_effort → thinking (§1.5); forced tool use is incompatible with thinking ----
  const effort = typeof body.reasoning_effort === 'string' ? body.reasoning_effort : undefined;
  // OpenAI history carries no signed thinking blocks, and Anthropic requires the last assistant
  // turn of a tool loop to start with one when thinking is on: in that case leave thinking off.
  if (effort && BUDGET[effort] !== undefined && options.reasoning !== false && !forcedTool && !lastAssistantUsesTools(msgs)) {
    const style = options.stripUnsupported ? 'budget' : options.thinkingStyle ?? (claudeAtLeast(upstreamModel, 4, 6) ? 'adaptive' : 'budget');
    let thinking: Json | undefined;
    if (style === 'adaptive') {
      thinking = { type: 'adaptive' };
      out.output_config = { effort };
    } else {
      let budget = BUDGET[effort]!;
      let mt = Math.max(maxTokens, budget + MIN_BUDGET);
      if (cap && mt > cap) mt = cap;
      budget = Math.min(budget, mt - MIN_BUDGET);
      if (budget >= MIN_BUDGET) {
        thinking = { type: 'enabled', budget_tokens: budget };
        out.max_tokens = mt;
      }
    }
    if (thinking) {
      out.thinking = thinking;
      delete out.temperature; // thinking requires temperature 1 and no top_k (P16)
      delete out.top_p;
    }
  }

  // ---- structured output ----
  const rf = body.response_format;
  if (isObj(rf) && rf.type === 'json_schema' && isObj(rf.json_schema) && isObj(rf.json_schema.schema)
    && !options.stripUnsupported && claudeAtLeast(upstreamModel, 4, 5)) {
    out.output_config = { ...(isObj(out.output_config) ? out.output_config : {}), format: { type: 'json_schema', schema: rf.json_schema.schema } };
  }

  // ---- end user (P14): Anthropic wants ^[a-zA-Z0-9_-]+$ and no e-mail ----
  const user = nonEmpty(body.safety_identifier) ?? nonEmpty(body.user);
  if (user) out.metadata = { user_id: hashUserId(user) };

  // Dropped: n, logprobs, top_logprobs, logit_bias, seed, presence/frequency_penalty, modalities,
  // audio, prediction, store, service_tier, stream_options, web_search_options, verbosity.

  const ctx: ConversionContext = {
    clientModel: typeof body.model === 'string' ? body.model : upstreamModel,
    upstreamModel,
    stream,
    includeUsage,
    toolNames: new Map(),
    estimatedInputTokens: charsToTokens(acc.chars) + acc.images * IMAGE_TOKENS_ESTIMATE + 4 * msgs.length + 8 * tools.length,
  };
  return { body: out, ctx };
}

/** The text of a string or an array of text parts. */
function textOf(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let s = '';
  for (const p of c) {
    if (isObj(p) && typeof p.text === 'string' && p.text !== '') s = s === '' ? p.text : `${s}\n\n${p.text}`;
  }
  return s;
}

function userBlocks(c: unknown, acc: Acc): Block[] {
  if (typeof c === 'string') {
    if (!hasText(c)) return [];
    acc.chars += c.length;
    return [{ type: 'text', text: c }];
  }
  if (!Array.isArray(c)) return [];
  const blocks: Block[] = [];
  for (const p of c) {
    if (!isObj(p)) continue;
    switch (p.type) {
      case 'text':
        if (typeof p.text === 'string' && hasText(p.text)) {
          blocks.push({ type: 'text', text: p.text });
          acc.chars += p.text.length;
        }
        break;
      case 'image_url': {
        const url = isObj(p.image_url) ? p.image_url.url : p.image_url;
        const img = typeof url === 'string' ? imageBlock(url) : null;
        if (img) {
          blocks.push(img);
          acc.images++;
        }
        break;
      }
      case 'file': {
        const doc = isObj(p.file) ? fileBlock(p.file) : null;
        if (doc) {
          blocks.push(doc);
          acc.images += 2;
        }
        break;
      }
      default:
        break; // input_audio, refusal, …
    }
  }
  return blocks;
}

/** A data URL's media type and payload, when it is base64. */
function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  if (!url.startsWith('data:')) return null;
  const comma = url.indexOf(',');
  if (comma === -1) return null;
  const header = url.slice(5, comma);
  if (!header.endsWith(';base64')) return null;
  const semi = header.indexOf(';');
  return { mediaType: header.slice(0, semi).toLowerCase(), data: url.slice(comma + 1) };
}

function imageBlock(url: string): Block | null {
  const d = parseDataUrl(url);
  if (d) {
    const mediaType = d.mediaType === 'image/jpg' ? 'image/jpeg' : d.mediaType || 'image/png';
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: d.data } };
  }
  if (url.startsWith('http://') || url.startsWith('https://')) return { type: 'image', source: { type: 'url', url } };
  return null;
}

function fileBlock(f: Json): Block | null {
  const data = typeof f.file_data === 'string' ? f.file_data : undefined;
  if (!data) return null; // file_id: no way to fetch it from here
  const d = parseDataUrl(data);
  const title = nonEmpty(f.filename);
  let block: Block | null = null;
  if (d && d.mediaType === 'application/pdf') {
    block = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: d.data } };
  } else if (d && d.mediaType.startsWith('text/')) {
    block = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: Buffer.from(d.data, 'base64').toString('utf8') } };
  } else if (!d) {
    // OpenAI documents file_data as base64 PDF without the data: prefix in some SDK versions
    block = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data } };
  }
  if (block && title) block.title = title;
  return block;
}

function assistantBlocks(m: Json, acc: Acc, at: string): Block[] {
  const blocks: Block[] = [];
  const c = m.content;
  if (typeof c === 'string') {
    if (hasText(c)) blocks.push({ type: 'text', text: c });
    acc.chars += c.length;
  } else if (Array.isArray(c)) {
    for (const p of c) {
      if (!isObj(p)) continue;
      const t = p.type === 'text' ? p.text : p.type === 'refusal' ? p.refusal : undefined;
      if (typeof t === 'string' && hasText(t)) {
        blocks.push({ type: 'text', text: t });
        acc.chars += t.length;
      }
    }
  }
  // reasoning_content: dropped (no real signature for it, P10).
  if (m.tool_calls !== undefined && m.tool_calls !== null && !Array.isArray(m.tool_calls)) {
    throw new ConversionError(`${at}.tool_calls`, 'must be an array');
  }
  if (Array.isArray(m.tool_calls)) {
    for (let k = 0; k < m.tool_calls.length; k++) {
      const tc: unknown = m.tool_calls[k];
      if (!isObj(tc) || !isObj(tc.function)) throw new ConversionError(`${at}.tool_calls[${k}]`, 'must be an object with a "function" object');
      const name = nonEmpty(tc.function.name);
      if (!name) continue;
      const args = tc.function.arguments;
      acc.chars += typeof args === 'string' ? args.length : 0;
      blocks.push({
        type: 'tool_use',
        id: typeof tc.id === 'string' && tc.id !== '' ? sanitizeToolId(tc.id) : randomId('toolu_'),
        name,
        input: parseToolArgs(args),
      });
    }
  }
  return blocks;
}

/** A tool message's content → tool_result content (string or text blocks); undefined when empty. */
function toolResultContent(c: unknown): string | Block[] | undefined {
  if (typeof c === 'string') return c !== '' ? c : undefined;
  if (!Array.isArray(c)) return undefined;
  const blocks: Block[] = [];
  for (const p of c) {
    if (isObj(p) && typeof p.text === 'string' && hasText(p.text)) blocks.push({ type: 'text', text: p.text });
  }
  return blocks.length > 0 ? blocks : undefined;
}

/** Does the last assistant message contain a tool_use block (we are inside a tool loop)? */
function lastAssistantUsesTools(messages: unknown[]): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isObj(m) || m.role !== 'assistant') continue;
    return Array.isArray(m.content) && m.content.some((b) => isObj(b) && b.type === 'tool_use');
  }
  return false;
}
