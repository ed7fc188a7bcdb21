/**
 * Converter for an OpenAI client (OpenAI SDK, `/v1/chat/completions`) served by an
 * Anthropic-format provider: requests go OpenAI → Anthropic, answers come back Anthropic → OpenAI.
 */
import type { Converter } from '../types.js';
import { anthropicErrorToOpenAI } from './error.js';
import { openaiRequestToAnthropic } from './request.js';
import { anthropicResponseToOpenAI } from './response.js';
import { AnthropicToOpenAIStream } from './stream.js';

export const openaiToAnthropic: Converter = {
  client: 'openai',
  provider: 'anthropic',
  request: openaiRequestToAnthropic,
  response: anthropicResponseToOpenAI,
  stream: (ctx) => new AnthropicToOpenAIStream(ctx),
  error: anthropicErrorToOpenAI,
};

export { openaiRequestToAnthropic, anthropicResponseToOpenAI, AnthropicToOpenAIStream, anthropicErrorToOpenAI };
