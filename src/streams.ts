/** Byte-reading helpers shared by the local and remote sides. */
import type { Readable } from 'node:stream';

/**
 * Bodies up to this size are handled as one Buffer (read whole, checked whole, written in one
 * call): for the small files most apps keep, stream machinery costs more than the bytes.
 */
export const WHOLE_BODY_BYTES = 1024 * 1024;

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

/**
 * What a `ChunkSource` hands its bytes to. A chunk is valid only until the sink returns or, when
 * it returns a promise, until that settles: the next bytes may be read into the same memory.
 */
export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

/**
 * A body read once, chunk by chunk, into the reader's sink: a download read into one reused
 * buffer (see remote/raw-http.ts), or any stream.
 */
export interface ChunkSource {
  /**
   * Hands every byte to `sink`, in order, and resolves after the last; rejects when the body
   * breaks off, fails a check, or the sink throws (the rest is then dropped). It never settles
   * while a promise the sink returned is pending (the sink may still be using the chunk).
   */
  pour(sink: ChunkSink): Promise<void>;
  /** Gives the body up unread or half read (its connection is closed). */
  destroy(): void;
}

/** `stream` as a ChunkSource (the SDK's and the http module's bodies). */
export function streamSource(stream: Readable): ChunkSource {
  return {
    async pour(sink) {
      for await (const chunk of stream) await sink(chunk as Buffer);
    },
    destroy: () => stream.destroy(),
  };
}

/**
 * Every byte of `source` in one Buffer (copied: its chunks are only lent), up to `limit` bytes
 * kept — the rest is read and dropped. `size`, when known, is allocated at once.
 */
export async function collect(source: ChunkSource, size?: number, limit = Infinity): Promise<Buffer> {
  if (size !== undefined && size <= limit) {
    const whole = Buffer.allocUnsafe(size);
    let filled = 0;
    await source.pour((chunk) => {
      if (filled + chunk.length > size) throw new Error(`the body is longer than the ${size} bytes announced`);
      filled += chunk.copy(whole, filled);
    });
    return whole.subarray(0, filled);
  }
  const chunks: Buffer[] = [];
  let kept = 0;
  await source.pour((chunk) => {
    if (kept >= limit) return;
    const part = chunk.subarray(0, limit - kept);
    chunks.push(Buffer.from(part));
    kept += part.length;
  });
  return Buffer.concat(chunks, kept);
}
