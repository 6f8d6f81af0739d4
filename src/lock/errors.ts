/** Typed errors of the distributed lock: who holds it, how long we waited, why it was lost. */
import { messageOf, SyncError } from '../errors.js';
import type { LockBody } from './types.js';

function describeHolder(holder: LockBody | null): string {
  if (!holder) return 'by nobody at the last look (it kept changing hands)';
  const host = holder.host ? ` on ${holder.host}` : '';
  const since = holder.acquiredAt ? ` since ${holder.acquiredAt}` : '';
  return `by ${holder.owner}${host} (generation ${holder.generation}${since})`;
}

/** The lock could not be acquired within --dfs-lock-wait; the tick fails, the process goes on. */
export class LockWaitTimeoutError extends SyncError {
  constructor(
    readonly key: string,
    /** The holder as last read, or null when it could not be read. */
    readonly holder: LockBody | null,
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    const last = options?.cause;
    const cause = last ? `; last error: ${messageOf(last)}` : '';
    super(
      `acquire lock ${key}: gave up after ${(waitedMs / 1000).toFixed(1)} s (--dfs-lock-wait); ` +
        `held ${describeHolder(holder)}${cause}`,
      options,
    );
  }
}

/** The lease was lost while held (renewal refused or impossible): remote writes must stop at once. */
export class LockLostError extends SyncError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`lock ${key} lost: ${reason}`);
  }
}

/** The lock was closed (shutdown): no more acquisitions, and holders' signals abort. */
export class LockClosedError extends SyncError {
  constructor(readonly key: string) {
    super(`lock ${key}: closed for shutdown, no more remote writes`);
  }
}
