/**
 * A tick asks for the bucket listing before the folder scan is done, so it waits for the longer of
 * the two rather than their sum; the sync it makes is the same, a failed listing still fails
 * the tick (no unhandled rejection while the scan runs), and a failed scan stops the listing; a
 * tick that wrote a file locally does not let the next one reuse its scan.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config.js';
import { TransientError } from '../../src/errors.js';
import { LockWaitTimeoutError } from '../../src/lock/errors.js';
import type { DistributedLock } from '../../src/lock/types.js';
import { BaselineStore } from '../../src/baseline.js';
import { LocalSnapshotSource, type LocalScan } from '../../src/local/snapshot.js';
import { S3Bucket } from '../../src/remote/bucket.js';
import { createS3Client } from '../../src/remote/client.js';
import type { RemoteObject } from '../../src/remote/types.js';
import { awsEnv, useS3 } from '../helpers/s3.js';
import { testSyncer } from '../helpers/syncer.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const s3 = useS3();

/** Stands in for the bucket's listing: `listed` is the real one, `signal` the tick's abort signal for it. */
type ListingWrapper = (listed: () => Promise<readonly RemoteObject[]>, signal: AbortSignal | undefined) => Promise<readonly RemoteObject[]>;

/**
 * A syncer on a fresh bucket and folder (one file each side) whose scans end only once the
 * listing was asked for (or after 2 s without it, recorded as false) and then fail with
 * `scanError` if given, and whose listing `list` wraps.
 */
async function gatedSyncer(t: TestContext, list: ListingWrapper, scanError?: Error) {
  const bucket = await s3().newBucket();
  await s3().putText(bucket, 'app/remote.txt', 'from the bucket');
  const dir = await tempDir('tick-local');
  await writeFile(join(dir, 'local.txt'), 'from the folder');
  const config = loadConfig(
    [dir, `s3://${bucket}/app`, '--poll', '3600', '--state-dir', await tempDir('tick-state'), '--http-port', '0'],
    awsEnv(s3().endpoint),
  );
  const client = createS3Client(config.aws, config.concurrency);
  t.after(() => client.destroy());

  let listRequested!: () => void;
  const listing = new Promise<void>((resolve) => (listRequested = resolve));
  class ListingBucket extends S3Bucket {
    override list(prefix: string, signal?: AbortSignal): Promise<readonly RemoteObject[]> {
      listRequested();
      return list(() => super.list(prefix, signal), signal);
    }
  }
  const scansAfterListing: boolean[] = [];
  class WaitingSource extends LocalSnapshotSource {
    override async snapshot(full: boolean): Promise<LocalScan> {
      const scan = super.snapshot(full);
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
      const asked = await Promise.race([listing.then(() => true), gaveUp]);
      clearTimeout(timer);
      scansAfterListing.push(asked);
      if (scanError) throw scanError;
      return scan;
    }
  }
  const syncer = testSyncer({ config, bucket: new ListingBucket(client, bucket), bucketName: bucket, nodeId: 'tick-test:1', Source: WaitingSource });
  t.after(() => syncer.stop({ finalSync: false }));
  await syncer.prepare();
  return { bucket, syncer, scansAfterListing };
}

test('tick: the listing is requested while the folder is still being scanned', async (t) => {
  const { bucket, syncer, scansAfterListing } = await gatedSyncer(t, (listed) => listed());

  const summary = await syncer.initialSync();

  assert.equal(summary.outcome, 'success');
  assert.ok(scansAfterListing.length > 0, 'the tick scanned the folder');
  assert.ok(scansAfterListing.every(Boolean), 'every scan ended after the listing was requested');
  // The same sync as before: both files on both sides.
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/local.txt', 'app/remote.txt']);
  assert.equal(await s3().getText(bucket, 'app/local.txt'), 'from the folder');
});

test('tick: a listing that fails while the folder is scanned fails the tick, and nothing is written', async (t) => {
  // The listing fails at once, before the scan ends: its rejection waits for the tick to take it.
  const { bucket, syncer } = await gatedSyncer(t, () => Promise.reject(new TransientError('list app/: throttled')));

  const summary = await syncer.initialSync();

  assert.equal(summary.outcome, 'failure');
  assert.match(summary.errors.join('\n'), /throttled/);
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/remote.txt']);
});

test('tick: a scan that fails stops the listing it started, and nothing is written', async (t) => {
  let listingSignal: AbortSignal | undefined;
  const { bucket, syncer } = await gatedSyncer(
    t,
    (listed, signal) => {
      listingSignal = signal;
      return listed();
    },
    new Error('scandir: permission denied'),
  );

  const summary = await syncer.initialSync();

  assert.equal(summary.outcome, 'failure');
  assert.match(summary.errors.join('\n'), /permission denied/);
  assert.equal(listingSignal?.aborted, true, 'the listing was told to stop');
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/remote.txt']);
});

test('tick: a keep-both that kept the remote loser as a new local copy makes the next tick scan again', async (t) => {
  const bucket = await s3().newBucket();
  const dir = await tempDir('tick-local');
  const config = loadConfig(
    [dir, `s3://${bucket}/app`, '--poll', '3600', '--state-dir', await tempDir('tick-state'), '--http-port', '0', '--conflict', 'keep-both'],
    awsEnv(s3().endpoint),
  );
  const client = createS3Client(config.aws, config.concurrency);
  t.after(() => client.destroy());
  let invalidated = 0;
  class CountingSource extends LocalSnapshotSource {
    override invalidate(): void {
      invalidated++;
      super.invalidate();
    }
  }
  const syncer = testSyncer({ config, bucket: new S3Bucket(client, bucket), bucketName: bucket, nodeId: 'tick-test:1', Source: CountingSource });
  t.after(() => syncer.stop({ finalSync: false }));
  await syncer.prepare();
  await writeFile(join(dir, 'doc.txt'), 'first');
  await syncer.initialSync();
  await s3().putText(bucket, 'app/doc.txt', 'remote edit');
  // The local edit is newer: it keeps the name, the remote one comes down as a copy.
  await writeFile(join(dir, 'doc.txt'), 'local edit, newer');
  await utimes(join(dir, 'doc.txt'), new Date(), new Date(Date.now() + 3_600_000));
  const before = invalidated;

  const summary = await syncer.syncNow();

  assert.equal(summary.conflicts, 1);
  assert.equal(summary.downloaded, 0, 'the copy is not counted as a download');
  assert.ok(invalidated > before, 'the next tick scans the folder again');
});

test('tick: a tick whose remote writes wait too long for the lock still saves what it did locally, so a file it downloaded is not uploaded back after another node deletes it', async (t) => {
  const bucket = await s3().newBucket();
  const dir = await tempDir('tick-local');
  const config = loadConfig(
    [dir, `s3://${bucket}/app`, '--poll', '3600', '--state-dir', await tempDir('tick-state'), '--http-port', '0', '--delete'],
    awsEnv(s3().endpoint),
  );
  const client = createS3Client(config.aws, config.concurrency);
  t.after(() => client.destroy());
  let lockFree = true;
  const lock = {
    ownerId: 'tick-test:1',
    withLock: <T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> =>
      lockFree ? fn(new AbortController().signal) : Promise.reject(new LockWaitTimeoutError('app/.s3-sync2-lock', null, 2000)),
  } as DistributedLock;
  const syncer = testSyncer({ config, bucket: new S3Bucket(client, bucket), bucketName: bucket, nodeId: 'tick-test:1', lock });
  t.after(() => syncer.stop({ finalSync: false }));
  await syncer.prepare();
  await syncer.initialSync();

  // Another node writes g.txt; this node's tick downloads it, then waits in vain for the lock for
  // its own upload.
  await s3().putText(bucket, 'app/g.txt', 'from another node');
  await writeFile(join(dir, 'mine.txt'), 'needs the lock');
  lockFree = false;
  const failed = await syncer.syncNow();
  assert.equal(failed.outcome, 'failure');
  assert.equal(await readFile(join(dir, 'g.txt'), 'utf8'), 'from another node');
  // Its summary (a /sync answer) reports the download it did and why it stopped.
  assert.equal(failed.downloaded, 1);
  assert.equal(failed.uploaded, 0);
  assert.equal(failed.errors.length, 1);

  // The other node deletes g.txt; the lock is free again.
  await s3().client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'app/g.txt' }));
  lockFree = true;
  const next = await syncer.syncNow();

  assert.equal(next.outcome, 'success', JSON.stringify(next.errors));
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/mine.txt'], 'g.txt stays deleted in the bucket');
  await assert.rejects(readFile(join(dir, 'g.txt')), { code: 'ENOENT' });
});

test('tick: a process killed in the middle of a tick restarts knowing each change it finished (the journal)', async (t) => {
  const bucket = await s3().newBucket();
  const dir = await tempDir('tick-local');
  const stateDir = await tempDir('tick-state');
  const config = loadConfig([dir, `s3://${bucket}/app`, '--poll', '3600', '--state-dir', stateDir, '--http-port', '0', '--delete'], awsEnv(s3().endpoint));
  const client = createS3Client(config.aws, config.concurrency);
  t.after(() => client.destroy());
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  class StuckUploads extends S3Bucket {
    override async write(...args: Parameters<S3Bucket['write']>): ReturnType<S3Bucket['write']> {
      await released;
      return super.write(...args);
    }
  }
  const killed = testSyncer({ config, bucket: new StuckUploads(client, bucket), bucketName: bucket, nodeId: 'tick-test:1' });
  t.after(() => killed.stop({ finalSync: false }));
  t.after(() => release());
  await killed.prepare();
  await s3().putText(bucket, 'app/g.txt', 'from another node');
  await writeFile(join(dir, 'mine.txt'), 'an upload that never ends');

  // The download is done before the uploads start; the upload then hangs, as in a process that
  // is killed before its tick ends (nothing of this tick is saved the usual way).
  const tick = killed.initialSync();
  await waitFor('g.txt downloaded', async () => (await readFile(join(dir, 'g.txt'), 'utf8').catch(() => null)) === 'from another node');
  const store = new BaselineStore(stateDir, { bucket, prefix: 'app', localPath: config.localPath });
  const journaled = await waitFor('the download in the journal', async () => ((await store.load())?.has('g.txt') ? await store.load() : null), { timeoutMs: 1000 });
  assert.equal(journaled.has('mine.txt'), false, 'the upload still running is not in it');

  // Another node deletes g.txt; the process restarts on the same state dir.
  await s3().client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'app/g.txt' }));
  const restarted = testSyncer({ config, bucket: new S3Bucket(client, bucket), bucketName: bucket, nodeId: 'tick-test:2' });
  t.after(() => restarted.stop({ finalSync: false }));
  await restarted.prepare();
  const next = await restarted.initialSync();

  assert.equal(next.outcome, 'success', JSON.stringify(next.errors));
  assert.deepEqual(await s3().keys(bucket, 'app/'), ['app/mine.txt'], 'g.txt stays deleted in the bucket');
  await assert.rejects(readFile(join(dir, 'g.txt')), { code: 'ENOENT' });
  assert.deepEqual([...((await store.load()) ?? new Map()).keys()], ['mine.txt'], 'the restart saved what it replayed and did');
  release();
  await tick;
});
