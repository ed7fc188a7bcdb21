/**
 * The price table's schema (CONTRACT "Prices and cost"): one declaration used by `PUT /admin/prices`,
 * by the configuration importer (`prices` in a configuration document), by the UI's types and by the
 * unit test of the shipped table (`src/telemetry/prices.json`).
 *
 * - `priceSchema`: one Price, `{match, input, output, cacheRead, cacheWrite}`: `match` a model id or a
 *   glob (`*` any run of characters, `?` one; case is ignored), trimmed, 1 to 200 characters; the four
 *   prices in USD per million tokens, each a finite number ≥ 0. An unknown field is refused.
 * - `pricesListSchema`: a list of Prices in which no `match` appears twice (compared any case). Use it
 *   for a `prices` field inside another document (the configuration document).
 * - `pricesDocumentSchema`: `{"prices":[Price]}`, the body of `PUT /admin/prices`. The fields only
 *   `GET /admin/prices` answers (`shipped`, `shippedAsOf`, `shippedSource`) may be sent back and are ignored.
 * - `shippedPricesSchema`: the shipped data file: `source`, `asOf`, `notes` and `prices`.
 *
 * To replace the table from elsewhere (the configuration importer), call
 * `replacePrices(gw, prices): Promise<Price[]>` from `src/telemetry/prices.ts` (await it; the answer
 * is the table now in force): it validates `prices` with `pricesListSchema` (a `FieldError` naming the
 * first bad field, `prices[2].input`, and nothing changed), stores the table, applies it to this
 * process's cost lookup at once and tells the other replicas to read it again. A list equal to the
 * shipped table puts the gateway back on the shipped table (which then follows the shipped file of
 * later versions). `listPrices(gw)` from the same module answers the table in force.
 *
 * Like the other modules here, this one imports nothing that needs Node.
 */
import { z } from 'zod';
import { strictDoc } from './common.js';

const usdPerMillion = z
  .number({ error: (iss) => (iss.input === undefined ? 'is required (USD per million tokens)' : 'must be a number (USD per million tokens)') })
  .min(0, { error: 'must be 0 or more (USD per million tokens)' });

export const priceSchema = strictDoc(
  {
    match: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required: a model id or a glob such as deepseek-*' : 'must be a model id or a glob such as deepseek-*') })
      .trim()
      .min(1, { error: 'must be a model id or a glob such as deepseek-*' })
      .max(200, { error: 'must be at most 200 characters' }),
    input: usdPerMillion,
    output: usdPerMillion,
    cacheRead: usdPerMillion,
    cacheWrite: usdPerMillion,
  },
  { what: 'must be an object {match, input, output, cacheRead, cacheWrite}' },
);

/** One row of the price table, in USD per million tokens. */
export type Price = z.infer<typeof priceSchema>;

export const pricesListSchema = z
  .array(priceSchema, { error: (iss) => (iss.input === undefined ? 'is required: a list of {match, input, output, cacheRead, cacheWrite}' : 'must be a list of {match, input, output, cacheRead, cacheWrite}') })
  .max(2000, { error: 'at most 2000 rows' })
  .superRefine((rows, ctx) => {
    const seen = new Map<string, number>();
    rows.forEach((r, i) => {
      const key = r.match.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'match'], message: `"${r.match}" is already in row ${first}` });
      else seen.set(key, i);
    });
  });

/** Fields of `GET /admin/prices`'s answer that a PUT may send back (ignored). */
export const PRICES_ANSWER_ONLY = ['shipped', 'shippedAsOf', 'shippedSource'] as const;

export const pricesDocumentSchema = strictDoc({ prices: pricesListSchema }, { answerOnly: PRICES_ANSWER_ONLY, what: 'must be a JSON object {"prices":[…]}' });

/** The body of `PUT /admin/prices` (and the answer's core). */
export interface PricesDocument {
  prices: Price[];
}

/** The shipped data file: where the prices come from and when they were read, then the table. */
export const shippedPricesSchema = z.strictObject({
  $comment: z.string().optional(),
  source: z.array(z.string().min(1)).min(1),
  asOf: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/),
  notes: z.array(z.string()).optional(),
  prices: pricesListSchema.min(1),
});
