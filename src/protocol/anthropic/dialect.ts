import type { Dialect, ImageFacts, StreamWatch, UpstreamError } from '../dialect.js';
import { int, nonEmpty, parseOrNull } from '../dialect.js';
import type { SseEvent } from '../sse.js';
import type { Usage } from '../../telemetry/record.js';
import { anthropicErrorType, errorBody, sseErrorFrame, statusForError } from '../errors.js';
import { CHAT_PATH } from '../formats.js';
import { prepareAnthropicPassthrough } from '../convert/passthrough.js';

/** The Anthropic Messages format (docs.claude.com/en/api/messages, …/streaming). */

interface Block { type?: string; text?: unknown; thinking?: unknown; data?: unknown }
interface Delta { type?: string; text?: unknown; thinking?: unknown; partial_json?: unknown }

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

function isPing(ev: SseEvent): boolean {
  return ev.event === 'ping' || ev.data === '{"type": "ping"}' || ev.data === '{"type":"ping"}';
}

function errorIn(ev: SseEvent): UpstreamError | null {
  if (ev.event !== 'error' && !ev.data.startsWith('{"type":"error"')) return null;
  const json = parseOrNull(ev.data) as { error?: { type?: string; message?: string } | string } | null;
  if (json === null) return { status: 502, message: `error event: ${ev.data.slice(0, 200)}` };
  if (typeof json !== 'object' || json.error === undefined || json.error === null) return null;
  const e = typeof json.error === 'string' ? { message: json.error, type: undefined } : json.error;
  return { status: statusForError(e.type), message: `error event${e.type ? ` ${e.type}` : ''}: ${e.message ?? ''}`.trim() };
}

function readUsage(u: unknown, into: Usage): Usage {
  if (!u || typeof u !== 'object') return into;
  const o = u as Record<string, unknown>;
  if (o.input_tokens !== undefined && o.input_tokens !== null) into.inputTokens = int(o.input_tokens);
  if (o.output_tokens !== undefined && o.output_tokens !== null) into.outputTokens = int(o.output_tokens);
  if (o.cache_read_input_tokens !== undefined && o.cache_read_input_tokens !== null) into.cacheReadTokens = int(o.cache_read_input_tokens);
  if (o.cache_creation_input_tokens !== undefined && o.cache_creation_input_tokens !== null) into.cacheCreationTokens = int(o.cache_creation_input_tokens);
  return into;
}

class Watch implements StreamWatch {
  complete = false;
  error: UpstreamError | null = null;
  constructor(private readonly usage: Usage | null, private readonly onSignature?: (signature: string) => void) {}

  see(ev: SseEvent): void {
    const type = ev.event;
    if (type === 'content_block_delta' || type === 'content_block_start') {
      // (only a block's signature matters here, and only when asked: one `includes` per event otherwise)
      if (this.onSignature && (ev.data.includes('"signature_delta"') || ev.data.includes('"redacted_thinking"'))) this.signature(ev.data);
      return;
    }
    if (type === 'message_stop' || (type === undefined && ev.data.startsWith('{"type":"message_stop"'))) {
      this.complete = true;
    } else if (type === 'message_start' || type === 'message_delta') {
      if (!this.usage) return;
      const j = parseOrNull(ev.data) as { message?: { usage?: unknown }; usage?: unknown } | null;
      if (j) readUsage(type === 'message_start' ? j.message?.usage : j.usage, this.usage);
    } else if (type === 'error' || type === undefined) {
      const e = errorIn(ev);
      if (e) this.error = e;
    }
  }

  private signature(data: string): void {
    const j = parseOrNull(data) as { delta?: { type?: string; signature?: unknown }; content_block?: Block } | null;
    const sig = j?.delta?.type === 'signature_delta' ? j.delta.signature : j?.content_block?.type === 'redacted_thinking' ? j.content_block.data : undefined;
    if (typeof sig === 'string' && sig !== '') this.onSignature!(sig);
  }
}

/** Signatures of the thinking (and redacted_thinking data) blocks of a whole answer. */
function signaturesIn(answer: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (!Array.isArray(answer.content)) return out;
  for (const b of answer.content as (Block & { signature?: unknown })[]) {
    if (b?.type === 'thinking' && typeof b.signature === 'string' && b.signature !== '') out.push(b.signature);
    else if (b?.type === 'redacted_thinking' && typeof b.data === 'string' && b.data !== '') out.push(b.data);
  }
  return out;
}

const frame = (type: string, data: object): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function answerAsStream(msg: Record<string, unknown>): string {
  const usage = (msg.usage ?? {}) as Record<string, number>;
  const content = Array.isArray(msg.content) ? (msg.content as Record<string, unknown>[]) : [];
  let s = frame('message_start', { message: { ...msg, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 0 } } });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      s += frame('content_block_start', { index, content_block: { type: 'text', text: '' } });
      s += frame('content_block_delta', { index, delta: { type: 'text_delta', text: block.text ?? '' } });
    } else if (block.type === 'tool_use') {
      s += frame('content_block_start', { index, content_block: { ...block, input: {} } });
      s += frame('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'thinking') {
      s += frame('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      s += frame('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking ?? '' } });
      if (block.signature) s += frame('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
    } else {
      s += frame('content_block_start', { index, content_block: block });
    }
    s += frame('content_block_stop', { index });
  });
  s += frame('message_delta', { delta: { stop_reason: msg.stop_reason ?? 'end_turn', stop_sequence: msg.stop_sequence ?? null }, usage });
  s += frame('message_stop', {});
  return s;
}

/** Image blocks in an Anthropic request: in message content, and inside tool results. */
function imagesIn(body: Record<string, unknown>): ImageFacts {
  const facts: ImageFacts = { images: 0, imageChars: 0 };
  const visit = (blocks: unknown): void => {
    if (!Array.isArray(blocks)) return;
    for (const b of blocks as { type?: unknown; source?: { data?: unknown }; content?: unknown }[]) {
      if (!b || typeof b !== 'object') continue;
      if (b.type === 'image') {
        facts.images++;
        if (typeof b.source?.data === 'string') facts.imageChars += b.source.data.length;
      } else if (b.type === 'tool_result') {
        visit(b.content);
      }
    }
  };
  const messages = body.messages;
  if (Array.isArray(messages)) for (const m of messages) if (m && typeof m === 'object') visit((m as { content?: unknown }).content);
  return facts;
}

export const anthropic: Dialect = {
  format: 'anthropic',
  chatPath: CHAT_PATH.anthropic,
  signed: true,
  keepAlive: 'event: ping\ndata: {"type": "ping"}\n\n',
  isSubstantive: (ev) => ev.data !== '' && !isPing(ev),
  isContent(ev) {
    const type = ev.event;
    if (ev.data === '' || (type !== undefined && type !== 'content_block_start' && type !== 'content_block_delta')) return false;
    const j = parseOrNull(ev.data) as { type?: string; content_block?: Block; delta?: Delta } | null;
    if (!j || typeof j !== 'object') return false;
    if (j.type === 'content_block_start') return blockHasContent(j.content_block, true);
    if (j.type === 'content_block_delta') return deltaHasContent(j.delta);
    return false;
  },
  errorIn,
  watch: (usage, onSignature) => new Watch(usage, onSignature),
  signaturesIn,
  answerHasContent(answer) {
    const content = answer.content;
    return Array.isArray(content) && content.some((b) => blockHasContent(b as Block, false));
  },
  answerIsError: (a) => a.type === 'error' || ('error' in a && !('content' in a)),
  readUsage,
  answerAsStream,
  errorType: (status) => anthropicErrorType(status),
  errorBody: (status, message, type) => errorBody('anthropic', status, message, type) as unknown as Record<string, unknown>,
  errorFrame: (status, message, type) => sseErrorFrame('anthropic', status, message, type),
  imagesIn,
  prepare: prepareAnthropicPassthrough,
};
