import { isFormat, type Format } from '../protocol/formats.js';
import type { ProviderOptions } from '../protocol/convert/types.js';
import { isHttpUrl } from '../upstream/url.js';

/** A bad field in an admin request: becomes a 400 naming the field. */
export class FieldError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export interface ProviderInput {
  name?: string;
  baseUrl?: string;
  apiKey?: string;
  format?: Format;
  enabled?: boolean;
  cooldownSeconds?: number | null;
  options?: ProviderOptions;
}

function obj(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FieldError('body', 'must be a JSON object');
  return body as Record<string, unknown>;
}

/** Validates a provider body; `partial` for PATCH (every field optional). */
export function parseProviderInput(body: unknown, partial: boolean): ProviderInput {
  const b = obj(body);
  const out: ProviderInput = {};
  const need = (field: string) => {
    if (!partial && b[field] === undefined) throw new FieldError(field, 'is required');
    return b[field] !== undefined;
  };
  if (need('name')) {
    if (typeof b.name !== 'string' || b.name.trim() === '') throw new FieldError('name', 'must be a non-empty string');
    if (b.name.trim().length > 100) throw new FieldError('name', 'must be at most 100 characters');
    out.name = b.name.trim();
  }
  if (need('baseUrl')) {
    if (typeof b.baseUrl !== 'string' || !isHttpUrl(b.baseUrl.trim())) throw new FieldError('baseUrl', 'must be an http:// or https:// URL');
    out.baseUrl = b.baseUrl.trim().replace(/\/+$/, '');
  }
  if (b.apiKey !== undefined) {
    if (typeof b.apiKey !== 'string') throw new FieldError('apiKey', 'must be a string');
    if (b.apiKey.length > 8192) throw new FieldError('apiKey', 'is too long');
    if (/[\r\n]/.test(b.apiKey)) throw new FieldError('apiKey', 'must not contain line breaks');
    out.apiKey = b.apiKey.trim();
  } else if (!partial) {
    out.apiKey = '';
  }
  if (need('format')) {
    if (!isFormat(b.format)) throw new FieldError('format', 'must be "openai" or "anthropic"');
    out.format = b.format;
  }
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== 'boolean') throw new FieldError('enabled', 'must be true or false');
    out.enabled = b.enabled;
  }
  if (b.cooldownSeconds !== undefined) {
    if (b.cooldownSeconds !== null && (typeof b.cooldownSeconds !== 'number' || !Number.isFinite(b.cooldownSeconds) || b.cooldownSeconds < 0 || b.cooldownSeconds > 7 * 86400)) {
      throw new FieldError('cooldownSeconds', 'must be a number of seconds from 0 to 604800, or null for the default');
    }
    out.cooldownSeconds = b.cooldownSeconds as number | null;
  }
  if (b.options !== undefined) out.options = parseOptions(b.options);
  return out;
}

export function parseOptions(value: unknown): ProviderOptions {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FieldError('options', 'must be an object');
  const o = value as Record<string, unknown>;
  const out: ProviderOptions = {};
  if (o.maxTokensField !== undefined) {
    if (o.maxTokensField !== 'max_tokens' && o.maxTokensField !== 'max_completion_tokens') {
      throw new FieldError('options.maxTokensField', 'must be "max_tokens" or "max_completion_tokens"');
    }
    out.maxTokensField = o.maxTokensField;
  }
  if (o.maxTokensCap !== undefined) {
    if (o.maxTokensCap !== null && (!Number.isInteger(o.maxTokensCap) || (o.maxTokensCap as number) < 1)) {
      throw new FieldError('options.maxTokensCap', 'must be a positive integer or null');
    }
    out.maxTokensCap = o.maxTokensCap as number | null;
  }
  if (o.thinkingStyle !== undefined) {
    if (o.thinkingStyle !== 'adaptive' && o.thinkingStyle !== 'budget' && o.thinkingStyle !== null) {
      throw new FieldError('options.thinkingStyle', 'must be "adaptive", "budget" or null');
    }
    (out as Record<string, unknown>).thinkingStyle = o.thinkingStyle;
  }
  for (const key of ['streamOptions', 'stripUnsupported', 'reasoning', 'reasoningContent'] as const) {
    if (o[key] !== undefined) {
      if (typeof o[key] !== 'boolean') throw new FieldError(`options.${key}`, 'must be true or false');
      out[key] = o[key] as boolean;
    }
  }
  return out;
}

export function parseMembersInput(body: unknown): { providerId: number; models: string[] } {
  const b = obj(body);
  const providerId = Number(b.providerId);
  if (b.providerId === undefined || b.providerId === null || b.providerId === '' || !Number.isInteger(providerId) || providerId < 1) {
    throw new FieldError('providerId', 'must be the id of a provider');
  }
  if (!Array.isArray(b.models) || b.models.length === 0) throw new FieldError('models', 'must be a non-empty array of model names');
  const models: string[] = [];
  for (const m of b.models) {
    if (typeof m !== 'string' || m.trim() === '' || m.length > 300) throw new FieldError('models', 'every entry must be a non-empty model name');
    if (!models.includes(m.trim())) models.push(m.trim());
  }
  return { providerId, models };
}

export function parseMemberPatch(body: unknown): { enabled?: boolean; weight?: number } {
  const b = obj(body);
  const out: { enabled?: boolean; weight?: number } = {};
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== 'boolean') throw new FieldError('enabled', 'must be true or false');
    out.enabled = b.enabled;
  }
  if (b.weight !== undefined) {
    if (!Number.isInteger(b.weight) || (b.weight as number) < 1 || (b.weight as number) > 1000) {
      throw new FieldError('weight', 'must be an integer from 1 to 1000');
    }
    out.weight = b.weight as number;
  }
  return out;
}

/** A positive integer path id, or null. */
export function parseId(value: unknown): number | null {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? n : null;
}
