// Conditional writes checked by the sidecar itself, on a store that ignores the headers (a proxy drops them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AwsOptions } from '../../src/config.js';
import { PreconditionFailedError } from '../../src/errors.js';
import { createS3Client, S3Bucket } from '../../src/remote/bucket.js';
import { PreconditionCheckingBucket } from '../../src/remote/checked-preconditions.js';
import { s3ErrorXml, startProxy } from '../helpers/proxy.js';
import { TEST_REGION, useS3 } from '../helpers/s3.js';

const s3 = useS3();

test('on a store that ignores conditions, writes, copies, deletes and reads refuse a stale version as S3 would', async () => {
  const name = await s3().newBucket();
  const proxy = await startProxy(s3().endpoint, { dropHeaders: ['if-match', 'if-none-match', 'x-amz-copy-source-if-match'] });
  const aws: AwsOptions = { endpointUrl: proxy.url, region: TEST_REGION, verifySsl: true, signRequest: true };
  const client = createS3Client(aws);
  const raw = new S3Bucket(client, name);
  const bucket = new PreconditionCheckingBucket(raw);
  const put = (key: string, text: string, condition: { ifMatch?: string; ifNoneMatch?: boolean }) =>
    bucket.write(key, Buffer.from(text), Buffer.byteLength(text), condition);
  try {
    const first = await put('k', 'one', { ifNoneMatch: true });
    // The store itself accepts a create over an existing key: the proxy dropped the header.
    const current = (await raw.write('k', Buffer.from('one'), 3, { ifNoneMatch: true })).etag;
    assert.equal(current, first.etag);

    await assert.rejects(put('k', 'two', { ifNoneMatch: true }), PreconditionFailedError);
    await assert.rejects(put('k', 'two', { ifMatch: '0'.repeat(32) }), PreconditionFailedError);
    await assert.rejects(put('absent', 'two', { ifMatch: current }), PreconditionFailedError);
    await assert.rejects(bucket.delete('k', { ifMatch: '0'.repeat(32) }), PreconditionFailedError);
    await assert.rejects(bucket.read('k', { ifMatch: '0'.repeat(32) }), PreconditionFailedError);
    await assert.rejects(bucket.copy('k', '0'.repeat(32), 'copy'), PreconditionFailedError);
    await assert.rejects(bucket.copy('k', current, 'k'), PreconditionFailedError, 'the destination exists');
    assert.equal(await s3().getText(name, 'k'), 'one', 'nothing was overwritten');
    assert.equal(await s3().head(name, 'copy'), null);

    const second = await put('k', 'two', { ifMatch: current });
    assert.equal(await s3().getText(name, 'k'), 'two');
    assert.equal((await bucket.read('k', { ifMatch: second.etag })).etag, second.etag);
    await bucket.copy('k', second.etag, 'copy');
    assert.equal(await s3().getText(name, 'copy'), 'two');
    await bucket.delete('absent', { ifMatch: second.etag });
    await bucket.delete('k', { ifMatch: second.etag });
    assert.equal(await s3().head(name, 'k'), null);
  } finally {
    client.destroy();
    proxy.stop();
  }
});

test('on a store that refuses the conditional headers outright, the checked operations still go through', async () => {
  const name = await s3().newBucket();
  const conditional = ['if-match', 'if-none-match', 'x-amz-copy-source-if-match'];
  const proxy = await startProxy(s3().endpoint, {
    answer: (req) =>
      conditional.some((h) => req.headers[h] !== undefined)
        ? { status: 501, body: s3ErrorXml('NotImplemented', 'A header you provided implies functionality that is not implemented') }
        : undefined,
  });
  const client = createS3Client({ endpointUrl: proxy.url, region: TEST_REGION, verifySsl: true, signRequest: true });
  const bucket = new PreconditionCheckingBucket(new S3Bucket(client, name));
  try {
    const first = await bucket.write('k', Buffer.from('one'), 3, { ifNoneMatch: true });
    const second = await bucket.write('k', Buffer.from('two'), 3, { ifMatch: first.etag });
    assert.equal((await bucket.read('k', { ifMatch: second.etag })).etag, second.etag);
    await bucket.copy('k', second.etag, 'copy');
    assert.equal(await s3().getText(name, 'copy'), 'two');
    await bucket.delete('k', { ifMatch: second.etag });
    assert.equal(await s3().head(name, 'k'), null);
  } finally {
    client.destroy();
    proxy.stop();
  }
});
