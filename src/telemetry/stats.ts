import type { RequestRecord } from './record.js';
import { usd, type CostPico } from './prices.js';

/**
 * Request statistics for the dashboard, kept in memory as one aggregate per minute (and per pool
 * and provider inside it) for the last 24 hours. Latency and time to first token go into
 * log-spaced histograms (bins 30 % wide), so percentiles cost nothing to keep and are accurate
 * to within one bin. Rebuilt from the request log at start.
 */
const RATIO = 1.3;
const BINS = 52; // 1.3^51 ms ≈ 11 minutes; anything longer lands in the last bin
const LOG_RATIO = Math.log(RATIO);
const DAY_MS = 24 * 3600 * 1000;

function bin(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(BINS - 1, Math.floor(Math.log(ms) / LOG_RATIO) + 1);
}

/** A representative value for a bin: the geometric middle of its edges. */
function binValue(i: number): number {
  if (i === 0) return 1;
  return Math.pow(RATIO, i - 0.5);
}

class Agg {
  requests = 0;
  success = 0;
  errors = 0;
  inputTokens = 0;
  outputTokens = 0;
  cacheReadTokens = 0;
  cacheCreationTokens = 0;
  /** Cost and cache savings in 10⁻¹² USD (integers: sums stay exact). */
  cost = 0;
  cacheSavings = 0;
  /** Requests with tokens but no price for their model (their cost is missing from `cost`). */
  unpriced = 0;
  lat = new Uint32Array(BINS);
  /** Made on the first streamed request (a non-streamed one has no time to first token): most aggregates of a
   *  non-streaming workload never need it, and there is one aggregate per minute per key, provider and member. */
  ttft: Uint32Array | null = null;
  ttftCount = 0;

  add(r: Pick<RequestRecord, 'status' | 'latencyMs' | 'ttftMs' | 'usage'>, cost: CostPico | null): void {
    this.requests++;
    if (cost) {
      this.cost += cost.cost;
      this.cacheSavings += cost.cacheSavings;
    } else if (r.usage.inputTokens + r.usage.outputTokens + r.usage.cacheReadTokens + r.usage.cacheCreationTokens > 0) {
      this.unpriced++;
    }
    if (r.status < 400) this.success++;
    else this.errors++;
    this.inputTokens += r.usage.inputTokens;
    this.outputTokens += r.usage.outputTokens;
    this.cacheReadTokens += r.usage.cacheReadTokens;
    this.cacheCreationTokens += r.usage.cacheCreationTokens;
    this.lat[bin(r.latencyMs)]++;
    if (r.ttftMs !== null && r.ttftMs !== undefined) {
      (this.ttft ??= new Uint32Array(BINS))[bin(r.ttftMs)]++;
      this.ttftCount++;
    }
  }

  merge(o: Agg): void {
    this.requests += o.requests;
    this.success += o.success;
    this.errors += o.errors;
    this.inputTokens += o.inputTokens;
    this.outputTokens += o.outputTokens;
    this.cacheReadTokens += o.cacheReadTokens;
    this.cacheCreationTokens += o.cacheCreationTokens;
    this.cost += o.cost;
    this.cacheSavings += o.cacheSavings;
    this.unpriced += o.unpriced;
    for (let i = 0; i < BINS; i++) this.lat[i] += o.lat[i];
    if (o.ttft) {
      const t = (this.ttft ??= new Uint32Array(BINS));
      for (let i = 0; i < BINS; i++) t[i] += o.ttft[i];
    }
    this.ttftCount += o.ttftCount;
  }

  json(): StatsNumbers {
    return {
      requests: this.requests,
      success: this.success,
      errors: this.errors,
      successRate: this.requests ? this.success / this.requests : null,
      p50Ms: quantile(this.lat, this.requests, 0.5),
      p95Ms: quantile(this.lat, this.requests, 0.95),
      ttftP50Ms: quantile(this.ttft, this.ttftCount, 0.5),
      ttftP95Ms: quantile(this.ttft, this.ttftCount, 0.95),
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cacheReadTokens: this.cacheReadTokens,
      cacheCreationTokens: this.cacheCreationTokens,
      costUsd: usd(this.cost),
      cacheSavingsUsd: usd(this.cacheSavings),
      unpricedRequests: this.unpriced,
    };
  }
}

function quantile(h: Uint32Array | null, n: number, q: number): number | null {
  if (n === 0 || h === null) return null;
  const target = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < BINS; i++) {
    seen += h[i];
    if (seen >= target) return Math.round(binValue(i) * 10) / 10;
  }
  return Math.round(binValue(BINS - 1));
}

export interface StatsNumbers {
  requests: number;
  success: number;
  errors: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** What the requests cost (USD), by the price table when each was recorded; requests without a price add nothing. */
  costUsd: number;
  /** What the cache reads would have cost at the input price, minus what they cost (USD). */
  cacheSavingsUsd: number;
  /** Requests with tokens whose model has no price. */
  unpricedRequests: number;
}

/** One pool member as the stats know it: the pool, the provider and the real model that served. */
interface MemberAgg {
  pool: string;
  providerId: number;
  provider: string;
  model: string;
  agg: Agg;
}

/** What a request adds to the stats. */
export type StatsRecord = Pick<RequestRecord, 'ts' | 'pool' | 'providerId' | 'provider' | 'upstreamModel' | 'keyId' | 'keyName' | 'status' | 'latencyMs' | 'ttftMs' | 'usage'>;

interface Minute {
  all: Agg;
  pools: Map<string, Agg>;
  providers: Map<number, { name: string; agg: Agg }>;
  /** By access key; requests made without one (open access) under -1. */
  keys: Map<number, { name: string | null; agg: Agg }>;
  /** By member: pool, provider id and real model (`pool\u0000providerId\u0000model`). */
  members: Map<string, MemberAgg>;
}

export type StatsWindow = '1h' | '24h';

const POOL_ORDER = ['tool', 'normal', 'advanced'];

export class Stats {
  private readonly minutes = new Map<number, Minute>();

  /** Adds a finished request, with its cost (null: no price matched its model). */
  record(r: StatsRecord, cost: CostPico | null = null): void {
    const key = Math.floor(r.ts / 60_000);
    let m = this.minutes.get(key);
    if (!m) {
      m = { all: new Agg(), pools: new Map(), providers: new Map(), keys: new Map(), members: new Map() };
      this.minutes.set(key, m);
      this.prune(r.ts);
    }
    m.all.add(r, cost);
    if (r.pool) {
      let a = m.pools.get(r.pool);
      if (!a) m.pools.set(r.pool, (a = new Agg()));
      a.add(r, cost);
    }
    if (r.providerId !== null && r.providerId !== undefined) {
      let p = m.providers.get(r.providerId);
      if (!p) m.providers.set(r.providerId, (p = { name: r.provider ?? String(r.providerId), agg: new Agg() }));
      p.agg.add(r, cost);
      if (r.pool && r.upstreamModel) {
        const mk = `${r.pool}\u0000${r.providerId}\u0000${r.upstreamModel}`;
        let ma = m.members.get(mk);
        if (!ma) m.members.set(mk, (ma = { pool: r.pool, providerId: r.providerId, provider: p.name, model: r.upstreamModel, agg: new Agg() }));
        ma.agg.add(r, cost);
      }
    }
    const keyId = r.keyId ?? -1;
    let k = m.keys.get(keyId);
    if (!k) m.keys.set(keyId, (k = { name: r.keyName ?? null, agg: new Agg() }));
    k.agg.add(r, cost);
  }

  private prune(now: number): void {
    const oldest = Math.floor((now - DAY_MS) / 60_000);
    for (const k of this.minutes.keys()) if (k < oldest) this.minutes.delete(k);
  }

  snapshot(window: StatsWindow, now = Date.now()) {
    const span = window === '1h' ? 3600_000 : DAY_MS;
    const bucketSeconds = window === '1h' ? 60 : 900;
    const bucketMs = bucketSeconds * 1000;
    const firstBucket = Math.floor((now - span) / bucketMs) + 1;
    const lastBucket = Math.floor(now / bucketMs);
    const totals = new Agg();
    const pools = new Map<string, Agg>();
    const providers = new Map<number, { name: string; agg: Agg }>();
    const keys = new Map<number, { name: string | null; agg: Agg }>();
    const members = new Map<string, MemberAgg>();
    const buckets = new Map<number, Agg>();
    // Hours: the last 24 (this one included), whatever the window.
    const lastHour = Math.floor(now / 3600_000);
    const hours = new Map<number, Agg>();
    for (const [minute, m] of this.minutes) {
      const h = Math.floor(minute / 60);
      if (h > lastHour - 24 && h <= lastHour) {
        let ha = hours.get(h);
        if (!ha) hours.set(h, (ha = new Agg()));
        ha.merge(m.all);
      }
      const b = Math.floor((minute * 60_000) / bucketMs);
      if (b < firstBucket || b > lastBucket) continue;
      totals.merge(m.all);
      let ba = buckets.get(b);
      if (!ba) buckets.set(b, (ba = new Agg()));
      ba.merge(m.all);
      for (const [pool, a] of m.pools) {
        let pa = pools.get(pool);
        if (!pa) pools.set(pool, (pa = new Agg()));
        pa.merge(a);
      }
      for (const [id, p] of m.providers) {
        let pa = providers.get(id);
        if (!pa) providers.set(id, (pa = { name: p.name, agg: new Agg() }));
        pa.name = p.name;
        pa.agg.merge(p.agg);
      }
      for (const [id, k] of m.keys) {
        let ka = keys.get(id);
        if (!ka) keys.set(id, (ka = { name: k.name, agg: new Agg() }));
        if (k.name !== null) ka.name = k.name;
        ka.agg.merge(k.agg);
      }
      for (const [id, x] of m.members) {
        let xa = members.get(id);
        if (!xa) members.set(id, (xa = { ...x, agg: new Agg() }));
        xa.provider = x.provider;
        xa.agg.merge(x.agg);
      }
    }
    const series = [];
    for (let b = firstBucket; b <= lastBucket; b++) {
      const a = buckets.get(b);
      const j = (a ?? new Agg()).json();
      series.push({
        t: new Date(b * bucketMs).toISOString(),
        requests: j.requests,
        errors: j.errors,
        p50Ms: j.p50Ms,
        p95Ms: j.p95Ms,
        ttftP50Ms: j.ttftP50Ms,
        inputTokens: j.inputTokens,
        outputTokens: j.outputTokens,
        cacheReadTokens: j.cacheReadTokens,
        costUsd: j.costUsd,
      });
    }
    const byHour = [];
    for (let h = lastHour - 23; h <= lastHour; h++) {
      const j = (hours.get(h) ?? new Agg()).json();
      byHour.push({
        t: new Date(h * 3600_000).toISOString(),
        requests: j.requests,
        inputTokens: j.inputTokens,
        outputTokens: j.outputTokens,
        cacheReadTokens: j.cacheReadTokens,
        cacheCreationTokens: j.cacheCreationTokens,
        costUsd: j.costUsd,
        cacheSavingsUsd: j.cacheSavingsUsd,
      });
    }
    return {
      window,
      bucketSeconds,
      generatedAt: new Date(now).toISOString(),
      totals: totals.json(),
      series,
      byPool: ['tool', 'normal', 'advanced'].filter((p) => pools.has(p)).map((pool) => ({ pool, ...pools.get(pool)!.json() })),
      byProvider: [...providers.entries()].sort((a, b) => a[0] - b[0]).map(([providerId, p]) => ({ provider: p.name, providerId, ...p.agg.json() })),
      byKey: [...keys.entries()].sort((a, b) => a[0] - b[0]).map(([keyId, k]) => ({ keyId: keyId === -1 ? null : keyId, keyName: k.name, ...k.agg.json() })),
      byMember: [...members.values()]
        .sort((a, b) => POOL_ORDER.indexOf(a.pool) - POOL_ORDER.indexOf(b.pool) || a.providerId - b.providerId || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
        .map((x) => ({ pool: x.pool, providerId: x.providerId, provider: x.provider, model: x.model, ...x.agg.json() })),
      byHour,
    };
  }
}
