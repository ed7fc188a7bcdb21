import { setMaxListeners } from 'node:events';

/** `starting` until the app listens, `serving`, then `draining` from SIGTERM/SIGINT to the exit. */
export type Phase = 'starting' | 'serving' | 'draining';

/**
 * The process's serving phase (CONTRACT "Health and shutdown"): what `/readyz` reports, whether
 * new requests are taken, the requests still running that a drain waits for, and the signal that
 * the shutdown grace is over.
 */
export class Lifecycle {
  private current: Phase = 'starting';
  private readonly graceOver = new AbortController();
  /**
   * Aborted when the shutdown grace (SHUTDOWN_GRACE_SECONDS) is over, or at a second signal: the
   * relay then ends open streams with an error frame and answers requests still waiting with 503.
   */
  readonly expired: AbortSignal = this.graceOver.signal;
  private running = 0;
  private waiters: (() => void)[] = [];

  constructor() {
    // every request in flight listens to it: no "possible memory leak" warning past 10
    setMaxListeners(0, this.expired);
  }

  get phase(): Phase {
    return this.current;
  }

  get draining(): boolean {
    return this.current === 'draining';
  }

  /** Requests taken in and not yet answered (probes and drain refusals are not counted). */
  get inFlight(): number {
    return this.running;
  }

  /** The app listens: ready. */
  serving(): void {
    if (this.current === 'starting') this.current = 'serving';
  }

  /** SIGTERM/SIGINT: `/readyz` answers 503 from now on and no new request is taken. */
  beginDrain(): void {
    this.current = 'draining';
  }

  /** Callbacks of attempts running now (a Set: O(1) to add and remove on the hot path, unlike an
   *  EventTarget listener, whose removal walks every listener). */
  private readonly onExpireCallbacks = new Set<() => void>();

  /** Runs `fn` when the grace is over (at once if it already is); call the result to unsubscribe. */
  onExpire(fn: () => void): () => void {
    if (this.expired.aborted) {
      fn();
      return () => {};
    }
    this.onExpireCallbacks.add(fn);
    return () => this.onExpireCallbacks.delete(fn);
  }

  /** The grace is over: requests still running are cut short (streams get an error frame). */
  expire(): void {
    if (this.graceOver.signal.aborted) return;
    this.graceOver.abort();
    for (const fn of [...this.onExpireCallbacks]) fn();
    this.onExpireCallbacks.clear();
  }

  /** Counts one request taken in; call the returned function once, when its response has closed. */
  enter(): () => void {
    this.running++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.running--;
      if (this.running === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves once no request taken in is running. */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
