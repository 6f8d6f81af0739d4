/**
 * CloudFront edge-cache invalidation after ticks that changed remote objects. All CloudFront calls
 * of the sidecar live here. At most one CreateInvalidation is in flight per distribution; paths of
 * later ticks merge into the pending batch while one is in flight or waiting to be retried.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudFrontClient,
  CreateInvalidationCommand,
  GetDistributionCommand,
  type DistributionConfig,
} from '@aws-sdk/client-cloudfront';
import type { AwsOptions } from '../config.js';
import { ConfigError, SyncError, TransientError } from '../errors.js';
import { Backoff, sleep as abortableSleep } from '../timing.js';
import type { Metrics } from '../metrics.js';
import { requestHandlerOptions } from '../aws/http-handler.js';
import { retryKind } from '../remote/s3-errors.js';
import {
  DIRECT_MAPPING,
  invalidationPaths,
  keyToUrlPaths,
  originMappings,
  pathPrefixMapping,
  type KeyMapping,
} from './paths.js';

/** Region CloudFront (a global service) is signed for unless one is configured. */
export const CLOUDFRONT_REGION = 'us-east-1';

/** Default `--cf-max-paths`: a folder with more changes than this becomes one wildcard. */
export const DEFAULT_MAX_PATHS_PER_FOLDER = 10;

/**
 * Default second bound: a batch that still needs more paths than this after folder collapsing
 * becomes `/*`. 30 keeps a busy month of ticks near CloudFront's 1,000 free paths while a change
 * spread over a few folders still invalidates only what changed.
 */
export const DEFAULT_MAX_TOTAL_PATHS = 30;

/** The logging the invalidator needs; pino's `(obj, msg)` methods fit. */
export interface CdnLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Retry of throttled or transiently failed CreateInvalidation calls. */
export interface InvalidationRetry {
  /** First backoff ceiling in ms (default 1,000); each retry doubles it. */
  readonly baseDelayMs?: number;
  /** Backoff ceiling in ms (default 60,000). */
  readonly maxDelayMs?: number;
  /** Attempts per batch, first included (default 8, about 4 minutes of backoff). */
  readonly maxAttempts?: number;
}

/** Collaborators and settings of a `CloudFrontInvalidator`. */
export interface CloudFrontInvalidatorOptions {
  /** The client to use; the invalidator owns it and destroys it on `close()`. */
  readonly client: CloudFrontClient;
  readonly distributionId: string;
  readonly bucket: string;
  /** The sync prefix (no leading or trailing slash; '' for the bucket root). */
  readonly prefix: string;
  /** `--cf-inval-paths`: sent as given whenever a tick changed any remote object. */
  readonly explicitPaths?: readonly string[];
  /** `--cf-path-prefix`: the URL path the sync prefix is served under (overrides the origin). */
  readonly pathPrefix?: string;
  /** `--cf-max-paths` (default 10). */
  readonly maxPathsPerFolder?: number;
  /** Paths per batch before it becomes `/*` (default `DEFAULT_MAX_TOTAL_PATHS`). */
  readonly maxTotalPaths?: number;
  readonly metrics?: Pick<
    Metrics,
    'invalidations' | 'invalidationPaths' | 'invalidationWildcards' | 'invalidationFailures'
  >;
  readonly logger?: CdnLogger;
  readonly retry?: InvalidationRetry;
  /**
   * Runs each CreateInvalidation call; under --dfs, inside the distributed lock, so only its
   * holder invalidates. A refusal (the lock wait ran out) is retried with backoff like throttling.
   */
  readonly exclusive?: <T>(call: () => Promise<T>) => Promise<T>;
  /** For tests: waits `ms` or until `signal` aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** For tests: the jitter source. */
  readonly random?: () => number;
}

/**
 * A CloudFront client for the `aws` options: endpoint, region (us-east-1 unless configured),
 * profile, TLS settings and timeouts as for S3; credentials from the SDK's default chain.
 * `--no-sign-request` does not apply: the CloudFront API always needs credentials.
 */
export function createCloudFrontClient(aws: AwsOptions): CloudFrontClient {
  return new CloudFrontClient({
    region: aws.region ?? CLOUDFRONT_REGION,
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: requestHandlerOptions(aws, 4),
    ...(aws.endpointUrl ? { endpoint: aws.endpointUrl } : {}),
    ...(aws.profile ? { profile: aws.profile } : {}),
  });
}

const silentLogger: CdnLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** CloudFront's own error worth retrying (beside what any AWS call retries): its in-progress limit. */
const RETRYABLE = new Set(['TooManyInvalidationsInProgress']);

/** The work waiting for the next CreateInvalidation: decoded URL paths, or "send the explicit paths". */
interface Batch {
  readonly urlPaths: Set<string>;
  explicit: boolean;
}

/**
 * Invalidates the CloudFront paths that serve changed keys. `init()` once at start (reads the
 * distribution, fails clearly when it cannot); `submit()` after each tick; `flush()` and
 * `close()` at shutdown. Failures are counted and logged, never thrown into the sync.
 */
export class CloudFrontInvalidator {
  readonly #options: CloudFrontInvalidatorOptions;
  readonly #logger: CdnLogger;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #closing = new AbortController();
  #mappings: readonly KeyMapping[] | undefined;
  #pending: Batch = { urlPaths: new Set(), explicit: false };
  #draining: Promise<void> | undefined;

  constructor(options: CloudFrontInvalidatorOptions) {
    for (const [name, value] of [
      ['--cf-max-paths', options.maxPathsPerFolder],
      ['maxTotalPaths', options.maxTotalPaths],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new ConfigError(name, `must be a whole number of at least 1, got ${value}`);
      }
    }
    if (options.explicitPaths?.length === 0) throw new ConfigError('--cf-inval-paths', 'must name at least one path');
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#sleep = options.sleep ?? abortableSleep;
  }

  /**
   * Reads the distribution and decides how keys map to URL paths. Throws `ConfigError` when the
   * distribution does not exist or cannot be read (a start-up error a person must fix).
   */
  async init(): Promise<void> {
    const { distributionId: id, bucket, prefix, explicitPaths, pathPrefix } = this.#options;
    const config = await this.#readDistribution();
    if (explicitPaths) {
      this.#mappings = [];
      this.#logger.info({ distributionId: id, paths: explicitPaths }, 'CloudFront: invalidating the given paths after changes');
      return;
    }
    if (pathPrefix !== undefined) {
      this.#mappings = [pathPrefixMapping(prefix, pathPrefix)];
    } else {
      const found = originMappings(config.Origins?.Items ?? [], bucket);
      if (found.length === 0) {
        this.#logger.warn(
          { distributionId: id, bucket },
          `CloudFront: distribution ${id} has no origin reading from bucket ${bucket}; keys map to URL paths as they are (set --cf-path-prefix to choose)`,
        );
      }
      this.#mappings = found.length > 0 ? found : [DIRECT_MAPPING];
    }
    if (!this.#mappings.some((m) => overlaps(m.keyPrefix, prefix))) {
      this.#logger.warn(
        { distributionId: id, mappings: this.#mappings },
        `CloudFront: distribution ${id} serves no key under s3://${bucket}/${prefix}; nothing will be invalidated (set --cf-path-prefix to choose)`,
      );
    }
    this.#logger.info({ distributionId: id, mappings: this.#mappings }, 'CloudFront: mapping keys to URL paths');
  }

  /**
   * Queues the paths serving `changedKeys` for invalidation and returns at once. A batch starts
   * when none is in flight; otherwise the paths join the next one.
   */
  submit(changedKeys: readonly string[]): void {
    if (this.#closing.signal.aborted || changedKeys.length === 0) return;
    const mappings = this.#mappings;
    if (!mappings) throw new Error('CloudFrontInvalidator.submit: init() has not completed');
    if (this.#options.explicitPaths) {
      this.#pending.explicit = true;
    } else {
      for (const key of changedKeys) for (const path of keyToUrlPaths(key, mappings)) this.#pending.urlPaths.add(path);
    }
    if (!hasWork(this.#pending)) {
      this.#logger.debug({ keys: changedKeys.length }, 'CloudFront: no changed key is served by the distribution');
      return;
    }
    this.#drain();
  }

  /** Waits up to `timeoutMs` for pending invalidations to be sent (shutdown). */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#draining && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([this.#draining, timedOut]);
      clearTimeout(timer);
    }
    if (this.#draining) {
      this.#logger.warn(
        { distributionId: this.#options.distributionId, timeoutMs },
        'CloudFront: an invalidation was still pending at shutdown',
      );
    }
  }

  /** Stops: drops pending paths, ends any backoff wait, destroys the client. Idempotent. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (hasWork(this.#pending)) {
      this.#logger.warn({ distributionId: this.#options.distributionId }, 'CloudFront: closed with changes not yet invalidated');
    }
    const draining = this.#draining ?? Promise.resolve();
    void draining.finally(() => this.#options.client.destroy());
  }

  async #readDistribution(): Promise<DistributionConfig> {
    const id = this.#options.distributionId;
    try {
      const out = await this.#options.client.send(new GetDistributionCommand({ Id: id }));
      return out.Distribution?.DistributionConfig ?? ({} as DistributionConfig);
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      if (e.name === 'NoSuchDistribution' || status === 404) {
        throw new ConfigError('--cf-dist-id', `distribution ${id} not found (check the id and the AWS account)`);
      }
      if (e.name === 'AccessDenied' || status === 403) {
        throw new ConfigError(
          '--cf-dist-id',
          `cannot read distribution ${id}: access denied (the task role needs cloudfront:GetDistribution and ` +
            `cloudfront:CreateInvalidation on arn:aws:cloudfront::<account>:distribution/${id})`,
        );
      }
      // Throttling, 5xx, a network that is not there yet: worth another try at start-up.
      const failure = isRetryable(err) ? TransientError : SyncError;
      throw new failure(`read CloudFront distribution ${id}: ${e.message ?? String(err)}`, { cause: err });
    }
  }

  /** Starts the sender unless it runs; it sends batches one at a time until nothing is pending. */
  #drain(): void {
    if (this.#draining || this.#closing.signal.aborted) return;
    this.#draining = (async () => {
      while (hasWork(this.#pending) && !this.#closing.signal.aborted) await this.#sendWithRetry(this.#takePending());
    })()
      .catch((err: unknown) => this.#logger.error({ err }, `CloudFront: invalidation sender stopped: ${errorMessage(err)}`))
      .finally(() => {
        this.#draining = undefined;
        // A submit() between the loop's last check and here would otherwise wait for the next tick.
        if (hasWork(this.#pending)) this.#drain();
      });
  }

  #takePending(): Batch {
    const batch = this.#pending;
    this.#pending = { urlPaths: new Set(), explicit: false };
    return batch;
  }

  async #sendWithRetry(batch: Batch): Promise<void> {
    const { client, distributionId, retry = {}, random = Math.random, exclusive } = this.#options;
    const maxAttempts = retry.maxAttempts ?? 8;
    const backoff = new Backoff(random, retry.baseDelayMs ?? 1_000, retry.maxDelayMs ?? 60_000);
    let paths = this.#pathsOf(batch);
    let callerReference = newCallerReference();
    for (let attempt = 1; ; attempt++) {
      try {
        const command = new CreateInvalidationCommand({
          DistributionId: distributionId,
          InvalidationBatch: { CallerReference: callerReference, Paths: { Quantity: paths.length, Items: paths } },
        });
        const create = () => client.send(command);
        const out = await (exclusive ? exclusive(create) : create());
        this.#recordSuccess(out.Invalidation?.Id, paths);
        return;
      } catch (err) {
        const retryable = isRetryable(err);
        if (!retryable || attempt >= maxAttempts || this.#closing.signal.aborted) {
          this.#recordFailure(err, paths, retryable ? `gave up after ${attempt} attempts` : 'not retryable');
          return;
        }
        const delayMs = backoff.next();
        this.#logger.warn(
          { distributionId, attempt, delayMs, error: errorName(err) },
          `CloudFront: create invalidation: ${errorMessage(err)}; retrying`,
        );
        await this.#sleep(delayMs, this.#closing.signal);
        if (this.#closing.signal.aborted) {
          this.#recordFailure(err, paths, 'stopped while waiting to retry');
          return;
        }
        // Later ticks' paths ride along; changed content needs a new CallerReference, or
        // CloudFront would answer InvalidationBatchAlreadyExists.
        if (hasWork(this.#pending)) {
          const later = this.#takePending();
          for (const path of later.urlPaths) batch.urlPaths.add(path);
          batch.explicit ||= later.explicit;
          paths = this.#pathsOf(batch);
          callerReference = newCallerReference();
        }
      }
    }
  }

  #pathsOf(batch: Batch): string[] {
    const { explicitPaths, maxPathsPerFolder, maxTotalPaths } = this.#options;
    if (batch.explicit && explicitPaths) return [...explicitPaths];
    return invalidationPaths(batch.urlPaths, {
      maxPathsPerFolder: maxPathsPerFolder ?? DEFAULT_MAX_PATHS_PER_FOLDER,
      maxTotalPaths: maxTotalPaths ?? DEFAULT_MAX_TOTAL_PATHS,
    });
  }

  #recordSuccess(invalidationId: string | undefined, paths: readonly string[]): void {
    const wildcards = paths.filter((p) => p.endsWith('*')).length;
    this.#options.metrics?.invalidations.inc();
    this.#options.metrics?.invalidationPaths.inc(paths.length);
    if (wildcards > 0) this.#options.metrics?.invalidationWildcards.inc(wildcards);
    this.#logger.info(
      { distributionId: this.#options.distributionId, invalidationId, paths: paths.length, wildcards },
      'CloudFront: invalidation created',
    );
    this.#logger.debug({ invalidationId, paths }, 'CloudFront: invalidated paths');
  }

  #recordFailure(err: unknown, paths: readonly string[], why: string): void {
    this.#options.metrics?.invalidationFailures.inc();
    const id = this.#options.distributionId;
    const hint = errorName(err) === 'AccessDenied' ? ` (the task role needs cloudfront:CreateInvalidation on distribution ${id})` : '';
    this.#logger.error(
      { distributionId: id, paths: paths.length, error: errorName(err), err },
      `CloudFront: create invalidation on ${id}: ${errorMessage(err)}${hint}; ${why}, ${paths.length} paths not invalidated`,
    );
  }
}

function hasWork(batch: Batch): boolean {
  return batch.explicit || batch.urlPaths.size > 0;
}

/** True when keys under `syncPrefix` can fall under `keyPrefix`. */
function overlaps(keyPrefix: string, syncPrefix: string): boolean {
  const sync = syncPrefix === '' ? '' : `${syncPrefix}/`;
  return sync.startsWith(keyPrefix) || keyPrefix.startsWith(sync);
}

function newCallerReference(): string {
  return `s3-sync2-${Date.now()}-${randomUUID()}`;
}

/**
 * Whether a failed CloudFront call is worth another try: CloudFront's in-progress limit, what any
 * AWS call retries (throttling, 500/502/503/504, timeouts, network errors), and a failure of the
 * --dfs lock the call waited for (a wait that ran out, a store hiccup while taking it) — not
 * missing credentials or other SDK failures without an answer that waiting does not mend.
 */
function isRetryable(err: unknown): boolean {
  return RETRYABLE.has((err as { name?: string }).name ?? '') || retryKind(err) !== null || err instanceof SyncError;
}

function errorName(err: unknown): string {
  return (err as { name?: string }).name ?? 'Error';
}

function errorMessage(err: unknown): string {
  return (err as { message?: string }).message ?? String(err);
}
