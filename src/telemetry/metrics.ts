import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Registry } from '../routing/registry.js';
import { POOL_NAMES } from '../routing/pools.js';
import type { RequestRecord } from './record.js';
import { usd, type CostPico } from './prices.js';

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 600];

/** Prometheus metrics (prom-client), one registry per gateway. */
export class Metrics {
  readonly registry = new PromRegistry();
  readonly inFlight: Gauge;
  private readonly requests: Counter;
  private readonly failures: Counter;
  private readonly duration: Histogram;
  private readonly ttft: Histogram;
  private readonly tokens: Counter;
  private readonly cost: Counter;
  private readonly bySeries = new Map<string, Series>();

  constructor(routing: Registry) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'apg_process_' });
    this.requests = new Counter({ name: 'apg_requests_total', help: 'Client requests answered, by pool, provider, real model and status.', labelNames: ['pool', 'provider', 'model', 'status'], registers: [r] });
    this.failures = new Counter({ name: 'apg_upstream_failures_total', help: 'Upstream attempts that failed and cooled their member, by pool, provider, real model and reason.', labelNames: ['pool', 'provider', 'model', 'reason'], registers: [r] });
    this.duration = new Histogram({ name: 'apg_request_duration_seconds', help: 'Whole request time as the client saw it.', labelNames: ['pool', 'provider'], buckets: SECONDS, registers: [r] });
    this.ttft = new Histogram({ name: 'apg_time_to_first_token_seconds', help: 'Time until the first streamed event reached the client.', labelNames: ['pool', 'provider'], buckets: SECONDS, registers: [r] });
    this.tokens = new Counter({ name: 'apg_tokens_total', help: 'Tokens reported by upstreams, by kind (input, output, cache_read, cache_creation).', labelNames: ['pool', 'provider', 'model', 'kind'], registers: [r] });
    this.cost = new Counter({ name: 'apg_cost_usd_total', help: 'What the requests cost in USD by the price table, by pool, provider and real model (requests whose model has no price add nothing).', labelNames: ['pool', 'provider', 'model'], registers: [r] });
    this.inFlight = new Gauge({ name: 'apg_requests_in_flight', help: 'Client requests being served now.', registers: [r] });
    new Gauge({
      name: 'apg_member_state',
      help: 'Pool members by state (1 for the member\'s current state).',
      labelNames: ['pool', 'provider', 'model', 'state'],
      registers: [r],
      collect() {
        this.reset();
        const now = Date.now();
        for (const pool of POOL_NAMES) {
          for (const m of routing.members(pool)) {
            this.set({ pool, provider: m.provider.name, model: m.model, state: routing.state(m, now) }, 1);
          }
        }
      },
    });
  }

  record(rec: RequestRecord, cost: CostPico | null = null): void {
    const pool = rec.pool ?? 'none';
    const provider = rec.provider ?? 'none';
    for (const a of rec.attempts) {
      this.failures.inc({ pool, provider: a.provider, model: a.model, reason: reasonLabel(a.status, a.reason) });
    }
    const s = this.series(pool, provider, rec.upstreamModel ?? 'none');
    let requests = s.requests.get(rec.status);
    if (!requests) s.requests.set(rec.status, (requests = this.requests.labels(pool, provider, s.model, String(rec.status))));
    requests.inc();
    s.duration.observe(rec.latencyMs / 1000);
    if (rec.ttftMs !== null) s.ttft.observe(rec.ttftMs / 1000);
    const u = rec.usage;
    if (rec.upstreamModel) {
      if (u.inputTokens) s.tokens('input').inc(u.inputTokens);
      if (u.outputTokens) s.tokens('output').inc(u.outputTokens);
      if (u.cacheReadTokens) s.tokens('cache_read').inc(u.cacheReadTokens);
      if (u.cacheCreationTokens) s.tokens('cache_creation').inc(u.cacheCreationTokens);
      if (cost && cost.cost > 0) s.cost.inc(usd(cost.cost));
    }
  }

  /**
   * The labelled children of one (pool, provider, real model), kept: prom-client's label lookup
   * (sorting and hashing the label set) on every increment was a visible share of a request's CPU.
   * Bounded by the members there have been.
   */
  private series(pool: string, provider: string, model: string): Series {
    const key = `${pool}\u0000${provider}\u0000${model}`;
    let s = this.bySeries.get(key);
    if (!s) {
      const tokens = new Map<string, Counter.Internal>();
      s = {
        model,
        requests: new Map(),
        duration: this.duration.labels(pool, provider),
        ttft: this.ttft.labels(pool, provider),
        cost: this.cost.labels(pool, provider, model),
        tokens: (kind) => {
          let c = tokens.get(kind);
          if (!c) tokens.set(kind, (c = this.tokens.labels(pool, provider, model, kind)));
          return c;
        },
      };
      this.bySeries.set(key, s);
    }
    return s;
  }

  /** A member's failure that the request survived is counted when the request ends (record). */
}

interface Series {
  model: string;
  requests: Map<number, Counter.Internal>;
  duration: Histogram.Internal<string>;
  ttft: Histogram.Internal<string>;
  cost: Counter.Internal;
  tokens(kind: string): Counter.Internal;
}

/** A bounded label for a failure: the status, or the kind of transport failure. */
export function reasonLabel(status: number, reason: string): string {
  if (/first event|first-byte|FIRST_BYTE/i.test(reason)) return 'first_byte_timeout';
  if (/silent|idle/i.test(reason)) return 'idle_timeout';
  if (/timeout|UPSTREAM_TIMEOUT/i.test(reason)) return 'timeout';
  if (/error event/i.test(reason)) return 'error_event';
  if (/ECONNREFUSED|ECONNRESET|socket|closed|other side|UND_ERR/i.test(reason)) return 'connection';
  return `http_${status}`;
}
