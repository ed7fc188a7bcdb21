/** The two wire formats the gateway speaks, on either side. */
export type Format = 'anthropic' | 'openai';

export const FORMATS: readonly Format[] = ['anthropic', 'openai'];

export function isFormat(value: unknown): value is Format {
  return value === 'anthropic' || value === 'openai';
}

/** The upstream path (after the version segment) for a chat request in each format. */
export const CHAT_PATH: Record<Format, string> = {
  anthropic: '/messages',
  openai: '/chat/completions',
};
