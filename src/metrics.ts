/**
 * Every Prometheus metric of the sidecar, declared once. One `Metrics` per process (tests may make
 * several, each with its own registry). Label values are bounded: directions, action kinds,
 * outcomes, policies — never paths.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 's3sync2_';

/** Creates the registry and all metrics; `withDefaults` adds Node's process metrics. */
export function createMetrics(options: { withDefaults?: boolean } = {}) {
  const registry = new Registry();
  if (options.withDefaults ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];
  return {
    registry,
    tickDuration: new Histogram({
      name: `${PREFIX}tick_duration_seconds`,
      help: 'Duration of sync ticks by direction (up, down, both) and outcome (success, failure).',
      labelNames: ['direction', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    files: new Counter({
      name: `${PREFIX}files_total`,
      help: 'Files transferred or deleted, by direction and action (upload, download, delete_local, delete_remote).',
      labelNames: ['direction', 'action'] as const,
      registers,
    }),
    bytes: new Counter({
      name: `${PREFIX}bytes_total`,
      help: 'Bytes transferred by direction (up, down).',
      labelNames: ['direction'] as const,
      registers,
    }),
    conflicts: new Counter({
      name: `${PREFIX}conflicts_total`,
      help: 'Conflicts (both sides changed differently) by the policy that resolved them.',
      labelNames: ['policy'] as const,
      registers,
    }),
    skippedKeys: new Counter({
      name: `${PREFIX}skipped_keys_total`,
      help: 'Remote keys or local paths skipped (unsafe, colliding, unreadable, or kept changing while read), by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    deleteGuardTrips: new Counter({
      name: `${PREFIX}delete_guard_trips_total`,
      help: 'Runs whose deletes were refused by --max-delete, by side whose files would have been deleted.',
      labelNames: ['side'] as const,
      registers,
    }),
    failures: new Counter({
      name: `${PREFIX}tick_failures_total`,
      help: 'Failed sync ticks.',
      registers,
    }),
    consecutiveFailures: new Gauge({
      name: `${PREFIX}consecutive_failures`,
      help: 'Consecutive failed ticks (the process exits at --max-failures).',
      registers,
    }),
    lastSuccess: new Gauge({
      name: `${PREFIX}last_success_timestamp_seconds`,
      help: 'Unix time of the last successful sync tick.',
      registers,
    }),
    trackedFiles: new Gauge({
      name: `${PREFIX}tracked_files`,
      help: 'Files on each side (local, remote) after the last tick.',
      labelNames: ['side'] as const,
      registers,
    }),
    lockAcquisitions: new Counter({
      name: `${PREFIX}lock_acquisitions_total`,
      help: 'Distributed lock acquisitions by how (fresh, takeover).',
      labelNames: ['how'] as const,
      registers,
    }),
    lockLosses: new Counter({
      name: `${PREFIX}lock_losses_total`,
      help: 'Times the distributed lock was lost while held (renewal refused).',
      registers,
    }),
    lockWaitTimeouts: new Counter({
      name: `${PREFIX}lock_wait_timeouts_total`,
      help: 'Times the lock could not be acquired within --dfs-lock-wait.',
      registers,
    }),
    lockWait: new Histogram({
      name: `${PREFIX}lock_wait_seconds`,
      help: 'Time spent waiting to acquire the distributed lock.',
      buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    lockHeld: new Gauge({
      name: `${PREFIX}lock_held`,
      help: '1 while this node holds the distributed lock, else 0.',
      registers,
    }),
    lockGeneration: new Gauge({
      name: `${PREFIX}lock_generation`,
      help: 'Generation number of the lock as last seen by this node.',
      registers,
    }),
    invalidations: new Counter({
      name: `${PREFIX}cloudfront_invalidations_total`,
      help: 'CloudFront invalidations created.',
      registers,
    }),
    invalidationPaths: new Counter({
      name: `${PREFIX}cloudfront_invalidation_paths_total`,
      help: 'Paths sent in CloudFront invalidations (a wildcard counts as one).',
      registers,
    }),
    invalidationWildcards: new Counter({
      name: `${PREFIX}cloudfront_invalidation_wildcards_total`,
      help: 'Wildcard paths sent in CloudFront invalidations.',
      registers,
    }),
    invalidationFailures: new Counter({
      name: `${PREFIX}cloudfront_invalidation_failures_total`,
      help: 'CloudFront invalidations that failed after retries.',
      registers,
    }),
    httpRequests: new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'Control API requests by route and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
  };
}

/** The metrics of one process. */
export type Metrics = ReturnType<typeof createMetrics>;
