/**
 * The benchmark's own S3 access (setup and verification), never inside a measured command, so
 * none of it is counted against a tool.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Tree } from './data.js';

/** Credentials moto accepts; also handed to every tool. */
export const BENCH_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
/** Region handed to every tool. */
export const BENCH_REGION = 'us-east-1';

/** The benchmark's S3 client on an endpoint. */
export function benchClient(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: BENCH_REGION, forcePathStyle: true, credentials: BENCH_CREDENTIALS });
}

/** Creates a bucket. */
export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Every object under `prefix/` as relative path → size. */
export async function listPrefix(client: S3Client, bucket: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!.slice(prefix.length + 1), o.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The bytes of one object. */
export async function getBytes(client: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToByteArray();
}

/** Uploads a tree under `prefix/` (setup of the idle case; not timed). */
export async function putTree(client: S3Client, bucket: string, prefix: string, tree: Tree): Promise<void> {
  const limit = pLimit(16);
  await Promise.all(
    [...tree.files].map(([path, size]) =>
      limit(() =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `${prefix}/${path}`,
            Body: createReadStream(join(tree.root, path)),
            ContentLength: size,
          }),
        ),
      ),
    ),
  );
}

/** Deletes every object under `prefix/` (between runs; not timed). */
export async function removePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = [...(await listPrefix(client, bucket, prefix)).keys()].map((path) => `${prefix}/${path}`);
  // DeleteObjects takes at most 1,000 keys.
  for (let at = 0; at < keys.length; at += 1000) {
    const batch = keys.slice(at, at + 1000).map((Key) => ({ Key }));
    const out = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
    if (out.Errors?.length) throw new Error(`removing ${prefix}/: ${out.Errors.length} keys not deleted (${out.Errors[0]?.Key}: ${out.Errors[0]?.Message})`);
  }
}
