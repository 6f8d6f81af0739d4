/**
 * The lock as a `--dfs` node lives with it (issue 4, item 2), with the built CLI on moto: a tick
 * that cannot get the lock in time fails alone and the node goes on (downloads included); and the
 * lock is released on shutdown, after the final up-sync — also when the app held it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3LeaseLock } from '../src/lock/s3-lock.js';
import { lockKey } from '../src/lock/lock-object.js';
import { S3Bucket } from '../src/remote/bucket.js';
import { LEVEL, tickLines, type LogLine } from './helpers/cli.js';
import { startDfsNode } from './helpers/dfs-node.js';
import { useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { localFiles, asText } from './helpers/trees.js';
import { waitFor } from './helpers/wait.js';

// Conditional creates are atomic only on a moto that serves one request at a time.
const s3 = useS3({ serial: true });
const PREFIX = 'app';

const lockWaitFailure = (l: LogLine) =>
  l.level >= LEVEL.error && tickLines([l]).some((t) => t.tick.outcome === 'failure') && /gave up after .*--dfs-lock-wait/.test(l.msg);

async function node(bucket: string, flags: readonly string[]) {
  return startDfsNode({ name: 'node', dir: await tempDir('dfs-lock'), uri: `s3://${bucket}/${PREFIX}`, endpoint: s3().endpoint, flags });
}

test('a tick that cannot get the lock within --dfs-lock-wait fails alone: downloads still happen, the node runs on and uploads once the lock is free', { timeout: 120_000 }, async () => {
  const bucket = await s3().newBucket();
  // Another node's maintenance hold, taken by a lock of our own in this process.
  const other = new S3LeaseLock({
    bucket: new S3Bucket(s3().client, bucket),
    key: lockKey(PREFIX),
    ownerId: 'maintenance:1',
    host: 'elsewhere',
    leaseSeconds: 6,
    waitSeconds: 5,
  });
  await other.holdForApp(300);
  const n = await node(bucket, ['--poll', '1', '--dfs-lock-wait', '2', '--dfs-lock-timeout', '6', '--max-failures', '10']);

  await s3().putText(bucket, `${PREFIX}/from-elsewhere.txt`, 'downloads need no lock');
  await writeFile(join(n.dir, 'late.txt'), 'waits for the lock');
  const failure = await n.cli.waitForLine('a tick failing on the lock wait', lockWaitFailure);
  assert.match(failure.msg, /held by maintenance:1 on elsewhere/, 'the failure names the holder');

  assert.ok((await n.metric('s3sync2_lock_wait_timeouts_total')) >= 1, 'lock wait timeouts are counted');
  assert.ok((await n.metric('s3sync2_tick_failures_total')) >= 1, 'the failed tick is counted');
  const health = await fetch(`${n.url}/health`);
  assert.equal(health.status, 200, 'a lock wait that ran out does not count toward --max-failures');
  assert.equal((await n.status()).consecutiveFailures, 0, 'lock waits never push the node toward exit 1');
  await waitFor('the remote file to come down while the lock is held elsewhere', async () =>
    asText(await localFiles(n.dir))['from-elsewhere.txt'] === 'downloads need no lock',
  );
  assert.equal(await s3().head(bucket, `${PREFIX}/late.txt`), null, 'nothing was uploaded without the lock');
  assert.equal(n.cli.exitStatus(), null, 'the node keeps running');

  await other.releaseForApp();
  await other.close();
  await waitFor('the local file to be uploaded once the lock is free', async () => (await s3().head(bucket, `${PREFIX}/late.txt`)) !== null, {
    timeoutMs: 30_000,
  });
  assert.equal(await s3().getText(bucket, `${PREFIX}/late.txt`), 'waits for the lock');
  await waitFor('a successful tick to reset the failure count', async () => (await n.status()).consecutiveFailures === 0);
  assert.equal((await fetch(`${n.url}/health`)).status, 200);
  n.cli.signal('SIGTERM');
  assert.deepEqual(await n.cli.exit(), { code: 0, signal: null }, n.cli.stderr());
});

for (const appHold of [false, true]) {
  test(`SIGTERM${appHold ? ' while the app holds the lock (POST /lock)' : ''}: the final up-sync uploads a late file under the lock, then the lock object is gone`, { timeout: 90_000 }, async () => {
    const bucket = await s3().newBucket();
    // DEBUG: routine lock acquisitions and releases are logged there.
    const n = await node(bucket, ['--poll', '3600', '--dfs-lock-timeout', '30', '--debug', 'DEBUG']);
    if (appHold) {
      const held = await fetch(`${n.url}/lock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ leaseSeconds: 600 }),
      });
      assert.equal(held.status, 200, await held.text());
      assert.ok(await s3().head(bucket, lockKey(PREFIX)), 'the lock object exists while held');
    }

    // No timer tick within the test; the watcher's debounced tick is cut short by the signal.
    await writeFile(join(n.dir, 'last-words.txt'), 'written right before shutdown');
    n.cli.signal('SIGTERM');
    assert.deepEqual(await n.cli.exit(), { code: 0, signal: null }, n.cli.stderr());

    assert.equal(await s3().getText(bucket, `${PREFIX}/last-words.txt`), 'written right before shutdown');
    assert.equal(await s3().head(bucket, lockKey(PREFIX)), null, 'the lock object is gone after exit');
    const msgs = n.cli.lines.map((l) => l.msg);
    const final = tickLines(n.cli.lines).find((t) => t.tick.trigger === 'shutdown');
    assert.equal(final?.tick.uploaded, 1, 'the final up-sync uploaded the late file (remote writes need the lock)');
    const released = msgs.lastIndexOf('lock released');
    assert.ok(released > msgs.indexOf('shutting down'), 'the lock was released during shutdown');
    assert.ok(msgs.lastIndexOf('lock acquired') < released, 'nothing was acquired after the release');
  });
}
