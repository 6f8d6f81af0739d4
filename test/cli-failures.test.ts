/**
 * Failing ticks in the built CLI: a bucket that does not exist fails every tick; --max-failures N
 * exits 1 after N consecutive failures (so ECS replaces the task), 0 never exits, a success in
 * between resets the count, and --poll 0 exits 1 when its only sync fails; a store not reachable
 * yet at start is waited for like a failing tick.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { freePort } from '../scripts/moto.mjs';
import { LEVEL, runCli, startCli, tickLines, type LogLine } from './helpers/cli.js';
import { startProxy } from './helpers/proxy.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const s3 = useS3();

const missingBucket = () => `s3sync2-missing-${randomBytes(6).toString('hex')}`;

/** The tick summaries logged as failures. */
const failedTicks = (lines: readonly LogLine[]) => tickLines(lines).filter((t) => t.tick.outcome === 'failure');

test('--poll 1 --max-failures 2 against a missing bucket: exit 1 after the 2nd failed tick, each failure logged', async () => {
  const dir = await tempDir('cli-fail');
  const bucket = missingBucket();
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '1', '--max-failures', '2', '--http-port', '0'], awsEnv(s3().endpoint));
  const exit = await cli.exit();

  assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
  const failures = failedTicks(cli.lines);
  assert.equal(failures.length, 2, 'exactly two failed ticks before exiting');
  assert.deepEqual(
    failures.map((f) => f.consecutiveFailures),
    [1, 2],
  );
  for (const f of failures) {
    assert.equal(f.level, LEVEL.error);
    assert.match(f.msg, new RegExp(`failed: .*${bucket}|failed: .*NoSuchBucket|failed: .*does not exist`, 'i'));
  }
  const stopped = cli.lines.find((l) => l.msg === 'shutting down');
  assert.match(String(stopped?.why), /2 consecutive failed syncs \(--max-failures 2\)/);
  assert.ok(cli.lines.some((l) => l.msg === 'stopped' && l.code === 1));
});

test('--max-failures 0 never exits: still running after 3+ failed ticks, then SIGTERM exits 0', async () => {
  const dir = await tempDir('cli-fail');
  const cli = startCli([dir, `s3://${missingBucket()}/app`, '--poll', '1', '--max-failures', '0', '--http-port', '0'], awsEnv(s3().endpoint));
  await cli.waitForLine('a 4th consecutive failure', (l) => typeof l.consecutiveFailures === 'number' && l.consecutiveFailures >= 4);

  assert.equal(cli.exitStatus(), null, 'still running');
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(), { code: 0, signal: null }, cli.stderr());
});

test('a success resets the count: --max-failures 3 survives 1 failure, a good tick, then 2 more failures', async () => {
  const dir = await tempDir('cli-fail');
  const bucket = missingBucket();
  // Something to upload, so the good tick logs a summary.
  await writeFile(join(dir, 'a.txt'), 'a');
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '1', '--max-failures', '3', '--http-port', '0'], awsEnv(s3().endpoint));
  await cli.waitForLine('the first failure', (l) => l.consecutiveFailures === 1);
  // The bucket appears: a tick succeeds.
  await s3().client.send(new CreateBucketCommand({ Bucket: bucket }));
  after(() => removeBucket(bucket).catch(() => undefined));
  const success = await cli.waitForLine('a successful tick', (l) => tickLines([l]).some((t) => t.tick.outcome === 'success'));
  const failuresBefore = failedTicks(cli.lines).length;
  assert.ok(failuresBefore < 3, `${failuresBefore} failure(s) before the bucket existed`);

  // The bucket goes away again: the count starts over at 1.
  await waitFor('the bucket to be removed', async () => (await removeBucket(bucket), true));
  const since = cli.lines.indexOf(success);
  const later = (l: LogLine) => cli.lines.indexOf(l) > since;
  await cli.waitForLine('two more failures', (l) => later(l) && l.consecutiveFailures === 2);
  assert.equal(cli.exitStatus(), null, `still running after ${failedTicks(cli.lines).length} failures in all`);
  assert.ok(failedTicks(cli.lines).length >= 3);
  assert.equal(failedTicks(cli.lines).find(later)?.consecutiveFailures, 1, 'the count restarted at 1');

  // The final up-sync fails too (the bucket is gone): exit 0 after a signal, as the contract says,
  // and the last line tells that not everything got up.
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(), { code: 0, signal: null }, cli.stderr());
  assert.ok(cli.lines.some((l) => l.msg === 'stopped' && l.finalSyncComplete === false));
});

/** Empties and deletes a bucket (the sidecar may upload into it meanwhile; the caller retries). */
async function removeBucket(bucket: string): Promise<void> {
  for (const key of await s3().keys(bucket)) await s3().client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await s3().client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

test('--poll 0 whose only sync fails exits 1', async () => {
  const dir = await tempDir('cli-fail');
  const result = await runCli([dir, `s3://${missingBucket()}/app`, '--poll', '0', '--http-port', '0'], awsEnv(s3().endpoint));

  assert.equal(result.code, 1, result.stderr);
  assert.equal(failedTicks(result.lines).length, 1);
  assert.ok(result.lines.some((l) => l.msg === 'stopped' && l.code === 1));
});

test('--dfs with the store not reachable yet at start: the start-up probe is tried again every poll, and the sidecar comes up when the store does', async () => {
  const dir = await tempDir('cli-late-store');
  const bucket = await s3().newBucket();
  await writeFile(join(dir, 'a.txt'), 'a');
  // Nothing listens on this port until the store "comes up" below.
  const port = await freePort();
  const cli = startCli(
    [dir, `s3://${bucket}/app`, '--dfs', '--poll', '1', '--max-failures', '20', '--http-port', '0'],
    { ...awsEnv(s3().endpoint), AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
  );
  const retrying = await cli.waitForLine('a start-up retry', (l) => l.msg.startsWith('the --dfs start-up probe failed (attempt 1 of 20)'));
  assert.equal(retrying.level, LEVEL.warn);
  assert.match(retrying.msg, /trying again in 1 s$/);
  assert.equal(cli.exitStatus(), null, 'still running');

  const proxy = await startProxy(s3().endpoint, { port });
  after(() => proxy.stop());
  await cli.waitForLine('the initial sync', (l) => (l as { tick?: { trigger?: string } }).tick?.trigger === 'initial');
  assert.equal(await s3().getText(bucket, 'app/a.txt'), 'a');
  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(), { code: 0, signal: null }, cli.stderr());
});

/** A --dfs sidecar pointed at a port where nothing listens, run to its exit; its probe retry warnings. */
async function neverReachable(poll: string, maxFailures: string) {
  const port = await freePort();
  const cli = startCli(
    [await tempDir('cli-no-store'), 's3://never-reached/app', '--dfs', '--poll', poll, '--max-failures', maxFailures, '--http-port', '0'],
    { ...awsEnv(s3().endpoint), AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
  );
  const exit = await cli.exit();
  return { cli, exit, retries: cli.lines.filter((l) => l.msg.startsWith('the --dfs start-up probe failed')).length };
}

test('--dfs with the store never reachable: the start-up probe gives up after --max-failures attempts, exit 1', async () => {
  const { cli, exit, retries } = await neverReachable('1', '2');
  assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
  assert.equal(retries, 1, 'one retry, then the second failure ends it');
  assert.ok(cli.lines.some((l) => l.level === LEVEL.fatal && /ECONNREFUSED|connect/i.test(l.msg)), 'the last error is the fatal line');
});

test('--poll 0 with the store not reachable: the start-up probe is not tried again, as the one sync would not be: exit 1', async () => {
  const { cli, exit, retries } = await neverReachable('0', '0');
  assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
  assert.equal(retries, 0);
});
