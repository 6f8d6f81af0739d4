/** Time helpers shared by the lock and the CloudFront invalidator: a monotonic clock, jittered exponential backoff, and a sleep that can be cut short. */

/** A monotonic clock in milliseconds (never compared across nodes). */
export interface Clock {
  now(): number;
}

/** The process's monotonic clock. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * Exponential backoff with jitter: the n-th delay is drawn from [d/2, d] with d = base·2ⁿ capped,
 * so contenders that collided once spread apart instead of colliding again in step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly random: () => number,
    private readonly baseMs = 100,
    private readonly capMs = 2_000,
  ) {}

  /** The next delay in ms. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return ceiling / 2 + this.random() * (ceiling / 2);
  }
}

/** Waits `ms`, returning early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * How long the lock object's current version has stood unchanged, on this node's clock. A holder
 * that renews changes the ETag; one that stays the same for a whole lease belongs to a dead holder.
 * Only the latest ETag matters: when it changes, the clock starts again.
 */
export class StaleWatch {
  private seen: { etag: string; sinceMs: number } | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {}

  /** Records a sighting of `etag`; returns how long (ms) it has stood. */
  observe(etag: string): number {
    const now = this.clock.now();
    if (this.seen?.etag !== etag) this.seen = { etag, sinceMs: now };
    return now - this.seen.sinceMs;
  }

  /** True when `etag` has stood unchanged for longer than the lease. */
  isStale(etag: string): boolean {
    return this.observe(etag) > this.leaseMs;
  }

  /** Lease left (ms, ≥ 0) before `etag` would count as stale here. */
  leaseLeftMs(etag: string): number {
    return Math.max(0, this.leaseMs - this.observe(etag));
  }
}
