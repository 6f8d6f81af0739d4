/**
 * Digests behind one small interface (the SDK checksums' own: `update`, async `digest`), whole or
 * composite — the digest of each part's digest, as S3 forms multipart ETags and composite
 * checksums.
 */
import { createHash } from 'node:crypto';

/** A running digest. */
export interface Digest {
  update(chunk: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** A node:crypto hash (`md5`, `sha256`, …) as a Digest. */
export function cryptoDigest(algorithm: string): Digest {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: async () => hash.digest(),
  };
}

/** A digest's value in base64, as S3's checksum headers carry it. */
export async function digestBase64(digest: Digest): Promise<string> {
  return Buffer.from(await digest.digest()).toString('base64');
}

/** `make`'s digest of each `partSize` slice of the bytes, then `make`'s digest of those digests in order. */
export function compositeDigest(make: () => Digest, partSize: number): Digest {
  const partDigests: Promise<Uint8Array>[] = [];
  let part = make();
  let filled = 0;
  return {
    update(chunk) {
      // A chunk may straddle a part boundary.
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(partSize - filled, chunk.length - at);
        part.update(chunk.subarray(at, at + take));
        filled += take;
        at += take;
        if (filled === partSize) {
          partDigests.push(part.digest());
          part = make();
          filled = 0;
        }
      }
    },
    async digest() {
      if (filled > 0) partDigests.push(part.digest());
      const whole = make();
      whole.update(Buffer.concat(await Promise.all(partDigests)));
      return whole.digest();
    },
  };
}

/** How a composite value was formed: the parts' size, or undefined for a whole (non-composite) one. */
export type PartLayout = number | undefined;

/**
 * The layouts that could give `size` bytes the value `value` (`<digest>-<N>` names the part count
 * of a multipart ETag or composite checksum, not the part size): whole for a plain value; for `-1`,
 * one part of the whole size (any larger part size gives the same value); for `-N`, each of
 * `partSizes` that splits `size` into N parts. Empty when none does: the value cannot be checked.
 */
export function compositeLayouts(value: string, size: number, partSizes: readonly number[]): PartLayout[] {
  const match = /-(\d+)$/.exec(value);
  if (match === null) return [undefined];
  const parts = Number(match[1]);
  if (parts === 1) return [Math.max(size, 1)];
  return partSizes.filter((partSize) => Math.ceil(size / partSize) === parts);
}
