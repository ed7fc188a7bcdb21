/**
 * Every admin request body's schema, in one place: each parser takes the parsed JSON and returns
 * typed input, or throws a FieldError (answered 400 naming the field). A field a schema does not
 * know is refused (400 "unknown field …", with the likely meant field when one is close), never
 * ignored: a misspelt setting must not answer 200 and change nothing. Fields that only appear in
 * answers (ids, masks, times, counters) may be sent back and are ignored.
 */
import { isFormat, type Format } from '../protocol/formats.js';
import type { ProviderOptions } from '../protocol/convert/types.js';
import { isHttpUrl, normalizeBaseUrl } from '../upstream/url.js';
import { POOL_NAMES, isPoolName } from '../routing/pools.js';
import type { AccessKeyInput } from '../access/keys.js';
import type { Settings } from '../telemetry/settings.js';
import type { NewMemberModel, PoolAffinity } from '../store/repo.js';

/** Largest context window the admin API takes (tokens). */
export const MAX_CONTEXT_WINDOW = 100_000_000;

/** A bad field in an admin request: becomes a 400 naming the field. */
export class FieldError extends Error {
  /** `whole`: `message` is the whole message (otherwise it is put after "field: "). */
  constructor(readonly field: string, message: string, whole = false) {
    super(whole ? message : `${field}: ${message}`);
  }
}

/** One admin document: the fields it takes, and those of its answer that may be sent back (ignored). */
interface Schema {
  fields: readonly string[];
  readOnly?: readonly string[];
}

const PROVIDER: Schema = {
  fields: ['name', 'baseUrl', 'apiKey', 'format', 'enabled', 'cooldownSeconds', 'options'],
  readOnly: ['id', 'apiKeyMasked', 'createdAt', 'memberCount', 'cooldownIsDefault'],
};
const OPTIONS: Schema = {
  fields: ['maxTokensField', 'maxTokensCap', 'thinkingStyle', 'streamOptions', 'stripUnsupported', 'reasoning', 'reasoningContent'],
};
const MEMBERS: Schema = { fields: ['providerId', 'models'] };
/** One entry of `models` given as an object: the model and what it can hold (the fetched list's answer shape). */
const MEMBER_MODEL: Schema = { fields: ['id', 'contextWindow', 'vision'] };
const MEMBER_PATCH: Schema = {
  fields: ['enabled', 'weight', 'contextWindow', 'vision'],
  readOnly: ['id', 'pool', 'providerId', 'providerName', 'providerFormat', 'model', 'state', 'cooldownUntil', 'lastError', 'failures', 'cooldownKind', 'probing'],
};
const SETTINGS: Schema = { fields: ['logBodies', 'logBodyMaxBytes', 'logRetentionCount', 'logRetentionDays'] };
const ACCESS_KEY: Schema = {
  fields: ['name', 'pools', 'rpm', 'maxConcurrent', 'expiresAt', 'enabled'],
  readOnly: ['id', 'keyMasked', 'createdAt', 'lastUsedAt', 'usage'],
};
const POOL_PATCH: Schema = { fields: ['affinity'], readOnly: ['name', 'virtualModel', 'members'] };
const PROVIDER_TEST: Schema = { fields: ['model'] };
const PASSWORD: Schema = { fields: ['password'] };

/** Member fields that name which member it is: sent back, they must be the member's own. */
const MEMBER_IDENTITY = ['id', 'pool', 'providerId', 'model'] as const;

function obj(body: unknown, field = 'body'): Record<string, unknown> {
  // A body of another content type arrives as bytes (server.ts): not a document of ours.
  if (Buffer.isBuffer(body)) throw new FieldError('body', 'must be a JSON object, sent with Content-Type: application/json');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FieldError(field, field === 'body' ? 'must be a JSON object' : 'must be an object');
  return body as Record<string, unknown>;
}

/** Lower case without `_`, `-` and spaces: `log_bodies`, `LogBodies` and `logbodies` meet. */
const squash = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known field an unknown one most likely meant (same letters, a prefix of it, or a typo away), or null. */
export function suggestField(unknown: string, known: readonly string[]): string | null {
  const u = squash(unknown);
  if (u === '') return null;
  const same = known.find((k) => squash(k) === u);
  if (same) return same;
  if (u.length >= 4) {
    const prefixed = known.filter((k) => squash(k).startsWith(u));
    if (prefixed.length === 1) return prefixed[0]!;
  }
  if (u.length >= 5) {
    const near = known.filter((k) => editDistance(squash(k), u) <= 2);
    if (near.length === 1) return near[0]!;
  }
  return null;
}

/** Refuses a field the schema does not know, naming it and the one probably meant. */
function checkFields(b: Record<string, unknown>, schema: Schema, prefix = ''): void {
  for (const k of Object.keys(b)) {
    if (schema.fields.includes(k) || schema.readOnly?.includes(k)) continue;
    const hint = suggestField(k, schema.fields);
    const known = schema.fields.map((f) => prefix + f).join(', ');
    throw new FieldError(prefix + k, `unknown field ${prefix}${k}${hint ? `: did you mean ${prefix}${hint}?` : ''} (known fields: ${known})`, true);
  }
}

// ---- providers ----------------------------------------------------------------------------------

export interface ProviderInput {
  name?: string;
  baseUrl?: string;
  apiKey?: string;
  format?: Format;
  enabled?: boolean;
  cooldownSeconds?: number | null;
  options?: ProviderOptions;
}

/** A provider name as names are compared (a duplicate is refused): trimmed, case-insensitive. */
export function nameKey(name: string): string {
  return name.trim().toLowerCase();
}

/** Validates a provider body; `partial` for PATCH (every field optional). */
export function parseProviderInput(body: unknown, partial: boolean): ProviderInput {
  const b = obj(body);
  checkFields(b, PROVIDER);
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
    const u = new URL(b.baseUrl.trim());
    // Never sent (requests go to the URL's origin and path): refused rather than silently dropped.
    if (u.username !== '' || u.password !== '') throw new FieldError('baseUrl', 'must not contain a user name or password: put the key in apiKey');
    out.baseUrl = normalizeBaseUrl(b.baseUrl);
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

/** A provider's `options` (null for a key: back to its default). */
export function parseOptions(value: unknown): ProviderOptions {
  const o = obj(value, 'options');
  checkFields(o, OPTIONS, 'options.');
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

/** `POST /admin/providers/:id/test` `{"model"}`. */
export function parseProviderTest(body: unknown): { model: string } {
  const b = obj(body ?? {});
  checkFields(b, PROVIDER_TEST);
  if (typeof b.model !== 'string' || b.model.trim() === '') throw new FieldError('model', 'required, the real model name to test');
  return { model: b.model.trim() };
}

// ---- pools --------------------------------------------------------------------------------------

/**
 * `POST /admin/pools/:pool/members` `{"providerId","models":[…]}`. An entry of `models` is a model
 * name, or `{"id","contextWindow"?,"vision"?}` (as the fetched model list answers): what it gives
 * wins over what the provider's list said (null included: unknown).
 */
export function parseMembersInput(body: unknown): { providerId: number; models: NewMemberModel[] } {
  const b = obj(body);
  checkFields(b, MEMBERS);
  const providerId = Number(b.providerId);
  if (b.providerId === undefined || b.providerId === null || b.providerId === '' || !Number.isInteger(providerId) || providerId < 1) {
    throw new FieldError('providerId', 'must be the id of a provider');
  }
  if (!Array.isArray(b.models) || b.models.length === 0) throw new FieldError('models', 'must be a non-empty array of model names');
  const models: NewMemberModel[] = [];
  b.models.forEach((m: unknown, i: number) => {
    let entry: NewMemberModel;
    if (m !== null && typeof m === 'object' && !Array.isArray(m)) {
      const o = m as Record<string, unknown>;
      checkFields(o, MEMBER_MODEL, `models[${i}].`);
      entry = { id: o.id as string, ...capabilities(o, `models[${i}].`) };
      m = o.id;
    } else entry = { id: m as string };
    if (typeof m !== 'string' || m.trim() === '' || m.length > 300) throw new FieldError('models', 'every entry must be a non-empty model name (or {"id","contextWindow","vision"})');
    entry.id = m.trim();
    if (!models.some((x) => x.id === entry.id)) models.push(entry);
  });
  return { providerId, models };
}

/** `contextWindow` (tokens, or null: unknown) and `vision` (true / false, or null: unknown), each optional. */
function capabilities(b: Record<string, unknown>, prefix = ''): { contextWindow?: number | null; vision?: boolean | null } {
  const out: { contextWindow?: number | null; vision?: boolean | null } = {};
  if (b.contextWindow !== undefined) {
    if (b.contextWindow !== null && (!Number.isInteger(b.contextWindow) || (b.contextWindow as number) < 1 || (b.contextWindow as number) > MAX_CONTEXT_WINDOW)) {
      throw new FieldError(`${prefix}contextWindow`, `must be a number of tokens from 1 to ${MAX_CONTEXT_WINDOW}, or null for unknown`);
    }
    out.contextWindow = b.contextWindow as number | null;
  }
  if (b.vision !== undefined) {
    if (b.vision !== null && typeof b.vision !== 'boolean') throw new FieldError(`${prefix}vision`, 'must be true, false, or null for unknown');
    out.vision = b.vision as boolean | null;
  }
  return out;
}

/**
 * `PATCH /admin/pools/:pool` `{"affinity":"session"|"none"}`. The pool sent back as it was read
 * passes (its other fields are ignored), but one naming another pool is refused.
 */
export function parsePoolPatch(body: unknown, pool?: string): { affinity?: PoolAffinity } {
  const b = obj(body);
  checkFields(b, POOL_PATCH);
  if (pool !== undefined && b.name !== undefined && b.name !== pool) throw new FieldError('name', 'cannot be changed: a pool is named by its path (tool, normal, advanced)');
  const out: { affinity?: PoolAffinity } = {};
  if (b.affinity !== undefined) {
    if (b.affinity !== 'session' && b.affinity !== 'none') throw new FieldError('affinity', 'must be "session" (a conversation keeps its member) or "none" (every request takes its turn)');
    out.affinity = b.affinity;
  }
  return out;
}

/**
 * `PATCH /admin/pools/:pool/members/:memberId`. A member sent back as it was read passes (its
 * other fields are ignored), but one naming another member (id, pool, provider, model) is refused:
 * those cannot be changed here (remove the member and add the model instead).
 */
export function parseMemberPatch(body: unknown, current?: Record<string, unknown>): { enabled?: boolean; weight?: number; contextWindow?: number | null; vision?: boolean | null } {
  const b = obj(body);
  checkFields(b, MEMBER_PATCH);
  if (current) {
    for (const k of MEMBER_IDENTITY) {
      if (b[k] !== undefined && b[k] !== current[k]) throw new FieldError(k, 'cannot be changed: remove the member and add the model you want instead');
    }
  }
  const out: { enabled?: boolean; weight?: number; contextWindow?: number | null; vision?: boolean | null } = { ...capabilities(b) };
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

// ---- access keys --------------------------------------------------------------------------------

/** Validates a POST (partial = false) or PATCH (partial = true) body of /admin/keys. */
export function parseAccessKeyInput(body: unknown, partial: boolean, now = Date.now()): AccessKeyInput {
  const b = obj(body);
  if (b.key !== undefined) throw new FieldError('key', 'the secret cannot be set or changed: create a new key');
  checkFields(b, ACCESS_KEY);
  const out: AccessKeyInput = {};
  if (b.name !== undefined || !partial) {
    if (typeof b.name !== 'string' || b.name.trim() === '') throw new FieldError('name', 'must be a non-empty string');
    if (b.name.trim().length > 100) throw new FieldError('name', 'must be at most 100 characters');
    out.name = b.name.trim();
  }
  if (b.pools !== undefined) {
    if (!Array.isArray(b.pools) || b.pools.length === 0 || !b.pools.every((p) => typeof p === 'string' && isPoolName(p))) {
      throw new FieldError('pools', `must be a non-empty list of ${POOL_NAMES.join(', ')}`);
    }
    out.pools = POOL_NAMES.filter((p) => (b.pools as string[]).includes(p));
  } else if (!partial) {
    out.pools = [...POOL_NAMES];
  }
  for (const field of ['rpm', 'maxConcurrent'] as const) {
    const v = b[field];
    if (v === undefined) continue;
    if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000)) {
      throw new FieldError(field, 'must be an integer from 1 to 1000000, or null for no limit');
    }
    out[field] = v as number | null;
  }
  if (b.expiresAt !== undefined) {
    if (b.expiresAt === null) out.expiresAt = null;
    else {
      const t = typeof b.expiresAt === 'string' ? Date.parse(b.expiresAt) : NaN;
      if (Number.isNaN(t)) throw new FieldError('expiresAt', 'must be an ISO 8601 date-time, or null for never');
      if (!partial && t <= now) throw new FieldError('expiresAt', 'is in the past');
      out.expiresAt = t;
    }
  }
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== 'boolean') throw new FieldError('enabled', 'must be true or false');
    out.enabled = b.enabled;
  }
  return out;
}

// ---- settings -----------------------------------------------------------------------------------

const SETTING_LIMITS: Record<Exclude<keyof Settings, 'logBodies'>, [number, number]> = {
  logBodyMaxBytes: [256, 4 * 1024 * 1024],
  logRetentionCount: [100, 10_000_000],
  logRetentionDays: [1, 3650],
};

/** `PATCH /admin/settings`: the request-log settings, each optional. */
export function parseSettingsPatch(body: unknown): Partial<Settings> {
  const b = obj(body);
  checkFields(b, SETTINGS);
  const out: Partial<Settings> = {};
  if (b.logBodies !== undefined) {
    if (typeof b.logBodies !== 'boolean') throw new FieldError('logBodies', 'must be true or false');
    out.logBodies = b.logBodies;
  }
  for (const key of Object.keys(SETTING_LIMITS) as (keyof typeof SETTING_LIMITS)[]) {
    if (b[key] === undefined) continue;
    const [min, max] = SETTING_LIMITS[key];
    const v = b[key];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new FieldError(key, `must be an integer from ${min} to ${max}`);
    out[key] = v as number;
  }
  return out;
}

// ---- passwords ----------------------------------------------------------------------------------

/**
 * The `password` of a login or password-change body: undefined when the body has none (or no body
 * was sent: the caller answers "password required"); FieldError for a non-string or an unknown field.
 */
export function parsePasswordBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const b = obj(body);
  checkFields(b, PASSWORD);
  if (b.password === undefined || b.password === null || b.password === '') return undefined;
  if (typeof b.password !== 'string') throw new FieldError('password', 'must be a string');
  return b.password;
}

// ---- paths --------------------------------------------------------------------------------------

/** A positive integer path id, or null. */
export function parseId(value: unknown): number | null {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? n : null;
}
