import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useS3 } from './helpers/s3.js';

const s3 = useS3();

test('harness: a fresh bucket per test, and the endpoint enforces conditional writes', async () => {
  const { newBucket, putText, keys, client } = s3();
  const bucket = await newBucket();
  assert.deepEqual(await keys(bucket), []);
  await putText(bucket, 'a/b.txt', 'hello');
  assert.deepEqual(await keys(bucket), ['a/b.txt']);
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  await assert.rejects(
    client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'x', IfNoneMatch: '*' })),
    (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 412,
  );
});
