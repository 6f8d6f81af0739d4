/** The put-then-read lock (`--dfs-unsafe-lock`) against moto, used one contender at a time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { S3Bucket } from '../../src/remote/bucket.js';
import { LockLostError, LockWaitTimeoutError } from '../../src/lock/errors.js';
import type { LockLogger } from '../../src/lock/lease-lock.js';
import { lockKey } from '../../src/lock/lock-object.js';
import { UNSAFE_LOCK_WARNING, UnsafeLock } from '../../src/lock/unsafe-lock.js';
import { testClient, useS3 } from '../helpers/s3.js';
import { waitFor } from '../helpers/wait.js';
import { metricValue } from './metric-value.js';

const s3 = useS3();
const KEY = lockKey('p');

function unsafeNode(bucket: string, owner: string, opts: { leaseSeconds?: number; waitSeconds?: number } = {}) {
  const warnings: string[] = [];
  const logger: LockLogger = { info() {}, debug() {}, error() {}, warn: (_obj, msg) => warnings.push(msg) };
  const metrics: Metrics = createMetrics({ withDefaults: false });
  const lock = new UnsafeLock({
    bucket: new S3Bucket(testClient(s3().endpoint), bucket),
    key: KEY,
    ownerId: owner,
    host: 'h',
    leaseSeconds: opts.leaseSeconds ?? 30,
    waitSeconds: opts.waitSeconds ?? 10,
    metrics,
    logger,
    settleMs: 100,
  });
  return { lock, warnings, metrics };
}

test('the unsafe lock warns at construction, writes our body, reads it back, and deletes it on release', async () => {
  const bucket = await s3().newBucket();
  const { lock, warnings } = unsafeNode(bucket, 'node-a:1');
  assert.deepEqual(warnings, [UNSAFE_LOCK_WARNING]);
  assert.match(UNSAFE_LOCK_WARNING, /not exclude nodes that contend at the same moment/);
  const body = await lock.withLock(async () => JSON.parse(await s3().getText(bucket, KEY)) as Record<string, unknown>);
  assert.equal(body.owner, 'node-a:1');
  assert.equal(body.generation, 1);
  await waitFor('the lock object deleted', async () => (await s3().head(bucket, KEY)) === null);
  await lock.close();
});

test('the unsafe lock keeps a live holder (renewing) and takes over a stale one after the lease', async () => {
  const bucket = await s3().newBucket();
  const a = unsafeNode(bucket, 'node-a:1', { leaseSeconds: 2 });
  const b = unsafeNode(bucket, 'node-b:2', { leaseSeconds: 2, waitSeconds: 4 });
  await a.lock.holdForApp(60);
  await assert.rejects(b.lock.withLock(async () => 'never'), LockWaitTimeoutError);
  assert.equal(a.lock.isHeld(), true);

  // Then a node crashes holding the lock: nobody renews it. (a steps aside first: without
  // conditional writes a renewal racing the crashed node's PUT may win, which is exactly the
  // weakness of this lock; loss detection has its own test below.)
  await a.lock.close();
  await s3().putText(bucket, KEY, JSON.stringify({ owner: 'crashed:9', host: 'x', acquiredAt: '', leaseSeconds: 2, generation: 7 }));
  const started = performance.now();
  const body = await b.lock.withLock(async () => JSON.parse(await s3().getText(bucket, KEY)) as Record<string, unknown>);
  assert.ok(performance.now() - started >= 2_000 - 50, 'not before the lease');
  assert.equal(body.owner, 'node-b:2');
  assert.equal(body.generation, 8);
  await b.lock.close();
});

test('the unsafe lock detects a replaced lock object at renewal and aborts its holders', async () => {
  const bucket = await s3().newBucket();
  const { lock, metrics } = unsafeNode(bucket, 'node-a:1', { leaseSeconds: 1.5 });
  const reason = await lock.withLock(async (signal) => {
    await s3().putText(bucket, KEY, 'intruder');
    await once(signal, 'abort');
    return signal.reason as unknown;
  });
  assert.ok(reason instanceof LockLostError);
  assert.equal(await metricValue(metrics, 's3sync2_lock_losses_total'), 1);
  assert.equal(await s3().getText(bucket, KEY), 'intruder', 'a lock that is not ours is not deleted');
  await lock.close();
});
