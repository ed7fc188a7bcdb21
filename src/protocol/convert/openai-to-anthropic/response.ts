/**
 * Anthropic `message` → OpenAI `chat.completion` (protocols.md §2.2–§2.4), for an OpenAI client
 * served by an Anthropic-format provider.
 */
import type { ConversionContext } from '../types.js';
import { type Json, anthropicUsageToOpenAI, isObj, randomId, readAnthropicUsage, stopReasonToFinish } from '../util.js';

export function anthropicResponseToOpenAI(upstream: Json, ctx: ConversionContext): Json {
  let text = '';
  let reasoning = '';
  const toolCalls: Json[] = [];
  if (Array.isArray(upstream.content)) {
    for (const b of upstream.content) {
      if (!isObj(b)) continue;
      if (b.type === 'text' && typeof b.text === 'string') text += b.text;
      else if (b.type === 'thinking' && typeof b.thinking === 'string') reasoning += b.thinking;
      else if (b.type === 'tool_use') {
        toolCalls.push({
          id: typeof b.id === 'string' ? b.id : randomId('call_'),
          type: 'function',
          function: {
            name: typeof b.name === 'string' ? b.name : '',
            arguments: JSON.stringify(b.input ?? {}),
          },
        });
      }
      // redacted_thinking, server_tool_use, *_tool_result: not representable, dropped
    }
  }
  const message: Json = { role: 'assistant', content: text !== '' ? text : null, refusal: null };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;

  const usage = readAnthropicUsage(upstream.usage);
  const u = isObj(upstream.usage) ? upstream.usage : {};
  const details = isObj(u.output_tokens_details) ? u.output_tokens_details : undefined;
  const thinkingTokens = typeof details?.thinking_tokens === 'number' ? details.thinking_tokens : undefined;

  return {
    id: typeof upstream.id === 'string' && upstream.id !== '' ? `chatcmpl-${upstream.id}` : randomId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.clientModel,
    choices: [{ index: 0, message, finish_reason: stopReasonToFinish(upstream.stop_reason), logprobs: null }],
    usage: anthropicUsageToOpenAI(usage, thinkingTokens),
  };
}
