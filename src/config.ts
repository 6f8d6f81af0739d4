/**
 * Configuration: flags > environment > defaults, validated once into a frozen, typed object.
 * Only this module reads argv and process.env.
 */
import type { ConflictPolicy, InitMode } from './sync/types.js';

/** Log levels of the original tool (plus INFO); NONE silences the log. */
export type LogLevel = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'NONE';

/** One `--exclude` / `--include` rule, in the order given (later rules win, as in `aws s3 sync`). */
export interface FilterRule {
  readonly type: 'exclude' | 'include';
  readonly pattern: string;
}

/** The `aws s3 sync` options that apply to one direction (global ones merged with `--sync-opt-<dir>-*`). */
export interface DirectionOptions {
  /** Propagate deletes in this direction. */
  readonly delete: boolean;
  readonly filters: readonly FilterRule[];
  readonly sizeOnly: boolean;
  readonly exactTimestamps: boolean;
  readonly dryrun: boolean;
  readonly followSymlinks: boolean;
  readonly guessMimeType: boolean;
  readonly onlyShowErrors: boolean;
  readonly quiet: boolean;
  /** Object options for uploads (meaningful for `up`; kept for `down` so the shape is one). */
  readonly acl?: string;
  readonly sse?: string;
  readonly sseKmsKeyId?: string;
  readonly storageClass?: string;
  readonly cacheControl?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly expires?: Date;
}

/** AWS client settings (`aws` global options). */
export interface AwsOptions {
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly verifySsl: boolean;
  readonly signRequest: boolean;
  readonly caBundle?: string;
  /** Seconds; 0 = no timeout (aws CLI semantics). */
  readonly readTimeoutSeconds?: number;
  readonly connectTimeoutSeconds?: number;
}

/** The whole validated configuration. */
export interface Config {
  /** Absolute path of the synced directory. */
  readonly localPath: string;
  readonly bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket root. */
  readonly prefix: string;
  /** The S3 URI as given, for logs. */
  readonly s3Uri: string;
  readonly up: DirectionOptions;
  readonly down: DirectionOptions;
  readonly onlyUp: boolean;
  readonly onlyDown: boolean;
  readonly initMode: InitMode;
  /** Seconds between ticks; 0 = initial sync then exit. */
  readonly pollSeconds: number;
  /** Consecutive failed ticks before exit 1; 0 = never. */
  readonly maxFailures: number;
  /** Folders (relative POSIX) excluded from local change detection (`--md5-skip-path`). */
  readonly md5SkipPaths: readonly string[];
  readonly conflict: ConflictPolicy;
  /** Percent of one side's files a run may delete. */
  readonly maxDeletePercent: number;
  /** Absolute directory of the persisted baseline; never synced. */
  readonly stateDir: string;
  readonly shutdownTimeoutSeconds: number;
  /** Parallel transfers. */
  readonly concurrency: number;
  readonly logLevel: LogLevel;
  readonly dfs: {
    readonly enabled: boolean;
    readonly lockTimeoutSeconds: number;
    readonly lockWaitSeconds: number;
    readonly uidHostname: boolean;
    readonly unsafeLock: boolean;
  };
  readonly cloudfront: {
    readonly distributionId?: string;
    /** Explicit `--cf-inval-paths` (seed parity); absent = computed from changed keys. */
    readonly invalidationPaths?: readonly string[];
    /** Overrides the URL path prefix derived from the origin. */
    readonly pathPrefix?: string;
    readonly maxPathsPerFolder: number;
  };
  readonly http: {
    /** 0 = no server. */
    readonly port: number;
    readonly host: string;
    readonly controlToken?: string;
  };
  readonly aws: AwsOptions;
}
