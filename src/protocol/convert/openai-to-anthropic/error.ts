/**
 * Upstream Anthropic-format error → the OpenAI error the client gets (protocols.md §4).
 * The status is kept, except 529 (Anthropic "overloaded") which OpenAI clients know as 503.
 * A "prompt is too long" rejection carries OpenAI's `context_length_exceeded` code.
 */
import { errorBody, readErrorBody } from '../../errors.js';
import { fallbackErrorMessage, isContextOverflow } from '../util.js';

export function anthropicErrorToOpenAI(status: number, bodyText: string): { status: number; body: Record<string, unknown> } {
  const read = readErrorBody(bodyText);
  const message = read?.message ?? fallbackErrorMessage(status, bodyText);
  const outStatus = status === 529 ? 503 : status;
  const overflow = (status === 400 || status === 413) && isContextOverflow(message, read?.code, read?.type);
  const body = overflow
    ? errorBody('openai', outStatus, message, 'invalid_request_error', { code: 'context_length_exceeded', param: 'messages' })
    : errorBody('openai', outStatus, message);
  return { status: outStatus, body: body as unknown as Record<string, unknown> };
}
