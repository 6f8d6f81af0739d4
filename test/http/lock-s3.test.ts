/** The /lock routes over HTTP with the real S3 lease lock on moto: two nodes, one prefix. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/metrics.js';
import { lockKey } from '../../src/lock/lock-object.js';
import { S3LeaseLock } from '../../src/lock/s3-lock.js';
import { S3Bucket } from '../../src/remote/bucket.js';
import { testClient, useS3 } from '../helpers/s3.js';
import { serve } from './serve.js';

const s3 = useS3();
const json = { 'content-type': 'application/json' };

/** A real lease lock on the bucket, closed (renewals stopped) when the file ends. */
function lockFor(bucket: string, owner: string): S3LeaseLock {
  const lock = new S3LeaseLock({
    bucket: new S3Bucket(testClient(s3().endpoint), bucket),
    key: lockKey('app'),
    ownerId: owner,
    host: `${owner}-host`,
    leaseSeconds: 30,
    waitSeconds: 1,
    metrics: createMetrics({ withDefaults: false }),
  });
  after(() => lock.close());
  return lock;
}

test('POST /lock holds the S3 lock for the app; the other node gets 409 naming the holder; DELETE frees it', async () => {
  const bucket = await s3().newBucket();
  const lockA = lockFor(bucket, 'node-a:1');
  const lockB = lockFor(bucket, 'node-b:2');
  const a = await serve({ lock: lockA });
  const b = await serve({ lock: lockB });

  const held = await a.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":120}' });
  assert.equal(held.status, 200);
  const state = await held.json();
  assert.equal(state.heldByUs, true);
  assert.equal(state.holder.owner, 'node-a:1');
  assert.ok(Date.parse(state.appHoldUntil) > Date.now() + 100_000);
  assert.ok(await s3().head(bucket, lockKey('app')), 'the lock object exists in the bucket');

  const seenByB = await (await b.fetch('/lock')).json();
  assert.equal(seenByB.heldByUs, false);
  assert.equal(seenByB.holder.owner, 'node-a:1');

  const refused = await b.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":60}' });
  assert.equal(refused.status, 409);
  const conflict = await refused.json();
  assert.match(conflict.message, /held by node-a:1 on node-a:1-host/);
  assert.equal(conflict.lock.holder.owner, 'node-a:1');

  const released = await a.fetch('/lock', { method: 'DELETE' });
  assert.equal(released.status, 200);
  assert.equal((await released.json()).heldByUs, false);
  assert.equal(await s3().head(bucket, lockKey('app')), null, 'the lock object is deleted');

  const nowB = await b.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":60}' });
  assert.equal(nowB.status, 200);
  assert.equal((await nowB.json()).holder.owner, 'node-b:2');
});
