/**
 * The built CLI in distributed mode (--dfs) on moto: the conditional-write probe passes, it
 * syncs and leaves no lock behind; and a node that starts with an EMPTY folder and --delete in
 * both directions downloads the prefix instead of deleting it (issue 4, item 5) — on its first
 * sync, on later ticks, and after a restart that kept its baseline while the disk was lost.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { freePort } from '../scripts/moto.mjs';
import { LEVEL, readSyncStatus, runCli, startCli, tickLines } from './helpers/cli.js';
import { startProxy } from './helpers/proxy.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { asText, bucketFiles, localFiles, waitConverged } from './helpers/trees.js';
import { waitFor } from './helpers/wait.js';

const s3 = useS3();

/** What the shared prefix holds before the new node starts. */
const EXISTING = {
  'index.html': '<h1>site</h1>',
  'docs/guide.md': '# guide',
  'docs/deep/notes.txt': 'notes',
  'img/logo.svg': '<svg/>',
};

async function bucketWithExisting(): Promise<string> {
  const bucket = await s3().newBucket();
  for (const [path, body] of Object.entries(EXISTING)) await s3().putText(bucket, `shared/${path}`, body);
  return bucket;
}

async function put(root: string, rel: string, body: string): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), body);
}

test('--dfs on moto: the conditional-write probe passes, both directions sync, no lock or probe object is left', async () => {
  const dir = await tempDir('cli-dfs');
  const bucket = await bucketWithExisting();
  await put(dir, 'from-node.txt', 'local');

  const result = await runCli([dir, `s3://${bucket}/shared`, '--dfs', '--poll', '0', '--http-port', '0', '--debug', 'DEBUG'], awsEnv(s3().endpoint));

  assert.equal(result.code, 0, result.stderr);
  const mode = result.lines.find((l) => l.msg === 'distributed mode');
  assert.equal(mode?.conditionalWrites, true, 'moto enforces conditional writes');
  // The upload ran under the lock; taken at once and given back, as on most ticks: DEBUG lines.
  assert.deepEqual(
    result.lines.filter((l) => l.msg === 'lock acquired' || l.msg === 'lock released').map((l) => [l.msg, l.level, l.how]),
    [
      ['lock acquired', LEVEL.debug, 'fresh'],
      ['lock released', LEVEL.debug, undefined],
    ],
  );
  const expected = { ...EXISTING, 'from-node.txt': 'local' };
  await waitConverged(s3(), { dir, bucket, prefix: 'shared' }, expected, 1);
  assert.deepEqual(
    (await s3().keys(bucket)).filter((k) => k.includes('.s3-sync2')),
    [],
    'neither the lock nor the probe object remains',
  );
});

test('--dfs --delete, empty folder, --poll 0: the prefix is downloaded, nothing in the bucket is deleted', async () => {
  const dir = await tempDir('cli-dfs-empty');
  const bucket = await bucketWithExisting();

  const result = await runCli([dir, `s3://${bucket}/shared`, '--dfs', '--delete', '--poll', '0', '--http-port', '0'], awsEnv(s3().endpoint));

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(asText(await bucketFiles(s3(), bucket, 'shared')), EXISTING, 'the bucket keeps everything');
  assert.deepEqual(asText(await localFiles(dir)), EXISTING, 'the empty folder was filled');
  const [initial] = tickLines(result.lines);
  assert.equal(initial?.tick.deletedRemote, 0);
  assert.equal(initial?.tick.downloaded, Object.keys(EXISTING).length);
});

test('--dfs --delete, empty folder, --poll 1: after the initial sync and two more ticks and SIGTERM, the bucket still has everything', async () => {
  const dir = await tempDir('cli-dfs-empty');
  const bucket = await bucketWithExisting();
  const port = await freePort();
  const cli = startCli(
    [dir, `s3://${bucket}/shared`, '--dfs', '--delete', '--poll', '1', '--http-port', String(port), '--http-host', '127.0.0.1'],
    awsEnv(s3().endpoint),
  );
  // Quiet ticks log nothing; /status lists the recent ticks.
  const status = await waitFor(
    'the initial sync and two timer ticks',
    async () => {
      const sync = await readSyncStatus(port);
      return sync.recentTicks.filter((t) => t.trigger === 'timer').length >= 2 ? sync : null;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  assert.ok(status.recentTicks.every((t) => t.outcome === 'success'), JSON.stringify(status.recentTicks));
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(), { code: 0, signal: null }, cli.stderr());

  assert.deepEqual(asText(await bucketFiles(s3(), bucket, 'shared')), EXISTING, 'the bucket keeps everything');
  assert.deepEqual(asText(await localFiles(dir)), EXISTING);
  assert.ok(tickLines(cli.lines).every((t) => t.tick.deletedRemote === 0), 'no tick deleted a remote object');
});

test('--dfs --delete after the disk was emptied but the baseline kept (--state-dir elsewhere): the guard refuses, the bucket keeps everything', async () => {
  const bucket = await bucketWithExisting();
  const disk = await tempDir('cli-dfs-disk');
  const args = [disk, `s3://${bucket}/shared`, '--dfs', '--delete', '--poll', '0', '--http-port', '0', '--state-dir', await tempDir('cli-dfs-state')];
  const first = await runCli(args, awsEnv(s3().endpoint));
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(asText(await localFiles(disk)), EXISTING);

  // The task's disk comes back empty while the baseline survived: to the three-way plan every
  // file looks deleted locally.
  for (const path of Object.keys(EXISTING)) await rm(join(disk, path));
  const second = await runCli(args, awsEnv(s3().endpoint));

  assert.deepEqual(asText(await bucketFiles(s3(), bucket, 'shared')), EXISTING, 'the bucket keeps everything');
  assert.ok(
    second.lines.some((l) => l.level >= LEVEL.error && /refused to delete/.test(l.msg)),
    'the --max-delete guard refused the deletes',
  );
  assert.equal(second.code, 0, 'a refused delete is not a failed sync');
  assert.equal(tickLines(second.lines)[0]?.tick.deletedRemote, 0);
});

test('--dfs on a store that ignores conditional writes: exit 2 saying so; with --dfs-unsafe-lock it runs with a warning', async () => {
  const dir = await tempDir('cli-dfs-unsafe');
  const bucket = await bucketWithExisting();
  // A store that drops the conditions: the proxy strips them from every request.
  const proxy = await startProxy(s3().endpoint, { dropHeaders: ['if-none-match', 'if-match'] });
  after(() => proxy.stop());
  const env = { ...awsEnv(s3().endpoint), AWS_ENDPOINT_URL: proxy.url };
  const args = [dir, `s3://${bucket}/shared`, '--dfs', '--poll', '0', '--http-port', '0'];

  const refused = await runCli(args, env);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^s3-sync2: --dfs: the S3 store does not enforce conditional writes.*--dfs-unsafe-lock/m);
  assert.doesNotMatch(refused.stderr, /^\s+at /m, 'no stack trace');
  assert.deepEqual(await readdir(dir), [], 'nothing synced');

  const unsafe = await runCli([...args, '--dfs-unsafe-lock'], env);
  assert.equal(unsafe.code, 0, unsafe.stderr);
  assert.ok(unsafe.lines.some((l) => l.level === LEVEL.warn && /put-then-read|unsafe|weaker/i.test(l.msg)), 'a warning about the weaker lock');
  assert.deepEqual(asText(await localFiles(dir)), EXISTING);
});
