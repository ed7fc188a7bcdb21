/**
 * Per-key request limits kept in this process: requests in a rolling minute and requests at once.
 * The minute is 60 one-second buckets (constant memory whatever `rpm` is, and a changed `rpm`
 * keeps the count); a request counts in the minute while its second is one of the last 60.
 * Pure bookkeeping, takes `now`.
 */
export class LocalLimits {
  private readonly windows = new Map<number, { counts: Uint32Array; seconds: Float64Array }>();
  private readonly running = new Map<number, number>();

  /** Counts a request in the key's minute; false (with seconds to wait) when `rpm` are already in it. */
  takeRpm(keyId: number, rpm: number, now: number): { ok: true } | { ok: false; retryAfter: number } {
    let w = this.windows.get(keyId);
    if (!w) {
      w = { counts: new Uint32Array(60), seconds: new Float64Array(60).fill(-1) };
      this.windows.set(keyId, w);
    }
    const sec = Math.floor(now / 1000);
    let total = 0;
    let oldest = sec;
    for (let i = 0; i < 60; i++) {
      if (w.counts[i] === 0 || sec - w.seconds[i] >= 60) continue;
      total += w.counts[i];
      if (w.seconds[i] < oldest) oldest = w.seconds[i];
    }
    if (total >= rpm) return { ok: false, retryAfter: Math.max(1, oldest + 60 - sec) };
    const slot = sec % 60;
    if (w.seconds[slot] !== sec) {
      w.seconds[slot] = sec;
      w.counts[slot] = 0;
    }
    w.counts[slot]++;
    return { ok: true };
  }

  /** Takes one of the key's `max` concurrent slots; false when all are in use. */
  acquire(keyId: number, max: number): boolean {
    const n = this.running.get(keyId) ?? 0;
    if (n >= max) return false;
    this.running.set(keyId, n + 1);
    return true;
  }

  release(keyId: number): void {
    const n = (this.running.get(keyId) ?? 0) - 1;
    if (n <= 0) this.running.delete(keyId);
    else this.running.set(keyId, n);
  }

  inFlight(keyId: number): number {
    return this.running.get(keyId) ?? 0;
  }

  /** Drops the minute of keys that no longer exist or no longer have an rpm limit. */
  retain(ids: ReadonlySet<number>): void {
    for (const id of this.windows.keys()) if (!ids.has(id)) this.windows.delete(id);
  }
}
