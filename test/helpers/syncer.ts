/**
 * A real Syncer in the test's own process, wired as createApp wires it but without a CDN or the
 * control server, and with a lock only when given (a test adds what it needs around it), logging nothing.
 */
import { pino } from 'pino';
import { BaselineStore } from '../../src/baseline.js';
import type { Config } from '../../src/config.js';
import { LocalSnapshotSource, type LocalSnapshotOptions } from '../../src/local/snapshot.js';
import { LocalTree } from '../../src/local/tree.js';
import type { DistributedLock } from '../../src/lock/types.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { Bucket } from '../../src/remote/types.js';
import { Syncer } from '../../src/sync/syncer.js';

export interface TestSyncerOptions {
  readonly config: Config;
  /** The bucket the syncer talks to, and its name (for the baseline's identity). */
  readonly bucket: Bucket;
  readonly bucketName: string;
  readonly nodeId: string;
  readonly metrics?: Metrics;
  /** The local snapshot source to build (a subclass lets a test watch or gate the scans). */
  readonly Source?: new (options: LocalSnapshotOptions) => LocalSnapshotSource;
  /** A distributed lock for the remote writes (default none). */
  readonly lock?: DistributedLock;
}

export function testSyncer({ config, bucket, bucketName, nodeId, metrics, Source = LocalSnapshotSource, lock }: TestSyncerOptions): Syncer {
  const tree = new LocalTree(config.localPath, { followSymlinks: false, skipPaths: [] });
  return new Syncer({
    config,
    bucket,
    tree,
    local: new Source({ fullTree: tree, quickTree: tree, skipPaths: [], rescanIntervalMs: 60_000 }),
    baseline: new BaselineStore(config.stateDir, { bucket: bucketName, prefix: config.prefix, localPath: config.localPath }),
    metrics: metrics ?? createMetrics({ withDefaults: false }),
    logger: pino({ level: 'silent' }),
    lock: lock ?? null,
    cdn: null,
    nodeId,
  });
}
