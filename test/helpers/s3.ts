/**
 * The S3 test harness: one moto server per test process (or S3_TEST_ENDPOINT), a fresh bucket
 * per test, everything stopped in `after` even when a test fails. Missing moto fails loudly.
 */
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { collect } from '../../src/streams.js';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { startMoto } from '../../scripts/moto.mjs';
import type { ObjectRead } from '../../src/remote/types.js';
import { crc32 } from 'node:zlib';

/** Dummy credentials; moto accepts anything, real endpoints take theirs from the environment. */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const TEST_REGION = process.env.AWS_REGION ?? 'us-east-1';

/** Environment for child processes (the CLI) talking to the test endpoint. */
export function awsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: process.env.S3_TEST_ENDPOINT ? (process.env.AWS_ACCESS_KEY_ID ?? 'test') : 'test',
    AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_ENDPOINT ? (process.env.AWS_SECRET_ACCESS_KEY ?? 'test') : 'test',
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** A running S3 endpoint for one test file. */
export interface S3TestEndpoint {
  readonly endpoint: string;
  /** A raw SDK client on the endpoint, for arranging and asserting bucket state. */
  readonly client: S3Client;
  /** Creates a fresh, empty bucket (deleted at the end of the file). */
  newBucket(): Promise<string>;
  putText(bucket: string, key: string, body: string | Buffer): Promise<string>;
  getText(bucket: string, key: string): Promise<string>;
  getBuffer(bucket: string, key: string): Promise<Buffer>;
  head(bucket: string, key: string): Promise<HeadObjectCommandOutput | null>;
  /** Every key in the bucket (under an optional prefix), sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
}

/** Creates an SDK client for a test endpoint (path-style, dummy credentials). */
export function testClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: TEST_REGION,
    forcePathStyle: true,
    credentials: process.env.S3_TEST_ENDPOINT ? undefined : TEST_CREDENTIALS,
  });
}

/**
 * Registers before/after hooks in the calling test file and returns a getter for the endpoint.
 * Call at module top level: `const s3 = useS3();` then `s3()` inside tests.
 * `serial`: always start an own moto that serves one request at a time, so concurrent conditional
 * writes are atomic as on S3 (threaded moto checks then writes unlocked); for race tests.
 */
export function useS3(options: { serial?: boolean } = {}): () => S3TestEndpoint {
  let current: S3TestEndpoint | undefined;
  let stopServer: (() => Promise<void>) | undefined;
  const buckets: string[] = [];
  before(async () => {
    let endpoint = options.serial ? undefined : process.env.S3_TEST_ENDPOINT;
    if (!endpoint) {
      const moto = await startMoto({ serial: options.serial });
      endpoint = moto.endpoint;
      stopServer = moto.stop;
    }
    const client = testClient(endpoint);
    current = makeEndpoint(endpoint, client, buckets);
  });
  after(async () => {
    if (current) {
      for (const bucket of buckets) await emptyAndDelete(current.client, bucket).catch(() => undefined);
      current.client.destroy();
    }
    await stopServer?.();
  });
  return () => {
    if (!current) throw new Error('useS3(): the endpoint is not started yet (call it inside a test)');
    return current;
  };
}

function makeEndpoint(endpoint: string, client: S3Client, buckets: string[]): S3TestEndpoint {
  return {
    endpoint,
    client,
    async newBucket() {
      const name = `s3sync2-test-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      buckets.push(name);
      return name;
    },
    async putText(bucket, key, body) {
      const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return (out.ETag ?? '').replaceAll('"', '');
    },
    async getText(bucket, key) {
      return (await this.getBuffer(bucket, key)).toString('utf8');
    },
    async getBuffer(bucket, key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    async head(bucket, key) {
      try {
        return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
        throw err;
      }
    },
    async keys(bucket, prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    },
  };
}

async function emptyAndDelete(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (objects.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** Every byte of a downloaded body, whether the bucket handed it over whole or as a stream. */
export async function bodyBytes(read: ObjectRead): Promise<Buffer> {
  return Buffer.isBuffer(read.body) ? read.body : collect(read.body);
}

/** CRC32 as S3 writes it: the 4 bytes, big-endian. */
export function crc32Bytes(body: Buffer): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(body));
  return bytes;
}

/** CRC32 as S3 names it in `x-amz-checksum-crc32` and `ChecksumCRC32`: the 4 bytes in base64. */
export function crc32Base64(body: Buffer): string {
  return crc32Bytes(body).toString('base64');
}
