/**
 * Format conversion between Anthropic Messages and OpenAI Chat Completions (protocols.md).
 *
 *   const conv = getConverter(clientFormat, provider.format);   // null when the formats match
 *   const { body, ctx } = conv.request(clientBody, member.model, provider.options ?? {});
 *   // non-streamed:  conv.response(upstreamJson, ctx)
 *   // streamed:      const t = conv.stream(ctx); for each upstream SseEvent: write(t.push(ev));
 *   //                at upstream EOF: write(t.end()); while the upstream is silent: write(t.keepAlive())
 *   // upstream HTTP error: const e = conv.error(status, bodyText); reply e.status with e.body
 */
import type { Format } from '../formats.js';
import { anthropicToOpenAI } from './anthropic-to-openai/index.js';
import { openaiToAnthropic } from './openai-to-anthropic/index.js';
import type { Converter } from './types.js';

export function getConverter(client: Format, provider: Format): Converter | null {
  if (client === provider) return null;
  if (client === 'anthropic' && provider === 'openai') return anthropicToOpenAI;
  if (client === 'openai' && provider === 'anthropic') return openaiToAnthropic;
  return null;
}

export type { Converter, ConversionContext, ProviderOptions, StreamState, StreamTranslator } from './types.js';
export { anthropicToOpenAI, openaiToAnthropic };
export { OpenAIToAnthropicStream } from './anthropic-to-openai/stream.js';
export { AnthropicToOpenAIStream } from './openai-to-anthropic/stream.js';
export { DEFAULT_MAX_TOKENS } from './openai-to-anthropic/request.js';
export { prepareAnthropicPassthrough, prepareOpenAIPassthrough } from './passthrough.js';
export {
  SYNTHETIC_SIGNATURE_PREFIX, anthropicUsageToOpenAI, finishToStopReason, isContextOverflow, openaiUsageToAnthropic,
  promptTooLongMessage, shortToolName, stopReasonToFinish,
} from './util.js';
