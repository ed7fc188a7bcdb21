// TEMPORARY STUB written by the core engineer so count_tokens compiles; the conversion helper replaces this file entirely.
export function countAnthropicInputTokens(body: Record<string, unknown>): number {
  return Math.max(1, Math.ceil(JSON.stringify(body).length / 4));
}
