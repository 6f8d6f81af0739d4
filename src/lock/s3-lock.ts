/**
 * The lease lock on S3 conditional writes (after Litestream's `s3/leaser.go`): create with
 * `If-None-Match: *`, renew and take over with `If-Match` on the ETag, release with a conditional
 * delete. Of several contenders for the same version exactly one write succeeds.
 */
import { NotFoundError, PreconditionFailedError } from '../errors.js';
import type { WriteCondition } from '../remote/types.js';
import { LeaseLock, type Attempt, type HeldLease } from './lease-lock.js';
import type { LockBody } from './types.js';

/** The distributed lock for stores that enforce conditional writes (AWS S3 does). */
export class S3LeaseLock extends LeaseLock {
  protected async attempt(): Promise<Attempt> {
    const created = await this.tryWrite(this.newBody(this.lastGeneration + 1), { ifNoneMatch: true });
    if (created) return { kind: 'held', lease: created, how: 'fresh' };

    const current = await this.readCurrent();
    // Released between our create and our read: try again at once.
    if (!current) return { kind: 'busy', holder: null, retryNow: true };
    if (!this.isTakeable(current)) return { kind: 'busy', holder: current.body, retryNow: false };

    this.logger.info(
      { key: this.key, holder: current.body.owner, generation: current.body.generation },
      'lock is stale (unchanged for a whole lease); taking it over',
    );
    const generation = Math.max(current.body.generation, this.lastGeneration) + 1;
    const taken = await this.tryWrite(this.newBody(generation), { ifMatch: current.etag });
    if (taken) return { kind: 'held', lease: taken, how: 'takeover' };
    // Another contender took it over first, or the holder renewed: look again.
    return { kind: 'busy', holder: current.body, retryNow: true };
  }

  protected renewLease(lease: HeldLease): Promise<HeldLease> {
    return this.writeLock(this.renewedBody(lease.body), { ifMatch: lease.etag });
  }

  protected async releaseLease(lease: HeldLease): Promise<'released' | 'not-ours'> {
    try {
      await this.bucket.delete(this.key, { ifMatch: lease.etag });
      return 'released';
    } catch (err) {
      if (isNotOurs(err)) return 'not-ours';
      throw err;
    }
  }

  /** A conditional write; null when the condition failed (the object is someone else's version). */
  private async tryWrite(body: LockBody, condition: WriteCondition): Promise<HeldLease | null> {
    try {
      return await this.writeLock(body, condition);
    } catch (err) {
      if (isNotOurs(err)) return null;
      throw err;
    }
  }
}

/** 412, or 404 on an `If-Match` whose object is gone: the version we named is not there. */
function isNotOurs(err: unknown): boolean {
  return err instanceof PreconditionFailedError || err instanceof NotFoundError;
}
