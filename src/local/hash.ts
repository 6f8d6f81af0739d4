/** S3-style ETags of local files, computed by streaming (never the whole file in memory). */
import { createReadStream } from 'node:fs';
import { compositeDigest, cryptoDigest, type Digest } from '../digests.js';

/**
 * The part size that gives an object of `size` bytes the part count its ETag names: undefined
 * for a single-part ETag (plain MD5); for `<md5>-<parts>`, the first of `partSizes` that splits
 * `size` into that many parts (an ETag does not say which size its uploader used), else the first
 * of them (the comparison then fails, and the file counts as different).
 */
export function etagPartSize(etag: string, size: number, partSizes: readonly [number, ...number[]]): number | undefined {
  const parts = /-(\d+)$/.exec(etag);
  if (parts === null) return undefined;
  const count = Number(parts[1]);
  return partSizes.find((partSize) => Math.ceil(size / partSize) === count) ?? partSizes[0];
}

/**
 * The ETag S3 gives the file (unquoted) when uploaded in one PUT (no `partSize`: the MD5 hex of
 * the content) or in parts of `partSize` bytes (MD5 of the concatenated binary part MD5s plus
 * `-<parts>`).
 */
export async function computeS3Etag(absPath: string, partSize?: number): Promise<string> {
  if (partSize !== undefined && !(partSize > 0)) throw new RangeError(`compute ETag: part size must be positive, got ${partSize}`);
  const md5 = (): Digest => cryptoDigest('md5');
  const digest = partSize === undefined ? md5() : compositeDigest(md5, partSize);
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
  return partSize === undefined ? hex : `${hex}-${Math.ceil(read / partSize)}`;
}
