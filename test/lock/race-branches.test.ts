/**
 * Branches moto cannot produce on demand, on an in-memory bucket double: a 409
 * ConditionalRequestConflict on create, takeover and renewal, and a lock object that vanishes
 * between the 412 and the read. Everything else about the lock is proven on moto.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConditionalConflictError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics.js';
import { S3LeaseLock } from '../../src/lock/s3-lock.js';
import { Backoff, StaleWatch } from '../../src/timing.js';
import { MemoryBucket } from './memory-bucket.js';
import { metricValue } from './metric-value.js';

const KEY = 'p/.s3-sync2.lock';

function lockOn(bucket: MemoryBucket, overrides: { leaseSeconds?: number; waitSeconds?: number } = {}) {
  const metrics = createMetrics({ withDefaults: false });
  const lock = new S3LeaseLock({
    bucket,
    key: KEY,
    ownerId: 'node-a:1',
    host: 'host-a',
    leaseSeconds: overrides.leaseSeconds ?? 30,
    waitSeconds: overrides.waitSeconds ?? 10,
    metrics,
    random: () => 0,
  });
  return { lock, metrics };
}

test('a 409 on create is a race, not a holder: the lock backs off and acquires', async () => {
  const bucket = new MemoryBucket();
  let conflicts = 3;
  bucket.beforeWrite = (condition) => {
    if (condition.ifNoneMatch && conflicts-- > 0) throw new ConditionalConflictError(KEY);
  };
  const { lock, metrics } = lockOn(bucket);
  const generation = await lock.withLock(async () => bucket.json(KEY)?.generation);
  assert.equal(generation, 1);
  assert.equal(bucket.writes().filter((c) => c.condition?.ifNoneMatch).length, 4, 'three conflicts, then the create');
  assert.equal(bucket.calls.filter((c) => c.op === 'readSmall').length, 0, 'a 409 is not read as a holder');
  assert.equal(await metricValue(metrics, 's3sync2_lock_acquisitions_total', { how: 'fresh' }), 1);
  assert.equal(bucket.json(KEY), null, 'released afterwards');
});

test('a 409 that outlasts --dfs-lock-wait ends in LockWaitTimeoutError carrying the conflict', async () => {
  const bucket = new MemoryBucket();
  bucket.beforeWrite = () => {
    throw new ConditionalConflictError(KEY);
  };
  const { lock, metrics } = lockOn(bucket, { waitSeconds: 0.3 });
  await assert.rejects(lock.withLock(async () => 'never'), (err: Error) => {
    assert.equal(err.name, 'LockWaitTimeoutError');
    assert.match(err.message, /gave up after 0\.\d s/);
    assert.match(err.message, /conditional request conflict/);
    return true;
  });
  assert.equal(await metricValue(metrics, 's3sync2_lock_wait_timeouts_total'), 1);
});

test('a lock object that vanishes between the 412 and the read is retried at once', async () => {
  const bucket = new MemoryBucket();
  await bucket.write(KEY, Buffer.from('{"owner":"node-b:2"}'), 20, {});
  // The holder releases exactly between our refused create and our read.
  bucket.hideOnRead = () => {
    bucket.hideOnRead = () => false;
    bucket.remove(KEY);
    return true;
  };
  // With no wait at all, only an immediate retry can succeed.
  const { lock } = lockOn(bucket, { waitSeconds: 0 });
  assert.equal(await lock.withLock(async () => 'got it'), 'got it');
  assert.equal(bucket.writes().filter((c) => c.condition?.ifNoneMatch).length, 2);
});

test('a 409 on takeover backs off and the takeover is tried again', async () => {
  const bucket = new MemoryBucket();
  await bucket.write(KEY, Buffer.from('dead-node'), 9, {});
  let conflicts = 1;
  bucket.beforeWrite = (condition) => {
    if (condition.ifMatch && conflicts-- > 0) throw new ConditionalConflictError(KEY);
  };
  const { lock, metrics } = lockOn(bucket, { leaseSeconds: 0.2, waitSeconds: 5 });
  const body = await lock.withLock(async () => bucket.json(KEY));
  assert.equal(body?.owner, 'node-a:1');
  assert.equal(body?.generation, 1);
  assert.equal(bucket.writes().filter((c) => c.condition?.ifMatch).length, 2, 'one conflicted takeover, one that won');
  assert.equal(await metricValue(metrics, 's3sync2_lock_acquisitions_total', { how: 'takeover' }), 1);
});

test('a 409 on renewal is retried, not taken as a loss', async () => {
  const bucket = new MemoryBucket();
  const { lock, metrics } = lockOn(bucket, { leaseSeconds: 0.6 });
  let conflicts = 0;
  bucket.beforeWrite = (condition) => {
    if (condition.ifMatch && conflicts++ === 0) throw new ConditionalConflictError(KEY);
  };
  const aborted = await lock.withLock(async (signal) => {
    const deadline = Date.now() + 5_000;
    while (((bucket.json(KEY)?.renewals as number | undefined) ?? 0) < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return signal.aborted;
  });
  assert.equal(aborted, false);
  assert.ok(conflicts >= 3, 'the first renewal conflicted, later ones went through');
  assert.equal(await metricValue(metrics, 's3sync2_lock_losses_total'), 0);
});

test('backoff delays grow from 100 ms to a 2 s cap, jittered within [d/2, d]', () => {
  const low = new Backoff(() => 0);
  assert.deepEqual(Array.from({ length: 7 }, () => low.next()), [50, 100, 200, 400, 800, 1000, 1000]);
  const high = new Backoff(() => 0.999999);
  assert.ok(Math.abs(high.next() - 100) < 0.01);
});

test('a version counts as stale only after standing unchanged for longer than the lease on this clock', () => {
  let now = 1_000;
  const watch = new StaleWatch({ now: () => now }, 500);
  assert.equal(watch.isStale('a'), false);
  now += 500;
  assert.equal(watch.isStale('a'), false, 'exactly the lease is not longer than the lease');
  now += 1;
  assert.equal(watch.isStale('a'), true);
  assert.equal(watch.isStale('b'), false, 'a new version restarts the clock');
  now += 200;
  assert.equal(watch.leaseLeftMs('b'), 300);
});
