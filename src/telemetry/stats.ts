import type { RequestRecord } from './record.js';

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
  lat = new Uint32Array(BINS);
  ttft = new Uint32Array(BINS);
  ttftCount = 0;

  add(r: Pick<RequestRecord, 'status' | 'latencyMs' | 'ttftMs' | 'usage'>): void {
    this.requests++;
    if (r.status < 400) this.success++;
    else this.errors++;
    this.inputTokens += r.usage.inputTokens;
    this.outputTokens += r.usage.outputTokens;
    this.cacheReadTokens += r.usage.cacheReadTokens;
    this.cacheCreationTokens += r.usage.cacheCreationTokens;
    this.lat[bin(r.latencyMs)]++;
    if (r.ttftMs !== null && r.ttftMs !== undefined) {
      this.ttft[bin(r.ttftMs)]++;
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
    for (let i = 0; i < BINS; i++) {
      this.lat[i] += o.lat[i];
      this.ttft[i] += o.ttft[i];
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
    };
  }
}

function quantile(h: Uint32Array, n: number, q: number): number | null {
  if (n === 0) return null;
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
}

interface Minute {
  all: Agg;
  pools: Map<string, Agg>;
  providers: Map<number, { name: string; agg: Agg }>;
  /** By access key; requests made without one (open access) under -1. */
  keys: Map<number, { name: string | null; agg: Agg }>;
}

export type StatsWindow = '1h' | '24h';

export class Stats {
  private readonly minutes = new Map<number, Minute>();

  record(r: Pick<RequestRecord, 'ts' | 'pool' | 'providerId' | 'provider' | 'keyId' | 'keyName' | 'status' | 'latencyMs' | 'ttftMs' | 'usage'>): void {
    const key = Math.floor(r.ts / 60_000);
    let m = this.minutes.get(key);
    if (!m) {
      m = { all: new Agg(), pools: new Map(), providers: new Map(), keys: new Map() };
      this.minutes.set(key, m);
      this.prune(r.ts);
    }
    m.all.add(r);
    if (r.pool) {
      let a = m.pools.get(r.pool);
      if (!a) m.pools.set(r.pool, (a = new Agg()));
      a.add(r);
    }
    if (r.providerId !== null && r.providerId !== undefined) {
      let p = m.providers.get(r.providerId);
      if (!p) m.providers.set(r.providerId, (p = { name: r.provider ?? String(r.providerId), agg: new Agg() }));
      p.agg.add(r);
    }
    const keyId = r.keyId ?? -1;
    let k = m.keys.get(keyId);
    if (!k) m.keys.set(keyId, (k = { name: r.keyName ?? null, agg: new Agg() }));
    k.agg.add(r);
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
    const buckets = new Map<number, Agg>();
    for (const [minute, m] of this.minutes) {
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
    };
  }
}
