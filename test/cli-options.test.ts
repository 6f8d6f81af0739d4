/**
 * The CLI's configuration errors as a user meets them: the built program, spawned; exit code 2,
 * a one-line message on stderr that names the option and says what is allowed, no stack trace,
 * nothing synced. And --help. None of these reach S3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/** A bad invocation and what its message must say. */
interface BadCase {
  readonly name: string;
  /** argv after LocalPath (given first unless `positionals` replaces both). */
  readonly args: readonly string[];
  readonly positionals?: (dir: string) => string[];
  readonly env?: Record<string, string>;
  /** Every one of these must appear in the message. */
  readonly says: readonly (string | RegExp)[];
}

const URI = 's3://some-bucket/app';

const cases: readonly BadCase[] = [
  { name: '--poll abc', args: ['--poll', 'abc'], says: ['--poll', 'integer between 0 and 3600', '"abc"'] },
  { name: '--poll 5000', args: ['--poll', '5000'], says: ['--poll', 'integer between 0 and 3600', '"5000"'] },
  { name: '-p=-1', args: ['-p=-1'], says: [/-p|--poll/, 'integer between 0 and 3600'] },
  { name: '--poll without a value', args: ['--poll'], says: ['--poll', 'needs a value'] },
  { name: '--conflict maybe', args: ['--conflict', 'maybe'], says: ['--conflict', 'newer, local, remote, keep-both', '"maybe"'] },
  { name: '--debug verbose (not a level, not a path)', args: ['--debug', 'verbose'], says: ['--debug', 'one of ERROR', '"verbose"', 'must contain a "/" (e.g. ./verbose)'] },
  { name: "--metadata 'a b=c' (a space in the key)", args: ['--metadata', 'a b=c'], says: ['--metadata', 'key "a b" may only contain'] },
  { name: '--metadata a=é (not ASCII)', args: ['--metadata', 'a=é'], says: ['--metadata', 'must be ASCII'] },
  { name: '--content-disposition with a line break', args: ['--content-disposition', 'a\nb'], says: ['--content-disposition', 'control characters', '(got "a\\nb")'] },
  { name: '--only-up --only-down', args: ['--only-up', '--only-down'], says: ['--only-up', '--only-down'] },
  { name: 'unknown --frobnicate', args: ['--frobnicate'], says: ['--frobnicate', 'unknown option'] },
  { name: 'unknown --sync-opt-up-bogus', args: ['--sync-opt-up-bogus'], says: ['--sync-opt-up-bogus', /allowed: .*--delete/] },
  { name: '--max-failures -1', args: ['--max-failures', '-1'], says: ['--max-failures', 'at least 0'] },
  { name: '--shutdown-timeout 0', args: ['--shutdown-timeout', '0'], says: ['--shutdown-timeout', 'between 1 and'] },
  { name: 'missing S3Uri', args: [], positionals: (dir) => [dir], says: ['<S3Uri>', 's3://bucket'] },
  { name: 'bad S3 URI (bucket name too short)', args: [], positionals: (dir) => [dir, 's3://ab/x'], says: ['S3Uri', 'valid bucket name', '"s3://ab/x"'] },
  { name: 'bad S3 URI (not s3://)', args: [], positionals: (dir) => [dir, 'https://bucket/x'], says: ['S3Uri', 's3://'] },
  { name: 'POLL_INTERVAL=abc in the environment', args: [], env: { POLL_INTERVAL: 'abc' }, says: ['POLL_INTERVAL', 'integer between 0 and 3600'] },
  { name: 'CONFLICT_POLICY=x in the environment', args: [], env: { CONFLICT_POLICY: 'x' }, says: ['CONFLICT_POLICY', 'keep-both'] },
];

for (const c of cases) {
  test(`bad configuration: ${c.name} → exit 2 with a message naming the option`, async () => {
    const dir = await tempDir('cli-opts');
    const positionals = c.positionals ? c.positionals(dir) : [dir, URI];
    const result = await runCli([...positionals, '--http-port', '0', ...c.args], c.env ?? {});

    assert.equal(result.code, 2, `exit code (stderr: ${result.stderr})`);
    const message = result.stderr.split('\n').find((l) => l.startsWith('s3-sync2: '));
    assert.ok(message, `a "s3-sync2: …" line on stderr, got: ${result.stderr}`);
    for (const part of c.says) {
      if (typeof part === 'string') assert.ok(message.includes(part), `message ${JSON.stringify(message)} should contain ${JSON.stringify(part)}`);
      else assert.match(message, part);
    }
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(result.stderr, /Error:/, 'no raw error dump');
    assert.equal(result.lines.length, 0, 'nothing logged: the sync never started');
    assert.deepEqual(await readdir(dir), [], 'nothing written into LocalPath');
  });
}

test('--help exits 0 and lists the options with their environment variables', async () => {
  const result = await runCli(['--help'], {});

  assert.equal(result.code, 0);
  assert.match(result.text, /^Usage: s3-sync2 \[options\] <LocalPath> <S3Uri>/);
  for (const option of [
    '--poll',
    'POLL_INTERVAL',
    '--max-failures',
    '--delete',
    '--exclude',
    '--conflict',
    '--shutdown-timeout',
    '--dfs',
    '--http-port',
    '--endpoint-url',
    '--cf-dist-id',
    '--sync-opt-up-',
    '--sync-opt-down-',
  ]) {
    assert.ok(result.text.includes(option), `--help mentions ${option}`);
  }
  assert.equal(result.lines.length, 0, 'help is plain text, not log lines');
});

test('--state-dir that is a file, not a folder → exit 2 naming it, before any sync', async () => {
  const dir = await tempDir('cli-opts');
  const file = join(dir, 'state-file');
  await writeFile(file, 'x');
  const result = await runCli([join(dir, 'data'), URI, '--http-port', '0', '--state-dir', file], {});

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /^s3-sync2: --state-dir: .*state-file exists but is not a directory$/m);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
});

test('LocalPath that is a file, not a folder → exit 2 naming it', async () => {
  const dir = await tempDir('cli-opts');
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  const result = await runCli([file, URI, '--http-port', '0'], {});

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /^s3-sync2: <LocalPath>: .*not-a-folder exists but is not a directory$/m);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
});
