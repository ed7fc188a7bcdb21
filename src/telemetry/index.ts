import type { FastifyBaseLogger } from 'fastify';
import type { Kysely, Selectable } from 'kysely';
import type { Database, RequestLogsTable } from '../store/schema.js';
import type { BackgroundWriter, LogRow } from '../store/background-writer.js';
import type { Registry } from '../routing/registry.js';
import type { PoolName } from '../routing/pools.js';
import { Metrics } from './metrics.js';
import { Stats } from './stats.js';
import { loadSettings, saveSettings, type Settings } from './settings.js';
import type { RequestRecord } from './record.js';
import { DailyTotals } from './daily.js';
import { PriceBook, initPrices, pico, reloadPrices, usd, type CostPico } from './prices.js';

const FLUSH_MS = 500;
const FLUSH_ROWS = 200;
const MAX_BUFFER = 20_000;
const PRUNE_MS = 60_000;
/** Rows read at a time when the last 24 hours of stats are rebuilt at start. */
const REBUILD_PAGE = 5_000;
/** The log columns the stats are rebuilt from. */
const STATS_COLUMNS = ['ts', 'pool', 'provider_id', 'provider_name', 'upstream_model', 'status', 'latency_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'key_id', 'key_name', 'cost_usd', 'cache_savings_usd'] as const;

/**
 * Where finished requests go: the in-memory stats, the Prometheus metrics and the request log.
 * The log is written in batches off the hot path (every 0.5 s or 200 rows); a crash loses at
 * most the batch not yet written, and a failing database only loses log rows, never requests.
 */
export class Telemetry {
  readonly stats = new Stats();
  readonly metrics: Metrics;
  /** The price table in memory: each request's cost is computed from it when recorded. */
  readonly prices = new PriceBook();
  /** Totals per day, from the request log. */
  readonly daily: DailyTotals;
  settings: Settings;
  private buffer: LogRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastErrorLog = 0;
  droppedRows = 0;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly writer: BackgroundWriter,
    routing: Registry,
    private readonly log: FastifyBaseLogger,
    settings: Settings,
  ) {
    this.metrics = new Metrics(routing);
    this.daily = new DailyTotals(db);
    this.settings = settings;
  }

  static async start(db: Kysely<Database>, writer: BackgroundWriter, routing: Registry, log: FastifyBaseLogger): Promise<Telemetry> {
    const t = new Telemetry(db, writer, routing, log, await loadSettings(db));
    await initPrices(db, t.prices);
    await t.rebuildStats();
    t.pruneTimer = setInterval(() => void t.prune(), PRUNE_MS);
    t.pruneTimer.unref();
    return t;
  }

  /**
   * Refills the dashboard's last 24 hours from the request log, a page of rows at a time (a busy
   * day is hundreds of thousands of rows: read at once, they would grow the heap for good).
   */
  private async rebuildStats(): Promise<void> {
    const since = Date.now() - 24 * 3600 * 1000;
    let after = 0;
    for (;;) {
      const rows = await this.db
        .selectFrom('request_logs')
        .select(['id', ...STATS_COLUMNS])
        .where('ts', '>=', since)
        .where('id', '>', after)
        .orderBy('id')
        .limit(REBUILD_PAGE)
        .execute();
      if (rows.length === 0) return;
      after = Number(rows[rows.length - 1]!.id);
      this.addStoredRows(rows);
      if (rows.length < REBUILD_PAGE) return;
    }
  }

  private addStoredRows(rows: Pick<Selectable<RequestLogsTable>, (typeof STATS_COLUMNS)[number]>[]): void {
    for (const r of rows) {
      this.stats.record({
        ts: Number(r.ts),
        pool: r.pool as PoolName | null,
        providerId: r.provider_id === null ? null : Number(r.provider_id),
        provider: r.provider_name,
        upstreamModel: r.upstream_model,
        keyId: r.key_id === null ? null : Number(r.key_id),
        keyName: r.key_name,
        status: r.status,
        latencyMs: r.latency_ms,
        ttftMs: r.ttft_ms,
        usage: { inputTokens: r.input_tokens, outputTokens: r.output_tokens, cacheReadTokens: r.cache_read_tokens, cacheCreationTokens: r.cache_creation_tokens },
      }, r.cost_usd === null ? null : { cost: pico(Number(r.cost_usd)), cacheSavings: pico(Number(r.cache_savings_usd ?? 0)) });
    }
  }

  /** Reads the price table again (a change on another replica). */
  reloadPrices(): Promise<void> {
    return reloadPrices(this.db, this.prices);
  }

  record(rec: RequestRecord): void {
    // The cost, in memory: the upstream's real model (else the requested one) priced by the table.
    const cost = this.prices.cost(rec.upstreamModel ?? rec.requestedModel, rec.usage);
    this.stats.record(rec, cost);
    this.metrics.record(rec, cost);
    if (this.buffer.length >= MAX_BUFFER) {
      this.buffer.shift();
      this.droppedRows++;
    }
    this.buffer.push(toRow(rec, cost));
    if (this.buffer.length >= FLUSH_ROWS) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what is buffered now (one batch at a time). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.flushing) return this.flushing;
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.flushing = this.writer
      .writeLogs(rows)
      .catch((err) => {
        this.droppedRows += rows.length;
        const now = Date.now();
        if (now - this.lastErrorLog > 10_000) {
          this.lastErrorLog = now;
          this.log.error({ err: (err as Error).message, rows: rows.length }, 'request log write failed; rows dropped (requests are unaffected)');
        }
      })
      .finally(() => {
        this.flushing = null;
        if (this.buffer.length && !this.timer) {
          this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
          this.timer.unref();
        }
      });
    return this.flushing;
  }

  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    await saveSettings(this.db, patch);
    this.settings = { ...this.settings, ...patch };
    return this.settings;
  }

  /** Applies retention: at most logRetentionCount rows, none older than logRetentionDays. */
  async prune(): Promise<void> {
    try {
      await this.writer.prune(this.settings.logRetentionCount, Date.now() - this.settings.logRetentionDays * 86400_000);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'request log retention failed');
    }
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    // Until every buffered row is written (a batch already on its way, then what came meanwhile):
    // the rows of requests that ended during a shutdown drain are in the log. (A failed write
    // drops its batch, so this ends.)
    while (this.flushing || this.buffer.length) await (this.flushing ?? this.flush());
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function toRow(r: RequestRecord, cost: CostPico | null): LogRow {
  return {
    ts: r.ts,
    entry_format: r.entryFormat,
    requested_model: r.requestedModel.slice(0, 300),
    pool: r.pool,
    provider_id: r.providerId,
    provider_name: r.provider,
    upstream_model: r.upstreamModel,
    status: r.status,
    latency_ms: Math.round(r.latencyMs * 100) / 100,
    ttft_ms: r.ttftMs === null ? null : Math.round(r.ttftMs * 100) / 100,
    input_tokens: r.usage.inputTokens,
    output_tokens: r.usage.outputTokens,
    cache_read_tokens: r.usage.cacheReadTokens,
    cache_creation_tokens: r.usage.cacheCreationTokens,
    stream: r.stream ? 1 : 0,
    attempts: JSON.stringify(r.attempts),
    error: r.error,
    request_body: r.requestBody ?? null,
    response_body: r.responseBody ?? null,
    key_id: r.keyId,
    key_name: r.keyName,
    conversation: r.conversation ?? null,
    affinity: r.affinity ?? 'none',
    cost_usd: cost ? usd(cost.cost) : null,
    cache_savings_usd: cost ? usd(cost.cacheSavings) : null,
  };
}
