import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { usd } from './prices.js';

const DAY_MS = 86_400_000;
/** Finished days change only by retention: read again after this long. */
const PAST_TTL_MS = 10 * 60_000;

/** One day of the request log: its requests, tokens and cost (CONTRACT "Prices and cost": "by day"). */
export interface DayTotals {
  /** The day, `YYYY-MM-DD`, in the time zone of the offset asked for (UTC by default). */
  day: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
  cacheSavingsUsd: number;
  /** Requests with tokens and no price for their model (rows logged before costs were kept, too). */
  unpricedRequests: number;
}

interface RawDay {
  d: number;
  requests: number;
  errors: number;
  input: number;
  output: number;
  cache_read: number;
  cache_creation: number;
  cost: number | null;
  savings: number | null;
  unpriced: number;
}

/**
 * Totals per day, read from the request log (so they cover every replica and outlive a restart,
 * unlike the in-memory minute stats). The days before today are read once and kept for ten
 * minutes; today is read at every call (one range scan on the `ts` index).
 */
export class DailyTotals {
  private past = new Map<string, { at: number; firstDay: number; today: number; days: DayTotals[] }>();

  constructor(private readonly db: Kysely<Database>) {}

  /** The last `days` days (today included), oldest first, only days with requests. `offsetMinutes`: east of UTC. */
  async get(days: number, offsetMinutes: number, now = Date.now()): Promise<DayTotals[]> {
    const off = offsetMinutes * 60_000;
    const today = Math.floor((now + off) / DAY_MS);
    const firstDay = today - days + 1;
    const key = `${days}:${offsetMinutes}`;
    let past = this.past.get(key);
    if (!past || past.today !== today || now - past.at > PAST_TTL_MS) {
      past = { at: now, firstDay, today, days: await this.read(firstDay * DAY_MS - off, today * DAY_MS - off, off) };
      this.past.set(key, past);
    }
    const current = await this.read(today * DAY_MS - off, null, off);
    return [...past.days, ...current];
  }

  private async read(since: number, before: number | null, off: number): Promise<DayTotals[]> {
    // Sums of costs as integers of 10⁻¹² USD: exact, whatever the number of rows.
    let q = this.db
      .selectFrom('request_logs')
      .select([
        sql<number>`(ts + ${sql.lit(off)}) / ${sql.lit(DAY_MS)}`.as('d'),
        sql<number>`count(*)`.as('requests'),
        sql<number>`sum(case when status >= 400 then 1 else 0 end)`.as('errors'),
        sql<number>`sum(input_tokens)`.as('input'),
        sql<number>`sum(output_tokens)`.as('output'),
        sql<number>`sum(cache_read_tokens)`.as('cache_read'),
        sql<number>`sum(cache_creation_tokens)`.as('cache_creation'),
        sql<number | null>`sum(round(cost_usd * 1000000000000))`.as('cost'),
        sql<number | null>`sum(round(cache_savings_usd * 1000000000000))`.as('savings'),
        sql<number>`sum(case when cost_usd is null and input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens > 0 then 1 else 0 end)`.as('unpriced'),
      ])
      .where('ts', '>=', since);
    if (before !== null) q = q.where('ts', '<', before);
    // By the first column (the day): one expression for both engines.
    const rows = (await q.groupBy(sql`1`).orderBy(sql`1`).execute()) as unknown as RawDay[];
    return rows.map((r) => ({
      day: new Date(Number(r.d) * DAY_MS).toISOString().slice(0, 10),
      requests: Number(r.requests),
      errors: Number(r.errors),
      inputTokens: Number(r.input),
      outputTokens: Number(r.output),
      cacheReadTokens: Number(r.cache_read),
      cacheCreationTokens: Number(r.cache_creation),
      costUsd: usd(Number(r.cost ?? 0)),
      cacheSavingsUsd: usd(Number(r.savings ?? 0)),
      unpricedRequests: Number(r.unpriced),
    }));
  }
}
