/** Byte-reading helpers shared by the local and remote sides. */
import type { Readable } from 'node:stream';

/**
 * Bodies up to this size are handled as one Buffer (read whole, checked whole, written in one
 * call): for the small files most apps keep, stream machinery costs more than the bytes.
 */
export const WHOLE_BODY_BYTES = 1024 * 1024;

/**
 * Every byte of `stream` in one Buffer. node:stream/consumers' `buffer()` goes through a Blob
 * (two extra copies and a transfer per call), which shows in profiles of thousands of small files.
 */
export async function readWhole(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Anything read at offsets: a file opened for upload, a part source. */
export interface ReadableAt {
  readAt(into: Buffer, position: number): Promise<number>;
}

/** Fills `into` from `position` until it is full or the source ends; returns the bytes read. */
export async function readFully(source: ReadableAt, into: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < into.length) {
    const n = await source.readAt(into.subarray(filled), position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}
