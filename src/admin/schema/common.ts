/**
 * What every admin document's schema shares (zod): the 400 it becomes (`FieldError`, naming the
 * first bad field), objects that refuse a field they do not know ("unknown field x: did you mean
 * y?") and take back the fields only answers carry (ids, masks, times: ignored), and the parse
 * that turns zod's issues into that one FieldError.
 *
 * The modules beside this one declare one document each; the UI takes its request types from them
 * (type-only imports in web/src/api/types.ts), so these files import nothing that needs Node.
 */
import { z } from 'zod';

/** A bad field in an admin request: becomes a 400 naming the field. */
export class FieldError extends Error {
  /** `whole`: `message` is the whole message (otherwise it is put after "field: "). */
  constructor(readonly field: string, message: string, whole = false) {
    super(whole ? message : `${field}: ${message}`);
  }
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

/**
 * A schema's message for a value it refuses: `message`, or "is required" when the field is
 * missing. Use as the schema's params: `z.boolean(says('must be true or false'))`.
 */
export function says(message: string) {
  return { error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is required' : message) };
}

/**
 * The message of an unknown-field issue carries the object's known fields to `toFieldError`, which
 * writes the real message once the full path is known.
 */
const UNKNOWN = '\u0000unknown-field\u0000';

/** A field that only answers carry (an id, a mask, a time): taken back and ignored. */
const ANSWER_ONLY = z.unknown();

type AnswerShape<K extends string> = { [P in K]: z.ZodOptional<typeof ANSWER_ONLY> };

/**
 * An object of exactly these fields: another field is refused ("unknown field …", suggesting the
 * field probably meant); `answerOnly` fields may be present and are dropped from the result.
 * `what`: how the object is named when the value is not an object at all.
 */
export function strictDoc<S extends z.ZodRawShape, K extends string = never>(shape: S, opts: { answerOnly?: readonly K[]; what?: string } = {}) {
  const answerOnly = opts.answerOnly ?? [];
  const known = Object.keys(shape);
  const extra = Object.fromEntries(answerOnly.map((k) => [k, ANSWER_ONLY.optional()])) as AnswerShape<K>;
  return z.strictObject({ ...shape, ...extra }, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return UNKNOWN + JSON.stringify(known);
      return iss.input === undefined ? 'is required' : (opts.what ?? 'must be an object');
    },
  });
}

/** Drops the answer-only fields a `strictDoc` took back. */
export function withoutAnswerFields<T extends object, K extends string>(value: T, answerOnly: readonly K[]): Omit<T, K> {
  const out = { ...value } as Record<string, unknown>;
  for (const k of answerOnly) delete out[k];
  return out as Omit<T, K>;
}

/** `prices[2].input`, `options.reasoning`, `models[0].contextWindow`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

type Issue = z.core.$ZodIssue;

/**
 * The one issue a 400 names: an unknown field first (the likeliest cause of the rest, and what the
 * hand-written checks said first), the shallowest one; else the first issue. Inside a union that
 * no branch took, the branch that got furthest (past its own type check) speaks.
 */
function pickIssue(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): { issue: Issue; path: PropertyKey[] } {
  const unknown = issues.filter((i) => i.code === 'unrecognized_keys').sort((a, b) => a.path.length - b.path.length)[0];
  const issue = (unknown ?? issues[0]!) as Issue;
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && !issue.message.startsWith(UNKNOWN)) {
    const branch = issue.errors.find((errs) => errs.length > 0 && !(errs[0]!.code === 'invalid_type' && errs[0]!.path.length === 0));
    if (branch) return pickIssue(branch, path);
  }
  return { issue, path };
}

/**
 * The FieldError of a failed parse. `root`: what the whole value is called when it is itself the
 * bad field (`body`); `prefix`: where the parsed value sits in a larger document (`options`).
 */
export function toFieldError(error: z.ZodError, root = 'body', prefix: readonly PropertyKey[] = []): FieldError {
  const { issue, path } = pickIssue(error.issues, prefix);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const field = fieldPath([...path, key]);
    const at = path.length ? `${fieldPath(path)}.` : '';
    let known: string[] = [];
    if (issue.message.startsWith(UNKNOWN)) {
      try { known = JSON.parse(issue.message.slice(UNKNOWN.length)); } catch { /* none */ }
    }
    const hint = suggestField(key, known);
    const list = known.length ? ` (known fields: ${known.map((k) => at + k).join(', ')})` : '';
    return new FieldError(field, `unknown field ${field}${hint ? `: did you mean ${at}${hint}?` : ''}${list}`, true);
  }
  const field = fieldPath(path) || root;
  let message = issue.message;
  // Some schemas (the price table's) write their messages as "field: …": the full path replaces that name.
  const leaf = path[path.length - 1];
  if (typeof leaf === 'string' && message.startsWith(`${leaf}: `)) message = message.slice(leaf.length + 2);
  if (path.length === 0 && message === 'must be an object') message = `must be a ${root === 'body' ? 'JSON ' : ''}object`;
  return new FieldError(field, message);
}

/** Parses `value` with `schema`: the result, or a FieldError naming the first bad field (see toFieldError). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, root = 'body', prefix: readonly PropertyKey[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw toFieldError(r.error, root, prefix);
  return r.data;
}

/** A name (of a provider, an access key): trimmed, 1 to 100 characters. */
export const nameSchema = z
  .string(says('must be a non-empty string'))
  .trim()
  .min(1, { error: 'must be a non-empty string' })
  .max(100, { error: 'must be at most 100 characters' });

/** A name as names are compared (a duplicate is refused): trimmed, case-insensitive. */
export function nameKey(name: string): string {
  return name.trim().toLowerCase();
}

/** true / false. */
export const flag = () => z.boolean(says('must be true or false'));
