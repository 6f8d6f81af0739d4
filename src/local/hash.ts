/** S3-style ETags of local files, computed by streaming (never the whole file in memory). */
import { createReadStream } from 'node:fs';
import { compositeDigest, compositeParts, cryptoDigest, type Digest } from '../digests.js';

/** How an object was uploaded, as far as its ETag goes: one PUT (undefined) or parts of a size. */
export type EtagLayout = number | undefined;

/**
 * The layouts that could give an object of `size` bytes its ETag (an ETag names its part count,
 * not the part size): one PUT for a plain MD5; for `-1`, one part of the whole size (any larger
 * part size gives the same ETag); for `-N`, each of `partSizes` that splits `size` into N parts.
 * Empty when none does: the file cannot be compared by its ETag.
 */
export function etagLayouts(etag: string, size: number, partSizes: readonly number[]): EtagLayout[] {
  const parts = compositeParts(etag);
  if (parts === undefined) return [undefined];
  if (parts === 1) return [Math.max(size, 1)];
  return partSizes.filter((partSize) => Math.ceil(size / partSize) === parts);
}

/**
 * The ETags S3 would give the file for each layout, from one read: the MD5 hex of the content for
 * one PUT (undefined), or for parts of a size the MD5 of the concatenated binary part MD5s plus
 * `-<parts>`.
 */
export async function computeS3Etags(absPath: string, layouts: readonly EtagLayout[]): Promise<string[]> {
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
    throw new Error(`compute ETag of ${absPath}: ${(err as Error).message}`, { cause: err });
  }
  return Promise.all(
    layouts.map(async (partSize, index) => {
      const hex = Buffer.from(await digests[index]!.digest()).toString('hex');
      return partSize === undefined ? hex : `${hex}-${Math.ceil(read / partSize)}`;
    }),
  );
}

/** The ETag S3 would give the file uploaded in one PUT (no `partSize`) or in parts of `partSize`. */
export async function computeS3Etag(absPath: string, partSize?: number): Promise<string> {
  const [etag] = await computeS3Etags(absPath, [partSize]);
  return etag!;
}
