/**
 * Checks a downloaded body against the full-object checksum S3 returns with
 * `x-amz-checksum-mode: ENABLED` (CRC64NVME on every object written since 2025, or the algorithm
 * the writer chose), as the SDK's response checksum validation does. Bodies without one, or with
 * a composite checksum of multipart parts (`…-N`), pass unchecked, as in the SDK.
 */
import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { SyncError } from '../errors.js';

interface Digest {
  update(chunk: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** A node:crypto hash behind the SDK checksums' interface. */
function cryptoDigest(algorithm: string): Digest {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: async () => hash.digest(),
  };
}

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

/** The full-object checksum to check a body against, if S3 sent one (none for composite `…-N`). */
interface ExpectedChecksum {
  readonly name: string;
  readonly expected: string;
  readonly digest: Digest;
}

function expectedChecksum(headers: Readonly<Record<string, string | undefined>>): ExpectedChecksum | undefined {
  for (const [header, name, make] of ALGORITHMS) {
    const expected = headers[header];
    if (expected === undefined || /-\d+$/.test(expected)) continue;
    return { name, expected, digest: make() };
  }
  return undefined;
}

/** Resolves when the digest matches; rejects with an error naming the key and both values. */
async function compare(check: ExpectedChecksum, key: string): Promise<void> {
  const actual = Buffer.from(await check.digest.digest()).toString('base64');
  if (actual !== check.expected) {
    throw new SyncError(`get ${key}: the body does not match its ${check.name} checksum (${actual}, expected ${check.expected})`);
  }
}

/**
 * `body`, failing at its end (before the reader sees the end) when its bytes do not match the
 * full-object checksum in `headers`; `body` itself when there is none to check.
 */
export function checkedBody(body: Readable, headers: Readonly<Record<string, string | undefined>>, key: string): Readable {
  const check = expectedChecksum(headers);
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
  const check = expectedChecksum(headers);
  if (check === undefined) return;
  check.digest.update(bytes);
  await compare(check, key);
}
