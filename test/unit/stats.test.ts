import { describe, expect, it } from 'vitest';
import { Stats, type StatsRecord } from '../../src/telemetry/stats.js';

const rec = (ts: number, over: Partial<StatsRecord> = {}): StatsRecord => ({
  ts, pool: 'normal', providerId: 1, provider: 'A', upstreamModel: 'm', keyId: null, keyName: null, status: 200, latencyMs: 100, ttftMs: null,
  usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheCreationTokens: 0 },
  ...over,
});

describe('Stats: time to first token only where there were streams', () => {
  const now = Date.UTC(2026, 10, 29, 12, 30);
  it('non-streamed requests only: latency percentiles, no time-to-first-token ones', () => {
    const s = new Stats();
    for (let i = 0; i < 10; i++) s.record(rec(now - i * 60_000, { latencyMs: 100 + i }));
    const snap = s.snapshot('1h', now);
    expect(snap.totals.requests).toBe(10);
    expect(snap.totals.p50Ms).toBeGreaterThan(90);
    expect(snap.totals.ttftP50Ms).toBeNull();
    expect(snap.byProvider[0]!.ttftP95Ms).toBeNull();
  });

  it('a streamed request in one minute: its time to first token shows in the totals, merged with minutes that had none', () => {
    const s = new Stats();
    s.record(rec(now - 120_000));
    s.record(rec(now - 60_000, { ttftMs: 40 }));
    s.record(rec(now - 60_000, { ttftMs: 400 }));
    s.record(rec(now));
    const t = s.snapshot('1h', now).totals;
    expect(t.requests).toBe(4);
    expect(t.ttftP50Ms).toBeGreaterThan(30);
    expect(t.ttftP50Ms).toBeLessThan(55);
    expect(t.ttftP95Ms).toBeGreaterThan(300);
    expect(s.snapshot('24h', now).totals.ttftP95Ms).toBe(t.ttftP95Ms);
  });
});
