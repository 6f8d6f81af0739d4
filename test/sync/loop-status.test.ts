/**
 * What the loop reports about itself as the control API sees it: a sync asked for during start-up
 * runs after the initial sync; a tick in one direction does not clear the other's failures; a
 * request waiting for a tick that outlasts --shutdown-timeout is answered, not left hanging.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { S3Bucket } from '../../src/remote/bucket.js';
import { createS3Client } from '../../src/remote/client.js';
import { ShuttingDownError } from '../../src/sync/controller.js';
import { awsEnv, useS3 } from '../helpers/s3.js';
import { testSyncer } from '../helpers/syncer.js';
import { tempDir } from '../helpers/tmp.js';

const s3 = useS3();

/** A syncer on a fresh bucket and folder, its bucket built by `make` (a subclass may inject a fault). */
async function loop(t: TestContext, make: (client: ReturnType<typeof createS3Client>, bucket: string) => S3Bucket, flags: string[] = []) {
  const bucket = await s3().newBucket();
  const dir = await tempDir('loop-local');
  const config = loadConfig(
    [dir, `s3://${bucket}/app`, '--poll', '3600', '--state-dir', await tempDir('loop-state'), '--http-port', '0', ...flags],
    awsEnv(s3().endpoint),
  );
  const client = createS3Client(config.aws, config.concurrency);
  t.after(() => client.destroy());
  const syncer = testSyncer({ config, bucket: make(client, bucket), bucketName: bucket, nodeId: 'loop-test:1' });
  t.after(() => syncer.stop({ finalSync: false }));
  return { syncer, bucket, dir };
}

test('loop: a sync asked for during start-up runs after the initial sync, which alone ends the start', async (t) => {
  const { syncer, bucket, dir } = await loop(t, (client, name) => new S3Bucket(client, name));
  await s3().putText(bucket, 'app/remote.txt', 'from the bucket');
  await writeFile(join(dir, 'local.txt'), 'from the folder');

  // Asked for before the baseline is even loaded, as a /sync/up call can be while the app starts.
  const early = syncer.requestSync('up');
  await syncer.prepare();
  assert.equal(syncer.status().initialSyncDone, false);
  const initial = await syncer.initialSync();
  const asked = await early;

  assert.equal(initial.trigger, 'initial');
  assert.equal(initial.outcome, 'success');
  assert.ok(asked.id > initial.id, `the requested tick (${asked.id}) ran after the initial one (${initial.id})`);
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/local.txt', 'app/remote.txt']);
});

test('loop: a tick in one direction does not clear the failures of the other, nor complete the initial sync', async (t) => {
  class FailingDownloads extends S3Bucket {
    override read(): ReturnType<S3Bucket['read']> {
      return Promise.reject(new Error('injected: the disk is full'));
    }
  }
  const { syncer, bucket, dir } = await loop(t, (client, name) => new FailingDownloads(client, name));
  await s3().putText(bucket, 'app/remote.txt', 'cannot come down');
  await syncer.prepare();
  assert.equal((await syncer.initialSync()).outcome, 'failure');

  await writeFile(join(dir, 'local.txt'), 'goes up');
  const up = await syncer.requestSync('up');
  assert.equal(up.outcome, 'success');
  assert.equal(up.uploaded, 1);
  let status = syncer.status();
  assert.equal(status.initialSyncDone, false, 'the downloads never succeeded');
  assert.equal(status.consecutiveFailures, 1);
  assert.equal(status.state, 'initial-sync');

  assert.equal((await syncer.syncNow()).outcome, 'failure');
  status = syncer.status();
  assert.equal(status.consecutiveFailures, 2, 'failures keep counting toward --max-failures');

  // The task stops: what the app wrote last still goes up, though the downloads never worked.
  await writeFile(join(dir, 'last-words.txt'), 'written just before the stop');
  const final = await syncer.stop();
  assert.equal(final?.outcome, 'success');
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/last-words.txt', 'app/local.txt', 'app/remote.txt']);
});

test('loop: failures count per direction and only while consecutive: up ticks failing every other time never reach --max-failures', async (t) => {
  let failWrites = false;
  class FlakyUploads extends S3Bucket {
    override write(...args: Parameters<S3Bucket['write']>): ReturnType<S3Bucket['write']> {
      return failWrites ? Promise.reject(new Error('injected: the network dropped')) : super.write(...args);
    }
  }
  const { syncer, dir } = await loop(t, (client, name) => new FlakyUploads(client, name));
  await syncer.prepare();
  await syncer.initialSync();
  const seen: number[] = [];
  for (let round = 0; round < 6; round++) {
    failWrites = round % 2 === 0;
    await writeFile(join(dir, `f${round}.txt`), `round ${round}`);
    await syncer.requestSync('up');
    seen.push(syncer.status().consecutiveFailures);
  }
  assert.deepEqual(seen, [1, 0, 1, 0, 1, 0]);
});

test('loop: a request waiting for a tick that outlasts --shutdown-timeout gets ShuttingDownError when the shutdown gives up', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  t.after(() => release());
  class StuckUploads extends S3Bucket {
    override async write(...args: Parameters<S3Bucket['write']>): ReturnType<S3Bucket['write']> {
      await released;
      return super.write(...args);
    }
  }
  const { syncer, dir } = await loop(t, (client, name) => new StuckUploads(client, name), ['--shutdown-timeout', '1']);
  await syncer.prepare();
  await syncer.initialSync();
  await writeFile(join(dir, 'big.txt'), 'an upload that does not end in time');
  // Nothing else keeps this test's process busy while the upload hangs (the shutdown's timer is unref'd).
  const keepAlive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(keepAlive));
  const waiting = syncer.requestSync('up');
  // The upload is under way before the shutdown begins.
  await new Promise((resolve) => setTimeout(resolve, 200));

  assert.equal(await syncer.stop(), null, 'the final sync timed out');
  const outcome = await Promise.race([
    waiting.then(
      () => 'answered',
      (err: unknown) => err,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
  ]);
  assert.ok(outcome instanceof ShuttingDownError, `got ${String(outcome)}`);
  assert.match(outcome.message, /before the tick finished/);
});
