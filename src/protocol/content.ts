import type { Format } from './formats.js';
import type { SseEvent } from './sse.js';

/**
 * What each format calls "content" (CONTRACT "When the client sees the first byte"): text,
 * thinking, tool input, or the start of a tool call. Used before a stream is committed, so that
 * `message_start`, pings, empty blocks and role-only chunks are held back, and to tell an answer
 * with no content at all (a relay failure) from a real one. Pure; parses only the events it is
 * asked about.
 */
export function eventCarriesContent(format: Format, ev: SseEvent): boolean {
  if (ev.data === '' || ev.data === '[DONE]') return false;
  if (format === 'anthropic') {
    const type = ev.event;
    if (type !== undefined && type !== 'content_block_start' && type !== 'content_block_delta') return false;
    let j: { type?: string; content_block?: Block; delta?: Delta };
    try { j = JSON.parse(ev.data); } catch { return false; }
    if (j.type === 'content_block_start') return blockHasContent(j.content_block, true);
    if (j.type === 'content_block_delta') return deltaHasContent(j.delta);
    return false;
  }
  let j: { choices?: { delta?: OpenAIMessage }[] };
  try { j = JSON.parse(ev.data); } catch { return false; }
  const choices = Array.isArray(j?.choices) ? j.choices : [];
  return choices.some((c) => messageHasContent(c?.delta));
}

/** Does a whole (non-streamed) answer carry any content? */
export function answerHasContent(format: Format, answer: Record<string, unknown>): boolean {
  if (format === 'anthropic') {
    const content = answer.content;
    return Array.isArray(content) && content.some((b) => blockHasContent(b as Block, false));
  }
  const choices = Array.isArray(answer.choices) ? (answer.choices as { message?: OpenAIMessage }[]) : [];
  return choices.some((c) => messageHasContent(c?.message));
}

interface Block { type?: string; text?: unknown; thinking?: unknown; data?: unknown }
interface Delta { type?: string; text?: unknown; thinking?: unknown; partial_json?: unknown }
interface OpenAIMessage { content?: unknown; tool_calls?: unknown; function_call?: unknown; reasoning_content?: unknown; reasoning?: unknown; refusal?: unknown }

const nonEmpty = (v: unknown) => typeof v === 'string' && v !== '';

/** A block: a tool call (or any block that is not text / thinking) is content by its start; text and
 *  thinking only when they hold something (a stream's opening block is empty and fills by deltas). */
function blockHasContent(b: Block | undefined, opening: boolean): boolean {
  if (!b || typeof b !== 'object') return false;
  if (b.type === 'text') return nonEmpty(b.text);
  if (b.type === 'thinking') return nonEmpty(b.thinking);
  if (b.type === 'redacted_thinking') return nonEmpty(b.data) || !opening;
  return typeof b.type === 'string';
}

function deltaHasContent(d: Delta | undefined): boolean {
  if (!d || typeof d !== 'object') return false;
  if (d.type === 'text_delta') return nonEmpty(d.text);
  if (d.type === 'thinking_delta') return nonEmpty(d.thinking);
  if (d.type === 'input_json_delta') return nonEmpty(d.partial_json);
  return false; // signature_delta, citations… follow content, never start it
}

function messageHasContent(m: OpenAIMessage | undefined): boolean {
  if (!m || typeof m !== 'object') return false;
  if (nonEmpty(m.content) || nonEmpty(m.reasoning_content) || nonEmpty(m.reasoning) || nonEmpty(m.refusal)) return true;
  if (Array.isArray(m.content) && m.content.length > 0) return true;
  if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) return true;
  return m.function_call !== undefined && m.function_call !== null;
}
