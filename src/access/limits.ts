/**
 * Per-key request limits kept in this process: requests in a rolling minute (an exact sliding log
 * in a ring of `rpm` timestamps) and requests at once. Pure bookkeeping, takes `now`.
 */
export class LocalLimits {
  private readonly windows = new Map<number, { ring: Float64Array; next: number }>();
  private readonly running = new Map<number, number>();

  /** Counts a request in the key's minute; false (with seconds to wait) when `rpm` are already in it. */
  takeRpm(keyId: number, rpm: number, now: number): { ok: true } | { ok: false; retryAfter: number } {
    let w = this.windows.get(keyId);
    if (!w || w.ring.length !== rpm) {
      w = { ring: new Float64Array(rpm).fill(-Infinity), next: 0 };
      this.windows.set(keyId, w);
    }
    const oldest = w.ring[w.next];
    if (now - oldest < 60_000) return { ok: false, retryAfter: Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000)) };
    w.ring[w.next] = now;
    w.next = (w.next + 1) % rpm;
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

  /** Drops the state of keys that no longer exist (or whose limits went away). */
  retain(ids: ReadonlySet<number>): void {
    for (const id of this.windows.keys()) if (!ids.has(id)) this.windows.delete(id);
  }
}
