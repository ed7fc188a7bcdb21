/**
 * OpenAI `chat.completion` → Anthropic `message` (protocols.md §2.1, §2.3–§2.5), for an Anthropic
 * client served by an OpenAI-format provider.
 */
import type { ConversionContext } from '../types.js';
import {
  type AnthropicUsage, type Json, SYNTHETIC_SIGNATURE, charsToTokens, finishToStopReason, hasText, isObj, nonEmpty,
  openaiUsageToAnthropic, parseToolArgs, randomId, sanitizeToolId,
} from '../util.js';

export function openaiResponseToAnthropic(upstream: Json, ctx: ConversionContext): Json {
  const choices = Array.isArray(upstream.choices) ? upstream.choices : [];
  const choice = (choices.find((c) => isObj(c) && (c.index ?? 0) === 0) ?? choices[0]) as Json | undefined;
  const message = isObj(choice?.message) ? choice.message : {};
  const content: Json[] = [];
  let outChars = 0;

  const reasoning = nonEmpty(message.reasoning_content) ?? nonEmpty(message.reasoning);
  if (reasoning) {
    content.push({ type: 'thinking', thinking: reasoning, signature: SYNTHETIC_SIGNATURE });
    outChars += reasoning.length;
  }
  const text = contentText(message.content);
  if (text && hasText(text)) { // whitespace-only text blocks are rejected when replayed (P7)
    content.push({ type: 'text', text });
    outChars += text.length;
  }
  const refusal = nonEmpty(message.refusal);
  if (refusal) {
    content.push({ type: 'text', text: refusal });
    outChars += refusal.length;
  }

  const used = new Set<string>();
  const calls: unknown[] = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  if (calls.length === 0 && isObj(message.function_call)) calls.push({ function: message.function_call });
  for (const tc of calls) {
    if (!isObj(tc)) continue;
    const fn = isObj(tc.function) ? tc.function : {};
    const upstreamName = typeof fn.name === 'string' ? fn.name : '';
    let id = sanitizeToolId(tc.id);
    while (used.has(id)) id = `${id}_`;
    used.add(id);
    content.push({
      type: 'tool_use',
      id,
      name: ctx.toolNames.get(upstreamName) ?? upstreamName,
      input: parseToolArgs(fn.arguments),
    });
    outChars += typeof fn.arguments === 'string' ? fn.arguments.length : 0;
  }

  const sawTool = used.size > 0;
  const finish = choice?.finish_reason;
  let stopReason: string = finishToStopReason(finish);
  if (sawTool && stopReason !== 'max_tokens') stopReason = 'tool_use'; // P17: `stop` with tool calls; `length` stays max_tokens
  else if (stopReason === 'tool_use') stopReason = 'end_turn'; // never promise tools that are not there

  let usage: AnthropicUsage;
  if (isObj(upstream.usage)) {
    usage = openaiUsageToAnthropic(upstream.usage);
  } else {
    usage = {
      input_tokens: ctx.estimatedInputTokens,
      output_tokens: charsToTokens(outChars),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
  }

  return {
    id: randomId('msg_'),
    type: 'message',
    role: 'assistant',
    model: ctx.clientModel,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  };
}

/** `message.content` as a string: a string, or the text of content parts (some servers). */
function contentText(c: unknown): string | undefined {
  if (typeof c === 'string') return c !== '' ? c : undefined;
  if (!Array.isArray(c)) return undefined;
  let s = '';
  for (const p of c) if (isObj(p) && typeof p.text === 'string') s += p.text;
  return s !== '' ? s : undefined;
}
