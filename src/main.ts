#!/usr/bin/env node
/**
 * Process entry: configuration, wiring, the initial sync, the loop, signals and exit codes.
 * Exit codes: 0 done or stopped by a signal; 1 --max-failures reached or --poll 0 sync failed;
 * 2 bad configuration or a start-up check that a person must fix.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { BaselineStore } from './baseline.js';
import { CloudFrontInvalidator, createCloudFrontClient } from './cdn/invalidator.js';
import { HelpRequestedError, helpText, loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { buildServer, startServer } from './http/server.js';
import { LocalSnapshotSource } from './local/snapshot.js';
import { LocalTree } from './local/tree.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createLock } from './lock/create-lock.js';
import { lockKey } from './lock/lock-object.js';
import { resolveNodeId } from './lock/node-id.js';
import type { DistributedLock } from './lock/types.js';
import { S3Bucket, probeConditionalWrites } from './remote/bucket.js';
import { createS3Client } from './remote/client.js';
import type { Metrics } from './metrics.js';
import { Syncer } from './sync/syncer.js';

/** Version from package.json, for /status and --version. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Exit code for configuration errors (the seed's usage errors). */
const EXIT_CONFIG = 2;

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequestedError) {
      process.stdout.write(err.kind === 'version' ? `${VERSION}\n` : helpText());
      return 0;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`s3-sync2: ${err.message}\nRun "s3-sync2 --help" for the options.\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  try {
    return await run(config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error({ option: err.option }, err.message);
      process.stderr.write(`s3-sync2: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    logger.fatal({ err }, `s3-sync2 stopped: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function run(config: Config, logger: Logger): Promise<number> {
  const metrics = createMetrics();
  const client = createS3Client(config.aws, config.concurrency);
  const bucket = new S3Bucket(client, config.bucket);
  const treeOptions = { followSymlinks: config.up.followSymlinks };
  const fullTree = new LocalTree(config.localPath, { ...treeOptions, skipPaths: [] });
  const quickTree =
    config.md5SkipPaths.length > 0 ? new LocalTree(config.localPath, { ...treeOptions, skipPaths: config.md5SkipPaths }) : fullTree;
  const local = new LocalSnapshotSource({
    fullTree,
    quickTree,
    skipPaths: config.md5SkipPaths,
    rescanIntervalMs: rescanInterval(config.pollSeconds),
  });

  const dfs = config.dfs.enabled ? await distributedLock(config, bucket, metrics, logger) : null;
  const nodeId = dfs?.ownerId ?? `${hostname()}:${process.pid}`;

  let cdn: CloudFrontInvalidator | null = null;
  if (config.cloudfront.distributionId) {
    cdn = new CloudFrontInvalidator({
      client: createCloudFrontClient(config.aws),
      distributionId: config.cloudfront.distributionId,
      bucket: config.bucket,
      prefix: config.prefix,
      explicitPaths: config.cloudfront.invalidationPaths,
      pathPrefix: config.cloudfront.pathPrefix,
      maxPathsPerFolder: config.cloudfront.maxPathsPerFolder,
      metrics,
      logger,
    });
    await cdn.init();
  }

  let fatal: ((reason: string) => void) | null = null;
  const fatalReason = new Promise<string>((resolve) => (fatal = resolve));
  const syncer = new Syncer({
    config,
    bucket,
    tree: fullTree,
    local,
    baseline: new BaselineStore(config.stateDir, { bucket: config.bucket, prefix: config.prefix, localPath: config.localPath }),
    metrics,
    logger,
    lock: dfs,
    cdn,
    nodeId,
    onFatal: (reason) => fatal?.(reason),
  });

  const server =
    config.http.port > 0
      ? await startServer(
          buildServer({ controller: syncer, lock: dfs, metrics, config, logger, version: VERSION }),
          { host: config.http.host, port: config.http.port },
        )
      : null;
  if (server) logger.info({ url: server.url }, 'control API listening');

  const shutdown = async (why: string, code: number, finalSync = true): Promise<number> => {
    logger.info({ why }, 'shutting down');
    const final = await syncer.stop({ finalSync });
    if (final && final.outcome === 'failure') logger.error({ tick: final }, 'final up-sync failed');
    await cdn?.flush(2000).catch(() => undefined);
    cdn?.close();
    await dfs?.close().catch((err: unknown) => logger.warn({ err }, 'releasing the distributed lock failed'));
    await server?.close();
    client.destroy();
    logger.info({ code }, 'stopped');
    return code;
  };

  const signal = new Promise<string>((resolve) => {
    for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => resolve(name));
  });

  await syncer.prepare();
  const initial = syncer.initialSync();
  if (config.pollSeconds === 0) {
    const outcome = await Promise.race([initial, signal]);
    if (typeof outcome === 'string') return shutdown(outcome, 0);
    // The initial sync was the whole job; a second up-sync would only repeat it.
    return shutdown('--poll 0: initial sync done', outcome.outcome === 'success' ? 0 : 1, false);
  }
  syncer.startLoop();
  const ended = await Promise.race([
    signal.then((name) => ({ code: 0, why: name })),
    fatalReason.then((why) => ({ code: 1, why })),
  ]);
  return shutdown(ended.why, ended.code);
}

/**
 * --dfs: the node id, the start-up probe for enforced conditional writes, and the lock it allows
 * (a ConfigError, exit 2, when the store ignores them and --dfs-unsafe-lock was not given).
 */
async function distributedLock(config: Config, bucket: S3Bucket, metrics: Metrics, logger: Logger): Promise<DistributedLock> {
  const node = await resolveNodeId({ env: process.env, uidHostname: config.dfs.uidHostname });
  const probeKey = `${lockKey(config.prefix)}-probe-${node.id.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const conditionalWrites = await probeConditionalWrites(bucket, probeKey);
  logger.info({ node: node.id, source: node.source, conditionalWrites }, 'distributed mode');
  return createLock({ dfs: config.dfs, prefix: config.prefix, node, metrics, logger }, bucket, conditionalWrites);
}

/** The safety-net full rescan interval: ten polls, between one and ten minutes. */
function rescanInterval(pollSeconds: number): number {
  return Math.min(600, Math.max(60, pollSeconds * 10)) * 1000;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`s3-sync2: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
