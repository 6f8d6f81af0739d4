/**
 * Checks after each timed transfer that the destination holds exactly the source's files: every
 * name and size, and the bytes of a sample. A mismatch throws, which fails the benchmark run.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { bufferDigest, compareListings, fileDigest, listTree, samplePaths, type Tree } from './data.js';
import { getBytes, listPrefix } from './s3.js';

/** Throws unless `bucket/prefix/` holds exactly `source`'s files with the same bytes (sampled). */
export async function verifyUploaded(client: S3Client, bucket: string, prefix: string, source: Tree, sample: number): Promise<void> {
  const where = `s3://${bucket}/${prefix}/`;
  const problem = compareListings(source.files, await listPrefix(client, bucket, prefix), where);
  if (problem) throw new Error(`verify upload: ${problem}`);
  for (const path of samplePaths(source.files, sample)) {
    const [remote, local] = await Promise.all([getBytes(client, bucket, `${prefix}/${path}`), fileDigest(join(source.root, path))]);
    if (bufferDigest(remote) !== local) throw new Error(`verify upload: ${where}${path} differs from ${join(source.root, path)}`);
  }
}

/** Throws unless `dir` holds exactly `source`'s files with the same bytes (sampled). */
export async function verifyDownloaded(dir: string, source: Tree, sample: number): Promise<void> {
  const problem = compareListings(source.files, await listTree(dir), dir);
  if (problem) throw new Error(`verify download: ${problem}`);
  for (const path of samplePaths(source.files, sample)) {
    const [got, want] = await Promise.all([fileDigest(join(dir, path)), fileDigest(join(source.root, path))]);
    if (got !== want) throw new Error(`verify download: ${join(dir, path)} differs from ${join(source.root, path)}`);
  }
}
