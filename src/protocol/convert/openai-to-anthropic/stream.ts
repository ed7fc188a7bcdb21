/**
 * Anthropic Messages SSE → OpenAI chat.completion.chunk stream (protocols.md §3.4), for an
 * OpenAI client served by an Anthropic-format provider.
 *
 * Every chunk shares one id and `created`; tool_calls are numbered from 0 counting tool calls
 * only (P1), the first fragment of each carries id/type/name; the usage chunk (`choices: []`)
 * comes only when the client asked for `stream_options.include_usage`; the stream ends with
 * `data: [DONE]`, or with a `data: {"error":…}` line and nothing after it.
 */
import type { SseEvent } from '../../sse.js';
import { openaiErrorType, sseErrorFrame, statusForError } from '../../errors.js';
import type { ConversionContext, StreamState, StreamTranslator } from '../types.js';
import {
  type AnthropicUsage, type Json, anthropicUsageToOpenAI, int, isObj, nonEmpty, randomId,
  stopReasonToFinish,
} from '../util.js';

interface ToolBlock {
  k: number;
  argsSent: boolean;
  input: unknown;
}

export class AnthropicToOpenAIStream implements StreamTranslator {
  private phase: 'init' | 'streaming' | 'done' | 'error' = 'init';
  private readonly head: string;
  private readonly blocks = new Map<number, ToolBlock>();
  private nextTool = 0;
  private readonly u: AnthropicUsage = {
    input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
  };
  private reported = false;
  private thinkingTokens: number | undefined;
  private finishSent = false;
  private stopSeen = false;
  private err: StreamState['error'] = null;
  private startedBeforeError = false;

  constructor(private readonly ctx: ConversionContext) {
    const id = randomId('chatcmpl-');
    const created = Math.floor(Date.now() / 1000);
    this.head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(ctx.clientModel)}`;
  }

  push(ev: SseEvent): string {
    if (this.phase === 'done' || this.phase === 'error') return '';
    if (ev.data === '') return '';
    let obj: unknown;
    try {
      obj = JSON.parse(ev.data);
    } catch {
      return ev.event === 'error' ? this.fail(502, 'api_error', `upstream error event: ${ev.data.slice(0, 300)}`) : '';
    }
    if (!isObj(obj)) return '';
    const type = typeof obj.type === 'string' ? obj.type : ev.event;
    if (type === 'error' || ev.event === 'error') {
      const e = isObj(obj.error) ? obj.error : obj;
      const message = typeof e.message === 'string' ? e.message : JSON.stringify(e).slice(0, 500);
      return this.fail(statusForError(e.type), typeof e.type === 'string' ? e.type : undefined, message);
    }
    if (type === 'ping') return '';

    let out = '';
    if (this.phase === 'init') {
      this.phase = 'streaming';
      out += this.chunk('{"role":"assistant","content":""}');
    }
    switch (type) {
      case 'message_start': {
        const msg = isObj(obj.message) ? obj.message : {};
        if (isObj(msg.usage)) this.readUsage(msg.usage);
        break;
      }
      case 'content_block_start': {
        const cb = isObj(obj.content_block) ? obj.content_block : {};
        const index = typeof obj.index === 'number' ? obj.index : -1;
        if (cb.type === 'tool_use') {
          const k = this.nextTool++;
          this.blocks.set(index, { k, argsSent: false, input: cb.input });
          const call = { index: k, id: cb.id, type: 'function', function: { name: cb.name, arguments: '' } };
          out += this.chunk(`{"tool_calls":[${JSON.stringify(call)}]}`);
        } else if (cb.type === 'text' && nonEmpty(cb.text)) {
          out += this.chunk(`{"content":${JSON.stringify(cb.text)}}`);
        } else if (cb.type === 'thinking' && nonEmpty(cb.thinking)) {
          out += this.chunk(`{"reasoning_content":${JSON.stringify(cb.thinking)}}`);
        }
        break;
      }
      case 'content_block_delta': {
        const d = isObj(obj.delta) ? obj.delta : {};
        if (d.type === 'text_delta' && nonEmpty(d.text)) {
          out += this.chunk(`{"content":${JSON.stringify(d.text)}}`);
        } else if (d.type === 'thinking_delta' && nonEmpty(d.thinking)) {
          out += this.chunk(`{"reasoning_content":${JSON.stringify(d.thinking)}}`);
        } else if (d.type === 'input_json_delta' && nonEmpty(d.partial_json)) {
          const b = this.blocks.get(typeof obj.index === 'number' ? obj.index : -1);
          if (b) {
            b.argsSent = true;
            out += this.chunk(`{"tool_calls":[{"index":${b.k},"function":{"arguments":${JSON.stringify(d.partial_json)}}}]}`);
          }
        }
        // signature_delta, citations_delta: nothing to say in OpenAI terms
        break;
      }
      case 'content_block_stop': {
        const b = this.blocks.get(typeof obj.index === 'number' ? obj.index : -1);
        if (b && !b.argsSent) {
          // No input_json_delta: the input was in content_block_start (or is empty) — ONEAPI.
          b.argsSent = true;
          const args = isObj(b.input) && Object.keys(b.input).length > 0 ? JSON.stringify(b.input) : '{}';
          out += this.chunk(`{"tool_calls":[{"index":${b.k},"function":{"arguments":${JSON.stringify(args)}}}]}`);
        }
        break;
      }
      case 'message_delta': {
        if (isObj(obj.usage)) this.readUsage(obj.usage);
        const d = isObj(obj.delta) ? obj.delta : {};
        if (!this.finishSent && d.stop_reason !== undefined) {
          this.finishSent = true;
          out += this.chunk('{}', stopReasonToFinish(d.stop_reason));
        }
        break;
      }
      case 'message_stop':
        this.stopSeen = true;
        return out + this.complete();
      default:
        break;
    }
    return out;
  }

  end(): string {
    if (this.phase === 'done' || this.phase === 'error') return '';
    if (this.phase === 'init') return this.fail(502, 'api_error', 'upstream stream ended before any data');
    // message_delta carried the stop reason but message_stop got lost: the answer is whole.
    if (this.finishSent) return this.complete();
    return this.fail(502, 'api_error', 'upstream stream ended before completion');
  }

  keepAlive(): string {
    return this.phase === 'streaming' ? ': ping\n\n' : '';
  }

  /** Ends the stream with an error line (e.g. idle timeout); "" when it already ended. */
  abort(status: number, message: string, type?: string): string {
    if (this.phase === 'done' || this.phase === 'error') return '';
    return this.fail(status, type, message);
  }

  usage(): { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number } {
    return {
      inputTokens: this.reported ? this.u.input_tokens : this.ctx.estimatedInputTokens,
      outputTokens: this.u.output_tokens,
      cacheReadTokens: this.u.cache_read_input_tokens,
      cacheCreationTokens: this.u.cache_creation_input_tokens,
    };
  }

  state(): StreamState {
    return {
      started: this.phase === 'streaming' || this.phase === 'done' || (this.phase === 'error' && this.startedBeforeError),
      done: this.phase === 'done',
      error: this.err,
      usageReported: this.reported,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private chunk(delta: string, finish?: string): string {
    return `data: ${this.head},"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}]}\n\n`;
  }

  /** Usage counters are cumulative totals: overwrite when present (as the Anthropic SDK does). */
  private readUsage(u: Json): void {
    if (u.input_tokens != null) { this.u.input_tokens = int(u.input_tokens); this.reported = true; }
    if (u.output_tokens != null) { this.u.output_tokens = int(u.output_tokens); this.reported = true; }
    if (u.cache_read_input_tokens != null) this.u.cache_read_input_tokens = int(u.cache_read_input_tokens);
    if (u.cache_creation_input_tokens != null) this.u.cache_creation_input_tokens = int(u.cache_creation_input_tokens);
    if (isObj(u.output_tokens_details) && typeof u.output_tokens_details.thinking_tokens === 'number') {
      this.thinkingTokens = int(u.output_tokens_details.thinking_tokens);
    }
  }

  private complete(): string {
    let out = '';
    if (!this.finishSent) {
      this.finishSent = true;
      out += this.chunk('{}', this.nextTool > 0 ? 'tool_calls' : 'stop');
    }
    if (this.ctx.includeUsage) {
      out += `data: ${this.head},"choices":[],"usage":${JSON.stringify(anthropicUsageToOpenAI(this.u, this.thinkingTokens))}}\n\n`;
    }
    out += 'data: [DONE]\n\n';
    this.phase = 'done';
    return out;
  }

  private fail(status: number, type: string | undefined, message: string): string {
    this.startedBeforeError = this.phase === 'streaming';
    this.err = { status, type: type ?? openaiErrorType(status).type, message };
    this.phase = 'error';
    return sseErrorFrame('openai', status, message);
  }
}
