/**
 * Upstream OpenAI-format error → the Anthropic error the client gets (protocols.md §4).
 * The status is kept; a context-window overflow becomes 400 `invalid_request_error` with
 * "prompt is too long", the wording Claude Code's auto-compaction keys on (P19).
 */
import { errorBody, readErrorBody } from '../../errors.js';
import { anthropicErrorFor, fallbackErrorMessage } from '../util.js';

export function openaiErrorToAnthropic(status: number, bodyText: string): { status: number; body: Record<string, unknown> } {
  const read = readErrorBody(bodyText);
  const message = read?.message ?? fallbackErrorMessage(status, bodyText);
  const mapped = anthropicErrorFor(status, message, read?.code, read?.type);
  return {
    status: mapped.status,
    body: errorBody('anthropic', mapped.status, mapped.message, mapped.type) as unknown as Record<string, unknown>,
  };
}
