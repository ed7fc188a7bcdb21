/**
 * Pools and their members: `PATCH /admin/pools/:pool` (affinity), `POST /admin/pools/:pool/members`
 * (add models of a provider), `PATCH /admin/pools/:pool/members/:memberId` (weight, enabled, what
 * the model holds).
 */
import { z } from 'zod';
import { flag, says, strictDoc, withoutAnswerFields } from './common.js';

/** Largest context window the admin API takes (tokens). */
export const MAX_CONTEXT_WINDOW = 100_000_000;

export const POOL_VALUES = ['tool', 'normal', 'advanced'] as const;
export const poolNameSchema = z.enum(POOL_VALUES, says('must be tool, normal or advanced'));

/** What a pool does with conversations: keep each on its member, or rotate every request. */
export const affinitySchema = z.enum(['session', 'none'], says('must be "session" (a conversation keeps its member) or "none" (every request takes its turn)'));

/** Tokens the member's model holds; null: unknown (no limit applied). */
export const contextWindowSchema = z
  .number(says(`must be a number of tokens from 1 to ${MAX_CONTEXT_WINDOW}, or null for unknown`))
  .int({ error: `must be a number of tokens from 1 to ${MAX_CONTEXT_WINDOW}, or null for unknown` })
  .min(1, { error: `must be a number of tokens from 1 to ${MAX_CONTEXT_WINDOW}, or null for unknown` })
  .max(MAX_CONTEXT_WINDOW, { error: `must be a number of tokens from 1 to ${MAX_CONTEXT_WINDOW}, or null for unknown` })
  .nullable();

/** The model takes images; null: unknown (image requests may go to it). */
export const visionSchema = z.boolean(says('must be true, false, or null for unknown')).nullable();

/** A member's weight in its provider's turn. */
export const weightSchema = z
  .number(says('must be an integer from 1 to 1000'))
  .int({ error: 'must be an integer from 1 to 1000' })
  .min(1, { error: 'must be an integer from 1 to 1000' })
  .max(1000, { error: 'must be an integer from 1 to 1000' });

/** A real model name at a provider. */
export const modelNameSchema = z.string(says('must be a non-empty model name')).trim().min(1, { error: 'must be a non-empty model name' }).max(300, { error: 'must be at most 300 characters' });

// ---- PATCH /admin/pools/:pool ---------------------------------------------------------------------

const POOL_ANSWER_FIELDS = ['name', 'virtualModel', 'members'] as const;
const poolPatchObject = strictDoc({ affinity: affinitySchema.optional() }, { answerOnly: POOL_ANSWER_FIELDS });

/** `PATCH /admin/pools/:pool`. The pool's name may be sent back (checked by the route: it must be the path's). */
export const poolPatchSchema = poolPatchObject.transform((p) => ({ ...withoutAnswerFields(p, POOL_ANSWER_FIELDS), name: p.name }));
export type PoolPatchBody = z.input<ReturnType<typeof strictDoc<{ affinity: z.ZodOptional<typeof affinitySchema> }>>>;

// ---- POST /admin/pools/:pool/members --------------------------------------------------------------

const MODEL_ENTRY = 'every entry must be a non-empty model name (or {"id","contextWindow","vision"})';

/** One entry of `models` given as an object: the model and what it can hold (the fetched list's answer shape). */
const memberModelObject = strictDoc({ id: z.unknown().optional(), contextWindow: contextWindowSchema.optional(), vision: visionSchema.optional() });

/** A model to add, with what it holds when given (given values win over the fetched list's, null included). */
export interface NewMemberModelInput {
  id: string;
  contextWindow?: number | null;
  vision?: boolean | null;
}

/**
 * `models`: model names, or `{"id","contextWindow"?,"vision"?}` entries; repeats are dropped. An
 * entry without a usable name is refused as `models`; a bad capability names itself
 * (`models[1].contextWindow`).
 */
const membersModelsSchema = z
  .array(z.unknown(), says('must be a non-empty array of model names'))
  .min(1, { error: 'must be a non-empty array of model names' })
  .transform((entries, ctx) => {
    const out: NewMemberModelInput[] = [];
    entries.forEach((m, i) => {
      let entry: NewMemberModelInput;
      let id: unknown = m;
      if (m !== null && typeof m === 'object' && !Array.isArray(m)) {
        const parsed = memberModelObject.safeParse(m);
        if (!parsed.success) {
          for (const iss of parsed.error.issues) ctx.addIssue({ ...iss, path: [i, ...iss.path] } as never);
          return;
        }
        const { id: given, ...caps } = parsed.data;
        id = given;
        entry = { id: '', ...caps };
      } else entry = { id: '' };
      if (typeof id !== 'string' || id.trim() === '' || id.length > 300) {
        ctx.addIssue({ code: 'custom', message: MODEL_ENTRY });
        return;
      }
      entry.id = id.trim();
      if (!out.some((x) => x.id === entry.id)) out.push(entry);
    });
    return out;
  });

/** A provider id: a positive integer (a numeric string passes). */
const providerIdSchema = z
  .union([z.number(), z.string()], says('must be the id of a provider'))
  .transform((v, ctx) => {
    const n = Number(v);
    if (v === '' || !Number.isInteger(n) || n < 1) {
      ctx.addIssue({ code: 'custom', message: 'must be the id of a provider' });
      return z.NEVER;
    }
    return n;
  });

/** `POST /admin/pools/:pool/members` `{"providerId","models":[…]}`. */
export const membersAddSchema = strictDoc({ providerId: providerIdSchema, models: membersModelsSchema });
export type MembersAddBody = z.input<typeof membersAddSchema>;

// ---- PATCH /admin/pools/:pool/members/:memberId ---------------------------------------------------

/** Member fields that name which member it is: sent back, they must be the member's own (checked by validate.ts). */
export const MEMBER_IDENTITY = ['id', 'pool', 'providerId', 'model'] as const;
const MEMBER_ANSWER_FIELDS = [...MEMBER_IDENTITY, 'providerName', 'providerFormat', 'state', 'cooldownUntil', 'lastError', 'failures', 'cooldownKind', 'probing'] as const;

/** What a member's PATCH may change. */
export const memberSettableFields = {
  enabled: flag().optional(),
  weight: weightSchema.optional(),
  contextWindow: contextWindowSchema.optional(),
  vision: visionSchema.optional(),
};

const memberPatchObject = strictDoc(memberSettableFields, { answerOnly: MEMBER_ANSWER_FIELDS });

/** `PATCH /admin/pools/:pool/members/:memberId`; the identity fields sent back come out as `identity`. */
export const memberPatchSchema = memberPatchObject.transform((m) => ({
  patch: withoutAnswerFields(m, MEMBER_ANSWER_FIELDS),
  identity: Object.fromEntries(MEMBER_IDENTITY.filter((k) => m[k] !== undefined).map((k) => [k, m[k]])) as Record<string, unknown>,
}));
export type MemberPatchBody = z.input<ReturnType<typeof strictDoc<typeof memberSettableFields>>>;
export type MemberPatch = z.output<typeof memberPatchSchema>['patch'];
