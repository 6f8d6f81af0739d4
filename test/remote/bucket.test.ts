import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { open, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { AwsOptions } from '../../src/config.js';
import type { PartSource } from '../../src/remote/types.js';
import { AccessError, NotFoundError, PreconditionFailedError } from '../../src/errors.js';
import {
  createS3Client,
  KNOWN_PART_SIZES,
  MAX_SINGLE_PUT_BYTES,
  PART_SIZE,
  probeConditionalWrites,
  S3Bucket,
} from '../../src/remote/bucket.js';
import { compositeLayouts } from '../../src/digests.js';
import { computeS3Etags } from '../../src/local/hash.js';
import { directRequestChannel } from '../../src/remote/direct-http.js';
import { startGateProxy } from '../helpers/gate-proxy.js';
import { startProxy } from '../helpers/proxy.js';
import { recordHeaders, recordTextBodies } from '../helpers/record-headers.js';
import { bodyBytes, crc32Base64, TEST_REGION, testClient, useS3 } from '../helpers/s3.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { WHOLE_BODY_BYTES } from '../../src/streams.js';
import { MIN_PART_SIZE } from '../../src/remote/transfer-limits.js';

const s3 = useS3();

function awsOptions(overrides: Partial<AwsOptions> = {}): AwsOptions {
  return { endpointUrl: s3().endpoint, region: TEST_REGION, verifySsl: true, signRequest: true, ...overrides };
}

/** A bucket under test on a fresh S3 bucket, through the production client factory. */
async function freshBucket(): Promise<S3Bucket> {
  return new S3Bucket(createS3Client(awsOptions()), await s3().newBucket());
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** The aws CLI's multipart ETag: md5 of the parts' md5s, then `-<parts>`. */
function multipartEtag(body: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let at = 0; at < body.length; at += partSize) {
    digests.push(createHash('md5').update(body.subarray(at, at + partSize)).digest());
  }
  return `${md5(Buffer.concat(digests))}-${digests.length}`;
}

/** A part source over `body` that hands out at most 64 KiB per read, as a file may. */
function chunked(body: Buffer): PartSource {
  return {
    readAt: async (into, position) => body.copy(into, 0, position, Math.min(body.length, position + into.length, position + 65536)),
    verify: async () => undefined,
  };
}

/** A part source reading the file at `path`. */
function fileSource(path: string): PartSource {
  return {
    readAt: async (into, position) => {
      const handle = await open(path, 'r');
      try {
        return (await handle.read(into, 0, into.length, position)).bytesRead;
      } finally {
        await handle.close();
      }
    },
    verify: async () => undefined,
  };
}

test('list: paginates past 1000 keys and lists "p" as the folder "p/"', async () => {
  const bucket = await freshBucket();
  const limit = pLimit(32);
  const keys = Array.from({ length: 1100 }, (_, i) => `p/k${String(i).padStart(4, '0')}`);
  await Promise.all(keys.map((key) => limit(() => s3().putText(bucket.name, key, 'x'))));
  await s3().putText(bucket.name, 'px/not-in-p', 'y');
  await s3().putText(bucket.name, 'top', 'z');

  const underP = await bucket.list('p');
  assert.equal(underP.length, 1100);
  assert.deepEqual(underP.map((o) => o.key).sort(), keys);
  assert.deepEqual(underP[0], {
    key: 'p/k0000',
    size: 1,
    etag: md5(Buffer.from('x')),
    lastModifiedMs: underP[0]!.lastModifiedMs,
  });
  assert.ok(Math.abs(underP[0]!.lastModifiedMs - Date.now()) < 10 * 60_000, 'LastModified is a recent time');

  assert.equal((await bucket.list('')).length, 1102);
  assert.deepEqual((await bucket.list('px')).map((o) => o.key), ['px/not-in-p']);
  assert.deepEqual(await bucket.list('nothing-here'), []);

  // Aborted while its first page is on the way: no second page is asked for.
  const listing = new AbortController();
  const abortOnRequest = (): void => listing.abort();
  subscribe(directRequestChannel.name, abortOnRequest);
  const before = bucket.requestCount;
  try {
    await assert.rejects(bucket.list('p', listing.signal), /list p\/: .*aborted/);
  } finally {
    unsubscribe(directRequestChannel.name, abortOnRequest);
  }
  assert.equal(bucket.requestCount - before, 1, 'one page requested');
});

test('list: listPageSize (--page-size) keys per page, through the direct path and the SDK alike', async () => {
  const name = await s3().newBucket();
  for (let i = 0; i < 5; i++) await s3().putText(name, `p/k${i}`, 'x');
  const direct = new S3Bucket(createS3Client(awsOptions()), name, { listPageSize: 2 });
  const sdk = new S3Bucket(s3().client, name, { listPageSize: 2 });
  for (const [path, bucket] of [['direct', direct], ['sdk', sdk]] as const) {
    const before = bucket.requestCount;
    assert.equal((await bucket.list('p')).length, 5, path);
    assert.equal(bucket.requestCount - before, 3, `${path}: pages of 2, 2 and 1`);
  }
  for (const listPageSize of [0, 1001, 2.5]) {
    assert.throws(() => new S3Bucket(s3().client, name, { listPageSize }), /listPageSize .* between 1 and 1000/);
  }
});

test('list: keys with spaces, plus signs, percent signs and non-ASCII come back as written', async () => {
  const bucket = await freshBucket();
  const keys = ['d/a b.txt', 'd/a+b.txt', 'd/100%.txt', 'd/ünï cødé/日本.txt', 'd/folder/'];
  for (const key of keys) await s3().putText(bucket.name, key, 'x');
  assert.deepEqual((await bucket.list('d')).map((o) => o.key).sort(), [...keys].sort());
});

test('write/read: a round trip applies the content options', async () => {
  const bucket = await freshBucket();
  const body = Buffer.from('hello, world\n');
  const { etag } = await bucket.write('a/hello.txt', body, body.length, { ifNoneMatch: true }, {
    contentType: 'text/plain; charset=utf-8',
    cacheControl: 'max-age=60',
    contentDisposition: 'attachment',
    contentLanguage: 'en',
    contentEncoding: 'identity',
    expires: new Date('2030-01-02T03:04:05Z'),
    sse: 'AES256',
    acl: 'public-read',
    metadata: { owner: 'tests' },
    storageClass: 'STANDARD_IA',
  });
  assert.equal(etag, md5(body));

  const head = await s3().head(bucket.name, 'a/hello.txt');
  assert.equal(head?.ContentType, 'text/plain; charset=utf-8');
  assert.equal(head?.CacheControl, 'max-age=60');
  assert.equal(head?.ContentDisposition, 'attachment');
  assert.equal(head?.ContentLanguage, 'en');
  assert.deepEqual(head?.Metadata, { owner: 'tests' });
  assert.equal(head?.StorageClass, 'STANDARD_IA');
  assert.equal(head?.ContentEncoding, 'identity');
  assert.equal(head?.Expires?.toISOString(), '2030-01-02T03:04:05.000Z');
  assert.equal(head?.ServerSideEncryption, 'AES256');

  const read = await bucket.read('a/hello.txt');
  assert.equal(read.etag, etag);
  assert.equal(read.size, body.length);
  assert.deepEqual(await bodyBytes(read), body);
  assert.deepEqual(await bucket.readSmall('a/hello.txt'), { body, etag });
  assert.deepEqual(await bucket.head('a/hello.txt'), {
    key: 'a/hello.txt',
    size: body.length,
    etag,
    lastModifiedMs: read.lastModifiedMs,
  });
});

test('write: a small body from a part source is stored byte-identical', async () => {
  const bucket = await freshBucket();
  const body = randomBytes(300_000);
  const { etag } = await bucket.write('s.bin', chunked(body), body.length, { ifNoneMatch: true });
  assert.equal(etag, md5(body));
  assert.deepEqual(await s3().getBuffer(bucket.name, 's.bin'), body);
});

test('write: a body of another length than declared is refused before anything is sent', async () => {
  const bucket = await freshBucket();
  const body = Buffer.from('twelve bytes');
  await assert.rejects(bucket.write('k', chunked(body), 20, { ifNoneMatch: true }), /^SyncError: put k: read 12 bytes where 20/);
  await assert.rejects(bucket.write('k', body, 11, { ifNoneMatch: true }), /changed while read/);
  assert.equal(bucket.requestCount, 0);
});

test('write: a file that changes between its checksum and its last byte is cut short and never stored, even where the store ignores the checksum', async () => {
  const MiB = 1024 * 1024;
  const name = await s3().newBucket();
  // The checksum header removed on the way: only the client's own check stands between a changed
  // file and a stored object.
  const proxy = await startProxy(s3().endpoint, { dropHeaders: ['x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm'] });
  const client = createS3Client(awsOptions({ endpointUrl: proxy.url }));
  const bucket = new S3Bucket(client, name);
  try {
    const before = randomBytes(3 * MiB);
    const after = Buffer.from(before);
    after.writeUInt8(after.readUInt8(after.length - 10) ^ 0xff, after.length - 10);
    // Read once for the checksum, then again to be sent: the file changed in between.
    let passes = 0;
    const changing: PartSource = {
      readAt: async (into, position) => {
        if (position === 0) passes++;
        return (passes === 1 ? before : after).copy(into, 0, position, Math.min(before.length, position + into.length));
      },
      verify: async () => undefined,
    };
    await assert.rejects(bucket.write('changed', changing, before.length, { ifNoneMatch: true }), /^SyncError: put changed: the file changed while it was read/);
    assert.equal(await s3().head(name, 'changed'), null, 'nothing stored');
    // A file whose stat changed (verify) is refused the same way, before its last byte.
    const touched: PartSource = { ...chunked(before), verify: async () => Promise.reject(new Error('changed since the scan')) };
    await assert.rejects(bucket.write('touched', touched, before.length, { ifNoneMatch: true }), /changed since the scan/);
    assert.equal(await s3().head(name, 'touched'), null, 'nothing stored');
    // An unchanged file goes through the same proxy.
    await bucket.write('same', chunked(before), before.length, { ifNoneMatch: true });
    assert.ok((await s3().getBuffer(name, 'same')).equals(before));
  } finally {
    client.destroy();
    proxy.stop();
  }
  // What reaches the wire: a listener that never answers counts the body bytes it gets.
  let received = 0;
  const listener = createServer((socket) => {
    // The request head, until it is complete.
    let head: Buffer | null = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      if (head === null) {
        received += data.length;
        return;
      }
      const sofar: Buffer = Buffer.concat([head, data]);
      const end = sofar.indexOf('\r\n\r\n');
      head = end < 0 ? sofar : null;
      if (end >= 0) received += sofar.length - end - 4;
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const silent = createS3Client(awsOptions({ endpointUrl: `http://127.0.0.1:${(listener.address() as AddressInfo).port}` }));
  try {
    const size = 3 * MiB;
    const refused: PartSource = { ...chunked(randomBytes(size)), verify: async () => Promise.reject(new Error('changed since the scan')) };
    await assert.rejects(new S3Bucket(silent, name).write('k', refused, size, { ifNoneMatch: true }), /changed since the scan/);
    await waitFor('the connection to close', () => listener.listening && received > 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(received < size, `the last byte was never sent (${received} of ${size} arrived)`);
  } finally {
    silent.destroy();
    listener.close();
  }
});

test('write: up to MAX_SINGLE_PUT_BYTES a file is one PUT, above it 8 MiB parts; local/hash predicts either ETag', async () => {
  const bucket = await freshBucket();
  const dir = await tempDir('etag');
  for (const [size, requests] of [
    [MAX_SINGLE_PUT_BYTES - 1, 1],
    [MAX_SINGLE_PUT_BYTES, 1],
    [MAX_SINGLE_PUT_BYTES + 1, 5], // create, 8 + 8 + 1 byte, complete
  ] as const) {
    const path = join(dir, `f${size}`);
    await writeFile(path, randomBytes(size));
    const before = bucket.requestCount;
    const { etag } = await bucket.write(`f${size}`, fileSource(path), size, { ifNoneMatch: true });
    assert.equal(bucket.requestCount - before, requests, `requests for a ${size}-byte file`);
    const partSize = requests === 1 ? undefined : PART_SIZE;
    assert.deepEqual(await computeS3Etags(path, [partSize]), [etag], `ETag of a ${size}-byte file`);
    assert.deepEqual(compositeLayouts(etag, size, KNOWN_PART_SIZES), [partSize], 'the layout its ETag implies');
  }
});

test('write: create-if-absent is refused when the key exists, and the object is kept', async () => {
  const bucket = await freshBucket();
  await s3().putText(bucket.name, 'k', 'first');
  const body = Buffer.from('second');
  await assert.rejects(bucket.write('k', body, body.length, { ifNoneMatch: true }), PreconditionFailedError);
  assert.equal(await s3().getText(bucket.name, 'k'), 'first');
});

test('write: replace-if-match is refused on a stale ETag and on a deleted object, accepted on the current one', async () => {
  const bucket = await freshBucket();
  const old = await s3().putText(bucket.name, 'k', 'v1');
  const current = await s3().putText(bucket.name, 'k', 'v2');
  const body = Buffer.from('v3');
  await assert.rejects(bucket.write('k', body, body.length, { ifMatch: old }), PreconditionFailedError);
  assert.equal(await s3().getText(bucket.name, 'k'), 'v2');

  const { etag } = await bucket.write('k', body, body.length, { ifMatch: current });
  assert.equal(etag, md5(body));
  assert.equal(await s3().getText(bucket.name, 'k'), 'v3');

  await assert.rejects(bucket.write('gone', body, body.length, { ifMatch: current }), PreconditionFailedError);
  assert.equal(await s3().head(bucket.name, 'gone'), null);
});

test('read: If-Match on a replaced version is refused', async () => {
  const bucket = await freshBucket();
  const old = await s3().putText(bucket.name, 'k', 'v1');
  await s3().putText(bucket.name, 'k', 'v2');
  await assert.rejects(bucket.read('k', { ifMatch: old }), PreconditionFailedError);
});

test('delete: If-Match on a stale ETag is refused; the current one deletes; an absent key is fine', async () => {
  const bucket = await freshBucket();
  const old = await s3().putText(bucket.name, 'k', 'v1');
  const current = await s3().putText(bucket.name, 'k', 'v2');
  await assert.rejects(bucket.delete('k', { ifMatch: old }), PreconditionFailedError);
  assert.equal(await s3().getText(bucket.name, 'k'), 'v2');
  await bucket.delete('k', { ifMatch: current });
  assert.equal(await s3().head(bucket.name, 'k'), null);
  await bucket.delete('k');
  await bucket.delete('k', { ifMatch: current });
});

test('write: 20 MiB goes multipart, round-trips byte-identical with the aws CLI ETag', async () => {
  const bucket = await freshBucket();
  const body = randomBytes(20 * 1024 * 1024);
  const before = bucket.requestCount;
  const { etag } = await bucket.write('big/file.bin', chunked(body), body.length, { ifNoneMatch: true }, {
    contentType: 'application/x-test',
    metadata: { k: 'v' },
  });
  assert.match(etag, /^[0-9a-f]{32}-3$/);
  assert.equal(etag, multipartEtag(body, PART_SIZE));
  // create + 3 parts + complete
  assert.equal(bucket.requestCount - before, 5);

  const head = await s3().head(bucket.name, 'big/file.bin');
  assert.equal(head?.ContentType, 'application/x-test');
  assert.deepEqual(head?.Metadata, { k: 'v' });
  const read = await bucket.read('big/file.bin', { ifMatch: etag });
  assert.equal(read.size, body.length);
  assert.ok((await bodyBytes(read)).equals(body), 'downloaded bytes equal the uploaded ones');
});

test('write: a single PUT carries the CRC32 of its body (as the aws CLI sends it), which S3 keeps as the object checksum', async () => {
  const client = createS3Client(awsOptions());
  const sent = recordHeaders(client);
  const bucket = new S3Bucket(client, await s3().newBucket());
  for (const body of [Buffer.from('small body'), randomBytes(WHOLE_BODY_BYTES + 1)]) {
    const key = `single-${body.length}`;
    sent.length = 0;
    const { etag } = await bucket.write(key, body, body.length, { ifNoneMatch: true });
    assert.equal(etag, createHash('md5').update(body).digest('hex'), 'a single PUT: the ETag is the MD5');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!['x-amz-checksum-crc32'], crc32Base64(body), key);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key, ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC32, crc32Base64(body), key);
  }
});

test('write: an object without a type is sent without Content-Type and stored as binary/octet-stream, on the direct path, through the SDK and multipart', async () => {
  // As the aws CLI stores a file it cannot type: S3 gives such an object binary/octet-stream.
  const direct = createS3Client(awsOptions());
  // A client not built by createS3Client has no direct path: every request goes through the SDK.
  const sdk = testClient(s3().endpoint);
  const name = await s3().newBucket();
  const body = randomBytes(300_000);
  for (const [label, client] of [['direct', direct], ['sdk', sdk]] as const) {
    const sent = recordHeaders(client);
    const bucket = new S3Bucket(client, name);
    for (const [source, from] of [[body, 'buffer'], [chunked(body), 'file']] as const) {
      const key = `${label}-${from}`;
      sent.length = 0;
      await bucket.write(key, source, body.length, { ifNoneMatch: true });
      assert.equal(sent.length, 1, `${key}: one PUT`);
      assert.equal(sent[0]!['content-type'], undefined, `${key}: no Content-Type sent`);
      assert.equal((await s3().head(name, key))?.ContentType, 'binary/octet-stream', key);
    }
    // A given type still goes out on the SDK's PUT.
    await bucket.write(`${label}-typed`, body, body.length, { ifNoneMatch: true }, { contentType: 'text/x-given' });
    assert.equal((await s3().head(name, `${label}-typed`))?.ContentType, 'text/x-given');
    // Above the single-PUT limit (lowered here to S3's smallest part): the object's headers go on
    // CreateMultipartUpload.
    const multipart = new S3Bucket(client, name, { maxSinglePutBytes: MIN_PART_SIZE, partSize: MIN_PART_SIZE });
    const big = randomBytes(MIN_PART_SIZE + 1);
    const { etag } = await multipart.write(`${label}-multipart`, chunked(big), big.length, { ifNoneMatch: true });
    assert.match(etag, /-2$/, 'went multipart');
    assert.equal((await s3().head(name, `${label}-multipart`))?.ContentType, 'binary/octet-stream', `${label} multipart`);
  }
});

test('write: multipart parts carry CRC32 checksums (as the aws CLI sends them), the precondition rides on CompleteMultipartUpload, a refused verify aborts', async () => {
  const client = createS3Client(awsOptions());
  const sent = recordHeaders(client);
  const documents = recordTextBodies(client);
  const bucket = new S3Bucket(client, await s3().newBucket());
  const original = await bucket.write('big.bin', Buffer.from('v1'), 2, { ifNoneMatch: true });
  const body = randomBytes(MAX_SINGLE_PUT_BYTES + 1000);
  sent.length = 0;
  const { etag } = await bucket.write('big.bin', chunked(body), body.length, { ifMatch: original.etag });
  assert.equal(etag, multipartEtag(body, PART_SIZE));
  assert.equal(sent.length, 5, 'create, three parts, complete');
  const [create, ...rest] = sent;
  const parts = rest.slice(0, 3);
  const complete = rest[3];
  assert.equal(create!['if-match'], undefined, 'no precondition on create: nothing is visible yet');
  assert.equal(create!['x-amz-checksum-algorithm'], 'CRC32');
  const crcs = [0, 1, 2].map((index) => crc32Base64(body.subarray(index * PART_SIZE, (index + 1) * PART_SIZE)));
  // Parts go out in parallel: each one's checksum must match the bytes it carried.
  assert.deepEqual(parts.map((part) => part['x-amz-checksum-crc32']).sort(), [...crcs].sort());
  assert.equal(complete!['if-match'], `"${original.etag}"`);
  // Complete names each part's CRC32 (S3 refuses it otherwise once CRC32 was declared; moto does not check).
  const completion = documents.find((doc) => doc.includes('<CompleteMultipartUpload'));
  const named = [...(completion ?? '').matchAll(/<Part>(.*?)<\/Part>/g)].map(([, part]) => [
    Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part!)?.[1]),
    /<ChecksumCRC32>([^<]+)<\/ChecksumCRC32>/.exec(part!)?.[1],
  ]);
  assert.deepEqual(named, crcs.map((crc, index) => [index + 1, crc]));
  // The object keeps the composite checksum of its parts (S3 appends the part count, `-3`).
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: 'big.bin', ChecksumMode: 'ENABLED' }));
  assert.equal(head.ChecksumCRC32?.replace(/-3$/, ''), crc32Base64(Buffer.concat(crcs.map((crc) => Buffer.from(crc, 'base64')))));
  // A download checks that composite checksum (moto answers GETs with it, `-3` and all).
  sent.length = 0;
  assert.ok((await bodyBytes(await bucket.read('big.bin'))).equals(body));
  assert.equal(sent[0]!['x-amz-checksum-mode'], 'ENABLED');

  const refusing: PartSource = { ...chunked(randomBytes(body.length)), verify: async () => Promise.reject(new Error('changed while read')) };
  await assert.rejects(bucket.write('big.bin', refusing, body.length, { ifMatch: etag }), /changed while read/);
  assert.equal((await s3().head(bucket.name, 'big.bin'))?.ETag, `"${etag}"`, 'the object is untouched');
  const open = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket.name }));
  assert.deepEqual(open.Uploads ?? [], [], 'the upload was aborted');
  client.destroy();
});

test('write: a checksum pass that stalls (a stuck disk) holds the next uploads back only briefly; a write abandoned while it waits for its pass sends nothing', { timeout: 30_000 }, async () => {
  const MiB = 1024 * 1024;
  const name = await s3().newBucket();
  const bucket = new S3Bucket(createS3Client(awsOptions({ endpointUrl: s3().endpoint })), name);
  let unstick: (read: number) => void = () => undefined;
  const stuck: PartSource = {
    readAt: () => new Promise<number>((resolve) => (unstick = resolve)),
    verify: async () => undefined,
  };
  const stalled = bucket.write('stuck', stuck, 2 * MiB, { ifNoneMatch: true });
  stalled.catch(() => undefined);
  // Waits behind the stalled pass and loses its lock meanwhile.
  const controller = new AbortController();
  const body = randomBytes(2 * MiB);
  const abandoned = bucket.write('abandoned', chunked(body), body.length, { ifNoneMatch: true }, {}, controller.signal);
  controller.abort(new Error('lock lost'));
  const next = bucket.write('next', chunked(body), body.length, { ifNoneMatch: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => (timer = setTimeout(resolve, 10_000, 'still waiting')));
  try {
    const outcome = (write: Promise<unknown>): Promise<string> => Promise.race([write.then(() => 'written', (err: Error) => err.message), deadline]);
    assert.match(await outcome(abandoned), /lock lost/);
    assert.equal(await outcome(next), 'written', 'the upload behind the stalled pass went up');
    assert.ok((await s3().getBuffer(name, 'next')).equals(body));
    assert.equal(await s3().head(name, 'abandoned'), null);
  } finally {
    clearTimeout(timer);
    unstick(0);
  }
  await assert.rejects(stalled, /changed while read/);
  assert.equal(await s3().head(name, 'stuck'), null);
});

// A budget that leaks hangs the waiting writes: the timeout turns that into a failure.
test('write: multipart parts wait for room in the bucket\'s upload budget; files sent in one PUT stream from the file and do not', { timeout: 60_000 }, async () => {
  const MiB = 1024 * 1024;
  const gate = await startGateProxy(s3().endpoint);
  const name = await s3().newBucket();
  const client = createS3Client(awsOptions({ endpointUrl: gate.url }));
  const bucket = new S3Bucket(client, name, { uploadMemoryBytes: 6 * MiB, maxSinglePutBytes: 5 * MiB, partSize: 5 * MiB });
  const writes: Promise<unknown>[] = [];
  /** Bodies reaching the store, once the count has had time to grow past `expected`. */
  const heldAfterAWhile = async (expected: number): Promise<number> => {
    await waitFor(`${expected} bodies to reach the store`, () => gate.held >= expected);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return gate.held;
  };
  try {
    // Bodies are held unanswered at the store: only what the budget lets through is sent.
    gate.close((req) => req.method === 'PUT');
    const files = [0, 1, 2, 3].map(() => randomBytes(2 * MiB));
    writes.push(...files.map((body, i) => bucket.write(`whole-${i}`, chunked(body), body.length, { ifNoneMatch: true })));
    assert.equal(await heldAfterAWhile(4), 4, 'four 2 MiB files in flight at once, beyond the 6 MiB budget: none is held in memory');
    // A write whose signal was aborted (a lost lock) sends nothing.
    const controller = new AbortController();
    controller.abort(new Error('lock lost'));
    await assert.rejects(bucket.write('abandoned', chunked(files[0]!), 2 * MiB, { ifNoneMatch: true }, {}, controller.signal), /lock lost/);
    gate.open();
    await Promise.all(writes);

    gate.close((req) => req.method === 'PUT');
    const large = randomBytes(11 * MiB);
    const multipart = bucket.write('parts', chunked(large), large.length, { ifNoneMatch: true });
    writes.push(multipart);
    assert.equal(await heldAfterAWhile(1), 1, 'one 5 MiB part fits in 6 MiB; the next waits for it');
    gate.open();
    assert.match((await multipart).etag, /-3$/);

    // A multipart upload whose next part waits for memory when the signal aborts is aborted.
    gate.close((req) => req.method === 'PUT');
    const controller2 = new AbortController();
    const stopped = bucket.write('stopped', chunked(large), large.length, { ifNoneMatch: true }, {}, controller2.signal);
    writes.push(stopped);
    assert.equal(await heldAfterAWhile(1), 1);
    controller2.abort(new Error('lock lost'));
    gate.open();
    await assert.rejects(stopped, /lock lost/);
    assert.equal(await s3().head(name, 'stopped'), null);
    assert.deepEqual((await client.send(new ListMultipartUploadsCommand({ Bucket: name }))).Uploads ?? [], [], 'the upload was aborted');

    for (const [i, body] of files.entries()) assert.ok((await s3().getBuffer(name, `whole-${i}`)).equals(body));
    assert.equal(await s3().head(name, 'abandoned'), null);
    assert.ok((await s3().getBuffer(name, 'parts')).equals(large));
  } finally {
    gate.open();
    await Promise.allSettled(writes);
    client.destroy();
  }
});

test('write: a failed write gives its memory back (refused PUT, refused part upload, changed file)', { timeout: 60_000 }, async () => {
  const MiB = 1024 * 1024;
  const name = await s3().newBucket();
  const client = createS3Client(awsOptions());
  // Room for exactly one 6 MiB body or part: a leak would leave the last write waiting forever.
  const bucket = new S3Bucket(client, name, { uploadMemoryBytes: 6 * MiB, maxSinglePutBytes: 6 * MiB, partSize: 5 * MiB });
  const six = randomBytes(6 * MiB);
  try {
    await bucket.write('k', chunked(six), six.length, { ifNoneMatch: true });
    await assert.rejects(bucket.write('k', chunked(six), six.length, { ifNoneMatch: true }), PreconditionFailedError);
    const changing: PartSource = { ...chunked(six), verify: async () => Promise.reject(new Error('changed while read')) };
    await assert.rejects(bucket.write('k2', changing, six.length, { ifNoneMatch: true }), /changed while read/);
    const eleven = randomBytes(11 * MiB);
    await assert.rejects(bucket.write('k', chunked(eleven), eleven.length, { ifNoneMatch: true }), PreconditionFailedError);
    const short: PartSource = { ...chunked(eleven.subarray(0, 7 * MiB)) };
    await assert.rejects(bucket.write('k3', short, eleven.length, { ifNoneMatch: true }), /changed while read/);

    let timer: NodeJS.Timeout | undefined;
    const leaked = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the budget was not given back')), 10_000);
    });
    try {
      await Promise.race([bucket.write('last', chunked(six), six.length, { ifNoneMatch: true }), leaked]);
      await Promise.race([bucket.write('last-parts', chunked(eleven), eleven.length, { ifNoneMatch: true }), leaked]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    client.destroy();
  }
});

test('write: a multipart create-if-absent is refused when the key exists', async () => {
  const bucket = await freshBucket();
  await s3().putText(bucket.name, 'big.bin', 'small original');
  const body = randomBytes(MAX_SINGLE_PUT_BYTES + 1);
  const before = bucket.requestCount;
  await assert.rejects(bucket.write('big.bin', body, body.length, { ifNoneMatch: true }), PreconditionFailedError);
  assert.ok(bucket.requestCount - before >= 5, 'it went multipart: create, three parts, complete (and the abort)');
  assert.equal(await s3().getText(bucket.name, 'big.bin'), 'small original');
});

// moto ignores both copy conditions (AWS enforces them), so this checks they are sent on the wire.
test('copy: copies a version to a new key, conditioned on the source ETag and an absent destination', async () => {
  const client = createS3Client(awsOptions());
  const sent = recordHeaders(client);
  const bucket = new S3Bucket(client, await s3().newBucket());
  const etag = await s3().putText(bucket.name, 'src dir/src.txt', 'content');
  const copied = await bucket.copy('src dir/src.txt', etag, 'dir/copy of src.txt');
  assert.equal(copied.etag, etag);
  assert.equal(await s3().getText(bucket.name, 'dir/copy of src.txt'), 'content');
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!['x-amz-copy-source-if-match'], `"${etag}"`);
  assert.equal(sent[0]!['if-none-match'], '*');
});

test('missing keys: read rejects with NotFoundError; head and readSmall return null', async () => {
  const bucket = await freshBucket();
  await assert.rejects(bucket.read('nope'), (err) => err instanceof NotFoundError && err.key === 'nope');
  assert.equal(await bucket.head('nope'), null);
  assert.equal(await bucket.readSmall('nope'), null);
});

test('a missing bucket is an AccessError that names it', async () => {
  const bucket = new S3Bucket(createS3Client(awsOptions()), 's3sync2-test-does-not-exist');
  const body = Buffer.from('x');
  for (const call of [() => bucket.list('p'), () => bucket.write('k', body, 1, { ifNoneMatch: true })]) {
    await assert.rejects(call(), (err) => {
      assert.ok(err instanceof AccessError, `AccessError expected, got ${String(err)}`);
      assert.match(err.message, /bucket s3sync2-test-does-not-exist does not exist/);
      return true;
    });
  }
});

test('requestCount counts each request sent to the bucket', async () => {
  const bucket = await freshBucket();
  assert.equal(bucket.requestCount, 0);
  await bucket.write('a', Buffer.from('1'), 1, { ifNoneMatch: true });
  await bucket.head('a');
  await bucket.list('');
  assert.equal(bucket.requestCount, 3);
  await bucket.readSmall('missing');
  assert.equal(bucket.requestCount, 4);
});

test('probeConditionalWrites: moto enforces conditional writes; the probe object is removed', async () => {
  const bucket = await freshBucket();
  assert.equal(await probeConditionalWrites(bucket, 'p/.s3-sync2.probe-node1'), true);
  assert.deepEqual(await s3().keys(bucket.name), []);
});

test('probeConditionalWrites: a store that answers the conditional headers with 501 NotImplemented is reported at once, not retried as a server error', async () => {
  const name = await s3().newBucket();
  let refusals = 0;
  const refusing = await startProxy(s3().endpoint, {
    answer: (req) => {
      if (req.headers['if-match'] === undefined && req.headers['if-none-match'] === undefined) return undefined;
      refusals++;
      return { status: 501, body: '<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>' };
    },
  });
  const client = createS3Client(awsOptions({ endpointUrl: refusing.url }));
  try {
    assert.equal(await probeConditionalWrites(new S3Bucket(client, name), 'p/.s3-sync2.probe-node1'), false);
    assert.equal(refusals, 1, 'one refusal is the answer');
  } finally {
    client.destroy();
    refusing.stop();
  }
});

test('probeConditionalWrites: a store that ignores the conditional headers is reported', async () => {
  const name = await s3().newBucket();
  const ignoring = await startProxy(s3().endpoint, { dropHeaders: ['if-match', 'if-none-match'] });
  const client = createS3Client(awsOptions({ endpointUrl: ignoring.url }));
  try {
    assert.equal(await probeConditionalWrites(new S3Bucket(client, name), 'p/.s3-sync2.probe-node1'), false);
    assert.deepEqual(await s3().keys(name), []);
  } finally {
    client.destroy();
    ignoring.stop();
  }
});
