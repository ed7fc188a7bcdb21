/**
 * A provider: `POST /admin/providers` (create), `PATCH /admin/providers/:id` (any field), and the
 * entries of a configuration document's `providers`. Its `options` shape converted requests.
 */
import { z } from 'zod';
import { isHttpUrl, normalizeBaseUrl } from '../../upstream/url.js';
import { flag, nameSchema, says, strictDoc, withoutAnswerFields } from './common.js';

export const FORMAT_VALUES = ['openai', 'anthropic'] as const;

/** The wire format a provider speaks. */
export const formatSchema = z.enum(FORMAT_VALUES, says('must be "openai" or "anthropic"'));

/**
 * A provider's `options`: per-provider knobs that shape a converted request (see ProviderOptions in
 * protocol/convert/types.ts for what each does). A key set to null goes back to its default.
 */
export const providerOptionsSchema = strictDoc({
  /** OpenAI format: which field carries the output-token limit. Default max_tokens. */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens'], says('must be "max_tokens" or "max_completion_tokens"')).nullable().optional(),
  /** Cap on the output-token limit sent upstream (e.g. 8192 for DeepSeek); null: none. */
  maxTokensCap: z.number(says('must be a positive integer or null')).int({ error: 'must be a positive integer or null' }).min(1, { error: 'must be a positive integer or null' }).nullable().optional(),
  /** Anthropic format: how reasoning_effort becomes `thinking`; null: by model (adaptive for Claude ≥ 4.6, else budget). */
  thinkingStyle: z.enum(['adaptive', 'budget'], says('must be "adaptive", "budget" or null')).nullable().optional(),
  /** OpenAI format: send stream_options.include_usage. Default true. */
  streamOptions: flag().nullable().optional(),
  /** Strip the fields a partial clone rejects. Default false. */
  stripUnsupported: flag().nullable().optional(),
  /** The provider takes reasoning_effort / thinking. Default true. */
  reasoning: flag().nullable().optional(),
  /** OpenAI format: send earlier thinking back as reasoning_content (DeepSeek thinking mode with tools). Default false. */
  reasoningContent: flag().nullable().optional(),
});

/** Options as sent: a key set to null goes back to its default. */
export type ProviderOptionsInput = z.input<typeof providerOptionsSchema>;
/** Options as stored and answered (never null). */
export type ProviderOptionsValue = { [K in keyof ProviderOptionsInput]?: Exclude<ProviderOptionsInput[K], null> };

const baseUrlSchema = z
  .string(says('must be an http:// or https:// URL'))
  .trim()
  .superRefine((url, ctx) => {
    if (!isHttpUrl(url)) {
      ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
      return;
    }
    const u = new URL(url);
    // Never sent (requests go to the URL's origin and path): refused rather than silently dropped.
    if (u.username !== '' || u.password !== '') ctx.addIssue({ code: 'custom', message: 'must not contain a user name or password: put the key in apiKey' });
  })
  .transform((url) => normalizeBaseUrl(url));

/** One provider key, as sent (trimmed when kept). */
const apiKeySchema = z
  .string(says('must be a string'))
  .max(8192, { error: 'is too long' })
  .refine((k) => !/[\r\n]/.test(k), { error: 'must not contain line breaks' })
  .transform((k) => k.trim());

/** Several keys, taken in turn (CONTRACT "Provider keys"): blank entries and repeats are dropped. */
const apiKeysSchema = z
  .array(apiKeySchema, says('must be a list of keys (strings)'))
  .max(100, { error: 'at most 100 keys' })
  .transform((keys) => [...new Set(keys.filter((k) => k !== ''))]);

const cooldownSchema = z
  .number(says('must be a number of seconds from 0 to 604800, or null for the default'))
  .min(0, { error: 'must be a number of seconds from 0 to 604800, or null for the default' })
  .max(7 * 86400, { error: 'must be a number of seconds from 0 to 604800, or null for the default' })
  .nullable();

/** Every field a provider takes; `name`, `baseUrl` and `format` are required to create one. */
export const providerFields = {
  name: nameSchema,
  baseUrl: baseUrlSchema,
  /** One key (`""`: none). */
  apiKey: apiKeySchema.optional(),
  /** Several keys, taken in turn; `apiKey` still sets one. Send one of the two. */
  apiKeys: apiKeysSchema.optional(),
  format: formatSchema,
  enabled: flag().optional(),
  /** Seconds a failed member is skipped; null: DEFAULT_COOLDOWN_SECONDS. */
  cooldownSeconds: cooldownSchema.optional(),
  options: providerOptionsSchema.optional(),
};

/** Fields of a provider's answer that may be sent back (ignored). */
export const PROVIDER_ANSWER_FIELDS = ['id', 'apiKeyMasked', 'apiKeysMasked', 'keys', 'createdAt', 'memberCount', 'cooldownIsDefault'] as const;

/** apiKey and apiKeys together would be two answers to one question. */
export function oneKeyField(p: { apiKey?: string; apiKeys?: string[] }, ctx: z.RefinementCtx): void {
  if (p.apiKey !== undefined && p.apiKeys !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['apiKeys'], message: 'send either apiKey (one key) or apiKeys (several), not both' });
  }
}

const { name, baseUrl, format, ...optionalFields } = providerFields;
const partialFields = { name: name.optional(), baseUrl: baseUrl.optional(), format: format.optional(), ...optionalFields };

/** `POST /admin/providers`. */
export const providerCreateSchema = strictDoc(providerFields, { answerOnly: PROVIDER_ANSWER_FIELDS, what: 'must be an object' })
  .superRefine(oneKeyField)
  .transform((p) => withoutAnswerFields(p, PROVIDER_ANSWER_FIELDS));

/** `PATCH /admin/providers/:id`: any field. */
export const providerPatchSchema = strictDoc(partialFields, { answerOnly: PROVIDER_ANSWER_FIELDS })
  .superRefine(oneKeyField)
  .transform((p) => withoutAnswerFields(p, PROVIDER_ANSWER_FIELDS));

/** What the UI may send to create a provider. */
export type ProviderCreateBody = z.input<ReturnType<typeof strictDoc<typeof providerFields>>>;
/** What the UI may send to change one (every field optional). */
export type ProviderPatchBody = z.input<ReturnType<typeof strictDoc<typeof partialFields>>>;
/** A provider body once parsed (PATCH form: every field optional). `apiKeys`: the keys to keep, in turn. */
export type ProviderInput = z.output<typeof providerPatchSchema>;
