/**
 * A file as the body of one PUT, without holding it in memory: its CRC32 is read first (S3 wants
 * the checksum header before the body), then the body is sent from the file through one small
 * reused buffer. The last chunk is held back until the bytes sent are known to be the ones the
 * checksum was taken of and the file is unchanged (`verify`): a file changed while it was read is
 * cut short and never stored, even by a store that ignores the checksum.
 */
import { Crc32 } from '@aws-sdk/checksums/crc';
import { digestBase64 } from '../digests.js';
import { messageOf, SyncError } from '../errors.js';
import { readFully } from '../streams.js';
import type { SizedBody } from './direct-http.js';
import type { PartSource } from './types.js';

/**
 * Read size: few thread-pool round trips and socket writes, and small enough to stay in the CPU's
 * caches. 512 KiB against 256 KiB: 8 × 16 MiB went up about 5% faster with less CPU on the
 * development machine (alternating one-shot runs); 1 and 2 MiB were no better.
 */
const CHUNK_BYTES = 512 * 1024;

/** The CRC32 of `size` bytes of `source`, base64 as in `x-amz-checksum-crc32`. */
export async function fileCrc32(source: PartSource, size: number, key: string): Promise<string> {
  const crc = new Crc32();
  await eachChunk(source, size, key, (chunk) => crc.update(chunk));
  return digestBase64(crc);
}

/** CRC32 of `bytes`, base64 as in `x-amz-checksum-crc32` (native zlib where Node has it). */
export function crc32Base64(bytes: Buffer): Promise<string> {
  const crc = new Crc32();
  crc.update(bytes);
  return digestBase64(crc);
}

/**
 * `size` bytes of `source` read whole and verified, for a request that needs its body in memory
 * (the SDK's, or an upload part a retry may send again).
 */
export async function wholeBody(source: PartSource, size: number, key: string): Promise<Buffer> {
  let bytes = Buffer.allocUnsafe(size);
  try {
    bytes = bytes.subarray(0, await readFully(source, bytes, 0));
  } catch (err) {
    throw readFailed(key, err);
  }
  await source.verify();
  if (bytes.length !== size) throw lengthChanged(key, bytes.length, size);
  return bytes;
}

/** A body shorter or longer than announced: the file changed while it was read. */
export function lengthChanged(key: string, read: number, size: number): SyncError {
  return new SyncError(`put ${key}: read ${read} bytes where ${size} were expected (changed while read)`);
}

function readFailed(key: string, err: unknown): SyncError {
  return new SyncError(`put ${key}: reading the body failed: ${messageOf(err)}`, { cause: err });
}

/** `size` bytes of `source` as a PUT body, refused before its last byte unless they give `crc32`. */
export function fileBody(source: PartSource, size: number, crc32: string, key: string): SizedBody {
  return {
    length: size,
    async send(write) {
      const crc = new Crc32();
      await eachChunk(source, size, key, async (chunk, last) => {
        crc.update(chunk);
        if (last) {
          // The source's own check first: it tells its caller the file changed (a skip, not a failure).
          await source.verify();
          if ((await digestBase64(crc)) !== crc32) throw changedWhileRead(key);
        }
        await write(chunk);
      });
    },
  };
}

/** Reads `size` bytes of `source` into one buffer, chunk after chunk, each handled before the next is read. */
async function eachChunk(
  source: PartSource,
  size: number,
  key: string,
  handle: (chunk: Buffer, last: boolean) => void | Promise<void>,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(size, CHUNK_BYTES)));
  for (let position = 0; position < size; ) {
    let read: number;
    try {
      read = await source.readAt(buffer.subarray(0, Math.min(buffer.length, size - position)), position);
    } catch (err) {
      throw readFailed(key, err);
    }
    if (read === 0) throw lengthChanged(key, position, size);
    position += read;
    await handle(buffer.subarray(0, read), position === size);
  }
}

function changedWhileRead(key: string): SyncError {
  return new SyncError(`put ${key}: the file changed while it was read (its bytes no longer match their CRC32)`);
}
