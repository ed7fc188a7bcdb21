/**
 * OpenAI chat.completion.chunk stream → Anthropic Messages SSE (protocols.md §3.3), for an
 * Anthropic client (Claude Code) served by an OpenAI-format provider.
 *
 * Guarantees to the client (§8 cases 39–50): `message_start` first and once; block indices 0,1,2…
 * in start order; each block started once and stopped once, never overlapping; no delta for a
 * block that is not open; `message_delta` (integer usage) + `message_stop` at the end, or an
 * `event: error` frame and nothing after it.
 *
 * Provider quirks handled: index reuse with a new id, missing `index`, id+name+full arguments in
 * one chunk, arguments before the name, arguments of two calls interleaved (the later blocks are
 * held back and emitted whole at the end), usage chunks with `choices: null`/`[]`, usage on the
 * finish chunk, `reasoning_content` and `reasoning`, role chunk with `content: ""`, `[DONE]` missing
 * after a finish_reason, `finish_reason: "error"`, `data: {"error":…}`.
 */
import type { SseEvent } from '../../sse.js';
import { anthropicErrorType, sseErrorFrame, statusForError } from '../../errors.js';
import type { ConversionContext, StreamState, StreamTranslator } from '../types.js';
import {
  type AnthropicUsage, type Json, SYNTHETIC_SIGNATURE, anthropicErrorFor, charsToTokens, finishToStopReason,
  hasText, isCompleteJson, isObj, nonEmpty, openaiUsageToAnthropic, randomId, sanitizeToolId,
} from '../util.js';

const PENDING = 0;
const OPEN = 1;
const CLOSED = 2;

interface Tool {
  upstreamId: string | undefined;
  id: string;
  name: string;
  /** Every argument fragment received, concatenated. */
  args: string;
  state: typeof PENDING | typeof OPEN | typeof CLOSED;
  idx: number;
  queued: boolean;
}

type Held = { kind: 'text' | 'thinking'; text: string } | { kind: 'tool'; tool: Tool };

type Open = { kind: 'text' | 'thinking'; idx: number } | { kind: 'tool'; idx: number; tool: Tool };

const PING = 'event: ping\ndata: {"type":"ping"}\n\n';

export class OpenAIToAnthropicStream implements StreamTranslator {
  private phase: 'init' | 'streaming' | 'done' | 'error' = 'init';
  private readonly messageId = randomId('msg_');
  private next = 0;
  private open: Open | null = null;
  private readonly byKey = new Map<number, Tool>();
  private readonly tools: Tool[] = [];
  private readonly ids = new Set<string>();
  /** Non-null once blocks must wait for the end (an open tool's arguments were still incomplete). */
  private held: Held[] | null = null;
  /** Leading whitespace-only text, held until visible text follows (P7). */
  private pendingWs = '';
  private finish: string | null = null;
  private upstreamUsage: AnthropicUsage | null = null;
  private sawTool = false;
  private outChars = 0;
  private err: StreamState['error'] = null;
  private startedOnce = false;

  constructor(private readonly ctx: ConversionContext) {}

  push(ev: SseEvent): string {
    if (this.phase === 'done' || this.phase === 'error') return '';
    const data = ev.data;
    if (data === '') return '';
    if (data === '[DONE]' || (data.length < 12 && data.trim() === '[DONE]')) return this.complete();
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return ev.event === 'error' ? this.fail(502, undefined, `upstream error event: ${data.slice(0, 300)}`) : '';
    }
    if (!isObj(obj)) return '';
    if (obj.error !== undefined && obj.error !== null) return this.upstreamError(obj.error);
    if (ev.event === 'error') return this.upstreamError(obj);

    if (isObj(obj.usage)) this.upstreamUsage = openaiUsageToAnthropic(obj.usage);
    let out = this.phase === 'init' ? this.start() : '';

    const choices = obj.choices;
    if (!Array.isArray(choices) || choices.length === 0) return out;
    let choice: Json | undefined;
    for (const c of choices) {
      if (isObj(c) && (c.index === undefined || c.index === 0)) { choice = c; break; }
    }
    if (!choice) return out;
    const delta = isObj(choice.delta) ? choice.delta : isObj(choice.message) ? choice.message : undefined;
    if (delta) out += this.delta(delta);
    const fr = choice.finish_reason;
    if (typeof fr === 'string' && fr !== '') {
      if (fr === 'error') return out + this.fail(502, 'api_error', 'upstream finished the answer with an error');
      this.finish = fr;
    }
    return out;
  }

  end(): string {
    if (this.phase === 'done' || this.phase === 'error') return '';
    if (this.phase === 'init') return this.fail(502, 'api_error', 'upstream stream ended before any data');
    if (this.finish !== null) return this.complete(); // [DONE] missing but the answer was finished
    return this.fail(502, 'api_error', 'upstream stream ended before completion');
  }

  keepAlive(): string {
    return this.phase === 'streaming' ? PING : '';
  }

  /** Ends the stream with an error frame (e.g. idle timeout); "" when it already ended. */
  abort(status: number, message: string, type?: string): string {
    if (this.phase === 'done' || this.phase === 'error') return '';
    return this.fail(status, type, message);
  }

  usage(): { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number } {
    const u = this.finalUsage();
    return {
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      cacheReadTokens: u.cache_read_input_tokens,
      cacheCreationTokens: u.cache_creation_input_tokens,
    };
  }

  state(): StreamState {
    return {
      started: this.startedOnce,
      done: this.phase === 'done',
      error: this.err,
      usageReported: this.upstreamUsage !== null,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private start(): string {
    this.phase = 'streaming';
    this.startedOnce = true;
    const u = this.upstreamUsage;
    const message = {
      id: this.messageId,
      type: 'message',
      role: 'assistant',
      model: this.ctx.clientModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: u ? u.input_tokens : this.ctx.estimatedInputTokens,
        cache_creation_input_tokens: u ? u.cache_creation_input_tokens : 0,
        cache_read_input_tokens: u ? u.cache_read_input_tokens : 0,
        output_tokens: 0,
      },
    };
    return `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`;
  }

  private delta(d: Json): string {
    let out = '';
    const reasoning = nonEmpty(d.reasoning_content) ?? nonEmpty(d.reasoning);
    if (reasoning) out += this.appendText('thinking', reasoning);
    const content = d.content;
    if (typeof content === 'string') {
      if (content !== '') out += this.appendText('text', content);
    } else if (Array.isArray(content)) {
      for (const p of content) if (isObj(p) && nonEmpty(p.text)) out += this.appendText('text', p.text as string);
    }
    const refusal = nonEmpty(d.refusal);
    if (refusal) out += this.appendText('text', refusal);
    if (Array.isArray(d.tool_calls)) {
      const calls = d.tool_calls;
      for (let j = 0; j < calls.length; j++) out += this.toolFragment(calls[j], j);
    } else if (isObj(d.function_call)) {
      out += this.toolFragment({ index: 0, function: d.function_call }, 0);
    }
    return out;
  }

  /** A text or thinking fragment. */
  private appendText(kind: 'text' | 'thinking', text: string): string {
    this.outChars += text.length;
    if (kind === 'text') {
      const open = this.open;
      if ((!open || open.kind !== 'text') && !this.heldTextOpen()) {
        // No text block yet: hold whitespace-only text until something visible follows.
        if (!hasText(text)) {
          this.pendingWs += text;
          return '';
        }
        if (this.pendingWs !== '') {
          text = this.pendingWs + text;
          this.pendingWs = '';
        }
      }
    } else if (this.pendingWs !== '') {
      this.pendingWs = ''; // whitespace between answer text and later reasoning: dropped
    }

    if (this.held) {
      const last = this.held[this.held.length - 1];
      if (last && last.kind === kind) last.text += text;
      else this.held.push({ kind, text });
      return '';
    }
    let out = '';
    if (!this.open || this.open.kind !== kind) {
      if (this.mustHold()) {
        this.held = [{ kind, text }];
        return '';
      }
      out += this.closeOpen();
      out += this.startBlock(kind);
    }
    return out + deltaFrame(this.open!.idx, kind === 'text' ? 'text_delta' : 'thinking_delta', kind === 'text' ? 'text' : 'thinking', text);
  }

  /** Text is being collected in the held queue (so whitespace there is not "leading"). */
  private heldTextOpen(): boolean {
    const last = this.held?.[this.held.length - 1];
    return last !== undefined && last.kind === 'text';
  }

  /** The open block is a tool whose arguments may still grow: nothing else may start yet. */
  private mustHold(): boolean {
    const o = this.open;
    return o !== null && o.kind === 'tool' && !isCompleteJson(o.tool.args);
  }

  private toolFragment(tc: unknown, position: number): string {
    if (!isObj(tc)) return '';
    const key = typeof tc.index === 'number' ? tc.index : position; // missing index → array position (P2)
    const fn = isObj(tc.function) ? tc.function : undefined;
    const upstreamId = nonEmpty(tc.id);
    const name = nonEmpty(fn?.name);
    let frag = fn?.arguments;
    if (typeof frag !== 'string') frag = frag !== undefined && frag !== null ? JSON.stringify(frag) : '';

    let t = this.byKey.get(key);
    if (t) {
      if (upstreamId && t.upstreamId && upstreamId !== t.upstreamId) {
        t = undefined; // the same index reused for a new call (Ollama/Gemini, P2)
      } else if (!upstreamId && name && t.name && (frag as string).trimStart().startsWith('{') && isCompleteJson(t.args)) {
        t = undefined; // a whole new call at a reused index without ids
      } else if (upstreamId && !t.upstreamId) {
        t.upstreamId = upstreamId;
      }
    }
    if (!t) {
      let id = sanitizeToolId(upstreamId);
      while (this.ids.has(id)) id = `${id}_`;
      this.ids.add(id);
      t = { upstreamId, id, name: '', args: '', state: PENDING, idx: -1, queued: false };
      this.byKey.set(key, t);
      this.tools.push(t);
    }
    if (name && !t.name) t.name = this.ctx.toolNames.get(name) ?? name;
    if (frag !== '') {
      t.args += frag;
      this.outChars += (frag as string).length;
    }

    if (t.state === OPEN) return frag !== '' ? deltaFrame(t.idx, 'input_json_delta', 'partial_json', frag as string) : '';
    if (t.state === CLOSED) return ''; // a late fragment for a closed block cannot be delivered (P4)
    if (!t.name) return ''; // no name yet: never a placeholder name, wait
    if (this.held) {
      if (!t.queued) {
        t.queued = true;
        this.held.push({ kind: 'tool', tool: t });
      }
      return '';
    }
    if (this.mustHold()) {
      t.queued = true;
      this.held = [{ kind: 'tool', tool: t }];
      return '';
    }
    this.pendingWs = '';
    let out = this.closeOpen() + this.startTool(t);
    if (t.args !== '') out += deltaFrame(t.idx, 'input_json_delta', 'partial_json', t.args);
    return out;
  }

  private startBlock(kind: 'text' | 'thinking'): string {
    const idx = this.next++;
    this.open = { kind, idx };
    const block = kind === 'text' ? '{"type":"text","text":""}' : '{"type":"thinking","thinking":"","signature":""}';
    return `event: content_block_start\ndata: {"type":"content_block_start","index":${idx},"content_block":${block}}\n\n`;
  }

  private startTool(t: Tool): string {
    t.idx = this.next++;
    t.state = OPEN;
    this.sawTool = true;
    this.open = { kind: 'tool', idx: t.idx, tool: t };
    const block = JSON.stringify({ type: 'tool_use', id: t.id, name: t.name, input: {} });
    return `event: content_block_start\ndata: {"type":"content_block_start","index":${t.idx},"content_block":${block}}\n\n`;
  }

  private closeOpen(): string {
    const o = this.open;
    if (!o) return '';
    this.open = null;
    let out = '';
    if (o.kind === 'thinking') {
      // P10: a recognisable synthetic signature, so it can be stripped before an Anthropic upstream.
      out += deltaFrame(o.idx, 'signature_delta', 'signature', SYNTHETIC_SIGNATURE);
    } else if (o.kind === 'tool') {
      o.tool.state = CLOSED;
    }
    return out + `event: content_block_stop\ndata: {"type":"content_block_stop","index":${o.idx}}\n\n`;
  }

  /** The normal end: close blocks, flush held ones, message_delta + message_stop. */
  private complete(): string {
    if (this.phase === 'init') return this.fail(502, 'api_error', 'upstream sent an empty stream');
    let out = this.closeOpen();
    if (this.held) {
      for (const h of this.held) {
        if (h.kind === 'tool') {
          out += this.flushTool(h.tool);
        } else if (h.text !== '' && (h.kind === 'thinking' || hasText(h.text))) {
          out += this.startBlock(h.kind);
          out += deltaFrame(this.open!.idx, h.kind === 'text' ? 'text_delta' : 'thinking_delta', h.kind === 'text' ? 'text' : 'thinking', h.text);
          out += this.closeOpen();
        }
      }
      this.held = null;
    }
    // Calls whose name never arrived: still delivered (their arguments are real), under a stand-in name.
    for (const t of this.tools) {
      if (t.state === PENDING && (t.args !== '' || t.upstreamId)) {
        if (!t.name) t.name = 'unknown_tool';
        out += this.flushTool(t);
      }
    }
    // A tool call cut off by the token limit is `max_tokens`, not `tool_use`: Claude Code must not
    // run a Write or Edit with truncated input (CONTRACT "When the client sees the first byte").
    const byFinish = finishToStopReason(this.finish);
    const stopReason = this.sawTool && byFinish !== 'max_tokens' ? 'tool_use' : byFinish === 'tool_use' ? 'end_turn' : byFinish;
    const usage = this.finalUsage();
    out += `event: message_delta\ndata: ${JSON.stringify({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage,
    })}\n\n`;
    out += 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
    this.phase = 'done';
    return out;
  }

  private flushTool(t: Tool): string {
    if (t.state !== PENDING || !t.name) return '';
    let out = this.startTool(t);
    if (t.args !== '') out += deltaFrame(t.idx, 'input_json_delta', 'partial_json', t.args);
    return out + this.closeOpen();
  }

  private finalUsage(): AnthropicUsage {
    if (this.upstreamUsage) return this.upstreamUsage;
    return {
      input_tokens: this.ctx.estimatedInputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: charsToTokens(this.outChars),
    };
  }

  private upstreamError(e: unknown): string {
    if (typeof e === 'string') return this.fail(502, undefined, e);
    const o = isObj(e) ? e : {};
    const message = typeof o.message === 'string' ? o.message : JSON.stringify(o).slice(0, 500);
    const type = typeof o.type === 'string' ? o.type : undefined;
    const code = typeof o.code === 'string' || typeof o.code === 'number' ? o.code : undefined;
    const status = statusForError(type, code);
    const mapped = anthropicErrorFor(status, message, typeof code === 'string' ? code : undefined, type);
    return this.fail(mapped.status, mapped.type, mapped.message);
  }

  private fail(status: number, type: string | undefined, message: string): string {
    this.err = { status, type: type ?? anthropicErrorType(status), message };
    const frame = sseErrorFrame('anthropic', status, message, this.err.type);
    this.phase = 'error';
    this.open = null;
    return frame;
  }
}

function deltaFrame(idx: number, type: string, field: string, value: string): string {
  return `event: content_block_delta\ndata: {"type":"content_block_delta","index":${idx},"delta":{"type":"${type}","${field}":${JSON.stringify(value)}}}\n\n`;
}
