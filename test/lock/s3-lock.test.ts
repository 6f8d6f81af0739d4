/** The S3 lease lock in one process against moto: acquire, share, wait, renew, take over, lose, hold. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ConfigError } from '../../src/errors.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { S3Bucket } from '../../src/remote/bucket.js';
import { CONDITIONAL_WRITES_UNSUPPORTED_MESSAGE, createLock } from '../../src/lock/create-lock.js';
import { LockClosedError, LockLostError, LockWaitTimeoutError } from '../../src/lock/errors.js';
import { lockKey } from '../../src/lock/lock-object.js';
import { S3LeaseLock } from '../../src/lock/s3-lock.js';
import { UnsafeLock } from '../../src/lock/unsafe-lock.js';
import { testClient, useS3 } from '../helpers/s3.js';
import { waitFor } from '../helpers/wait.js';
import { metricValue } from './metric-value.js';

const s3 = useS3();
const KEY = lockKey('shared/dir');

interface Node {
  readonly lock: S3LeaseLock;
  readonly metrics: Metrics;
}

function node(bucket: string, owner: string, opts: { leaseSeconds?: number; waitSeconds?: number } = {}): Node {
  const metrics = createMetrics({ withDefaults: false });
  const lock = new S3LeaseLock({
    bucket: new S3Bucket(testClient(s3().endpoint), bucket),
    key: KEY,
    ownerId: owner,
    host: `${owner}-host`,
    leaseSeconds: opts.leaseSeconds ?? 30,
    waitSeconds: opts.waitSeconds ?? 20,
    metrics,
  });
  return { lock, metrics };
}

async function lockBody(bucket: string): Promise<Record<string, unknown> | null> {
  if (!(await s3().head(bucket, KEY))) return null;
  return JSON.parse(await s3().getText(bucket, KEY)) as Record<string, unknown>;
}

test('lockKey puts the lock beside the synced files', () => {
  assert.equal(lockKey('a/b'), 'a/b/.s3-sync2.lock');
  assert.equal(lockKey('/a/b/'), 'a/b/.s3-sync2.lock');
  assert.equal(lockKey(''), '.s3-sync2.lock');
});

test('withLock writes the lease body while held and deletes the object on release', async () => {
  const bucket = await s3().newBucket();
  const { lock, metrics } = node(bucket, 'node-a:1');
  const seen = await lock.withLock(async (signal) => {
    assert.equal(signal.aborted, false);
    assert.equal(lock.isHeld(), true);
    assert.equal(await metricValue(metrics, 's3sync2_lock_held'), 1);
    return lockBody(bucket);
  });
  assert.equal(seen?.owner, 'node-a:1');
  assert.equal(seen?.host, 'node-a:1-host');
  assert.equal(seen?.leaseSeconds, 30);
  assert.equal(seen?.generation, 1);
  assert.ok(Math.abs(Date.parse(String(seen?.acquiredAt)) - Date.now()) < 10_000, 'acquiredAt is a timestamp');
  assert.equal(lock.isHeld(), false);
  await waitFor('the lock object deleted', async () => (await s3().head(bucket, KEY)) === null);
  assert.equal(await metricValue(metrics, 's3sync2_lock_acquisitions_total', { how: 'fresh' }), 1);
  assert.equal(await metricValue(metrics, 's3sync2_lock_held'), 0);
  await lock.close();
});

test('concurrent holders in one process share one acquisition; the last one out releases', async () => {
  const bucket = await s3().newBucket();
  const { lock, metrics } = node(bucket, 'node-a:1');
  let releaseLong!: () => void;
  const long = lock.withLock(() => new Promise<void>((resolve) => (releaseLong = resolve)));
  await Promise.all([lock.withLock(async () => 1), lock.withLock(async () => 2)]);
  assert.ok(await s3().head(bucket, KEY), 'still held for the long holder');
  assert.equal(lock.isHeld(), true);
  releaseLong();
  await long;
  await waitFor('the lock object deleted', async () => (await s3().head(bucket, KEY)) === null);
  assert.equal(await metricValue(metrics, 's3sync2_lock_acquisitions_total', { how: 'fresh' }), 1);
  await lock.close();
});

test('another node waits, reads the holder, and gives up after --dfs-lock-wait with a typed error', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1');
  const b = node(bucket, 'node-b:2', { waitSeconds: 1 });
  await a.lock.holdForApp(60);
  const started = Date.now();
  await assert.rejects(b.lock.withLock(async () => 'never'), (err: unknown) => {
    assert.ok(err instanceof LockWaitTimeoutError);
    assert.equal(err.holder?.owner, 'node-a:1');
    assert.ok(err.waitedMs >= 1_000);
    assert.match(err.message, /gave up after 1\.\d s .*held by node-a:1 on node-a:1-host \(generation 1 since /);
    return true;
  });
  assert.ok(Date.now() - started < 5_000, 'gave up near the wait, not much later');
  assert.equal(await metricValue(b.metrics, 's3sync2_lock_wait_timeouts_total'), 1);
  const status = await b.lock.status();
  assert.equal(status.heldByUs, false);
  assert.equal(status.holder?.owner, 'node-a:1');
  assert.equal(status.holder?.generation, 1);
  assert.ok(status.leaseLeftSeconds !== null && status.leaseLeftSeconds > 0 && status.leaseLeftSeconds <= 30);
  await a.lock.close();
  await b.lock.close();
});

test('a waiter takes a released lock at once, with the next generation', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1');
  const b = node(bucket, 'node-b:2');
  await a.lock.holdForApp(60);
  let bGot: number | null = null;
  const waiting = b.lock.withLock(async () => {
    bGot = Date.now();
    return lockBody(bucket);
  });
  await waitFor('b to have read the holder', async () => (await metricValue(b.metrics, 's3sync2_lock_generation')) === 1);
  const releasedAt = Date.now();
  await a.lock.releaseForApp();
  const body = await waiting;
  assert.equal(body?.owner, 'node-b:2');
  assert.equal(body?.generation, 2);
  assert.ok(bGot! - releasedAt < 5_000, 'within the backoff cap, far under the 30 s lease');
  assert.equal(await metricValue(b.metrics, 's3sync2_lock_acquisitions_total', { how: 'fresh' }), 1);
  await a.lock.close();
  await b.lock.close();
});

test('a caller that joins a wait already under way still waits its own --dfs-lock-wait', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1');
  const b = node(bucket, 'node-b:2', { waitSeconds: 2 });
  await a.lock.holdForApp(60);
  const first = b.lock.withLock(async () => 'first');
  first.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  // Joins the acquisition that started 1.5 s ago; A lets go 1 s later, past that one's own 2 s.
  const joinedAt = Date.now();
  const second = b.lock.withLock(async () => 'got it');
  setTimeout(() => void a.lock.releaseForApp(), 1_000);
  assert.equal(await second, 'got it', 'the joiner kept waiting past the first caller\'s deadline');
  assert.ok(Date.now() - joinedAt < 2_500, 'and not past its own');
  assert.equal(await first, 'first', 'the first caller was served by the same acquisition');
  await a.lock.close();
  await b.lock.close();
});

test('renewals give every lease a new version, so a live holder is never taken over', async () => {
  const bucket = await s3().newBucket();
  // A lease of 2 s: short, yet long enough for a loaded CI machine to renew in time.
  const a = node(bucket, 'node-a:1', { leaseSeconds: 2 });
  const b = node(bucket, 'node-b:2', { leaseSeconds: 2, waitSeconds: 4 });
  await a.lock.holdForApp(60);
  await assert.rejects(b.lock.withLock(async () => 'never'), LockWaitTimeoutError);
  const body = await lockBody(bucket);
  assert.equal(body?.owner, 'node-a:1');
  assert.equal(body?.generation, 1, 'renewals keep the generation');
  assert.ok(Number(body?.renewals) >= 4, `renewed every third of the lease (renewals: ${body?.renewals})`);
  assert.ok(typeof body?.renewedAt === 'string');
  assert.equal(a.lock.isHeld(), true);
  assert.equal(await metricValue(a.metrics, 's3sync2_lock_losses_total'), 0);
  await a.lock.close();
  await b.lock.close();
});

test('a lock nobody renews is taken over after the lease on this node, not before', async () => {
  const bucket = await s3().newBucket();
  // The original tool's lock: a bare node id, left by a crashed node.
  await s3().putText(bucket, KEY, 'old-node-1234');
  const b = node(bucket, 'node-b:2', { leaseSeconds: 1.5 });
  const before = await b.lock.status();
  assert.equal(before.holder?.owner, 'old-node-1234');
  const started = performance.now();
  const body = await b.lock.withLock(async () => lockBody(bucket));
  const waited = performance.now() - started;
  assert.equal(body?.owner, 'node-b:2');
  assert.equal(body?.generation, 1);
  assert.ok(waited >= 1_500 - 50, `waited ${waited} ms, at least the lease since first seen`);
  assert.equal(await metricValue(b.metrics, 's3sync2_lock_acquisitions_total', { how: 'takeover' }), 1);
  await b.lock.close();
});

test('a lock replaced behind the holder is lost at the next renewal: signal aborts, isHeld false, counted', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1', { leaseSeconds: 3 });
  const outcome = await a.lock.withLock(async (signal) => {
    const replacedAt = performance.now();
    await s3().client.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: '{"owner":"intruder"}' }));
    await once(signal, 'abort');
    return { afterMs: performance.now() - replacedAt, reason: signal.reason as unknown, held: a.lock.isHeld() };
  });
  assert.ok(outcome.afterMs <= 1_000 + 1_000, `lost ${outcome.afterMs} ms after the replacement (renewal every 1 s)`);
  assert.ok(outcome.reason instanceof LockLostError);
  assert.match((outcome.reason as Error).message, /renewal refused/);
  assert.equal(outcome.held, false);
  assert.equal(a.lock.isHeld(), false);
  assert.equal(await metricValue(a.metrics, 's3sync2_lock_losses_total'), 1);
  assert.equal(await metricValue(a.metrics, 's3sync2_lock_held'), 0);
  assert.equal(await s3().getText(bucket, KEY), '{"owner":"intruder"}', 'the new holder is left alone');
  await a.lock.close();
});

test('holdForApp keeps the lock (renewing) until releaseForApp; local holders join it', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1', { leaseSeconds: 1 });
  await assert.rejects(a.lock.holdForApp(0), /lease must be 0 < seconds/);
  await assert.rejects(a.lock.holdForApp(1e9), /lease must be 0 < seconds/);
  const held = await a.lock.holdForApp(60);
  assert.equal(held.heldByUs, true);
  assert.equal(held.holder?.owner, 'node-a:1');
  const until = Date.parse(held.appHoldUntil ?? '');
  assert.ok(Math.abs(until - (Date.now() + 60_000)) < 5_000, `appHoldUntil ${held.appHoldUntil}`);
  await waitFor('two renewals', async () => Number((await lockBody(bucket))?.renewals) >= 2);
  assert.equal(await a.lock.withLock(async () => 'joined'), 'joined');
  assert.equal(await metricValue(a.metrics, 's3sync2_lock_acquisitions_total', { how: 'fresh' }), 1, 'joined, not re-acquired');
  assert.ok(await s3().head(bucket, KEY), 'the app hold outlives the tick');
  const released = await a.lock.releaseForApp();
  assert.equal(released.heldByUs, false);
  assert.equal(released.appHoldUntil, null);
  assert.equal(released.holder, null);
  await a.lock.close();
});

test('an application hold lapses after its lease', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1');
  await a.lock.holdForApp(0.5);
  await waitFor('the hold to lapse and the lock to be released', async () => (await s3().head(bucket, KEY)) === null);
  assert.equal(a.lock.isHeld(), false);
  assert.equal((await a.lock.status()).appHoldUntil, null);
  await a.lock.close();
});

test('close releases the lock and refuses later acquisitions', async () => {
  const bucket = await s3().newBucket();
  const a = node(bucket, 'node-a:1');
  await a.lock.holdForApp(60);
  await a.lock.close();
  assert.equal(await s3().head(bucket, KEY), null);
  await assert.rejects(a.lock.withLock(async () => 'never'), LockClosedError);
});

test('createLock: the lease lock where writes are conditional, exit-2 error or opt-in unsafe lock where not', async () => {
  const bucket = new S3Bucket(testClient(s3().endpoint), 'unused');
  const params = (unsafeLock: boolean) => ({
    dfs: { lockTimeoutSeconds: 60, lockWaitSeconds: 180, unsafeLock },
    prefix: 'p',
    node: { id: 'n:1', host: 'h' },
  });
  assert.ok(createLock(params(false), bucket, true) instanceof S3LeaseLock);
  assert.ok(createLock(params(true), bucket, true) instanceof S3LeaseLock);
  assert.ok(createLock(params(true), bucket, false) instanceof UnsafeLock);
  assert.throws(
    () => createLock(params(false), bucket, false),
    (err: unknown) => err instanceof ConfigError && err.option === '--dfs' && err.message.includes('--dfs-unsafe-lock'),
  );
  assert.match(CONDITIONAL_WRITES_UNSUPPORTED_MESSAGE, /does not enforce conditional writes/);
});
