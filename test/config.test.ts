import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HelpRequestedError, helpText, loadConfig, type Config } from '../src/config.js';
import { OPTION_LIST, SYNC_OPTS_ENV } from '../src/config/options.js';
import { ConfigError } from '../src/errors.js';

type Env = Record<string, string | undefined>;

const ARGS = ['/data', 's3://my-bucket/some/prefix'];

/** loadConfig with both positionals, from /srv. */
function load(extra: readonly string[] = [], env: Env = {}): Config {
  return loadConfig([...ARGS, ...extra], env, { cwd: '/srv' });
}

/** The ConfigError that loadConfig throws for these inputs. */
function configError(argv: readonly string[], env: Env = {}): ConfigError {
  try {
    loadConfig(argv, env, { cwd: '/srv' });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
}

test('defaults', () => {
  const c = load();
  assert.equal(c.localPath, '/data');
  assert.equal(c.bucket, 'my-bucket');
  assert.equal(c.prefix, 'some/prefix');
  assert.equal(c.s3Uri, 's3://my-bucket/some/prefix');
  assert.equal(c.pollSeconds, 30);
  assert.equal(c.maxFailures, 3);
  assert.equal(c.logLevel, 'INFO');
  assert.equal(c.initMode, 'merge');
  assert.equal(c.onlyUp, false);
  assert.equal(c.onlyDown, false);
  assert.deepEqual(c.md5SkipPaths, []);
  assert.equal(c.conflict, 'newer');
  assert.equal(c.maxDeletePercent, 50);
  assert.equal(c.stateDir, '/data/.s3-sync2-state');
  assert.equal(c.shutdownTimeoutSeconds, 25);
  assert.equal(c.concurrency, 16);
  assert.deepEqual(c.dfs, { enabled: false, lockTimeoutSeconds: 60, lockWaitSeconds: 180, uidHostname: false, unsafeLock: false });
  assert.equal(c.cloudfront.distributionId, undefined);
  assert.equal(c.cloudfront.invalidationPaths, undefined);
  assert.equal(c.cloudfront.maxPathsPerFolder, 10);
  assert.equal(c.http.port, 9180);
  assert.equal(c.http.host, '0.0.0.0');
  assert.equal(c.http.controlToken, undefined);
  assert.equal(c.aws.verifySsl, true);
  assert.equal(c.aws.signRequest, true);
  assert.equal(c.aws.endpointUrl, undefined);
  for (const dir of [c.up, c.down]) {
    assert.equal(dir.delete, false);
    assert.deepEqual(dir.filters, []);
    assert.equal(dir.followSymlinks, false, 'symlinks are not followed unless asked');
    assert.equal(dir.guessMimeType, true);
    assert.equal(dir.sizeOnly, false);
    assert.equal(dir.dryrun, false);
    assert.equal(dir.acl, undefined);
  }
});

test('the result is deeply frozen', () => {
  const c = load(['--exclude', 'x', '--metadata', 'a=b']);
  assert.throws(() => Object.assign(c, { pollSeconds: 1 }), TypeError);
  assert.throws(() => Object.assign(c.dfs, { enabled: true }), TypeError);
  assert.throws(() => (c.up.filters as unknown[]).push({}), TypeError);
  assert.throws(() => Object.assign(c.up.metadata ?? {}, { c: 'd' }), TypeError);
});

test('every short form of the original tool', () => {
  const c = load(['-c', 'E2EXAMPLE', '-d', '-t', '90', '-w', '5', '-i', '-x', '0', '-s', 'cache', '-p', '12']);
  assert.equal(c.cloudfront.distributionId, 'E2EXAMPLE');
  assert.equal(c.dfs.enabled, true);
  assert.equal(c.dfs.lockTimeoutSeconds, 90);
  assert.equal(c.dfs.lockWaitSeconds, 5);
  assert.equal(c.initMode, 'down');
  assert.equal(c.maxFailures, 0);
  assert.deepEqual(c.md5SkipPaths, ['cache']);
  assert.equal(c.pollSeconds, 12);
  assert.equal(load(['-u']).initMode, 'up');
});

test('every environment variable of the original tool', () => {
  const c = loadConfig([], {
    LOCAL_PATH: 'data',
    S3_URI: 's3://env-bucket/p',
    CF_DISTRIBUTION_ID: 'E1',
    CF_INVALIDATION_PATHS: '/a /b,/c',
    DEBUG: 'warn',
    DFS: 'yes',
    DFS_LOCK_TIMEOUT: '61',
    DFS_LOCK_WAIT: '0',
    INIT_SYNC_UP: '1',
    MAX_FAILURES: '7',
    MD5_SKIP_PATH: 'a|b/',
    ONLY_UP: 'true',
    POLL_INTERVAL: '0',
  }, { cwd: '/srv' });
  assert.equal(c.localPath, '/srv/data');
  assert.equal(c.bucket, 'env-bucket');
  assert.equal(c.cloudfront.distributionId, 'E1');
  assert.deepEqual(c.cloudfront.invalidationPaths, ['/a', '/b', '/c']);
  assert.equal(c.logLevel, 'WARN');
  assert.equal(c.dfs.enabled, true);
  assert.equal(c.dfs.lockTimeoutSeconds, 61);
  assert.equal(c.dfs.lockWaitSeconds, 0);
  assert.equal(c.initMode, 'up');
  assert.equal(c.maxFailures, 7);
  assert.deepEqual(c.md5SkipPaths, ['a', 'b']);
  assert.equal(c.onlyUp, true);
  assert.equal(c.pollSeconds, 0);
});

test('new, HTTP and AWS options from flags and from env', () => {
  const flags = load([
    '--conflict', 'keep-both', '--max-delete=100', '--state-dir', 'state', '--shutdown-timeout', '115',
    '--concurrency', '256', '--http-port', '0', '--http-host', '127.0.0.1', '--control-token', 's3cret',
    '--endpoint-url', 'http://localhost:5000', '--region', 'eu-west-1', '--profile', 'dev', '--no-verify-ssl',
    '--no-sign-request', '--ca-bundle', 'certs/ca.pem', '--cli-read-timeout', '0', '--cli-connect-timeout', '5',
    '--cf-path-prefix', 'static/', '--cf-max-paths', '3000', '--dfs-uid-hostname', '--dfs-unsafe-lock',
  ]);
  assert.equal(flags.conflict, 'keep-both');
  assert.equal(flags.maxDeletePercent, 100);
  assert.equal(flags.stateDir, '/srv/state');
  assert.equal(flags.shutdownTimeoutSeconds, 115);
  assert.equal(flags.concurrency, 256);
  assert.deepEqual(flags.http, { port: 0, host: '127.0.0.1', controlToken: 's3cret' });
  assert.deepEqual(flags.aws, {
    endpointUrl: 'http://localhost:5000',
    region: 'eu-west-1',
    profile: 'dev',
    verifySsl: false,
    signRequest: false,
    caBundle: '/srv/certs/ca.pem',
    readTimeoutSeconds: 0,
    connectTimeoutSeconds: 5,
  });
  assert.equal(flags.cloudfront.pathPrefix, '/static');
  assert.equal(flags.cloudfront.maxPathsPerFolder, 3000);
  assert.equal(flags.dfs.uidHostname, true);
  assert.equal(flags.dfs.unsafeLock, true);

  const env = load([], {
    CONFLICT_POLICY: 'remote', MAX_DELETE: '0', STATE_DIR: '/var/lib/s3-sync2', SHUTDOWN_TIMEOUT: '1',
    SYNC_CONCURRENCY: '1', HTTP_PORT: '65535', HTTP_HOST: '::', CONTROL_TOKEN: 't', AWS_ENDPOINT_URL: 'https://s3.example',
    AWS_DEFAULT_REGION: 'us-west-2', AWS_PROFILE: 'p', AWS_CA_BUNDLE: '/ca.pem', CF_PATH_PREFIX: '/', CF_MAX_PATHS: '1',
    DFS_UID_HOSTNAME: 'on', DFS_UNSAFE_LOCK: 'false',
  });
  assert.equal(env.conflict, 'remote');
  assert.equal(env.maxDeletePercent, 0);
  assert.equal(env.stateDir, '/var/lib/s3-sync2');
  assert.equal(env.shutdownTimeoutSeconds, 1);
  assert.equal(env.concurrency, 1);
  assert.deepEqual(env.http, { port: 65535, host: '::', controlToken: 't' });
  assert.equal(env.aws.endpointUrl, 'https://s3.example');
  assert.equal(env.aws.region, 'us-west-2');
  assert.equal(env.aws.profile, 'p');
  assert.equal(env.aws.caBundle, '/ca.pem');
  assert.equal(env.cloudfront.pathPrefix, '');
  assert.equal(env.cloudfront.maxPathsPerFolder, 1);
  assert.equal(env.dfs.uidHostname, true);
  assert.equal(env.dfs.unsafeLock, false);
});

test('flags beat env vars, env vars beat defaults; empty env vars count as unset', () => {
  assert.equal(load([], { POLL_INTERVAL: '10' }).pollSeconds, 10);
  assert.equal(load(['--poll', '20'], { POLL_INTERVAL: '10' }).pollSeconds, 20);
  assert.equal(load(['--poll=20'], { POLL_INTERVAL: 'not a number' }).pollSeconds, 20, 'an overridden env var is not read');
  assert.equal(load([], { POLL_INTERVAL: '' }).pollSeconds, 30);
  assert.equal(load(['--dfs=false'], { DFS: 'true' }).dfs.enabled, false);
  assert.equal(load([], { DFS: 'no' }).dfs.enabled, false);
  assert.equal(load([], { DFS: '1' }).dfs.enabled, true);
  assert.equal(load([], { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'us-east-1' }).aws.region, 'eu-central-1');
  const endpoints = { AWS_ENDPOINT_URL: 'http://general:1', AWS_ENDPOINT_URL_S3: 'http://s3-only:2' };
  assert.equal(load([], endpoints).aws.endpointUrl, 'http://s3-only:2');
  assert.equal(load(['--endpoint-url', 'http://flag:3'], endpoints).aws.endpointUrl, 'http://flag:3');
  assert.equal(load(['--poll', '1', '--poll', '2']).pollSeconds, 2, 'the last of a repeated flag wins');
});

test('positionals in either order, from env, after --, relative to cwd', () => {
  const a = loadConfig(['data', 's3://bkt/x'], {}, { cwd: '/srv' });
  const b = loadConfig(['s3://bkt/x', 'data'], {}, { cwd: '/srv' });
  assert.deepEqual([a.localPath, a.bucket, a.prefix], ['/srv/data', 'bkt', 'x']);
  assert.deepEqual([b.localPath, b.bucket, b.prefix], ['/srv/data', 'bkt', 'x']);
  const c = loadConfig(['s3://bkt'], { LOCAL_PATH: '/from/env', S3_URI: 's3://ignored-bucket' }, { cwd: '/srv' });
  assert.deepEqual([c.localPath, c.bucket], ['/from/env', 'bkt']);
  const d = loadConfig(['--poll', '5', '--', '-odd-dir', 's3://bkt'], {}, { cwd: '/srv' });
  assert.equal(d.localPath, '/srv/-odd-dir');
});

test('S3 URI parsing', () => {
  const cases: [string, string, string][] = [
    ['s3://bkt', 'bkt', ''],
    ['s3://bkt/', 'bkt', ''],
    ['s3://bkt/a', 'bkt', 'a'],
    ['s3://bkt/a/b/', 'bkt', 'a/b'],
    ['s3://bkt//a/', 'bkt', 'a'],
    ['s3://my.bucket-1/deep/er/prefix', 'my.bucket-1', 'deep/er/prefix'],
  ];
  for (const [uri, bucket, prefix] of cases) {
    const c = loadConfig(['/d', uri], {});
    assert.deepEqual([c.bucket, c.prefix], [bucket, prefix], uri);
  }
  for (const bad of ['s3://', 's3:///prefix', 's3://b', 's3://bad bucket/x', 's3://-bkt/x']) {
    const err = configError(['/d', bad]);
    assert.equal(err.option, '<S3Uri>', bad);
    assert.match(err.message, /^<S3Uri>: must be an S3 URI/);
  }
  assert.equal(configError(['/d'], { S3_URI: 'nope://x' }).option, 'S3_URI');
  assert.match(configError(['/d', 'bucket/prefix']).message, /^<S3Uri>: must be an s3:\/\/ URI; got two local paths/);
  assert.match(configError(['s3://a-bkt', 's3://b-bkt']).message, /^<S3Uri>: given twice/);
  assert.match(configError(['/d']).message, /^<S3Uri>: missing/);
  assert.match(configError(['s3://bkt']).message, /^<LocalPath>: missing/);
  assert.equal(configError(['/d', 's3://bkt', 'third']).option, 'argument "third"');
});

test('filters keep their order; per-direction options merge over the global ones', () => {
  const c = load(
    [
      '--exclude', '*', '--sync-opt-up-exclude', 'tmp/*', '--include', '*.txt', '--sync-opt-down-include=logs/*',
      '--acl', 'private', '--sync-opt-up-acl', 'public-read',
      '--follow-symlinks', '--sync-opt-down-no-follow-symlinks',
      '--sync-opt-down-delete', '--sync-opt-up-sse', '--storage-class', 'STANDARD_IA',
    ],
    { SYNC_OPTS: "--exclude '*.bak'", SYNC_OPT_UP: '--dryrun --exclude "my file"', SYNC_OPT_DOWN: '--acl bucket-owner-read' },
  );
  assert.deepEqual(c.up.filters, [
    { type: 'exclude', pattern: '*.bak' },
    { type: 'exclude', pattern: '*' },
    { type: 'include', pattern: '*.txt' },
    { type: 'exclude', pattern: 'my file' },
    { type: 'exclude', pattern: 'tmp/*' },
  ]);
  assert.deepEqual(c.down.filters, [
    { type: 'exclude', pattern: '*.bak' },
    { type: 'exclude', pattern: '*' },
    { type: 'include', pattern: '*.txt' },
    { type: 'include', pattern: 'logs/*' },
  ]);
  assert.equal(c.up.acl, 'public-read');
  assert.equal(c.down.acl, 'bucket-owner-read', "a direction's env setting still beats a global flag");
  assert.equal(c.up.followSymlinks, true);
  assert.equal(c.down.followSymlinks, false);
  assert.equal(c.up.delete, false);
  assert.equal(c.down.delete, true);
  assert.equal(c.up.sse, 'AES256', 'bare --sse means AES256');
  assert.equal(c.down.sse, undefined);
  assert.equal(c.up.storageClass, 'STANDARD_IA');
  assert.equal(c.down.storageClass, 'STANDARD_IA');
  assert.equal(c.up.dryrun, true);
  assert.equal(c.down.dryrun, false);
});

test("--exclude '' and --include '' are accepted as aws accepts them (they match nothing)", () => {
  const c = load(['--exclude=', '--sync-opt-up-include', ''], { SYNC_OPTS: "--include ''" });
  assert.deepEqual(c.up.filters, [
    { type: 'include', pattern: '' },
    { type: 'exclude', pattern: '' },
    { type: 'include', pattern: '' },
  ]);
  assert.deepEqual(c.down.filters, [
    { type: 'include', pattern: '' },
    { type: 'exclude', pattern: '' },
  ]);
  assert.match(configError([...ARGS, '--exclude']).message, /^--exclude: needs a value/, 'a missing pattern is still an error');
});

test('every aws s3 sync option, for both directions', () => {
  const c = load([
    '--delete', '--sse', 'aws:kms', '--sse-kms-key-id', 'alias/k', '--cache-control', 'max-age=60',
    '--content-type', 'text/plain', '--content-encoding', 'gzip', '--content-disposition', 'inline',
    '--content-language', 'en', '--expires', '2030-01-31T12:00:00+02:00', '--size-only', '--exact-timestamps',
    '--dryrun', '--no-guess-mime-type', '--only-show-errors', '--quiet', '--acl', 'log-delivery-write',
    '--storage-class', 'EXPRESS_ONEZONE',
  ]);
  for (const dir of [c.up, c.down]) {
    assert.equal(dir.delete, true);
    assert.equal(dir.sse, 'aws:kms');
    assert.equal(dir.sseKmsKeyId, 'alias/k');
    assert.equal(dir.cacheControl, 'max-age=60');
    assert.equal(dir.contentType, 'text/plain');
    assert.equal(dir.contentEncoding, 'gzip');
    assert.equal(dir.contentDisposition, 'inline');
    assert.equal(dir.contentLanguage, 'en');
    assert.equal(dir.expires?.toISOString(), '2030-01-31T10:00:00.000Z');
    assert.equal(dir.sizeOnly, true);
    assert.equal(dir.exactTimestamps, true);
    assert.equal(dir.dryrun, true);
    assert.equal(dir.guessMimeType, false);
    assert.equal(dir.onlyShowErrors, true);
    assert.equal(dir.quiet, true);
    assert.equal(dir.acl, 'log-delivery-write');
    assert.equal(dir.storageClass, 'EXPRESS_ONEZONE');
  }
  assert.equal(load(['--expires', '2030-01-31']).up.expires?.toISOString(), '2030-01-31T00:00:00.000Z');
  assert.equal(load(['--expires', '2030-01-31T12:00']).up.expires?.toISOString(), '2030-01-31T12:00:00.000Z');
  // The other forms aws takes: an HTTP date and seconds since 1970.
  for (const [given, iso] of [
    ['Thu, 31 Jan 2030 12:00:00 GMT', '2030-01-31T12:00:00.000Z'],
    ['thu, 31 jan 2030 12:00 UTC', '2030-01-31T12:00:00.000Z'],
    ['1 Feb 2030 00:30:00 +0200', '2030-01-31T22:30:00.000Z'],
    ['1893456000', '2030-01-01T00:00:00.000Z'],
    [' 1893456000.5 ', '2030-01-01T00:00:00.500Z'],
  ] as const) {
    assert.equal(load(['--expires', given]).up.expires?.toISOString(), iso, given);
  }
  const bare = loadConfig(['--sse', '/d', 's3://bkt'], {});
  assert.deepEqual([bare.up.sse, bare.localPath], ['AES256', '/d'], 'a bare --sse does not swallow a following argument');
});

test('aws s3 sync options that change nothing here are accepted, globally, per direction and in SYNC_OPTS', () => {
  const c = load(['--no-progress', '--sync-opt-down-ignore-glacier-warnings'], { SYNC_OPTS: '--ignore-glacier-warnings --no-progress' });
  assert.deepEqual(c, load(), 'no setting differs');
  assert.equal(configError([...ARGS, '--no-progress=maybe']).option, '--no-progress');
  assert.equal(configError([...ARGS, '--sync-opt-up-ignore-glacier-warnings=2']).option, '--sync-opt-up-ignore-glacier-warnings');
});

test('--page-size: 1 to 1000 keys per listing page, per direction too', () => {
  assert.deepEqual([load().up.pageSize, load().down.pageSize], [undefined, undefined]);
  const c = load(['--page-size', '500', '--sync-opt-down-page-size', '100']);
  assert.deepEqual([c.up.pageSize, c.down.pageSize], [500, 100]);
  assert.equal(load([], { SYNC_OPT_UP: '--page-size 1000' }).up.pageSize, 1000);
  for (const bad of ['0', '1001', 'all']) {
    const err = configError([...ARGS, '--page-size', bad]);
    assert.equal(err.option, '--page-size');
    assert.match(err.message, /must be an integer between 1 and 1000/);
  }
});

test('--metadata accepts the shorthand and JSON', () => {
  assert.deepEqual(load(['--metadata', 'a=1,b=x=y']).up.metadata, { a: '1', b: 'x=y' });
  assert.deepEqual(load(['--metadata', '{"a":"1","b-c":"2 3"}']).up.metadata, { a: '1', 'b-c': '2 3' });
  assert.deepEqual(load(['--metadata', "x!#$%&'*+-.^_`|~9=a b=c"]).up.metadata, { "x!#$%&'*+-.^_`|~9": 'a b=c' }, 'every HTTP token character');
  assert.deepEqual(load(['--metadata', '{}']).up.metadata, {}, 'an empty JSON object is no metadata, as in aws');
  assert.deepEqual(load(['--metadata', 'a=1', '--sync-opt-down-metadata', ' { } ']).down.metadata, {}, 'a direction can drop the global map');
  const perDir = load(['--metadata', 'a=1', '--sync-opt-up-metadata', 'b=2']);
  assert.deepEqual(perDir.up.metadata, { b: '2' }, 'a direction-specific map replaces the global one, as a repeated aws flag does');
  assert.deepEqual(perDir.down.metadata, { a: '1' });
});

test('--debug levels, case-insensitive, bare means DEBUG', () => {
  assert.equal(load(['--debug', 'info']).logLevel, 'INFO');
  assert.equal(load(['--debug=None']).logLevel, 'NONE');
  assert.equal(load(['--debug']).logLevel, 'DEBUG');
  assert.equal(loadConfig(['--debug', '/d', 's3://bkt'], {}).logLevel, 'DEBUG');
  assert.equal(load([], { DEBUG: 'Warn' }).logLevel, 'WARN');
});

test('a bare optional-value option leaves a following path or URI alone, and refuses any other word', () => {
  const before = loadConfig(['--debug', '/data', 's3://bkt/p'], {});
  assert.deepEqual([before.logLevel, before.localPath, before.s3Uri], ['DEBUG', '/data', 's3://bkt/p']);
  const uriFirst = loadConfig(['--debug', 's3://bkt/p', '/data'], {});
  assert.deepEqual([uriFirst.logLevel, uriFirst.localPath, uriFirst.s3Uri], ['DEBUG', '/data', 's3://bkt/p']);
  const relative = loadConfig(['--sse', './verbose', 's3://bkt/p'], {}, { cwd: '/srv' });
  assert.deepEqual([relative.up.sse, relative.localPath], ['AES256', '/srv/verbose']);
  assert.equal(loadConfig(['--debug', '.', 's3://bkt/p'], {}, { cwd: '/srv' }).localPath, '/srv');
  assert.equal(loadConfig(['--debug', '..', 's3://bkt/p'], {}, { cwd: '/srv/x' }).localPath, '/srv');
  assert.equal(load(['--debug', '--poll', '5']).logLevel, 'DEBUG', 'a following option is not a value');
  assert.equal(load(['--sync-opt-up-sse', '--delete']).up.sse, 'AES256');

  const cases: [argv: string[], env: Env, option: string, allowed: RegExp][] = [
    [['--debug', 'verbose', 's3://bkt/p'], { LOCAL_PATH: '/tmp/c1' }, '--debug', /one of ERROR, WARN, INFO, DEBUG, NONE/],
    [['--debug', 'verbose', 's3://bkt/p'], {}, '--debug', /one of ERROR/],
    [[...ARGS, '--debug', 'verbose'], {}, '--debug', /one of ERROR/],
    [['--sse', 'aes256', ...ARGS], {}, '--sse', /one of AES256, aws:kms, aws:kms:dsse/],
    [['--sync-opt-down-sse', 'kms', ...ARGS], {}, '--sync-opt-down-sse', /one of AES256/],
  ];
  for (const [argv, env, option, allowed] of cases) {
    const err = configError(argv, env);
    assert.equal(err.option, option, err.message);
    assert.match(err.message, allowed);
    const word = argv[argv.indexOf(option) + 1];
    assert.ok(err.message.includes(`(got "${word}")`), err.message);
    assert.ok(err.message.includes(`a <LocalPath> right after a bare ${option} must contain a "/" (e.g. ./${word})`), err.message);
  }
  const fromEnv = configError(ARGS, { SYNC_OPTS: '--sse aes256' });
  assert.equal(fromEnv.option, 'SYNC_OPTS: --sse', 'in the environment the word can only have been meant as the value');
  assert.match(fromEnv.message, /one of AES256.*\(got "aes256"\)$/);
});

test('--md5-skip-path: pipes, with or without LocalPath in front, trailing slashes stripped', () => {
  const c = loadConfig(['data', 's3://bkt', '-s', 'cache|/srv/data/logs/|data/tmp/x/|./data/y|cache/'], {}, { cwd: '/srv' });
  assert.deepEqual(c.md5SkipPaths, ['cache', 'logs', 'tmp/x', 'y']);
  for (const bad of ['../outside', '/elsewhere', 'a|..', '/srv/data']) {
    const err = configError(['data', 's3://bkt', '--md5-skip-path', bad]);
    assert.equal(err.option, '--md5-skip-path');
    assert.match(err.message, /must name folders inside <LocalPath> \(\/srv\/data\)/);
  }
});

test('--state-dir: outside LocalPath anywhere, inside only under a .s3-sync2 name', () => {
  assert.equal(load(['--state-dir', '/data/.s3-sync2-mine']).stateDir, '/data/.s3-sync2-mine');
  assert.equal(load(['--state-dir', '/data/.s3-sync2/deeper']).stateDir, '/data/.s3-sync2/deeper');
  assert.equal(load(['--state-dir', '../var/state']).stateDir, '/var/state');
  assert.equal(configError([...ARGS, '--state-dir', '/data/state']).option, '--state-dir');
  assert.equal(configError([...ARGS, '--state-dir', '/data']).option, '--state-dir');
  assert.equal(configError(ARGS, { STATE_DIR: '/data/sub/.s3-sync2' }).option, 'STATE_DIR');
});

test('every bad value is a ConfigError naming the option and what is allowed', () => {
  const cases: [argv: string[], env: Env, option: string, allowed: RegExp][] = [
    [['--poll', 'abc'], {}, '--poll', /must be an integer between 0 and 3600 \(got "abc"\)/],
    [['-p', '3601'], {}, '-p', /between 0 and 3600/],
    [['--poll', '1.5'], {}, '--poll', /integer/],
    [[], { POLL_INTERVAL: '-1' }, 'POLL_INTERVAL', /between 0 and 3600/],
    [['--max-failures', '-1'], {}, '--max-failures', /an integer of at least 0/],
    [[], { MAX_DELETE: '101' }, 'MAX_DELETE', /between 0 and 100/],
    [['--shutdown-timeout', '116'], {}, '--shutdown-timeout', /between 1 and 115/],
    [['--shutdown-timeout', '0'], {}, '--shutdown-timeout', /between 1 and 115/],
    [['--concurrency', '0'], {}, '--concurrency', /between 1 and 256/],
    [[], { SYNC_CONCURRENCY: '257' }, 'SYNC_CONCURRENCY', /between 1 and 256/],
    [['--http-port', '65536'], {}, '--http-port', /between 0 and 65535/],
    [['-t', '0'], {}, '-t', /between 1 and 86400/],
    [['--dfs-lock-wait', 'soon'], {}, '--dfs-lock-wait', /between 0 and 86400/],
    [['--cf-max-paths', '0'], {}, '--cf-max-paths', /between 1 and 3000/],
    [['--cli-read-timeout', '-5'], {}, '--cli-read-timeout', /at least 0/],
    [['--cli-connect-timeout', 'x'], {}, '--cli-connect-timeout', /at least 0/],
    [['--debug=LOUD'], {}, '--debug', /one of ERROR, WARN, INFO, DEBUG, NONE/],
    [[], { DEBUG: 'express:*' }, 'DEBUG', /one of ERROR/],
    [['--conflict', 'theirs'], {}, '--conflict', /one of newer, local, remote, keep-both/],
    [['--acl', 'public'], {}, '--acl', /one of private, public-read/],
    [['--sse=AES128'], {}, '--sse', /one of AES256, aws:kms, aws:kms:dsse/],
    [['--storage-class', 'standard'], {}, '--storage-class', /one of STANDARD,/],
    [['--sync-opt-down-storage-class', 'COLD'], {}, '--sync-opt-down-storage-class', /one of STANDARD,/],
    [['--endpoint-url', 'ftp://x'], {}, '--endpoint-url', /http:\/\/ or https:\/\/ URL/],
    [[], { AWS_ENDPOINT_URL: 'localhost:9000' }, 'AWS_ENDPOINT_URL', /http:\/\/ or https:\/\/ URL/],
    [['--expires', '2030-02-30'], {}, '--expires', /ISO-8601/],
    [['--expires', 'tomorrow'], {}, '--expires', /ISO-8601 .*, an HTTP date such as "Thu, 31 Jan 2030 12:00:00 GMT", or seconds since 1970/],
    [['--expires', 'Fri, 31 Jan 2030 12:00:00 GMT'], {}, '--expires', /HTTP date/],
    [['--expires', '30 Feb 2030 12:00:00 GMT'], {}, '--expires', /HTTP date/],
    [['--expires', '31 Jan 2030 12:00:00'], {}, '--expires', /HTTP date/],
    [['--expires', '-1'], {}, '--expires', /seconds since 1970/],
    [['--metadata', 'novalue'], {}, '--metadata', /key=value pairs .* "novalue" has no "="/],
    [['--metadata', '{"a":1}'], {}, '--metadata', /every JSON value must be a string/],
    [['--metadata', '{"a":'], {}, '--metadata', /the JSON does not parse/],
    [['--cf-inval-paths', 'index.html'], {}, '--cf-inval-paths', /starting with "\/"/],
    [[], { DFS: 'maybe' }, 'DFS', /true or false/],
    [['--dfs=maybe'], {}, '--dfs', /true or false/],
    [['--region', 'eu west'], {}, '--region', /without spaces/],
    [['--metadata', ''], {}, '--metadata', /key=value pairs .* "" has no "="/],
    [[], { SYNC_OPT_UP: '--acl nope' }, 'SYNC_OPT_UP: --acl', /one of private/],
    [['--sse-kms-key-id', 'k'], {}, '--sse-kms-key-id', /needs --sse aws:kms/],
    [['--sse', 'AES256', '--sync-opt-up-sse-kms-key-id', 'k'], {}, '--sync-opt-up-sse-kms-key-id', /needs --sse aws:kms/],
  ];
  for (const [argv, env, option, allowed] of cases) {
    const err = configError([...ARGS, ...argv], env);
    assert.equal(err.option, option, `${argv.join(' ')} ${JSON.stringify(env)}: ${err.message}`);
    assert.ok(err.message.startsWith(`${option}: `), err.message);
    assert.match(err.message, allowed);
  }
});

test('header values that HTTP cannot carry are refused at start, naming the option', () => {
  const controls = /must not contain line breaks, tabs or other control characters/;
  const cases: [argv: string[], env: Env, option: string, message: RegExp][] = [
    [['--metadata', 'a b=c'], {}, '--metadata', /key "a b" may only contain ASCII letters, digits and !#\$%&'\*\+-\.\^_`\|~/],
    [['--metadata', '{"a:b":"c"}'], {}, '--metadata', /key "a:b" may only contain/],
    [['--metadata', 'é=x'], {}, '--metadata', /key "é" may only contain ASCII/],
    [['--metadata', 'a=é'], {}, '--metadata', /value of "a" must be ASCII: an HTTP header cannot carry "é"/],
    [['--metadata', '{"a":"x\\ny"}'], {}, '--metadata', /value of "a" must not contain line breaks/],
    [['--sync-opt-up-metadata', 'k=v\u0001'], {}, '--sync-opt-up-metadata', controls],
    [['--content-disposition', 'a\nb'], {}, '--content-disposition', controls],
    [['--cache-control', 'max-age=60\r\nX-Evil: 1'], {}, '--cache-control', controls],
    [['--content-type', 'text/plain\u007f'], {}, '--content-type', controls],
    [['--content-encoding', 'gzip\t'], {}, '--content-encoding', controls],
    [['--sync-opt-down-content-language', 'en\u0000'], {}, '--sync-opt-down-content-language', controls],
    [['--content-disposition', 'attachment; filename="€.txt"'], {}, '--content-disposition', /must be ASCII: an HTTP header cannot carry "€"/],
    [['--content-language', 'français'], {}, '--content-language', /must be ASCII/],
    [['--sse', 'aws:kms', '--sse-kms-key-id', 'alias/k\u0001'], {}, '--sse-kms-key-id', /printable ASCII characters without spaces/],
    [['--expires', '2030-01-31\n'], {}, '--expires', /ISO-8601/],
    [[], { SYNC_OPT_UP: "--cache-control 'no-cache\u0007'" }, 'SYNC_OPT_UP: --cache-control', controls],
  ];
  for (const [argv, env, option, message] of cases) {
    const err = configError([...ARGS, ...argv], env);
    assert.equal(err.option, option, `${JSON.stringify(argv)}: ${err.message}`);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /[\x00-\x1f\x7f]/, 'the message stays on one line, control characters escaped');
  }
  assert.match(configError([...ARGS, '--content-disposition', 'a\nb']).message, /\(got "a\\nb"\)$/);
  assert.equal(load(['--content-disposition', 'attachment; filename="a b.txt"']).up.contentDisposition, 'attachment; filename="a b.txt"');
});

test('unknown options and malformed words are errors, not passed through', () => {
  const cases: [argv: string[], env: Env, option: string, message: RegExp][] = [
    [['--bogus'], {}, '--bogus', /unknown option/],
    [['--bogus=1'], {}, '--bogus', /unknown option/],
    [['-z'], {}, '-z', /unknown option/],
    [['-di'], {}, '-di', /unknown option/],
    [['--LocalPath', 'x'], {}, '--LocalPath', /unknown option/],
    [['--sync-opt-up-foo'], {}, '--sync-opt-up-foo', /unknown aws s3 sync option "--foo"; allowed: --delete/],
    [['--sync-opt-down-poll', '3'], {}, '--sync-opt-down-poll', /unknown aws s3 sync option/],
    [['--poll'], {}, '--poll', /needs a value \(an integer between 0 and 3600\)/],
    [['--exclude', '--delete'], {}, '--exclude', /needs a value/],
    [['--no-follow-symlinks=true'], {}, '--no-follow-symlinks', /takes no value/],
    [[], { SYNC_OPTS: '--poll 3' }, 'SYNC_OPTS: --poll', /not an aws s3 sync option/],
    [[], { SYNC_OPT_DOWN: 'delete' }, 'SYNC_OPT_DOWN', /unexpected word "delete"/],
    [[], { SYNC_OPT_UP: "--exclude 'open" }, 'SYNC_OPT_UP', /unbalanced ' quote/],
  ];
  for (const [argv, env, option, message] of cases) {
    const err = configError([...ARGS, ...argv], env);
    assert.equal(err.option, option, err.message);
    assert.match(err.message, message);
  }
});

test('mutual exclusions', () => {
  const cases: [argv: string[], env: Env, message: RegExp][] = [
    [['--only-up', '--only-down'], {}, /^--only-up: cannot be combined with --only-down/],
    [['-i', '-u'], {}, /^-u: cannot be combined with -i/],
    [['--init-sync-up'], { INIT_SYNC_DOWN: 'true' }, /^--init-sync-up: cannot be combined with INIT_SYNC_DOWN/],
    [['-u', '--only-down'], {}, /^-u: cannot be combined with --only-down: an initial upload contradicts/],
    [[], { INIT_SYNC_DOWN: 'yes', ONLY_UP: '1' }, /^INIT_SYNC_DOWN: cannot be combined with ONLY_UP/],
  ];
  for (const [argv, env, message] of cases) assert.match(configError([...ARGS, ...argv], env).message, message);
  // Compatible combinations stay allowed.
  assert.equal(load(['-i', '--only-down']).initMode, 'down');
  assert.equal(load(['-u', '--only-up']).initMode, 'up');
  assert.equal(load(['--only-up'], { ONLY_DOWN: 'false' }).onlyUp, true);
});

test('--help, -h and --version win over everything, even bad options', () => {
  for (const argv of [['--help'], ['-h'], ['--bogus', '--poll', 'x', '-h']]) {
    assert.throws(() => loadConfig(argv, { SYNC_OPTS: 'broken' }), (err: unknown) => err instanceof HelpRequestedError && err.kind === 'help');
  }
  assert.throws(() => loadConfig(['--version'], {}), (err: unknown) => err instanceof HelpRequestedError && err.kind === 'version');
  assert.ok(!(new HelpRequestedError('help') instanceof ConfigError));
});

test('--help lists every option with its short form, env vars and default', () => {
  const help = helpText();
  for (const [key, spec] of OPTION_LIST) {
    if (spec.arity === 'positional') assert.ok(help.includes(`<${key}>`), key);
    else assert.match(help, new RegExp(`--${key}\\b`), key);
    if (spec.short) assert.ok(help.includes(`-${spec.short}, --${key}`), `-${spec.short}`);
    if (spec.negation) assert.ok(help.includes(`--${spec.negation}`), spec.negation);
    for (const name of spec.env ?? []) assert.ok(help.includes(name), name);
    if (typeof spec.default === 'number' || typeof spec.default === 'string') {
      assert.ok(help.includes(`default: ${spec.default}`), `${key} default`);
    }
  }
  for (const name of Object.values(SYNC_OPTS_ENV)) assert.ok(help.includes(name), name);
  assert.ok(help.includes('--sync-opt-up-') && help.includes('--sync-opt-down-'));
  for (const title of ['Options of the original tool', 'aws s3 sync options', 'New in s3-sync2', 'HTTP', 'Distributed', 'CloudFront']) {
    assert.ok(help.includes(title), title);
  }
});
