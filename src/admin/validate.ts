/**
 * Every admin request body is parsed here with its schema (one zod module per document under
 * `schema/`): typed input, or a FieldError (answered 400 naming the first bad field). A field a
 * schema does not know is refused (400 "unknown field …", with the likely meant field when one is
 * close), never ignored: a misspelt setting must not answer 200 and change nothing. Fields that only
 * appear in answers (ids, masks, times, counters) may be sent back and are ignored.
 */
import type { Format } from '../protocol/formats.js';
import type { ProviderOptions } from '../protocol/convert/types.js';
import type { AccessKeyInput } from '../access/keys.js';
import type { Settings } from '../telemetry/settings.js';
import type { NewMemberModel, PoolAffinity } from '../store/repo.js';
import { FieldError, parseWith } from './schema/common.js';
import { providerCreateSchema, providerOptionsSchema, providerPatchSchema, type ProviderOptionsValue } from './schema/provider.js';
import { MEMBER_IDENTITY, membersAddSchema, memberPatchSchema, poolPatchSchema } from './schema/pools.js';
import { accessKeyCreateSchema, accessKeyPatchSchema } from './schema/access-key.js';
import { settingsPatchSchema, type SettingsValue } from './schema/settings.js';
import { passwordBodySchema } from './schema/auth.js';
import { providerTestSchema } from './schema/provider-test.js';

export { FieldError, suggestField, nameKey } from './schema/common.js';
export { MAX_CONTEXT_WINDOW } from './schema/pools.js';

// The schemas and the types the rest of the gateway uses name the same fields: a compile error here
// means one of them gained a field the other lacks (add it to both).
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const schemasAgree: [SameKeys<ProviderOptionsValue, ProviderOptions>, SameKeys<SettingsValue, Settings>] = [true, true];
void schemasAgree;

/** A body of another content type arrives as bytes (server.ts): not a document of ours. */
function jsonBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) throw new FieldError('body', 'must be a JSON object, sent with Content-Type: application/json');
  return body;
}

// ---- providers ----------------------------------------------------------------------------------

export interface ProviderInput {
  name?: string;
  baseUrl?: string;
  apiKey?: string;
  /** Several keys, taken in turn (CONTRACT "Provider keys"); never sent together with apiKey. */
  apiKeys?: string[];
  format?: Format;
  enabled?: boolean;
  cooldownSeconds?: number | null;
  /** A key set to null goes back to its default. */
  options?: ProviderOptions;
}

/** Validates a provider body; `partial` for PATCH (every field optional). */
export function parseProviderInput(body: unknown, partial: boolean): ProviderInput {
  return parseWith(partial ? providerPatchSchema : providerCreateSchema, jsonBody(body)) as ProviderInput;
}

/** A provider's `options` (null for a key: back to its default). */
export function parseOptions(value: unknown): ProviderOptions {
  return parseWith(providerOptionsSchema, value, 'options', ['options']) as ProviderOptions;
}

/** `POST /admin/providers/:id/test` `{"model"}`. */
export function parseProviderTest(body: unknown): { model: string } {
  return parseWith(providerTestSchema, jsonBody(body ?? {}));
}

// ---- pools --------------------------------------------------------------------------------------

/**
 * `POST /admin/pools/:pool/members` `{"providerId","models":[…]}`. An entry of `models` is a model
 * name, or `{"id","contextWindow"?,"vision"?}` (as the fetched model list answers): what it gives
 * wins over what the provider's list said (null included: unknown).
 */
export function parseMembersInput(body: unknown): { providerId: number; models: NewMemberModel[] } {
  return parseWith(membersAddSchema, jsonBody(body));
}

/**
 * `PATCH /admin/pools/:pool` `{"affinity":"session"|"none"}`. The pool sent back as it was read
 * passes (its other fields are ignored), but one naming another pool is refused.
 */
export function parsePoolPatch(body: unknown, pool?: string): { affinity?: PoolAffinity } {
  const { name, ...patch } = parseWith(poolPatchSchema, jsonBody(body));
  if (pool !== undefined && name !== undefined && name !== pool) throw new FieldError('name', 'cannot be changed: a pool is named by its path (tool, normal, advanced)');
  return patch;
}

/**
 * `PATCH /admin/pools/:pool/members/:memberId`. A member sent back as it was read passes (its
 * other fields are ignored), but one naming another member (id, pool, provider, model) is refused:
 * those cannot be changed here (remove the member and add the model instead).
 */
export function parseMemberPatch(body: unknown, current?: Record<string, unknown>): { enabled?: boolean; weight?: number; contextWindow?: number | null; vision?: boolean | null } {
  const { patch, identity } = parseWith(memberPatchSchema, jsonBody(body));
  if (current) {
    for (const k of MEMBER_IDENTITY) {
      if (identity[k] !== undefined && identity[k] !== current[k]) throw new FieldError(k, 'cannot be changed: remove the member and add the model you want instead');
    }
  }
  return patch;
}

// ---- access keys --------------------------------------------------------------------------------

/** Validates a POST (partial = false) or PATCH (partial = true) body of /admin/keys. */
export function parseAccessKeyInput(body: unknown, partial: boolean, now = Date.now()): AccessKeyInput {
  const b = jsonBody(body);
  if (b !== null && typeof b === 'object' && !Array.isArray(b) && (b as Record<string, unknown>).key !== undefined) {
    throw new FieldError('key', 'the secret cannot be set or changed: create a new key');
  }
  if (partial) return parseWith(accessKeyPatchSchema, b);
  const out = parseWith(accessKeyCreateSchema, b);
  if (out.expiresAt !== undefined && out.expiresAt !== null && out.expiresAt <= now) throw new FieldError('expiresAt', 'is in the past');
  return { ...out, pools: out.pools ?? ['tool', 'normal', 'advanced'] };
}

// ---- settings -----------------------------------------------------------------------------------

/** `PATCH /admin/settings`: the request-log settings, each optional. */
export function parseSettingsPatch(body: unknown): Partial<Settings> {
  return parseWith(settingsPatchSchema, jsonBody(body));
}

// ---- passwords ----------------------------------------------------------------------------------

/**
 * The `password` of a login or password-change body: undefined when the body has none (or no body
 * was sent: the caller answers "password required"); FieldError for a non-string or an unknown field.
 */
export function parsePasswordBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const { password } = parseWith(passwordBodySchema, jsonBody(body));
  return password === undefined || password === null || password === '' ? undefined : password;
}

// ---- paths --------------------------------------------------------------------------------------

/** A positive integer path id, or null. */
export function parseId(value: unknown): number | null {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? n : null;
}
