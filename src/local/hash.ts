/** S3-style ETags of local files, computed by streaming (never the whole file in memory). */
import { createReadStream } from 'node:fs';
import { compositeDigest, compositeLayouts, cryptoDigest, type Digest, type PartLayout } from '../digests.js';
import { messageOf } from '../errors.js';

/**
 * The ETags S3 would give the file for each layout, from one read: the MD5 hex of the content for
 * one PUT (undefined), or for parts of a size the MD5 of the concatenated binary part MD5s plus
 * `-<parts>`.
 */
export async function computeS3Etags(absPath: string, layouts: readonly PartLayout[]): Promise<string[]> {
  for (const partSize of layouts) {
    if (partSize !== undefined && !(partSize > 0)) throw new RangeError(`compute ETag: part size must be positive, got ${partSize}`);
  }
  const md5 = (): Digest => cryptoDigest('md5');
  const digests = layouts.map((partSize) => (partSize === undefined ? md5() : compositeDigest(md5, partSize)));
  let read = 0;
  try {
    for await (const chunk of createReadStream(absPath, { highWaterMark: 1024 * 1024 })) {
      for (const digest of digests) digest.update(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
  } catch (err) {
    throw new Error(`compute ETag of ${absPath}: ${messageOf(err)}`, { cause: err });
  }
  return Promise.all(
    layouts.map(async (partSize, index) => {
      const hex = Buffer.from(await digests[index]!.digest()).toString('hex');
      return partSize === undefined ? hex : `${hex}-${Math.ceil(read / partSize)}`;
    }),
  );
}

/**
 * The file's ETag as S3 would give it in the layout that produced the object's `etag`, if one of
 * the layouts `etag` allows for `size` bytes does (see `compositeLayouts`); else in the first of
 * them, so the two differ; undefined when `etag` allows none (the file cannot be compared).
 */
export async function etagInLayoutOf(absPath: string, etag: string, size: number, partSizes: readonly number[]): Promise<string | undefined> {
  const layouts = compositeLayouts(etag, size, partSizes);
  if (layouts.length === 0) return undefined;
  const etags = await computeS3Etags(absPath, layouts);
  return etags.find((candidate) => candidate === etag) ?? etags[0];
}
