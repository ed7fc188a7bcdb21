/**
 * The price table (CONTRACT "Prices and cost") and what a request cost.
 *
 * The table ships as data (`prices.json` beside this file, emitted into dist/ by tsc) and lives in
 * the `prices` table. Until an admin sets it (`PUT /admin/prices`, a configuration import), the
 * stored table is the shipped one, rewritten from the file at every start, so a newer gateway
 * brings newer prices; once set, it is kept as set (the `settings` row `prices` says so) until it
 * is set back to the shipped list (`POST /admin/prices/reset`, or a PUT of that very list).
 *
 * Cost is computed in memory when a request's record is written (Telemetry.record): the price of
 * a model is looked up once and cached (exact id first, then the most specific glob; the part
 * after the last `/` of a model named with a vendor prefix next), and the cache is dropped when
 * the table changes. Amounts are integers of 10⁻¹² USD (a token at a price with six decimals per
 * million is a whole number of them), so that a row's cost and every sum of costs are the exact
 * decimal figure; they become USD only when answered or stored.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Gateway } from '../gateway.js';
import { toFieldError } from '../admin/schema/common.js';
import { pricesDocumentSchema, shippedPricesSchema, type Price } from '../admin/schema/prices.js';
import shippedFile from './prices.json' with { type: 'json' };
import type { Usage } from './record.js';

export type { Price } from '../admin/schema/prices.js';

/** The shipped table: where it comes from, when, and the rows. Checked when this module loads. */
export const SHIPPED_PRICES = shippedPricesSchema.parse(shippedFile);

/** 10⁻¹² USD per USD: amounts are kept as integers of this unit. */
export const PICO = 1e12;
/** USD of an integer amount of 10⁻¹² USD (the exact decimal, as a double can hold it). */
export const usd = (pico: number): number => pico / PICO;
/** The integer amount of 10⁻¹² USD of a stored USD figure. */
export const pico = (usdAmount: number): number => Math.round(usdAmount * PICO);

/** What one request cost, in 10⁻¹² USD; null: no price matched its model. */
export interface CostPico {
  cost: number;
  /** What the cache reads would have cost at the input price, minus what they cost. */
  cacheSavings: number;
}

/** A price per token in 10⁻¹² USD (a price per million tokens with at most six decimals is exact). */
interface Compiled {
  price: Price;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

interface Glob {
  re: RegExp;
  /** Characters other than wildcards: the more, the more specific. */
  literal: number;
  wildcards: number;
  index: number;
  c: Compiled;
}

const SETTING_KEY = 'prices';
const CACHE_LIMIT = 10_000;

function compile(p: Price): Compiled {
  const per = (x: number) => Math.round(x * 1e6);
  return { price: p, input: per(p.input), output: per(p.output), cacheRead: per(p.cacheRead), cacheWrite: per(p.cacheWrite) };
}

const isGlob = (match: string) => /[*?]/.test(match);

function globRegExp(match: string): RegExp {
  const body = match.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'is');
}

/** The same table (order included), compared field by field. */
export function samePrices(a: readonly Price[], b: readonly Price[]): boolean {
  return a.length === b.length && a.every((p, i) => {
    const q = b[i]!;
    return p.match === q.match && p.input === q.input && p.output === q.output && p.cacheRead === q.cacheRead && p.cacheWrite === q.cacheWrite;
  });
}

/** The price table in memory, with the lookup of a model's price and the cost of a request. */
export class PriceBook {
  private rows: Price[] = [];
  private exact = new Map<string, Compiled>();
  private globs: Glob[] = [];
  /** model id (lower case) → its price, or null: looked up once, dropped when the table changes. */
  private readonly cache = new Map<string, Compiled | null>();
  /** The table in force is the shipped one (never set by an admin, or set back to it). */
  shipped = true;
  /** Bumped on every change (the admin API and tests read it). */
  version = 0;
  /** Bumped before and after each write made here: a read of the stored table that overlapped one is stale. */
  writes = 0;
  /** Writes made here, one at a time. */
  queue: Promise<unknown> = Promise.resolve();

  constructor(prices: readonly Price[] = SHIPPED_PRICES.prices) {
    this.set(prices, true);
  }

  /** The table in force, in its order. */
  list(): Price[] {
    return this.rows.map((p) => ({ ...p }));
  }

  /** Replaces the table in memory (the cache of looked-up models with it). */
  set(prices: readonly Price[], shipped: boolean): void {
    this.shipped = shipped;
    if (samePrices(prices, this.rows) && this.version > 0) return;
    this.rows = prices.map((p) => ({ ...p }));
    this.exact = new Map();
    this.globs = [];
    this.rows.forEach((p, index) => {
      const c = compile(p);
      const key = p.match.toLowerCase();
      if (!isGlob(p.match)) {
        if (!this.exact.has(key)) this.exact.set(key, c);
        return;
      }
      const wildcards = (p.match.match(/[*?]/g) ?? []).length;
      this.globs.push({ re: globRegExp(p.match), literal: p.match.length - wildcards, wildcards, index, c });
    });
    // Most specific first: more literal characters, then fewer wildcards, then the table's order.
    this.globs.sort((a, b) => b.literal - a.literal || a.wildcards - b.wildcards || a.index - b.index);
    this.cache.clear();
    this.version++;
  }

  /** The price of a model: exact id first, then the most specific glob; then the same for the id after its last `/`. */
  lookup(model: string): Price | null {
    return this.find(model)?.price ?? null;
  }

  private find(model: string): Compiled | null {
    const key = model.toLowerCase();
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let found = this.match(key);
    const slash = key.lastIndexOf('/');
    if (!found && slash >= 0 && slash < key.length - 1) found = this.match(key.slice(slash + 1));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, found);
    return found;
  }

  private match(key: string): Compiled | null {
    const exact = this.exact.get(key);
    if (exact) return exact;
    for (const g of this.globs) if (g.re.test(key)) return g.c;
    return null;
  }

  /**
   * What a request cost: (input × input price + output × output price + cache reads × cacheRead
   * price + cache writes × cacheWrite price) / 10⁶, priced by `model` (the upstream's real model,
   * else the requested one). Null when no price matches.
   */
  cost(model: string | null, usage: Usage): CostPico | null {
    if (!model) return null;
    const c = this.find(model);
    if (!c) return null;
    return {
      cost: usage.inputTokens * c.input + usage.outputTokens * c.output + usage.cacheReadTokens * c.cacheRead + usage.cacheCreationTokens * c.cacheWrite,
      cacheSavings: usage.cacheReadTokens * (c.input - c.cacheRead),
    };
  }
}

// ---- storage ------------------------------------------------------------------------------------

async function readStored(db: Kysely<Database>): Promise<{ prices: Price[]; edited: boolean }> {
  const [rows, marker] = await Promise.all([
    db.selectFrom('prices').selectAll().orderBy('position').execute(),
    db.selectFrom('settings').select('value').where('key', '=', SETTING_KEY).executeTakeFirst(),
  ]);
  let edited = false;
  try {
    edited = marker !== undefined && JSON.parse(marker.value)?.edited === true;
  } catch { /* a broken marker: not edited */ }
  const prices = rows.map((r) => ({ match: r.match, input: Number(r.input), output: Number(r.output), cacheRead: Number(r.cache_read), cacheWrite: Number(r.cache_write) }));
  return { prices, edited };
}

/** Stores a table (one transaction): the rows, and whether an admin set it (false: the shipped table). */
async function store(db: Kysely<Database>, prices: readonly Price[], edited: boolean): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('prices').execute();
    for (let i = 0; i < prices.length; i += 200) {
      const chunk = prices.slice(i, i + 200).map((p, j) => ({ position: i + j, match: p.match, input: p.input, output: p.output, cache_read: p.cacheRead, cache_write: p.cacheWrite }));
      await tx.insertInto('prices').values(chunk).execute();
    }
    if (edited) {
      const value = JSON.stringify({ edited: true, at: Date.now() });
      await tx.insertInto('settings').values({ key: SETTING_KEY, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
    } else {
      await tx.deleteFrom('settings').where('key', '=', SETTING_KEY).execute();
    }
  });
}

/**
 * At start: a table never set by an admin is (re)written from the shipped file, so it follows the
 * gateway's version; a table an admin set is loaded as it is.
 */
export async function initPrices(db: Kysely<Database>, book: PriceBook): Promise<void> {
  const stored = await readStored(db);
  if (stored.edited) {
    book.set(stored.prices, false);
    return;
  }
  if (!samePrices(stored.prices, SHIPPED_PRICES.prices)) {
    // Two replicas starting together may both seed it: the one that loses has nothing to add.
    // (A write that lost such a race is tried once more, on the winner's committed rows.)
    await store(db, SHIPPED_PRICES.prices, false).catch(async () => {
      const now = await readStored(db);
      if (!now.edited && !samePrices(now.prices, SHIPPED_PRICES.prices)) await store(db, SHIPPED_PRICES.prices, false);
    });
  }
  book.set(SHIPPED_PRICES.prices, true);
}

/** Reads the stored table again (another replica may have changed it). */
export async function reloadPrices(db: Kysely<Database>, book: PriceBook): Promise<void> {
  const writes = book.writes;
  const stored = await readStored(db);
  // A write made here while this read ran is newer than what it read.
  if (book.writes !== writes) return;
  // Not set and nothing stored yet (another replica seeding it right now): the shipped table.
  if (!stored.edited && stored.prices.length === 0) book.set(SHIPPED_PRICES.prices, true);
  else book.set(stored.prices, !stored.edited);
}

/** The table in force on this process. */
export function listPrices(gw: Gateway): Price[] {
  return gw.telemetry.prices.list();
}

/**
 * Replaces the price table: checks `prices` (FieldError naming the first bad field; nothing
 * changed), stores it, applies it here at once and tells the other replicas to read it again.
 * A list equal to the shipped table makes the gateway follow the shipped file again.
 */
export async function replacePrices(gw: Gateway, prices: unknown): Promise<Price[]> {
  const parsed = pricesDocumentSchema.safeParse({ prices });
  if (!parsed.success) throw toFieldError(parsed.error);
  const list = parsed.data.prices;
  const shipped = samePrices(list, SHIPPED_PRICES.prices);
  const book = gw.telemetry.prices;
  const write = async () => {
    book.writes++;
    try {
      await store(gw.db.kysely, list, !shipped);
      book.set(list, shipped);
    } finally {
      book.writes++;
    }
  };
  const done = book.queue.then(write, write);
  book.queue = done.catch(() => {});
  await done;
  void gw.cluster?.publish({ type: 'reload' });
  return gw.telemetry.prices.list();
}

/** Back to the shipped table (and following the shipped file again). */
export async function resetPrices(gw: Gateway): Promise<Price[]> {
  return replacePrices(gw, SHIPPED_PRICES.prices);
}
