/**
 * A minimal in-memory `Bucket` for the lock's branches that moto cannot produce on demand (409
 * ConditionalRequestConflict, an object vanishing between a 412 and the read). Only the calls the
 * lock makes are implemented; the moto tests remain the proof of the lock against S3.
 */
import { createHash } from 'node:crypto';
import { NotFoundError, PreconditionFailedError } from '../../src/errors.js';
import type { Bucket, PartSource, WriteCondition, WriteResult } from '../../src/remote/types.js';

/** A call the lock made, for assertions. */
export interface Call {
  readonly op: 'write' | 'readSmall' | 'delete';
  readonly condition?: WriteCondition;
}

/** Lock-sized objects in a map, with hooks to inject one-off failures. */
export class MemoryBucket implements Bucket {
  readonly maxCopyBytes = 5 * 1024 ** 3;
  readonly name = 'memory';
  readonly calls: Call[] = [];
  /** Runs before each write; may throw to simulate the store's answer. */
  beforeWrite: (condition: WriteCondition) => void = () => undefined;
  /** Runs before each read; returning true hides the object from that read. */
  hideOnRead: () => boolean = () => false;
  private readonly objects = new Map<string, { body: Buffer; etag: string }>();

  get requestCount(): number {
    return this.calls.length;
  }

  /** Conditional writes sent so far (creates, takeovers, renewals). */
  writes(): readonly Call[] {
    return this.calls.filter((c) => c.op === 'write');
  }

  async write(key: string, body: Buffer | PartSource, _size: number, condition: WriteCondition): Promise<WriteResult> {
    this.calls.push({ op: 'write', condition });
    this.beforeWrite(condition);
    const existing = this.objects.get(key);
    if (condition.ifNoneMatch && existing) throw new PreconditionFailedError(key);
    if (condition.ifMatch !== undefined) {
      if (!existing) throw new NotFoundError(key);
      if (existing.etag !== condition.ifMatch) throw new PreconditionFailedError(key);
    }
    const buffer = body as Buffer;
    const etag = createHash('md5').update(buffer).digest('hex');
    this.objects.set(key, { body: Buffer.from(buffer), etag });
    return { etag };
  }

  async readSmall(key: string): Promise<{ body: Buffer; etag: string } | null> {
    this.calls.push({ op: 'readSmall' });
    if (this.hideOnRead()) return null;
    return this.objects.get(key) ?? null;
  }

  async delete(key: string, condition?: { ifMatch?: string }): Promise<void> {
    this.calls.push({ op: 'delete', condition });
    const existing = this.objects.get(key);
    if (condition?.ifMatch !== undefined && existing && existing.etag !== condition.ifMatch) {
      throw new PreconditionFailedError(key);
    }
    this.objects.delete(key);
  }

  /** Removes `key` at once, as another node's release would. */
  remove(key: string): void {
    this.objects.delete(key);
  }

  /** The stored body of `key`, parsed, or null. */
  json(key: string): Record<string, unknown> | null {
    const found = this.objects.get(key);
    return found ? (JSON.parse(found.body.toString('utf8')) as Record<string, unknown>) : null;
  }

  list(): never {
    throw new Error('MemoryBucket.list: not used by the lock');
  }
  head(): never {
    throw new Error('MemoryBucket.head: not used by the lock');
  }
  read(): never {
    throw new Error('MemoryBucket.read: not used by the lock');
  }
  copy(): never {
    throw new Error('MemoryBucket.copy: not used by the lock');
  }
}
