/**
 * Checks a downloaded body against the checksum S3 returns with `x-amz-checksum-mode: ENABLED`,
 * as the SDK's response checksum validation does: a full-object checksum (CRC64NVME on every
 * object written since 2025, or the algorithm the writer chose), or a composite one of multipart
 * parts (`…-N`, the checksum of the parts' checksums) in a part size uploaders use (8 MiB: the aws
 * CLI's and s3-sync2's; 5 MiB: the AWS SDKs' and rclone's) — the SDK skips composites; a part
 * layout we cannot know passes unchecked.
 */
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { compositeDigest, compositeLayouts, cryptoDigest, digestBase64, type Digest } from '../digests.js';
import { SyncError } from '../errors.js';
import type { ChunkSource } from '../streams.js';
import { KNOWN_PART_SIZES } from './transfer-limits.js';

/** Response headers in the SDK's order of preference, with their digests. */
const ALGORITHMS: readonly (readonly [header: string, name: string, make: () => Digest])[] = [
  ['x-amz-checksum-crc64nvme', 'CRC64NVME', () => new Crc64Nvme()],
  ['x-amz-checksum-crc32c', 'CRC32C', () => new Crc32c()],
  ['x-amz-checksum-crc32', 'CRC32', () => new Crc32()],
  ['x-amz-checksum-sha256', 'SHA256', () => cryptoDigest('sha256')],
  ['x-amz-checksum-sha1', 'SHA1', () => cryptoDigest('sha1')],
];

/** The header that asks S3 for the stored checksum. */
export const CHECKSUM_MODE_HEADERS: Readonly<Record<string, string>> = { 'x-amz-checksum-mode': 'ENABLED' };

/** The checksum to check a body against, if S3 sent one we can check. */
interface ExpectedChecksum {
  readonly name: string;
  readonly expected: string;
  /**
   * One digest per layout the value allows (a composite names its part count, not the part size);
   * the body matches when any of them gives `expected`.
   */
  readonly digests: readonly Digest[];
  /** `-N` after a composite checksum's value. */
  readonly suffix: string;
}

function expectedChecksum(headers: Readonly<Record<string, string | undefined>>, size: number | undefined): ExpectedChecksum | undefined {
  for (const [header, name, make] of ALGORITHMS) {
    const expected = headers[header];
    if (expected === undefined) continue;
    const layouts = compositeLayouts(expected, size ?? 0, KNOWN_PART_SIZES);
    if (layouts[0] === undefined && layouts.length === 1) return { name, expected, digests: [make()], suffix: '' };
    // A composite of an unknown length, or of parts no uploader we know sends, cannot be checked.
    if (size === undefined || size === 0 || layouts.length === 0) return undefined;
    const parts = Math.ceil(size / layouts[0]!);
    const digests = layouts.map((partSize) => compositeDigest(make, partSize!));
    return { name: `${name} (composite of ${parts} parts)`, expected, digests, suffix: `-${parts}` };
  }
  return undefined;
}

/** Resolves when a digest matches; rejects with an error naming the key and both values. */
async function compare(check: ExpectedChecksum, key: string): Promise<void> {
  const actual = await Promise.all(check.digests.map(async (digest) => (await digestBase64(digest)) + check.suffix));
  if (!actual.includes(check.expected)) {
    throw new SyncError(`get ${key}: the body does not match its ${check.name} checksum (${actual.join(' or ')}, expected ${check.expected})`);
  }
}

/**
 * `body`, whose pour rejects at its end (before the reader is told it ended) when its bytes do
 * not match the checksum in `headers`; `body` itself when there is none to check.
 */
export function checkedBody(
  body: ChunkSource,
  headers: Readonly<Record<string, string | undefined>>,
  size: number | undefined,
  key: string,
): ChunkSource {
  const check = expectedChecksum(headers, size);
  if (check === undefined) return body;
  return {
    async pour(sink) {
      await body.pour((chunk) => {
        for (const digest of check.digests) digest.update(chunk);
        return sink(chunk);
      });
      await compare(check, key);
    },
    destroy: () => body.destroy(),
  };
}

/** Rejects when `bytes`, a whole body, do not match the full-object checksum in `headers`. */
export async function checkWhole(bytes: Buffer, headers: Readonly<Record<string, string | undefined>>, key: string): Promise<void> {
  const check = expectedChecksum(headers, bytes.length);
  if (check === undefined) return;
  for (const digest of check.digests) digest.update(bytes);
  await compare(check, key);
}
