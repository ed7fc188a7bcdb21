import type { Format } from '../formats.js';
import type { SseEvent } from '../sse.js';

/**
 * Per-provider knobs that shape a converted request. All optional; the defaults suit most
 * OpenAI-compatible servers. (Stored on the Provider as `options`.)
 */
export interface ProviderOptions {
  /** Which field carries the output-token limit to an OpenAI-format provider. Default 'max_tokens'. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /** Cap on the output-token limit sent upstream (e.g. 8192 for DeepSeek). Default: none. */
  maxTokensCap?: number | null;
  /** Send `stream_options: {include_usage: true}` on streamed requests. Default true. */
  streamOptions?: boolean;
  /** Strip fields a partial clone rejects (Anthropic: context_management, cache_control ttl/scope,
   *  anthropic-beta; OpenAI: fields beyond the core set). Default false. */
  stripUnsupported?: boolean;
  /** The provider accepts `reasoning_effort` (OpenAI) / `thinking` (Anthropic). Default true. */
  reasoning?: boolean;
  /**
   * OpenAI-format providers only: send earlier assistant `thinking` back as `reasoning_content` on
   * that assistant message (DeepSeek thinking mode with tools demands it). Default false.
   */
  reasoningContent?: boolean;
  /**
   * Anthropic-format providers only: how `reasoning_effort` becomes `thinking`. 'adaptive' sends
   * `{type:"adaptive"}` + `output_config.effort` (Claude 4.6+); 'budget' sends
   * `{type:"enabled",budget_tokens}`. Default: 'adaptive' for claude models ≥ 4.6, else 'budget'.
   */
  thinkingStyle?: 'adaptive' | 'budget';
}

/** What the request conversion learned, handed to the response / stream conversion of the same attempt. */
export interface ConversionContext {
  /** The model name the client asked for (echoed back in answers). */
  clientModel: string;
  /** The real model the upstream was asked for. */
  upstreamModel: string;
  /** The client asked for a streamed answer. */
  stream: boolean;
  /** OpenAI client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Upstream tool name → the client's original tool name, where a name had to be shortened. */
  toolNames: Map<string, string>;
  /** A rough input-token estimate, used only when the upstream never reports usage. */
  estimatedInputTokens: number;
}

/** Turns one upstream stream into the client's stream, event by event. Pure: no I/O, no timers. */
export interface StreamTranslator {
  /** Feed one upstream SSE event; returns the client frames it produces (serialised SSE text, maybe ""). */
  push(ev: SseEvent): string;
  /**
   * The upstream stream ended (EOF). Returns the closing frames: the normal tail when the upstream
   * finished properly, or the contract's error frame when it ended before completion.
   */
  end(): string;
  /** Frames to send while the upstream is silent (Anthropic `event: ping`); "" when none apply. */
  keepAlive(): string;
  /** Token usage seen so far, in Anthropic terms (for logs/metrics). */
  usage(): { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number };
  /** Where the translation stands (the converters in this folder always provide it). */
  state?(): StreamState;
  /**
   * Ends the stream with the client-format error frame (e.g. on an idle timeout) and marks it ended;
   * "" when it already ended. (Provided by the converters in this folder.)
   */
  abort?(status: number, message: string, type?: string): string;
}

/** What a StreamTranslator has seen and produced so far. */
export interface StreamState {
  /** At least one client frame of the answer (Anthropic `message_start`, OpenAI role chunk) was produced. */
  started: boolean;
  /** The normal tail was produced (Anthropic `message_stop`, OpenAI `data: [DONE]`); push/end now return "". */
  done: boolean;
  /** The error frame that ended the stream was produced (upstream error event, or EOF before completion). */
  error: { status: number; type: string; message: string } | null;
  /** The upstream reported token usage (otherwise usage() holds estimates). */
  usageReported: boolean;
}

/** Conversion between one client format and one (different) provider format. */
export interface Converter {
  readonly client: Format;
  readonly provider: Format;
  /** Client request body → upstream request body, with `model` set to `upstreamModel`. Never mutates `body`. */
  request(body: Record<string, unknown>, upstreamModel: string, options: ProviderOptions): {
    body: Record<string, unknown>;
    ctx: ConversionContext;
  };
  /** Upstream non-streamed success body → client body. */
  response(upstream: Record<string, unknown>, ctx: ConversionContext): Record<string, unknown>;
  /** A fresh stream translator for one attempt. */
  stream(ctx: ConversionContext): StreamTranslator;
  /** Upstream error (status + body text) → the status and body the client gets, in its format. */
  error(status: number, bodyText: string): { status: number; body: Record<string, unknown> };
}
