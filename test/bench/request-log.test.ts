/**
 * The benchmark's request counter (bench/request-log.ts) against a moto of its own, started with
 * its access log piped: each request a client makes is counted once, by kind, and the counter's
 * own marker requests never are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { startMoto } from '../../scripts/moto.mjs';
import { diffCounts, parseAccessLine, RequestLog, requestKind } from '../../bench/request-log.js';
import { waitFor } from '../helpers/wait.js';

test('bench request log: parses werkzeug access lines and ignores the rest', () => {
  assert.deepEqual(parseAccessLine('127.0.0.1 - - [26/Nov/2026 01:14:52] "PUT /bkt/a%20b?x=1 HTTP/1.1" 200 -'), {
    method: 'PUT',
    url: '/bkt/a%20b?x=1',
  });
  assert.equal(parseAccessLine(' * Running on http://127.0.0.1:45999'), null);
  // Without colorama, werkzeug colours every answer but a 200 even in a pipe.
  assert.deepEqual(parseAccessLine('127.0.0.1 - - [26/Nov/2026 02:08:49] "\x1b[35m\x1b[1mDELETE /bkt/k HTTP/1.1\x1b[0m" 204 -'), {
    method: 'DELETE',
    url: '/bkt/k',
  });
  assert.equal(requestKind('GET', '/bkt?list-type=2&prefix=a'), 'LIST');
  assert.equal(requestKind('GET', '/bkt/key?x-id=GetObject'), 'GET');
  assert.equal(requestKind('GET', '/bkt/dir/key?prefix=1'), 'GET');
  assert.equal(requestKind('DELETE', '/bkt/key'), 'DELETE');
});

test('bench request log: counts what moto served, by kind, and not its own markers', { timeout: 60_000 }, async (t) => {
  const moto = await startMoto({ accessLog: true });
  t.after(() => moto.stop());
  const log = new RequestLog(moto.accessLog!, moto.endpoint);
  const client = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  t.after(() => client.destroy());

  await client.send(new CreateBucketCommand({ Bucket: 'counted' }));
  const before = await log.counts();
  await client.send(new PutObjectCommand({ Bucket: 'counted', Key: 'a.txt', Body: 'hello' }));
  await client.send(new PutObjectCommand({ Bucket: 'counted', Key: 'b.txt', Body: 'world' }));
  await client.send(new ListObjectsV2Command({ Bucket: 'counted', Prefix: 'a' }));
  await (await client.send(new GetObjectCommand({ Bucket: 'counted', Key: 'a.txt' }))).Body?.transformToString();
  await client.send(new HeadObjectCommand({ Bucket: 'counted', Key: 'b.txt' }));
  const after = await log.counts();
  assert.deepEqual(diffCounts(before, after), { total: 5, byKind: { PUT: 2, LIST: 1, GET: 1, HEAD: 1 } });
  // Reading again counts nothing new: the markers are not requests of anyone's.
  assert.deepEqual(diffCounts(after, await log.counts()), { total: 0, byKind: {} });

  const served = await log.serve();
  t.after(() => served.close());
  const overHttp = (await (await fetch(served.url)).json()) as typeof after;
  assert.deepEqual(diffCounts(after, overHttp), { total: 0, byKind: {} });
});

test('bench request log: moto exiting while a marker request is on its way fails that reading, and nothing else', async (t) => {
  // A moto that takes the marker request and never answers it, until it is gone.
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): number => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const log = new PassThrough();
  const { port } = server.address() as { port: number };
  const reading = new RequestLog(log, `http://127.0.0.1:${port}`).counts();
  await waitFor('the marker request arrives', () => sockets.length > 0);
  log.end();
  await new Promise((resolve) => setImmediate(resolve));
  for (const socket of sockets) socket.destroy();
  await assert.rejects(reading, /moto exited/);
  assert.deepEqual(unhandled, []);
});
