/**
 * Conditional writes emulated for stores that ignore `If-Match` / `If-None-Match`
 * (`--dfs-unsafe-lock`): every conditional write, copy, delete or read first looks at the
 * object (HEAD, or the version read) and refuses with PreconditionFailedError as S3 would; the
 * request itself then goes without the headers, which such a store may even reject.
 * Check-then-write is only as good as the lock held around it: the sync holds the lock from this
 * check to the write for every remote write in distributed mode, so a tick that planned from an
 * older listing re-plans instead of overwriting another node's newer version. The put-then-read
 * lock itself stays weak (two nodes may hold it); this closes the stale-listing gap only.
 */
import { PreconditionFailedError } from '../errors.js';
import type {
  Bucket,
  ObjectRead,
  ObjectWriteOptions,
  PartSource,
  RemoteObject,
  WriteCondition,
  WriteResult,
} from './types.js';

/** `inner` with its preconditions checked here, for a store that does not enforce them. */
export class PreconditionCheckingBucket implements Bucket {
  constructor(private readonly inner: Bucket) {}

  get name(): string {
    return this.inner.name;
  }

  get maxCopyBytes(): number {
    return this.inner.maxCopyBytes;
  }

  get requestCount(): number {
    return this.inner.requestCount;
  }

  list(prefix: string, signal?: AbortSignal): Promise<readonly RemoteObject[]> {
    return this.inner.list(prefix, signal);
  }

  head(key: string): Promise<RemoteObject | null> {
    return this.inner.head(key);
  }

  async read(key: string, condition: { ifMatch?: string } = {}): Promise<ObjectRead> {
    // The store may refuse the header itself: the version read is compared here instead.
    const read = await this.inner.read(key);
    if (condition.ifMatch !== undefined && read.etag !== condition.ifMatch) {
      if (!Buffer.isBuffer(read.body)) read.body.destroy();
      throw new PreconditionFailedError(key);
    }
    return read;
  }

  readSmall(key: string): Promise<{ body: Buffer; etag: string } | null> {
    return this.inner.readSmall(key);
  }

  async write(
    key: string,
    body: Buffer | PartSource,
    size: number,
    condition: WriteCondition,
    options?: ObjectWriteOptions,
    signal?: AbortSignal,
  ): Promise<WriteResult> {
    await this.check(key, condition);
    return this.inner.write(key, body, size, {}, options, signal);
  }

  async copy(sourceKey: string, sourceEtag: string, destinationKey: string): Promise<WriteResult> {
    await this.check(sourceKey, { ifMatch: sourceEtag });
    await this.check(destinationKey, { ifNoneMatch: true });
    return this.inner.copy(sourceKey, sourceEtag, destinationKey, { unconditional: true });
  }

  async delete(key: string, condition: { ifMatch?: string } = {}): Promise<void> {
    if (condition.ifMatch !== undefined) {
      const current = await this.inner.head(key);
      // Already gone is what the caller wanted, as for a real conditional delete.
      if (current === null) return;
      if (current.etag !== condition.ifMatch) throw new PreconditionFailedError(key);
    }
    return this.inner.delete(key);
  }

  private async check(key: string, condition: WriteCondition): Promise<void> {
    if (condition.ifMatch === undefined && !condition.ifNoneMatch) return;
    const current = await this.inner.head(key);
    if (condition.ifNoneMatch && current !== null) throw new PreconditionFailedError(key);
    if (condition.ifMatch !== undefined && current?.etag !== condition.ifMatch) throw new PreconditionFailedError(key);
  }
}
