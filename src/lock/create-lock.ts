/** Chooses the lock for `--dfs` from the store's probed abilities and `--dfs-unsafe-lock`. */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Bucket } from '../remote/types.js';
import type { LockLogger, LockMetrics } from './lease-lock.js';
import { lockKey } from './lock-object.js';
import { S3LeaseLock } from './s3-lock.js';
import type { DistributedLock } from './types.js';
import { UnsafeLock } from './unsafe-lock.js';

/** The start-up error when the store ignores conditional writes and no opt-in was given. */
export const CONDITIONAL_WRITES_UNSUPPORTED_MESSAGE =
  'the S3 store does not enforce conditional writes (If-None-Match / If-Match), so --dfs cannot keep ' +
  'two nodes from writing at once. Use a store that enforces them (AWS S3 does), or accept the original ' +
  "tool's weaker put-then-read lock with --dfs-unsafe-lock.";

/** What `createLock` needs besides the bucket. */
export interface CreateLockParams {
  readonly dfs: Pick<Config['dfs'], 'lockTimeoutSeconds' | 'lockWaitSeconds' | 'unsafeLock'>;
  /** The synced prefix (the lock object lives beside the files). */
  readonly prefix: string;
  /** From `resolveNodeId`. */
  readonly node: { readonly id: string; readonly host: string };
  readonly metrics?: LockMetrics;
  readonly logger?: LockLogger;
}

/**
 * The lock for `--dfs`: the lease lock when the store enforces conditional writes (even with
 * `--dfs-unsafe-lock`, which then has nothing to relax), the put-then-read lock when it does not
 * and the user opted in; otherwise a ConfigError (the CLI exits 2 with its message).
 */
export function createLock(params: CreateLockParams, bucket: Bucket, conditionalWrites: boolean): DistributedLock {
  const deps = {
    bucket,
    key: lockKey(params.prefix),
    ownerId: params.node.id,
    host: params.node.host,
    leaseSeconds: params.dfs.lockTimeoutSeconds,
    waitSeconds: params.dfs.lockWaitSeconds,
    metrics: params.metrics,
    logger: params.logger,
  };
  if (conditionalWrites) {
    if (params.dfs.unsafeLock) {
      params.logger?.info({}, '--dfs-unsafe-lock ignored: the store enforces conditional writes, so the safe lock is used');
    }
    return new S3LeaseLock(deps);
  }
  if (params.dfs.unsafeLock) return new UnsafeLock(deps);
  throw new ConfigError('--dfs', CONDITIONAL_WRITES_UNSUPPORTED_MESSAGE);
}
