/**
 * Wiring: builds every collaborator of one sidecar from a Config (S3 bucket, local tree, baseline,
 * lock, CloudFront, metrics, syncer, control server). Used by the CLI and by tests that need a
 * real sidecar in-process.
 */
import { hostname } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { BaselineStore } from './baseline.js';
import type { CloudFrontInvalidator } from './cdn/invalidator.js';
import type { Config } from './config.js';
import type { RunningServer } from './http/server.js';
import { LocalSnapshotSource } from './local/snapshot.js';
import { LocalTree, type LocalTreeOptions } from './local/tree.js';
import { createLock } from './lock/create-lock.js';
import { lockKey } from './lock/lock-object.js';
import { resolveNodeId } from './lock/node-id.js';
import type { DistributedLock } from './lock/types.js';
import { createMetrics, type Metrics } from './metrics.js';
import { S3Bucket, probeConditionalWrites } from './remote/bucket.js';
import { PreconditionCheckingBucket } from './remote/checked-preconditions.js';
import type { Bucket } from './remote/types.js';
import { createS3Client } from './remote/client.js';
import { retryingTransient, startupPauseMs, type StartupRetry } from './startup-retry.js';
import { Syncer } from './sync/syncer.js';

/** One wired sidecar. */
export interface App {
  readonly syncer: Syncer;
  readonly metrics: Metrics;
  readonly bucket: S3Bucket;
  readonly lock: DistributedLock | null;
  /** The control server, when --http-port is not 0. */
  readonly server: RunningServer | null;
  /** Resolves with a reason when --max-failures consecutive failures were reached. */
  readonly fatal: Promise<string>;
  /** Stops the loop (final up-sync unless `finalSync: false`), flushes, releases, closes. */
  shutdown(options?: { finalSync?: boolean }): Promise<void>;
}

/** What the wiring takes besides the config. */
export interface AppOptions {
  readonly logger: Logger;
  /** Environment for node-id resolution (the ECS metadata URI). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly version: string;
  /**
   * Node's default process metrics; by default on when the control server runs (off in tests that
   * build several apps in one process).
   */
  readonly processMetrics?: boolean;
  /** The safety-net full rescan interval; by default ten polls, between one and ten minutes. */
  readonly rescanIntervalMs?: number;
  /** Builds the bucket (default `new S3Bucket`); tests pass a subclass that provokes a race. */
  readonly makeBucket?: (client: S3Client, name: string) => S3Bucket;
  /** Builds a local tree (default `new LocalTree`); tests pass a subclass that edits a file mid-read. */
  readonly makeTree?: (root: string, options: LocalTreeOptions) => LocalTree;
}

/**
 * Builds the sidecar; the control server is already listening when this resolves (so /health
 * answers 503 during the initial sync). Throws ConfigError for start-up checks a person must fix.
 */
export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const { logger } = options;
  // Node's process metrics start GC and event-loop observers; without a server nobody reads them.
  const metrics = createMetrics({ withDefaults: options.processMetrics ?? config.http.port > 0 });
  const client = createS3Client(config.aws, config.concurrency);
  const pageSizes = [config.up.pageSize, config.down.pageSize].filter((n) => n !== undefined);
  const listPageSize = pageSizes.length > 0 ? Math.min(...pageSizes) : undefined;
  const bucket = options.makeBucket?.(client, config.bucket) ?? new S3Bucket(client, config.bucket, { listPageSize });
  const makeTree = options.makeTree ?? ((root: string, treeOptions: LocalTreeOptions) => new LocalTree(root, treeOptions));
  const treeOptions = { followSymlinks: config.up.followSymlinks };
  const fullTree = makeTree(config.localPath, { ...treeOptions, skipPaths: [] });
  const quickTree =
    config.md5SkipPaths.length > 0 ? makeTree(config.localPath, { ...treeOptions, skipPaths: config.md5SkipPaths }) : fullTree;
  const local = new LocalSnapshotSource({
    fullTree,
    quickTree,
    skipPaths: config.md5SkipPaths,
    rescanIntervalMs: options.rescanIntervalMs ?? rescanInterval(config.pollSeconds),
  });

  const distributed = config.dfs.enabled ? await distributedLock(config, bucket, metrics, logger, options.env) : null;
  const lock = distributed?.lock ?? null;
  // A store that ignores conditional writes (--dfs-unsafe-lock): the sync checks them itself,
  // under the lock, so a plan from an older listing cannot overwrite another node's version.
  const syncBucket: Bucket = distributed && !distributed.conditionalWrites ? new PreconditionCheckingBucket(bucket) : bucket;
  const nodeId = lock?.ownerId ?? `${hostname()}:${process.pid}`;

  let cdn: CloudFrontInvalidator | null = null;
  if (config.cloudfront.distributionId) {
    // Loaded only when used: the CloudFront client costs a noticeable share of start-up CPU.
    const { CloudFrontInvalidator, createCloudFrontClient } = await import('./cdn/invalidator.js');
    const invalidator = new CloudFrontInvalidator({
      client: createCloudFrontClient(config.aws),
      distributionId: config.cloudfront.distributionId,
      bucket: config.bucket,
      prefix: config.prefix,
      explicitPaths: config.cloudfront.invalidationPaths,
      pathPrefix: config.cloudfront.pathPrefix,
      maxPathsPerFolder: config.cloudfront.maxPathsPerFolder,
      metrics,
      logger,
      // --dfs: invalidations, like the remote writes they follow, only while holding the lock.
      exclusive: lock ? (call) => lock.withLock(() => call()) : undefined,
    });
    await retryingTransient('reading the CloudFront distribution', () => invalidator.init(), startupRetry(config, logger));
    cdn = invalidator;
  }

  let onFatal: (reason: string) => void = () => undefined;
  const fatal = new Promise<string>((resolve) => (onFatal = resolve));
  const syncer = new Syncer({
    config,
    bucket: syncBucket,
    tree: fullTree,
    local,
    baseline: new BaselineStore(config.stateDir, { bucket: config.bucket, prefix: config.prefix, localPath: config.localPath }, (message) =>
      logger.warn(message),
    ),
    metrics,
    logger,
    lock,
    cdn,
    nodeId,
    onFatal: (reason) => onFatal(reason),
  });

  const server =
    config.http.port > 0
      ? await startControlServer(config, { controller: syncer, lock, metrics, logger, version: options.version })
      : null;
  if (server) logger.info({ url: server.url }, 'control API listening');

  let closed = false;
  const shutdown = async ({ finalSync = true }: { finalSync?: boolean } = {}): Promise<void> => {
    if (closed) return;
    closed = true;
    const final = await syncer.stop({ finalSync });
    if (final && final.outcome === 'failure') logger.error({ tick: final }, 'final up-sync failed');
    await cdn?.flush(2000).catch(() => undefined);
    cdn?.close();
    await lock?.close().catch((err: unknown) => logger.warn({ err }, 'releasing the distributed lock failed'));
    // The server closes last so /health answers until the very end.
    await server?.close();
    client.destroy();
  };
  return { syncer, metrics, bucket, lock, server, fatal, shutdown };
}

/** Starts the control API; Fastify is loaded only when a port is configured (`--http-port 0` skips it). */
async function startControlServer(
  config: Config,
  deps: { controller: Syncer; lock: DistributedLock | null; metrics: Metrics; logger: Logger; version: string },
): Promise<RunningServer> {
  const { buildServer, startServer } = await import('./http/server.js');
  return startServer(buildServer({ ...deps, config }), { host: config.http.host, port: config.http.port });
}

/**
 * --dfs: the node id, the start-up probe for enforced conditional writes, and the lock it allows
 * (a ConfigError, exit 2, when the store ignores them and --dfs-unsafe-lock was not given).
 */
async function distributedLock(
  config: Config,
  bucket: S3Bucket,
  metrics: Metrics,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ lock: DistributedLock; conditionalWrites: boolean }> {
  const node = await resolveNodeId({ env, uidHostname: config.dfs.uidHostname });
  const probeKey = `${lockKey(config.prefix)}-probe-${node.id.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const conditionalWrites = await retryingTransient('the --dfs start-up probe', () => probeConditionalWrites(bucket, probeKey), startupRetry(config, logger));
  logger.info({ node: node.id, source: node.source, conditionalWrites }, 'distributed mode');
  const lock = createLock({ dfs: config.dfs, prefix: config.prefix, node, metrics, logger }, bucket, conditionalWrites);
  return { lock, conditionalWrites };
}

/**
 * Start-up checks are tried as often as a tick would be before the process gives up:
 * --max-failures times; once under --poll 0, whose one sync is not tried again either.
 */
function startupRetry(config: Config, logger: Logger): StartupRetry {
  return { maxAttempts: config.pollSeconds === 0 ? 1 : config.maxFailures, pauseMs: startupPauseMs(config.pollSeconds), logger };
}

/** The safety-net full rescan interval: ten polls, between one and ten minutes. */
function rescanInterval(pollSeconds: number): number {
  return Math.min(600, Math.max(60, pollSeconds * 10)) * 1000;
}
