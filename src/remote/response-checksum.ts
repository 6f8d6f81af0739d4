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

/**
 * `body`, failing at its end (before the reader sees the end) when its bytes do not match the
 * full-object checksum in `headers`; `body` itself when there is none to check.
 */
export function checkedBody(body: Readable, headers: Readonly<Record<string, string | undefined>>, key: string): Readable {
  for (const [header, name, make] of ALGORITHMS) {
    const expected = headers[header];
    if (expected === undefined || /-\d+$/.test(expected)) continue;
    const digest = make();
    const check = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        digest.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        digest.digest().then(
          (bytes) => {
            const actual = Buffer.from(bytes).toString('base64');
            if (actual === expected) done();
            else done(new SyncError(`get ${key}: the body does not match its ${name} checksum (${actual}, expected ${expected})`));
          },
          (err: Error) => done(err),
        );
      },
    });
    return pipeline(body, check, () => undefined);
  }
  return body;
}
