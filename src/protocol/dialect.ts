import type { Format } from './formats.js';
import type { SseEvent } from './sse.js';
import type { Usage } from '../telemetry/record.js';
import type { ProviderOptions } from './convert/types.js';
import type { OpenAIErrorExtra } from './errors.js';
import { anthropic } from './anthropic/dialect.js';
import { openai } from './openai/dialect.js';

/** An upstream error met where an answer should be (an error event, an error object in a 200 body). */
export interface UpstreamError {
  status: number;
  message: string;
}

/** Watches one stream in a format as it passes: whether it finished, the last error, the usage. */
export interface StreamWatch {
  /** Sees one event (in this watch's format). */
  see(ev: SseEvent): void;
  /** The stream said it is complete (Anthropic `message_stop`; OpenAI `[DONE]` or a `finish_reason`). */
  readonly complete: boolean;
  /** The last error event seen, if any. */
  readonly error: UpstreamError | null;
}

/**
 * What one wire format means by each thing the relay has to know — its chat path, "content",
 * "error", "final", "usage", its keep-alive and error frames, how a whole answer is replayed as a
 * stream, how a same-format request is prepared. One module per format (./anthropic, ./openai),
 * beside the converters; the relay asks through this table and never names a format.
 */
export interface Dialect {
  readonly format: Format;
  /** The upstream path (after the version segment) for a chat request. */
  readonly chatPath: string;
  /** Its backends sign thinking blocks, and refuse ones signed elsewhere. */
  readonly signed: boolean;
  /** A frame that keeps a stream in this format alive while there is nothing to say. */
  readonly keepAlive: string;
  /** Anything but keep-alives (comments, pings). */
  isSubstantive(ev: SseEvent): boolean;
  /** The event carries content: text, thinking, tool input, or the start of a tool call (CONTRACT). */
  isContent(ev: SseEvent): boolean;
  /** The event is an error sent in place of (or in the middle of) the answer. */
  errorIn(ev: SseEvent): UpstreamError | null;
  /** A fresh watch for one stream; it reads usage into `usage` when given, and hands each thinking signature to `onSignature`. */
  watch(usage: Usage | null, onSignature?: (signature: string) => void): StreamWatch;
  /** The thinking signatures (and redacted_thinking data) in a whole answer. */
  signaturesIn(answer: Record<string, unknown>): string[];
  /** A whole (non-streamed) answer carries content. */
  answerHasContent(answer: Record<string, unknown>): boolean;
  /** A 200 body that is an error object, not an answer. */
  answerIsError(answer: Record<string, unknown>): boolean;
  /** Reads this format's `usage` object into `into`. */
  readUsage(u: unknown, into: Usage): Usage;
  /** A whole answer replayed as this format's stream (a provider that ignored `stream: true`). */
  answerAsStream(answer: Record<string, unknown>): string;
  /** This format's error type for an HTTP status. */
  errorType(status: number): string;
  /** An error body in this format (`type` overrides the type the status gives). */
  errorBody(status: number, message: string, type?: string, extra?: OpenAIErrorExtra): Record<string, unknown>;
  /** The frame that ends a stream in this format with an error. */
  errorFrame(status: number, message: string, type?: string): string;
  /** The images a request in this format carries (in messages and tool results), found by walking its content blocks. */
  imagesIn(body: Record<string, unknown>): ImageFacts;
  /** A request in this format going to a provider of the same format: the model set, and the provider's options applied. */
  prepare(body: Record<string, unknown>, upstreamModel: string, options: ProviderOptions, dropSigned?: (signature: string) => boolean): Record<string, unknown>;
}

/** What the gateway learns of a request without tokenizing it: its images (count and bytes). */
export interface ImageFacts {
  images: number;
  /** Characters of inline image data (base64 or data: URLs) in the body. */
  imageChars: number;
}

/** Tokens an image costs when nothing better is known (a ~1.15 MP image is ~1600 tokens). */
export const IMAGE_TOKENS = 1600;
/** Body bytes per token in the size estimate (see ARCHITECTURE "Request size"). */
export const BYTES_PER_TOKEN = 4;

/**
 * A request's size in tokens, estimated from what the parse already gave: the body's byte length
 * (inline image data taken out) over BYTES_PER_TOKEN, plus IMAGE_TOKENS per image. No tokenizer.
 */
export function estimateTokens(bodyBytes: number, facts: ImageFacts): number {
  return Math.ceil(Math.max(0, bodyBytes - facts.imageChars) / BYTES_PER_TOKEN) + facts.images * IMAGE_TOKENS;
}

export const DIALECTS: Record<Format, Dialect> = { anthropic, openai };

/** JSON.parse that answers null instead of throwing. */
export function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A token count: a finite number, rounded, never negative; anything else 0. */
export const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0);

export const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';
