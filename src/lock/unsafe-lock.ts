/**
 * The original tool's put-then-read lock, for stores that do not enforce conditional writes
 * (`--dfs-unsafe-lock`): read; if free or stale, write our body unconditionally, let the store
 * settle, read back; our version there means held. Two nodes that write within the settle time
 * of each other can both read back their own version on an eventually consistent store, so this
 * is not safe against simultaneous contenders; it exists for parity, with a warning.
 */
import { PreconditionFailedError } from '../errors.js';
import { LeaseLock, type Attempt, type HeldLease, type LockDeps } from './lease-lock.js';
import { sleep } from '../timing.js';

/** Logged once at construction. */
export const UNSAFE_LOCK_WARNING =
  '--dfs-unsafe-lock: using the put-then-read lock, which does not exclude nodes that contend at the same moment; ' +
  'two nodes may both write. Use a store with conditional writes for a safe lock.';

/** Options of the unsafe lock beyond the common ones. */
export interface UnsafeLockDeps extends LockDeps {
  /** Wait between our write and the read-back (default: a quarter of the lease, at most 1 s). */
  readonly settleMs?: number;
}

/** The put-then-read lock; same interface as `S3LeaseLock`, weaker guarantee. */
export class UnsafeLock extends LeaseLock {
  private readonly settleMs: number;

  constructor(deps: UnsafeLockDeps) {
    super(deps);
    this.settleMs = deps.settleMs ?? Math.min(1_000, (deps.leaseSeconds * 1000) / 4);
    this.logger.warn({ key: this.key }, UNSAFE_LOCK_WARNING);
  }

  protected async attempt(): Promise<Attempt> {
    const before = await this.readCurrent();
    if (before && !this.isTakeable(before)) return { kind: 'busy', holder: before.body, retryNow: false };

    const generation = Math.max(before?.body.generation ?? 0, this.lastGeneration) + 1;
    const ours = await this.writeLock(this.newBody(generation), {});
    await sleep(this.settleMs, this.closing.signal);
    const after = await this.readCurrent();
    if (after?.etag === ours.etag) return { kind: 'held', lease: ours, how: before ? 'takeover' : 'fresh' };
    return { kind: 'busy', holder: after?.body ?? null, retryNow: false };
  }

  protected async renewLease(lease: HeldLease): Promise<HeldLease> {
    await this.assertStillOurs(lease);
    return this.writeLock(this.renewedBody(lease.body), {});
  }

  protected async releaseLease(lease: HeldLease): Promise<'released' | 'not-ours'> {
    try {
      await this.assertStillOurs(lease);
    } catch (err) {
      if (err instanceof PreconditionFailedError) return 'not-ours';
      throw err;
    }
    await this.bucket.delete(this.key);
    return 'released';
  }

  /** Read-compare, the only check this store allows (another node may still write in between). */
  private async assertStillOurs(lease: HeldLease): Promise<void> {
    const current = await this.readCurrent();
    if (current?.etag !== lease.etag) throw new PreconditionFailedError(this.key);
  }
}
