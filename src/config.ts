/**
 * Configuration: flags > environment > defaults, validated once into a frozen, typed object.
 * Only this module (through `loadConfig`'s arguments, which main passes in) sees argv and the
 * environment. The option table in `config/options.ts` drives parsing, env reading and --help.
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { skipPathUnder, stateDirFor, type LocalRoot } from './config/locations.js';
import type { OptionKey } from './config/options.js';
import { Resolver } from './config/resolver.js';
import { readArgv, readEnv } from './config/sources.js';
import type { ObjectWriteOptions } from './remote/types.js';
import type { ConflictPolicy, Direction, InitMode } from './sync/types.js';

export { helpText } from './config/help.js';
export { HelpRequestedError } from './config/sources.js';

/** Log levels of the original tool (plus INFO); NONE silences the log. */
export type LogLevel = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'NONE';

/** One `--exclude` / `--include` rule, in the order given (later rules win, as in `aws s3 sync`). */
export interface FilterRule {
  readonly type: 'exclude' | 'include';
  readonly pattern: string;
}

/**
 * The `aws s3 sync` options that apply to one direction (global ones merged with
 * `--sync-opt-<dir>-*`). The object options (ACL, SSE, headers …) matter for `up`; `down` keeps
 * them so the shape is one.
 */
export interface DirectionOptions extends ObjectWriteOptions {
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
  /** Keys per listing page (`--page-size`); one listing serves both directions, so the bucket takes the smaller. */
  readonly pageSize?: number;
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
    /** Overrides the URL path prefix derived from the origin: `/a/b` form, '' for the root. */
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

/** Where relative paths are resolved; defaults to the process's working folder. */
export interface LoadConfigOptions {
  readonly cwd?: string;
}

/**
 * Builds the validated, deeply frozen Config from argv (without node and script) and an
 * environment. Throws ConfigError naming the option for any bad input, and HelpRequestedError
 * for `--help`/`-h`/`--version`.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: LoadConfigOptions = {},
): Config {
  const fromArgv = readArgv(argv);
  // Env first: the last occurrence wins, so flags override env vars.
  const r = new Resolver([...readEnv(env), ...fromArgv]);
  const localGiven = required(r.value('LocalPath'), '<LocalPath>', 'the local directory', 'LOCAL_PATH');
  const location = required(r.value('S3Uri'), '<S3Uri>', 'an s3://bucket/prefix URI', 'S3_URI');
  const cwd = resolve(opts.cwd ?? '.');
  const root: LocalRoot = { cwd, localPath: resolve(cwd, localGiven), asGiven: localGiven };
  checkExclusions(r);
  const config: Config = {
    localPath: root.localPath,
    bucket: location.bucket,
    prefix: location.prefix,
    s3Uri: location.uri,
    up: directionOptions(r, 'up'),
    down: directionOptions(r, 'down'),
    onlyUp: r.value('only-up'),
    onlyDown: r.value('only-down'),
    initMode: initMode(r),
    pollSeconds: r.value('poll'),
    maxFailures: r.value('max-failures'),
    md5SkipPaths: r.refine('md5-skip-path', (entries) => [...new Set(entries.map((e) => skipPathUnder(e, root)))]) ?? [],
    conflict: r.value('conflict'),
    maxDeletePercent: r.value('max-delete'),
    stateDir: r.refine('state-dir', (dir) => stateDirFor(dir, root)) ?? stateDirFor(undefined, root),
    shutdownTimeoutSeconds: r.value('shutdown-timeout'),
    concurrency: r.value('concurrency'),
    logLevel: r.value('debug'),
    dfs: {
      enabled: r.value('dfs'),
      lockTimeoutSeconds: r.value('dfs-lock-timeout'),
      lockWaitSeconds: r.value('dfs-lock-wait'),
      uidHostname: r.value('dfs-uid-hostname'),
      unsafeLock: r.value('dfs-unsafe-lock'),
    },
    cloudfront: {
      distributionId: r.value('cf-dist-id'),
      invalidationPaths: r.value('cf-inval-paths'),
      pathPrefix: r.value('cf-path-prefix'),
      maxPathsPerFolder: r.value('cf-max-paths'),
    },
    http: { port: r.value('http-port'), host: r.value('http-host'), controlToken: r.value('control-token') },
    aws: awsOptions(r, cwd),
  };
  return deepFreeze(config);
}

function required<T>(value: T | undefined, option: string, what: string, envName: string): T {
  if (value === undefined) throw new ConfigError(option, `missing: give ${what} as an argument or in ${envName}`);
  return value;
}

/** Pairs that contradict each other (the seed's exclusions, and an initial sync against the only allowed direction). */
const EXCLUSIVE: readonly (readonly [OptionKey, OptionKey, string])[] = [
  ['only-up', 'only-down', 'choose one direction, or neither for both'],
  ['init-sync-up', 'init-sync-down', 'choose one first-sync mode, or neither to merge'],
  ['init-sync-up', 'only-down', 'an initial upload contradicts syncing only down'],
  ['init-sync-down', 'only-up', 'an initial download contradicts syncing only up'],
];

function checkExclusions(r: Resolver): void {
  for (const [a, b, why] of EXCLUSIVE) {
    if (r.value(a) && r.value(b)) throw new ConfigError(r.origin(a) ?? a, `cannot be combined with ${r.origin(b) ?? b}: ${why}`);
  }
}

function initMode(r: Resolver): InitMode {
  if (r.value('init-sync-down')) return 'down';
  if (r.value('init-sync-up')) return 'up';
  return 'merge';
}

/** The aws s3 sync options for one direction: its own `--sync-opt-<dir>-*` settings over the global ones. */
function directionOptions(r: Resolver, dir: Direction): DirectionOptions {
  const sse = r.value('sse', dir);
  const sseKmsKeyId = r.value('sse-kms-key-id', dir);
  // These change nothing; reading them still refuses a bad value (`--no-progress=maybe`).
  for (const key of ['no-progress', 'ignore-glacier-warnings'] as const) r.value(key, dir);
  if (sseKmsKeyId !== undefined && sse !== 'aws:kms' && sse !== 'aws:kms:dsse') {
    throw new ConfigError(r.origin('sse-kms-key-id', dir) ?? '--sse-kms-key-id', 'needs --sse aws:kms or --sse aws:kms:dsse');
  }
  return {
    delete: r.value('delete', dir),
    filters: r.all(['exclude', 'include'], dir).map(({ key, value }) => ({ type: key, pattern: value })),
    sizeOnly: r.value('size-only', dir),
    exactTimestamps: r.value('exact-timestamps', dir),
    dryrun: r.value('dryrun', dir),
    followSymlinks: r.value('follow-symlinks', dir),
    guessMimeType: !r.value('no-guess-mime-type', dir),
    onlyShowErrors: r.value('only-show-errors', dir),
    quiet: r.value('quiet', dir),
    pageSize: r.value('page-size', dir),
    acl: r.value('acl', dir),
    sse,
    sseKmsKeyId,
    storageClass: r.value('storage-class', dir),
    cacheControl: r.value('cache-control', dir),
    contentType: r.value('content-type', dir),
    contentEncoding: r.value('content-encoding', dir),
    contentDisposition: r.value('content-disposition', dir),
    contentLanguage: r.value('content-language', dir),
    metadata: r.value('metadata', dir),
    expires: r.value('expires', dir),
  };
}

function awsOptions(r: Resolver, cwd: string): AwsOptions {
  const caBundle = r.value('ca-bundle');
  return {
    endpointUrl: r.value('endpoint-url'),
    region: r.value('region'),
    profile: r.value('profile'),
    verifySsl: !r.value('no-verify-ssl'),
    signRequest: !r.value('no-sign-request'),
    caBundle: caBundle === undefined ? undefined : resolve(cwd, caBundle),
    readTimeoutSeconds: r.value('cli-read-timeout'),
    connectTimeoutSeconds: r.value('cli-connect-timeout'),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
