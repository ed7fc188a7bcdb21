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
    this.requests.inc({ pool, provider, model: rec.upstreamModel ?? 'none', status: String(rec.status) });
    this.duration.observe({ pool, provider }, rec.latencyMs / 1000);
    if (rec.ttftMs !== null) this.ttft.observe({ pool, provider }, rec.ttftMs / 1000);
    const u = rec.usage;
    if (rec.upstreamModel) {
      const labels = { pool, provider, model: rec.upstreamModel };
      if (u.inputTokens) this.tokens.inc({ ...labels, kind: 'input' }, u.inputTokens);
      if (u.outputTokens) this.tokens.inc({ ...labels, kind: 'output' }, u.outputTokens);
      if (u.cacheReadTokens) this.tokens.inc({ ...labels, kind: 'cache_read' }, u.cacheReadTokens);
      if (u.cacheCreationTokens) this.tokens.inc({ ...labels, kind: 'cache_creation' }, u.cacheCreationTokens);
      if (cost && cost.cost > 0) this.cost.inc(labels, usd(cost.cost));
    }
  }

  /** A member's failure that the request survived is counted when the request ends (record). */
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
