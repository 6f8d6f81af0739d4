/**
 * Checks a downloaded body against the checksum S3 returns with `x-amz-checksum-mode: ENABLED`,
 * as the SDK's response checksum validation does: a full-object checksum (CRC64NVME on every
 * object written since 2025, or the algorithm the writer chose), or a composite one of multipart
 * parts (`…-N`, the checksum of the parts' checksums) when the parts are the aws CLI's and
 * s3-sync2's 8 MiB — the SDK skips composites; a part layout we cannot know passes unchecked.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { compositeDigest, compositeParts, cryptoDigest, type Digest } from '../digests.js';
import { SyncError } from '../errors.js';
import { PART_SIZE } from './transfer-limits.js';

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
  readonly digest: Digest;
  /** `-N` after a composite checksum's value. */
  readonly suffix: string;
}

function expectedChecksum(headers: Readonly<Record<string, string | undefined>>, size: number | undefined): ExpectedChecksum | undefined {
  for (const [header, name, make] of ALGORITHMS) {
    const expected = headers[header];
    if (expected === undefined) continue;
    const parts = compositeParts(expected);
    if (parts === undefined) return { name, expected, digest: make(), suffix: '' };
    if (size === undefined || size === 0 || parts !== Math.ceil(size / PART_SIZE)) return undefined;
    return { name: `${name} (composite of ${parts} parts)`, expected, digest: compositeDigest(make, PART_SIZE), suffix: `-${parts}` };
  }
  return undefined;
}

/** Resolves when the digest matches; rejects with an error naming the key and both values. */
async function compare(check: ExpectedChecksum, key: string): Promise<void> {
  const actual = Buffer.from(await check.digest.digest()).toString('base64') + check.suffix;
  if (actual !== check.expected) {
    throw new SyncError(`get ${key}: the body does not match its ${check.name} checksum (${actual}, expected ${check.expected})`);
  }
}

/**
 * `body`, failing at its end (before the reader sees the end) when its bytes do not match the
 * full-object checksum in `headers`; `body` itself when there is none to check.
 */
export function checkedBody(
  body: Readable,
  headers: Readonly<Record<string, string | undefined>>,
  size: number | undefined,
  key: string,
): Readable {
  const check = expectedChecksum(headers, size);
  if (check === undefined) return body;
  const checking = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      check.digest.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      compare(check, key).then(() => done(), (err: Error) => done(err));
    },
  });
  return pipeline(body, checking, () => undefined);
}

/** Rejects when `bytes`, a whole body, do not match the full-object checksum in `headers`. */
export async function checkWhole(bytes: Buffer, headers: Readonly<Record<string, string | undefined>>, key: string): Promise<void> {
  const check = expectedChecksum(headers, bytes.length);
  if (check === undefined) return;
  check.digest.update(bytes);
  await compare(check, key);
}
