/** S3-style ETags of local files, computed by streaming (never the whole file in memory). */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { compositeDigest, cryptoDigest, type Digest } from '../digests.js';

/** Part size of multipart uploads, as the uploader uses it (8 MiB, the `aws s3` default). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** Size from which the uploader goes multipart (8 MiB, the `aws s3` default). */
export const DEFAULT_MULTIPART_THRESHOLD = 8 * 1024 * 1024;

/**
 * Whether the uploader sends a body of `size` bytes as multipart. Besides the threshold, the
 * bucket (as `@aws-sdk/lib-storage` and the aws CLI) sends a body that fits in one part as a
 * single PUT, so a file of exactly one part size has a plain MD5 ETag.
 */
export function isMultipart(size: number, partSize: number, threshold: number): boolean {
  return size >= threshold && size > partSize;
}

/**
 * The ETag S3 gives the file once uploaded (unquoted): the MD5 hex of the content for a single PUT,
 * or MD5 of the concatenated binary part MD5s plus `-<parts>` for multipart.
 */
export async function computeS3Etag(
  absPath: string,
  partSize = DEFAULT_PART_SIZE,
  threshold = DEFAULT_MULTIPART_THRESHOLD,
): Promise<string> {
  if (!(partSize > 0)) throw new RangeError(`compute ETag: part size must be positive, got ${partSize}`);
  const { size } = await stat(absPath);
  const multipart = isMultipart(size, partSize, threshold);
  const md5 = (): Digest => cryptoDigest('md5');
  const digest = multipart ? compositeDigest(md5, partSize) : md5();
  let read = 0;
  try {
    for await (const chunk of createReadStream(absPath, { highWaterMark: 1024 * 1024 })) {
      digest.update(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
  } catch (err) {
    throw new Error(`compute ETag of ${absPath}: ${(err as Error).message}`, { cause: err });
  }
  const hex = Buffer.from(await digest.digest()).toString('hex');
  return multipart ? `${hex}-${Math.ceil(read / partSize)}` : hex;
}
