/**
 * The option table: one entry per option drives argv parsing, environment reading, defaults,
 * validation and --help. Keys are the long option names without `--`.
 */
import {
  bool,
  globPattern,
  headerValue,
  headerWord,
  httpUrl,
  integer,
  metadata,
  oneOf,
  pipeList,
  s3Uri,
  text,
  timestamp,
  urlPathPrefix,
  urlPaths,
  word,
  type Parser,
} from './parsers.js';

/** The sections of --help, in order. */
export const OPTION_GROUPS = {
  arguments: 'Arguments',
  seed: 'Options of the original tool',
  sync: 'aws s3 sync options',
  aws: 'aws global options',
  new: 'New in s3-sync2',
  http: 'HTTP control API',
  dfs: 'Distributed mode',
  cloudfront: 'CloudFront',
} as const;

/** A section of --help. */
export type OptionGroup = keyof typeof OPTION_GROUPS;

/** How an option is given on the command line. */
export type Arity =
  /** Bare flag; `--flag=false` is accepted too. */
  | 'flag'
  /** Needs a value: `--opt value` or `--opt=value`. */
  | 'value'
  /**
   * Takes the next word only when it is a valid value; bare, it means `implicit` (like aws `--sse`).
   * A next word that is neither a value, an option nor shaped like a path or URI is an error.
   */
  | 'optional-value'
  /** Not an option: a positional argument (`<LocalPath>`, `<S3Uri>`). */
  | 'positional';

/** One option: how it is spelled, where it may come from, what it accepts, its default, its help. */
export interface OptionSpec<T, D extends T | undefined = T | undefined> {
  readonly arity: Arity;
  /** Single-letter form, without `-`. */
  readonly short?: string;
  /** Environment variables, highest precedence first. */
  readonly env?: readonly string[];
  /** A `--no-…` spelling that sets this flag to false (e.g. `no-follow-symlinks`). */
  readonly negation?: string;
  /** Raw value used when an `optional-value` option is given bare. */
  readonly implicit?: string;
  /** An `aws s3 sync` option: also accepted as `--sync-opt-up-<name>` / `--sync-opt-down-<name>`. */
  readonly perDirection?: boolean;
  /** May be given several times; every occurrence counts, in order. */
  readonly repeatable?: boolean;
  readonly parser: Parser<T>;
  readonly default?: D;
  /** Default as shown in --help when it is not a plain value. */
  readonly defaultText?: string;
  readonly group: OptionGroup;
  readonly help: string;
}

/** An option whose value type is erased, for code that walks the whole table. */
export type AnyOptionSpec = OptionSpec<unknown, unknown>;

/** Keeps the entry's value type, and whether it has a default, for the resolver. */
function option<T>(spec: Omit<OptionSpec<T, T>, 'default'> & { readonly default: NoInfer<T> }): OptionSpec<T, T>;
function option<T>(spec: OptionSpec<T, undefined>): OptionSpec<T, undefined>;
function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

/** A boolean flag, off by default. */
function flag(spec: Omit<OptionSpec<boolean, false>, 'arity' | 'parser' | 'default'>): OptionSpec<boolean, false> {
  return { ...spec, arity: 'flag', parser: bool, default: false };
}

/** An `aws s3 sync` option that may be set per direction. */
function syncOption<T>(spec: Omit<OptionSpec<T, undefined>, 'group' | 'perDirection'>): OptionSpec<T, undefined> {
  return { ...spec, group: 'sync', perDirection: true };
}

/** An `aws s3 sync` flag that may be set per direction. */
function syncFlag(spec: Omit<OptionSpec<boolean, false>, 'arity' | 'parser' | 'default' | 'group'>) {
  return flag({ ...spec, group: 'sync', perDirection: true });
}

/** `aws s3 sync --acl` values. */
export const ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
] as const;

/** `aws s3 sync --sse` values. */
export const SSE_MODES = ['AES256', 'aws:kms', 'aws:kms:dsse'] as const;

/** `aws s3 sync --storage-class` values. */
export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'EXPRESS_ONEZONE',
] as const;

/** `--debug` levels. */
export const LOG_LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'NONE'] as const;

/** `--conflict` policies. */
export const CONFLICT_POLICIES = ['newer', 'local', 'remote', 'keep-both'] as const;

/** Name of the default state folder inside LocalPath (`.s3-sync2*` names are never synced). */
export const DEFAULT_STATE_DIR_NAME = '.s3-sync2-state';

/** Environment variables holding extra `aws s3 sync` options (as words) for both or one direction. */
export const SYNC_OPTS_ENV = { global: 'SYNC_OPTS', up: 'SYNC_OPT_UP', down: 'SYNC_OPT_DOWN' } as const;

/** Every option. */
export const OPTIONS = {
  // --- Arguments -------------------------------------------------------------------------------
  LocalPath: option({
    arity: 'positional',
    env: ['LOCAL_PATH'],
    parser: text('LocalPath'),
    group: 'arguments',
    help: 'Local directory to synchronize, e.g. /data. Resolved to an absolute path.',
  }),
  S3Uri: option({
    arity: 'positional',
    env: ['S3_URI'],
    parser: s3Uri,
    group: 'arguments',
    help: 'Remote S3 URI, e.g. s3://mybucket/remote/dir. May be given before or after LocalPath.',
  }),

  // --- Original tool ---------------------------------------------------------------------------
  debug: option({
    arity: 'optional-value',
    env: ['DEBUG'],
    implicit: 'DEBUG',
    parser: oneOf(LOG_LEVELS, { ignoreCase: true, metavar: 'LEVEL' }),
    // INFO, not the seed's ERROR: a sidecar's per-tick summary lines belong in CloudWatch by default.
    default: 'INFO',
    group: 'seed',
    help: 'Log level (case-insensitive); given bare, DEBUG (a LocalPath right after a bare --debug must contain a "/", e.g. ./data). INFO logs one summary line per tick that changed something.',
  }),
  'init-sync-down': flag({
    short: 'i',
    env: ['INIT_SYNC_DOWN'],
    group: 'seed',
    help: 'First sync without a saved baseline: the remote side wins every difference.',
  }),
  'init-sync-up': flag({
    short: 'u',
    env: ['INIT_SYNC_UP'],
    group: 'seed',
    help: 'First sync without a saved baseline: the local side wins every difference. Neither: merge, newer wins, nothing deleted.',
  }),
  'max-failures': option({
    arity: 'value',
    short: 'x',
    env: ['MAX_FAILURES'],
    parser: integer(0),
    default: 3,
    group: 'seed',
    help: 'Consecutive failed syncs before exiting with code 1; 0 = never exit.',
  }),
  'md5-skip-path': option({
    arity: 'value',
    short: 's',
    env: ['MD5_SKIP_PATH'],
    parser: pipeList,
    group: 'seed',
    help: 'Folders inside LocalPath left out of local change detection, separated by "|" (relative to LocalPath, or starting with it).',
  }),
  'only-down': flag({ env: ['ONLY_DOWN'], group: 'seed', help: 'Only synchronize from S3Uri to LocalPath.' }),
  'only-up': flag({ env: ['ONLY_UP'], group: 'seed', help: 'Only synchronize from LocalPath to S3Uri.' }),
  poll: option({
    arity: 'value',
    short: 'p',
    env: ['POLL_INTERVAL'],
    parser: integer(0, 3600),
    default: 30,
    group: 'seed',
    help: 'Seconds between checks for local and remote changes; 0 = initial sync, then exit.',
  }),

  // --- aws s3 sync options (per direction with --sync-opt-up-/--sync-opt-down-) -----------------
  delete: syncFlag({ help: 'Propagate deletions (a file deleted on one side is deleted on the other).' }),
  exclude: syncOption({
    arity: 'value',
    repeatable: true,
    parser: globPattern,
    help: 'Exclude paths matching the pattern (aws semantics: later rules win, * crosses /). Repeatable.',
  }),
  include: syncOption({
    arity: 'value',
    repeatable: true,
    parser: globPattern,
    help: 'Re-include paths matching the pattern. Repeatable; order with --exclude matters.',
  }),
  acl: syncOption({ arity: 'value', parser: oneOf(ACLS, { metavar: 'ACL' }), help: 'Canned ACL for uploaded objects.' }),
  sse: syncOption({
    arity: 'optional-value',
    implicit: 'AES256',
    parser: oneOf(SSE_MODES, { metavar: 'MODE' }),
    help: 'Server-side encryption for uploads; given bare, AES256 (a LocalPath right after a bare --sse must contain a "/", e.g. ./data).',
  }),
  'sse-kms-key-id': syncOption({ arity: 'value', parser: headerWord('KEY_ID'), help: 'KMS key for --sse aws:kms or aws:kms:dsse.' }),
  'storage-class': syncOption({ arity: 'value', parser: oneOf(STORAGE_CLASSES, { metavar: 'CLASS' }), help: 'Storage class of uploaded objects.' }),
  'cache-control': syncOption({ arity: 'value', parser: headerValue(), help: 'Cache-Control header of uploaded objects.' }),
  'content-type': syncOption({ arity: 'value', parser: headerValue(), help: 'Content-Type of every uploaded object (instead of guessing it).' }),
  'content-encoding': syncOption({ arity: 'value', parser: headerValue(), help: 'Content-Encoding header of uploaded objects.' }),
  'content-disposition': syncOption({ arity: 'value', parser: headerValue(), help: 'Content-Disposition header of uploaded objects.' }),
  'content-language': syncOption({ arity: 'value', parser: headerValue(), help: 'Content-Language header of uploaded objects.' }),
  metadata: syncOption({
    arity: 'value',
    parser: metadata,
    help: "User metadata of uploaded objects: key1=value1,key2=value2 or a JSON object ({} for none). Keys: ASCII letters, digits and HTTP token signs such as - _ . (no spaces); values: printable ASCII.",
  }),
  expires: syncOption({ arity: 'value', parser: timestamp, help: 'Expires header of uploaded objects (an ISO-8601 time without a zone is UTC).' }),
  'size-only': syncFlag({ help: 'Compare sizes only, not timestamps, to decide that a file changed.' }),
  'exact-timestamps': syncFlag({ help: 'Treat same-size files with different timestamps as changed. Always so in s3-sync2 (a local change is a new size or mtime, or a new ctime with other content; a remote one a new ETag); accepted for compatibility.' }),
  dryrun: syncFlag({ help: 'Log what would be transferred or deleted, change nothing (the tick summary counts them as dryrun).' }),
  'follow-symlinks': syncFlag({
    negation: 'no-follow-symlinks',
    help: 'Follow symbolic links inside LocalPath (never to files outside it). Default: not followed.',
  }),
  'no-guess-mime-type': syncFlag({ help: 'Do not guess Content-Type from the file extension.' }),
  'only-show-errors': syncFlag({ help: 'Log only errors and warnings of transfers.' }),
  quiet: syncFlag({ help: 'Do not log individual transfers, nor their (dryrun) lines.' }),
  'page-size': syncOption({
    arity: 'value',
    parser: integer(1, 1000),
    defaultText: '1000',
    help:
      'Keys per page when listing the bucket (1000 is the most S3 returns); smaller pages help where a listing request ' +
      'times out. One listing serves both directions: given per direction, the smaller value is used.',
  }),
  'no-progress': syncFlag({ help: 'Accepted for compatibility; changes nothing: s3-sync2 shows no progress, it logs JSON lines.' }),
  'ignore-glacier-warnings': syncFlag({
    help:
      'Accepted for compatibility; changes nothing. An archived object (GLACIER, DEEP_ARCHIVE) that S3 refuses to serve is ' +
      'skipped without failing the tick, logged as an error and counted in s3sync2_skipped_keys_total on every tick until it ' +
      'is restored; this flag does not silence that line.',
  }),

  // --- aws global options ----------------------------------------------------------------------
  'endpoint-url': option({
    arity: 'value',
    env: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    parser: httpUrl,
    group: 'aws',
    help: 'S3 endpoint (MinIO, moto, LocalStack …) instead of AWS.',
  }),
  region: option({
    arity: 'value',
    env: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
    parser: word('REGION'),
    group: 'aws',
    defaultText: "the AWS SDK's",
    help: 'AWS region.',
  }),
  profile: option({ arity: 'value', env: ['AWS_PROFILE'], parser: word('NAME'), group: 'aws', help: 'Named profile from the AWS config files.' }),
  'no-verify-ssl': flag({ group: 'aws', help: 'Do not verify TLS certificates of the endpoint.' }),
  'no-sign-request': flag({ group: 'aws', help: 'Send anonymous requests (no credentials).' }),
  'ca-bundle': option({ arity: 'value', env: ['AWS_CA_BUNDLE'], parser: text('FILE'), group: 'aws', help: 'CA certificates (PEM) to verify TLS with.' }),
  'cli-read-timeout': option({
    arity: 'value',
    parser: integer(0),
    group: 'aws',
    defaultText: "the AWS SDK's",
    help: 'Socket read timeout in seconds; 0 = none.',
  }),
  'cli-connect-timeout': option({
    arity: 'value',
    parser: integer(0),
    group: 'aws',
    defaultText: "the AWS SDK's",
    help: 'Connection timeout in seconds; 0 = none.',
  }),

  // --- New in s3-sync2 -------------------------------------------------------------------------
  conflict: option({
    arity: 'value',
    env: ['CONFLICT_POLICY'],
    parser: oneOf(CONFLICT_POLICIES, { metavar: 'POLICY' }),
    default: 'newer',
    group: 'new',
    help: 'Who wins when a file changed on both sides; keep-both keeps the loser as name.conflict-<time>-<node>.ext.',
  }),
  'max-delete': option({
    arity: 'value',
    env: ['MAX_DELETE'],
    parser: integer(0, 100),
    default: 50,
    group: 'new',
    help: 'Refuse the deletes of a run that would remove more than this percentage of one side\'s files.',
  }),
  'state-dir': option({
    arity: 'value',
    env: ['STATE_DIR'],
    parser: text('DIR'),
    group: 'new',
    defaultText: `<LocalPath>/${DEFAULT_STATE_DIR_NAME}`,
    help: 'Where the sync baseline (and its journal) is kept; inside LocalPath only under a name starting with .s3-sync2 (never synced). Created when first needed; a path that is not a folder is refused at start.',
  }),
  'shutdown-timeout': option({
    arity: 'value',
    env: ['SHUTDOWN_TIMEOUT'],
    parser: integer(1, 115),
    default: 25,
    group: 'new',
    help: 'Seconds allowed for the final up-sync on SIGTERM/SIGINT (keep below the ECS stopTimeout).',
  }),
  concurrency: option({
    arity: 'value',
    env: ['SYNC_CONCURRENCY'],
    parser: integer(1, 256),
    default: 16,
    group: 'new',
    help: 'Parallel transfers.',
  }),

  // --- HTTP control API ------------------------------------------------------------------------
  'http-port': option({
    arity: 'value',
    env: ['HTTP_PORT'],
    parser: integer(0, 65535),
    default: 9180,
    group: 'http',
    help: 'Port of the health, metrics and control API; 0 = no server.',
  }),
  'http-host': option({
    arity: 'value',
    env: ['HTTP_HOST'],
    parser: word('HOST'),
    default: '0.0.0.0',
    group: 'http',
    help: 'Address the API listens on.',
  }),
  'control-token': option({
    arity: 'value',
    env: ['CONTROL_TOKEN'],
    parser: word('TOKEN'),
    group: 'http',
    help: 'Bearer token required by mutating routes (prefer the env var: argv is visible to ps).',
  }),

  // --- Distributed mode ------------------------------------------------------------------------
  dfs: flag({
    short: 'd',
    env: ['DFS'],
    group: 'dfs',
    help: 'Several nodes on one prefix: remote writes only while holding a lease lock on S3.',
  }),
  'dfs-lock-timeout': option({
    arity: 'value',
    short: 't',
    env: ['DFS_LOCK_TIMEOUT'],
    parser: integer(1, 86400),
    default: 60,
    group: 'dfs',
    help: 'Seconds a lock may stand unrenewed before it is stale and taken over.',
  }),
  'dfs-lock-wait': option({
    arity: 'value',
    short: 'w',
    env: ['DFS_LOCK_WAIT'],
    parser: integer(0, 86400),
    default: 180,
    group: 'dfs',
    help: 'Seconds to wait for the lock before the sync attempt fails.',
  }),
  'dfs-uid-hostname': flag({
    env: ['DFS_UID_HOSTNAME'],
    group: 'dfs',
    help: 'Identify this node by its hostname (instead of the ECS task ARN or machine id).',
  }),
  'dfs-unsafe-lock': flag({
    env: ['DFS_UNSAFE_LOCK'],
    group: 'dfs',
    help: 'On a store without conditional writes, fall back to the original put-then-read lock (two nodes may both hold it).',
  }),

  // --- CloudFront ------------------------------------------------------------------------------
  'cf-dist-id': option({
    arity: 'value',
    short: 'c',
    env: ['CF_DISTRIBUTION_ID'],
    parser: word('ID'),
    group: 'cloudfront',
    help: 'CloudFront distribution to invalidate after remote changes.',
  }),
  'cf-inval-paths': option({
    arity: 'value',
    env: ['CF_INVALIDATION_PATHS'],
    parser: urlPaths,
    group: 'cloudfront',
    defaultText: 'the changed paths',
    help: 'Fixed paths to invalidate after each change (e.g. "/*"), instead of the changed paths.',
  }),
  'cf-path-prefix': option({
    arity: 'value',
    env: ['CF_PATH_PREFIX'],
    parser: urlPathPrefix,
    group: 'cloudfront',
    defaultText: "the origin's path",
    help: 'URL path under which the synced prefix is served.',
  }),
  'cf-max-paths': option({
    arity: 'value',
    env: ['CF_MAX_PATHS'],
    parser: integer(1, 3000),
    default: 10,
    group: 'cloudfront',
    help: 'Changed paths per folder above which one wildcard path replaces them.',
  }),
};

/** Name of an option (its long name without `--`, or a positional's name). */
export type OptionKey = keyof typeof OPTIONS;

/** The parsed type of an option's value. */
export type ValueOf<K extends OptionKey> = (typeof OPTIONS)[K] extends OptionSpec<infer T, infer _D> ? T : never;

/** An option's value after defaults: possibly undefined only when it has no default. */
export type Resolved<K extends OptionKey> =
  (typeof OPTIONS)[K] extends OptionSpec<infer T, infer D> ? (undefined extends D ? T | undefined : T) : never;

/** The table as a list, for code that walks every option. */
export const OPTION_LIST: readonly (readonly [OptionKey, AnyOptionSpec])[] = Object.entries(OPTIONS) as [
  OptionKey,
  AnyOptionSpec,
][];
