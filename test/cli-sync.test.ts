/**
 * The built CLI syncing for real, as a user runs it: one-shot (`--poll 0`) from flags and from
 * the environment only, and the long-running loop picking up changes on both sides, deletes
 * included. Convergence is checked on the disk and in the bucket, byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { runCli, startCli, tickLines } from './helpers/cli.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { bucketFiles, localFiles, waitConverged } from './helpers/trees.js';

const s3 = useS3();

async function put(root: string, rel: string, body: string | Buffer): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), body);
}

/** A fresh folder and bucket prefix. */
async function pair(prefix = 'app') {
  return { dir: await tempDir('cli-sync'), bucket: await s3().newBucket(), prefix };
}

test('--poll 0: files on both sides before start → exit 0 with both sides holding the union, byte for byte', async () => {
  const p = await pair('site/v1');
  const binary = randomBytes(70_000);
  await put(p.dir, 'a.txt', 'local a');
  await put(p.dir, 'sub/deeper/b.txt', 'local nested b');
  await put(p.dir, 'bin/blob.dat', binary);
  await s3().putText(p.bucket, 'site/v1/r.txt', 'remote r');
  await s3().putText(p.bucket, 'site/v1/rsub/nested/s.txt', 'remote nested s');
  await s3().putText(p.bucket, 'site/v2/other.txt', 'outside the prefix');

  const result = await runCli([p.dir, `s3://${p.bucket}/site/v1`, '--poll', '0', '--http-port', '0'], awsEnv(s3().endpoint));

  assert.equal(result.code, 0, result.stderr);
  const [local, remote] = await Promise.all([localFiles(p.dir), bucketFiles(s3(), p.bucket, 'site/v1')]);
  assert.deepEqual([...local.keys()].sort(), ['a.txt', 'bin/blob.dat', 'r.txt', 'rsub/nested/s.txt', 'sub/deeper/b.txt']);
  assert.deepEqual([...remote.keys()].sort(), [...local.keys()].sort());
  for (const [path, bytes] of local) assert.ok(bytes.equals(remote.get(path)!), `${path}: same bytes on both sides`);
  assert.ok(local.get('bin/blob.dat')!.equals(binary));
  assert.equal(local.get('rsub/nested/s.txt')!.toString(), 'remote nested s');
  assert.equal(await s3().getText(p.bucket, 'site/v2/other.txt'), 'outside the prefix', 'nothing outside the prefix touched');
  assert.ok(!local.has('other.txt'));
  // The built CLI guesses Content-Type like the engine does (mime-types is loaded on demand there).
  const head = await s3().client.send(new HeadObjectCommand({ Bucket: p.bucket, Key: 'site/v1/a.txt' }));
  assert.equal(head.ContentType, 'text/plain');

  const ticks = tickLines(result.lines);
  assert.equal(ticks.length, 1, 'one tick: the initial sync (no final up-sync after --poll 0)');
  assert.equal(ticks[0]!.tick.uploaded, 3);
  assert.equal(ticks[0]!.tick.downloaded, 2);
});

test('the built CLI types a compressed file by what it holds, as `aws s3 sync` does: a.js.gz is text/javascript, a.tgz application/x-tar', async () => {
  const p = await pair();
  // What `aws s3 sync` stored for the same names (head-object after an upload to moto).
  const aws: Record<string, string> = {
    'a.js.gz': 'text/javascript',
    'a.css.gz': 'text/css',
    'a.svg.gz': 'image/svg+xml',
    'a.js.br': 'text/javascript',
    'a.tar.gz': 'application/x-tar',
    'a.tgz': 'application/x-tar',
    'a.txt.xz': 'text/plain',
  };
  for (const name of Object.keys(aws)) await put(p.dir, name, name);

  const result = await runCli([p.dir, `s3://${p.bucket}/app`, '--only-up', '--poll', '0', '--http-port', '0'], awsEnv(s3().endpoint));

  assert.equal(result.code, 0, result.stderr);
  const stored: Record<string, string | undefined> = {};
  for (const name of Object.keys(aws)) stored[name] = (await s3().head(p.bucket, `app/${name}`))?.ContentType;
  assert.deepEqual(stored, aws);
  assert.equal((await s3().head(p.bucket, 'app/a.js.gz'))?.ContentEncoding, undefined, 'no Content-Encoding, as aws sends none');
});

test('the built CLI sends no Content-Type for a file it does not type, as `aws s3 sync`: S3 stores binary/octet-stream, single PUT or multipart, --no-guess-mime-type too', async () => {
  const p = await pair();
  // Above the 16 MiB single-PUT limit: multipart.
  const big = randomBytes(17 * 1024 * 1024);
  await put(p.dir, 'noext', 'no extension');
  await put(p.dir, 'big-noext', big);
  await put(p.dir, 'a.js.gz', 'gzipped javascript');
  await put(p.dir, 'data.json', '{}');
  await put(p.dir, 'big.json', big);
  const typeOf = async (key: string): Promise<string | undefined> => (await s3().head(p.bucket, key))?.ContentType;
  const sync = async (prefix: string, flags: string[] = []): Promise<void> => {
    const args = [p.dir, `s3://${p.bucket}/${prefix}`, '--only-up', '--poll', '0', '--http-port', '0', ...flags];
    const result = await runCli(args, awsEnv(s3().endpoint));
    assert.equal(result.code, 0, result.stderr);
  };

  await sync('guess');
  await sync('no-guess', ['--no-guess-mime-type']);

  assert.match((await s3().head(p.bucket, 'guess/big-noext'))?.ETag ?? '', /-3"$/, 'big-noext went multipart');
  assert.deepEqual(
    {
      noext: await typeOf('guess/noext'),
      'big-noext': await typeOf('guess/big-noext'),
      'a.js.gz': await typeOf('guess/a.js.gz'),
      'data.json': await typeOf('guess/data.json'),
      'big.json': await typeOf('guess/big.json'),
    },
    {
      noext: 'binary/octet-stream',
      'big-noext': 'binary/octet-stream',
      'a.js.gz': 'text/javascript',
      'data.json': 'application/json',
      'big.json': 'application/json',
    },
  );
  for (const name of ['noext', 'big-noext', 'a.js.gz', 'data.json', 'big.json']) {
    assert.equal(await typeOf(`no-guess/${name}`), 'binary/octet-stream', `--no-guess-mime-type: ${name}`);
  }
});

test('a LocalPath that does not exist yet is created and filled, as aws s3 sync creates its destination', async () => {
  const p = { ...(await pair()), dir: join(await tempDir('cli-sync'), 'data', 'app') };
  await s3().putText(p.bucket, 'app/docs/readme.txt', 'from the bucket');

  const result = await runCli([p.dir, `s3://${p.bucket}/app`, '--poll', '0', '--http-port', '0'], awsEnv(s3().endpoint));

  assert.equal(result.code, 0, result.stderr);
  await waitConverged(s3(), p, { 'docs/readme.txt': 'from the bucket' }, 1);
});

test('configuration from the environment only (LOCAL_PATH, S3_URI, POLL_INTERVAL=0, SYNC_OPTS) works like flags', async () => {
  const p = await pair();
  await put(p.dir, 'keep.txt', 'keep');
  await put(p.dir, 'scratch.tmp', 'not synced');
  await s3().putText(p.bucket, 'app/down.txt', 'from the bucket');

  const result = await runCli([], {
    ...awsEnv(s3().endpoint),
    LOCAL_PATH: p.dir,
    S3_URI: `s3://${p.bucket}/app`,
    POLL_INTERVAL: '0',
    HTTP_PORT: '0',
    SYNC_OPTS: "--exclude '*.tmp'",
  });

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await s3().keys(p.bucket), ['app/down.txt', 'app/keep.txt'], 'the *.tmp file was excluded');
  assert.equal(await s3().getText(p.bucket, 'app/keep.txt'), 'keep');
  assert.deepEqual([...(await localFiles(p.dir)).keys()].sort(), ['down.txt', 'keep.txt', 'scratch.tmp']);
});

test('long-running (--poll 1 --delete): changes on both sides while it runs converge, deletes too; SIGTERM exits 0', async () => {
  const p = await pair();
  await put(p.dir, 'start.txt', 'there at start');
  const cli = startCli([p.dir, `s3://${p.bucket}/app`, '--poll', '1', '--delete', '--http-port', '0'], awsEnv(s3().endpoint));
  await cli.waitForLine('the initial sync', (l) => tickLines([l]).some((t) => t.tick.trigger === 'initial'));
  await waitConverged(s3(), p, { 'start.txt': 'there at start' });

  // Writes on both sides while it runs.
  await put(p.dir, 'a.txt', 'local a');
  await put(p.dir, 'sub/nested/b.txt', 'local b');
  await s3().putText(p.bucket, 'app/r.txt', 'remote r');
  await s3().putText(p.bucket, 'app/rsub/s.txt', 'remote s');
  await waitConverged(s3(), p, {
    'start.txt': 'there at start',
    'a.txt': 'local a',
    'sub/nested/b.txt': 'local b',
    'r.txt': 'remote r',
    'rsub/s.txt': 'remote s',
  });

  // Changes and deletes on both sides.
  await rm(join(p.dir, 'a.txt'));
  await s3().client.send(new DeleteObjectCommand({ Bucket: p.bucket, Key: 'app/r.txt' }));
  await put(p.dir, 'sub/nested/b.txt', 'local b, second version');
  await s3().putText(p.bucket, 'app/rsub/s.txt', 'remote s, second version');
  await waitConverged(s3(), p, {
    'start.txt': 'there at start',
    'sub/nested/b.txt': 'local b, second version',
    'rsub/s.txt': 'remote s, second version',
  });

  assert.equal(cli.exitStatus(), null, 'still running');
  cli.signal('SIGTERM');
  const exit = await cli.exit();
  assert.equal(exit.code, 0, cli.stderr());
  assert.ok(tickLines(cli.lines).every((t) => t.tick.outcome === 'success'), 'no failed tick');
});

test('a file written while the loop waits for a long poll is uploaded by the watcher-triggered tick', async () => {
  const p = await pair();
  const cli = startCli([p.dir, `s3://${p.bucket}/app`, '--poll', '3600', '--http-port', '0'], awsEnv(s3().endpoint));
  try {
    await cli.waitForLine('the initial sync', (l) => tickLines([l]).some((t) => t.tick.trigger === 'initial'));
    // The watcher (loaded on demand) needs its crawl done before it reports; retry the write until a tick takes it.
    let version = 0;
    const uploaded = cli.waitForLine('an upload tick', (l) => tickLines([l]).some((t) => t.tick.uploaded > 0));
    const timer = setInterval(() => void put(p.dir, 'late.txt', `written ${++version}`).catch(() => undefined), 500);
    try {
      await uploaded;
    } finally {
      clearInterval(timer);
    }
    const trigger = tickLines(cli.lines).find((t) => t.tick.uploaded > 0)!.tick.trigger;
    assert.equal(trigger, 'watch');
    assert.match(await s3().getText(p.bucket, 'app/late.txt'), /^written \d+$/);
  } finally {
    cli.signal('SIGTERM');
    assert.equal((await cli.exit()).code, 0, cli.stderr());
  }
});
