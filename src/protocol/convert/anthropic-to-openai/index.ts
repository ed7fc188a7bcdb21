/**
 * Converter for an Anthropic client (Claude Code, Anthropic SDK) served by an OpenAI-format
 * provider: requests go Anthropic → OpenAI, answers come back OpenAI → Anthropic.
 */
import type { Converter } from '../types.js';
import { openaiErrorToAnthropic } from './error.js';
import { anthropicRequestToOpenAI } from './request.js';
import { openaiResponseToAnthropic } from './response.js';
import { OpenAIToAnthropicStream } from './stream.js';

export const anthropicToOpenAI: Converter = {
  client: 'anthropic',
  provider: 'openai',
  request: anthropicRequestToOpenAI,
  response: openaiResponseToAnthropic,
  stream: (ctx) => new OpenAIToAnthropicStream(ctx),
  error: openaiErrorToAnthropic,
};

export { anthropicRequestToOpenAI, openaiResponseToAnthropic, OpenAIToAnthropicStream, openaiErrorToAnthropic };
