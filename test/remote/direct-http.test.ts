// The direct path of S3Bucket (single-request PUT and GET sent around the SDK's middleware):
// wire encoding, retries, error translation and the hand-over to the SDK, on a real S3 API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { AwsOptions } from '../../src/config.js';
import { AccessError, SyncError, TransientError } from '../../src/errors.js';
import { createS3Client, MAX_ATTEMPTS, S3Bucket } from '../../src/remote/bucket.js';
import { s3ErrorXml, startProxy, type CannedAnswer } from '../helpers/proxy.js';
import { recordHeaders } from '../helpers/record-headers.js';
import { bodyBytes, crc32Base64, crc32Bytes, TEST_REGION, useS3 } from '../helpers/s3.js';
import { freePort } from '../../scripts/moto.mjs';
import { WHOLE_BODY_BYTES } from '../../src/streams.js';

const s3 = useS3();

function awsOptions(overrides: Partial<AwsOptions> = {}): AwsOptions {
  return { endpointUrl: s3().endpoint, region: TEST_REGION, verifySsl: true, signRequest: true, ...overrides };
}

/** A bucket reached through a proxy that may answer some requests itself; stopped by the test. */
async function bucketBehind(
  answer: (req: IncomingMessage, index: number) => CannedAnswer | undefined,
): Promise<{ bucket: S3Bucket; headers: Record<string, string>[]; stop: () => void }> {
  const name = await s3().newBucket();
  const proxy = await startProxy(s3().endpoint, { answer });
  const client = createS3Client(awsOptions({ endpointUrl: proxy.url }));
  const headers = recordHeaders(client);
  return {
    bucket: new S3Bucket(client, name),
    headers,
    stop: () => {
      client.destroy();
      proxy.stop();
    },
  };
}

/** Whether a recorded request went through the SDK's middleware (which adds its user agent). */
const viaSdk = (headers: Record<string, string>): boolean => headers['x-amz-user-agent'] !== undefined;

test('direct path: keys with reserved and non-ASCII characters round-trip through write, read and list', async () => {
  const bucket = new S3Bucket(createS3Client(awsOptions()), await s3().newBucket());
  const keys = [
    'd/a b.txt',
    'd/a+b.txt',
    "d/it's (1)*!.txt",
    'd/100%.txt',
    'd/semi;colon=eq&amp@at,comma$.txt',
    'd/tilde~under_score-dash.txt',
    'd/ünï cødé/日本.txt',
  ];
  for (const key of keys) {
    const body = Buffer.from(`body of ${key}`);
    await bucket.write(key, body, body.length, { ifNoneMatch: true });
    const read = await bucket.read(key);
    assert.deepEqual(await bodyBytes(read), body, key);
  }
  assert.deepEqual((await bucket.list('d')).map((o) => o.key).sort(), [...keys].sort());
});

test('an IPv6 endpoint (http://[::1]:port) serves the direct path and the SDK alike: no fallback, nothing lost', async () => {
  const name = await s3().newBucket();
  const proxy = await startProxy(s3().endpoint, { listenOn: '::1' });
  const client = createS3Client(awsOptions({ endpointUrl: proxy.url }));
  const headers = recordHeaders(client);
  try {
    assert.match(proxy.url, /^http:\/\/\[::1\]:\d+$/);
    const bucket = new S3Bucket(client, name);
    const body = Buffer.from('over IPv6');
    const { etag } = await bucket.write('v6/file.txt', body, body.length, { ifNoneMatch: true });
    assert.deepEqual(await bodyBytes(await bucket.read('v6/file.txt')), body);
    assert.deepEqual((await bucket.list('v6')).map((o) => o.key), ['v6/file.txt']);
    // The SDK's own requests (HEAD, DELETE) go to the same endpoint.
    assert.equal((await bucket.head('v6/file.txt'))?.etag, etag);
    await bucket.delete('v6/file.txt', { ifMatch: etag });
    assert.deepEqual(await s3().keys(name), []);
    assert.equal(headers.filter(viaSdk).length, 2, 'only HEAD and DELETE went through the SDK');
  } finally {
    client.destroy();
    proxy.stop();
  }
});

test('direct path: PUT, GET and LIST are signed with the payload hash S3 requires, around the SDK middleware', async () => {
  const { bucket, headers, stop } = await bucketBehind(() => undefined);
  try {
    const body = Buffer.from('signed');
    await bucket.write('k', body, body.length, { ifNoneMatch: true });
    assert.deepEqual(await bodyBytes(await bucket.read('k')), body);
    await bucket.list('');
    assert.equal(headers.length, 3);
    for (const sent of headers) {
      assert.match(sent.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/us-east-1\/s3\/aws4_request/);
      assert.match(sent.authorization ?? '', /SignedHeaders=[^,]*x-amz-content-sha256/, 'S3 requires the payload hash, signed');
      assert.equal(viaSdk(sent), false);
    }
    assert.equal(headers[0]!['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    const emptyBody = createHash('sha256').update('').digest('hex');
    assert.equal(headers[1]!['x-amz-content-sha256'], emptyBody, 'GET');
    assert.equal(headers[2]!['x-amz-content-sha256'], emptyBody, 'LIST');
    assert.equal(headers[0]!['if-none-match'], '*');
    assert.equal(headers[0]!['x-amz-checksum-crc32'], crc32Base64(body), 'S3 checks the body against it');
    assert.equal(headers[0]!['content-md5'], undefined, 'one digest per body');
  } finally {
    stop();
  }
});

test('direct path: throttling and 5xx answers are retried with the client strategy, then succeed', async () => {
  const { bucket, stop } = await bucketBehind((req, index) =>
    index < 2 ? { status: 503, body: s3ErrorXml('SlowDown', 'Please reduce your request rate.') } : undefined,
  );
  try {
    const body = Buffer.from('after two refusals');
    const { etag } = await bucket.write('k', body, body.length, { ifNoneMatch: true });
    assert.equal(bucket.requestCount, 3, 'two refused attempts and the one that landed');
    assert.equal((await s3().head(bucket.name, 'k'))?.ETag, `"${etag}"`);
  } finally {
    stop();
  }
});

test('direct path: a server error that outlasts the retries is a TransientError naming the code', async () => {
  const { bucket, stop } = await bucketBehind(() => ({ status: 500, body: s3ErrorXml('InternalError', 'We encountered an internal error.') }));
  try {
    await assert.rejects(bucket.read('k'), (err) => {
      assert.ok(err instanceof TransientError, String(err));
      assert.match(err.message, /^get k: InternalError: We encountered an internal error\./);
      return true;
    });
    assert.equal(bucket.requestCount, MAX_ATTEMPTS);
  } finally {
    stop();
  }
});

test('direct path: a refusal is not retried and becomes the domain error', async () => {
  const { bucket, stop } = await bucketBehind((req) =>
    req.method === 'PUT' ? { status: 403, body: s3ErrorXml('AccessDenied', 'Access Denied') } : { status: 400, body: s3ErrorXml('InvalidArgument', 'Bad header') },
  );
  try {
    const body = Buffer.from('x');
    await assert.rejects(bucket.write('k', body, body.length, { ifNoneMatch: true }), (err) => {
      assert.ok(err instanceof AccessError, String(err));
      assert.match(err.message, /^put k: AccessDenied: Access Denied \(check the task role/);
      return true;
    });
    await assert.rejects(bucket.read('k'), (err) => err instanceof SyncError && /^get k: InvalidArgument: Bad header/.test(err.message));
    assert.equal(bucket.requestCount, 2, 'one attempt each');
  } finally {
    stop();
  }
});

// The SDK takes over a request the direct path declines: for good after a redirect to another
// region, for that one request after a clock-skew refusal (the SDK corrects its clock offset).
for (const { refusal, status, code, message, path } of [
  {
    refusal: 'a redirect to another region hands this request and every later one to the SDK',
    status: 301,
    code: 'PermanentRedirect',
    message: 'The bucket you are attempting to access must be addressed using the specified endpoint.',
    path: [false, true, true],
  },
  {
    refusal: 'a clock-skew refusal is handed to the SDK once, and the next request goes direct again',
    status: 403,
    code: 'RequestTimeTooSkewed',
    message: 'The difference between the request time and the current time is too large.',
    path: [false, true, false],
  },
]) {
  test(`direct path: ${refusal}`, async () => {
    const { bucket, headers, stop } = await bucketBehind((req, index) => (index === 0 ? { status, body: s3ErrorXml(code, message) } : undefined));
    try {
      const body = Buffer.from(code);
      await bucket.write('k', body, body.length, { ifNoneMatch: true });
      assert.deepEqual(await bodyBytes(await bucket.read('k')), body);
      assert.deepEqual(headers.map(viaSdk), path, 'the PUT, its SDK retry, then the GET');
      // The SDK's PUT carries the same checksum, in a header (not an aws-chunked trailer).
      assert.equal(headers[1]!['x-amz-checksum-crc32'], crc32Base64(body));
      assert.equal(headers[1]!['content-encoding'], undefined);
    } finally {
      stop();
    }
  });
}

test('direct path: a refused connection is retried, then a TransientError', async () => {
  const client = createS3Client(awsOptions({ endpointUrl: `http://127.0.0.1:${await freePort()}` }));
  const bucket = new S3Bucket(client, 'any-bucket');
  const body = Buffer.from('x');
  try {
    await assert.rejects(
      bucket.write('k', body, body.length, { ifNoneMatch: true }),
      (err) => err instanceof TransientError && /^put k: .*ECONNREFUSED/.test(err.message),
    );
    assert.equal(bucket.requestCount, MAX_ATTEMPTS);
  } finally {
    client.destroy();
  }
});

test('direct path: listings page past 1000 keys around the SDK', async () => {
  const { bucket, headers, stop } = await bucketBehind(() => undefined);
  try {
    const keys = Array.from({ length: 1005 }, (_, i) => `p/k${String(i).padStart(4, '0')}`);
    await Promise.all(keys.map((key) => s3().putText(bucket.name, key, 'x')));
    const listed = await bucket.list('p');
    assert.deepEqual(listed.map((o) => o.key).sort(), keys);
    assert.equal(listed[0]!.etag, createHash('md5').update('x').digest('hex'));
    assert.deepEqual(headers.map(viaSdk), [false, false], 'two pages, both direct');
  } finally {
    stop();
  }
});

test('direct path: a listing document it cannot read is listed again through the SDK', async () => {
  const { bucket, headers, stop } = await bucketBehind((req, index) =>
    index === 0 ? { status: 200, body: '<?xml version="1.0"?><SomethingElse/>' } : undefined,
  );
  try {
    await s3().putText(bucket.name, 'p/a.txt', 'a');
    assert.deepEqual((await bucket.list('p')).map((o) => o.key), ['p/a.txt']);
    assert.deepEqual(headers.map(viaSdk), [false, true]);
  } finally {
    stop();
  }
});

test('a listing that says it is truncated but gives no continuation token fails, instead of passing for a short one', async () => {
  const truncated =
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    '<Name>b</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>' +
    '<Contents><Key>p/a</Key><LastModified>2026-11-25T10:00:01.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>1</Size></Contents>' +
    '</ListBucketResult>';
  const { bucket, headers, stop } = await bucketBehind(() => ({ status: 200, body: truncated }));
  try {
    await assert.rejects(bucket.list('p'), (err) => err instanceof SyncError && /^list p\/: .*truncated but gives no continuation token/.test(err.message));
    assert.deepEqual(headers.map(viaSdk), [false, true], 'refused by the direct reader, then by the SDK path');
  } finally {
    stop();
  }
});

test('direct path: downloads are checked against the full-object checksum S3 stores (CRC32, CRC64NVME, SHA256)', async () => {
  const bucket = new S3Bucket(createS3Client(awsOptions()), await s3().newBucket());
  for (const algorithm of ['CRC32', 'CRC64NVME', 'SHA256'] as const) {
    const body = Buffer.from(`checked with ${algorithm}`);
    await s3().client.send(new PutObjectCommand({ Bucket: bucket.name, Key: algorithm, Body: body, ChecksumAlgorithm: algorithm }));
    const stored = await s3().client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: algorithm, ChecksumMode: 'ENABLED' }));
    assert.ok(stored[`Checksum${algorithm}`], `the store returns the ${algorithm} checksum, so it is checked`);
    assert.deepEqual(await bodyBytes(await bucket.read(algorithm)), body, algorithm);
  }
});

test('direct path: a body that does not match its checksum fails before anyone sees it, composite (multipart) checksums of 8 and 5 MiB parts included', async () => {
  const answer = (checksum: string, body = 'hello'): CannedAnswer => ({
    status: 200,
    body,
    headers: { 'content-type': 'text/plain', etag: '"5d41402abc4b2a76b9719d911017c592"', 'last-modified': 'Wed, 25 Nov 2026 10:00:00 GMT', 'x-amz-checksum-crc32': checksum },
  });
  // A small body is read whole and checked before read() returns.
  const wrong = await bucketBehind(() => answer('AAAAAA=='));
  try {
    await assert.rejects(wrong.bucket.read('k'), /^SyncError: get k: the body does not match its CRC32 checksum \(NhCmhg==, expected AAAAAA==\)/);
  } finally {
    wrong.stop();
  }
  // A larger one streams, and fails at its end, before the reader sees the end.
  const large = await bucketBehind(() => answer('AAAAAA==', 'x'.repeat(WHOLE_BODY_BYTES + 1)));
  try {
    const read = await large.bucket.read('k');
    assert.ok(!Buffer.isBuffer(read.body), 'a body over WHOLE_BODY_BYTES streams');
    await assert.rejects(bodyBytes(read), /^SyncError: get k: the body does not match its CRC32 checksum \([^)]*, expected AAAAAA==\)/);
  } finally {
    large.stop();
  }
  // A composite checksum (of parts' checksums) is checked when the part count fits a part size
  // uploaders use; another layout cannot be checked.
  const rightComposite = `${crc32Bytes(crc32Bytes(Buffer.from('hello'))).toString('base64')}-1`;
  for (const [checksum, fails] of [['AAAAAA==-1', true], [rightComposite, false], ['AAAAAA==-2', false]] as const) {
    const composite = await bucketBehind(() => answer(checksum));
    try {
      if (fails) await assert.rejects(composite.bucket.read('k'), /does not match its CRC32 \(composite of 1 parts\) checksum/);
      else assert.equal((await bodyBytes(await composite.bucket.read('k'))).toString(), 'hello', checksum);
    } finally {
      composite.stop();
    }
  }
  // Two parts of a 9 MiB body are 8 + 1 MiB (aws CLI) or 5 + 4 MiB (AWS SDKs, rclone): both are
  // tried, so an SDK upload's composite is checked too.
  const nine = Buffer.alloc(9 * 1024 * 1024, 'y');
  const fiveMiB = 5 * 1024 * 1024;
  const sdkComposite = `${crc32Bytes(Buffer.concat([crc32Bytes(nine.subarray(0, fiveMiB)), crc32Bytes(nine.subarray(fiveMiB))])).toString('base64')}-2`;
  for (const [checksum, fails] of [[sdkComposite, false], ['AAAAAA==-2', true]] as const) {
    const composite = await bucketBehind(() => answer(checksum, nine.toString()));
    try {
      const read = composite.bucket.read('k').then(bodyBytes);
      if (fails) await assert.rejects(read, /does not match its CRC32 \(composite of 2 parts\) checksum/);
      else assert.ok((await read).equals(nine), checksum);
    } finally {
      composite.stop();
    }
  }
});

test('direct path: a small download whose connection breaks while the body arrives is fetched again', async () => {
  const cut: CannedAnswer = { status: 200, body: 'a body cut short', headers: { etag: '"0"' }, cutAfter: 4 };
  const { bucket, headers, stop } = await bucketBehind((req, index) => (index === 0 ? cut : undefined));
  try {
    await s3().putText(bucket.name, 'k', 'the real body');
    assert.equal((await bodyBytes(await bucket.read('k'))).toString(), 'the real body');
    assert.deepEqual(headers.map(viaSdk), [false, false], 'retried on the direct path');
    assert.equal(bucket.requestCount, 2);
  } finally {
    stop();
  }
});

test('direct path: a listing whose connection breaks while the body arrives is fetched again', async () => {
  const page =
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    '<Name>b</Name><Prefix>p/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>';
  const { bucket, headers, stop } = await bucketBehind((req, index) => (index === 0 ? { status: 200, body: page, cutAfter: 40 } : undefined));
  try {
    await s3().putText(bucket.name, 'p/a.txt', 'a');
    assert.deepEqual((await bucket.list('p')).map((o) => o.key), ['p/a.txt']);
    assert.deepEqual(headers.map(viaSdk), [false, false], 'retried on the direct path');
    assert.equal(bucket.requestCount, 2);
  } finally {
    stop();
  }
});
