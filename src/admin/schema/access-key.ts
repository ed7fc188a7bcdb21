/**
 * A client access key: `POST /admin/keys` (create) and `PATCH /admin/keys/:id` (any field but the
 * secret), and the entries of a configuration document's `accessKeys`.
 */
import { z } from 'zod';
import { flag, nameSchema, says, strictDoc, withoutAnswerFields } from './common.js';
import { POOL_VALUES } from './pools.js';

const POOLS_MESSAGE = `must be a non-empty list of ${POOL_VALUES.join(', ')}`;
const poolsSchema = z
  .array(z.unknown(), says(POOLS_MESSAGE))
  .min(1, { error: POOLS_MESSAGE })
  .transform((pools, ctx) => {
    if (!pools.every((p) => (POOL_VALUES as readonly unknown[]).includes(p))) ctx.addIssue({ code: 'custom', message: POOLS_MESSAGE });
    // in the contract's order, each once
    return POOL_VALUES.filter((p) => pools.includes(p));
  });

const limitSchema = z
  .number(says('must be an integer from 1 to 1000000, or null for no limit'))
  .int({ error: 'must be an integer from 1 to 1000000, or null for no limit' })
  .min(1, { error: 'must be an integer from 1 to 1000000, or null for no limit' })
  .max(1_000_000, { error: 'must be an integer from 1 to 1000000, or null for no limit' })
  .nullable();

/** An ISO 8601 date-time → milliseconds since the epoch; null: never. */
const expiresAtSchema = z
  .string(says('must be an ISO 8601 date-time, or null for never'))
  .transform((s, ctx) => {
    const t = Date.parse(s);
    if (Number.isNaN(t)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date-time, or null for never' });
      return z.NEVER;
    }
    return t;
  })
  .nullable();

/** Every field an access key takes (the secret is never one: it is made by the gateway). */
export const accessKeyFields = {
  name: nameSchema,
  /** The pools the key may use; default all three. */
  pools: poolsSchema.optional(),
  /** Requests per rolling minute; null: no limit. */
  rpm: limitSchema.optional(),
  /** Requests at the same time; null: no limit. */
  maxConcurrent: limitSchema.optional(),
  /** When the key stops working (ISO 8601); null: never. */
  expiresAt: expiresAtSchema.optional(),
  enabled: flag().optional(),
};

export const ACCESS_KEY_ANSWER_FIELDS = ['id', 'keyMasked', 'createdAt', 'lastUsedAt', 'usage'] as const;

/** `POST /admin/keys` (the past-expiry check needs the time: validate.ts). */
export const accessKeyCreateSchema = strictDoc(accessKeyFields, { answerOnly: ACCESS_KEY_ANSWER_FIELDS })
  .transform((k) => withoutAnswerFields(k, ACCESS_KEY_ANSWER_FIELDS));

const { name, ...rest } = accessKeyFields;
const accessKeyPatchFields = { name: name.optional(), ...rest };

/** `PATCH /admin/keys/:id`. */
export const accessKeyPatchSchema = strictDoc(accessKeyPatchFields, { answerOnly: ACCESS_KEY_ANSWER_FIELDS })
  .transform((k) => withoutAnswerFields(k, ACCESS_KEY_ANSWER_FIELDS));

type PoolsTyped<T> = Omit<T, 'pools'> & { pools?: (typeof POOL_VALUES)[number][] };
export type AccessKeyCreateBody = PoolsTyped<z.input<ReturnType<typeof strictDoc<typeof accessKeyFields>>>>;
export type AccessKeyPatchBody = PoolsTyped<z.input<ReturnType<typeof strictDoc<typeof accessKeyPatchFields>>>>;
/** An access key body once parsed: `expiresAt` in milliseconds. */
export type AccessKeyParsed = z.output<typeof accessKeyPatchSchema>;
