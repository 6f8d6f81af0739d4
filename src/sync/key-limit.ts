/**
 * S3's limit on key length, applied to local paths: a file whose key would be longer is refused by
 * S3 (KeyTooLongError) on every upload, which failed every tick and, at --max-failures, the task.
 * Such a path stays out of the sync, unknown as an unreadable file is: never uploaded, and never
 * taken for deleted.
 */
import { pathToKey } from '../local/paths.js';
import type { SkippedPath } from '../local/scan.js';
import type { LocalScan } from '../local/snapshot.js';

/** S3's longest object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** The longest relative path whose key under `prefix` S3 accepts, in UTF-8 bytes. */
export function maxPathBytes(prefix: string): number {
  return MAX_KEY_BYTES - Buffer.byteLength(pathToKey(prefix, ''));
}

/** `scan` without the paths longer than `maxBytes`, which join its skipped paths; `scan` itself when there are none. */
export function withinKeyLimit(scan: LocalScan, maxBytes: number): LocalScan {
  const tooLong = tooLongPaths(scan.entries, maxBytes);
  if (tooLong.length === 0) return scan;
  const entries = new Map(scan.entries);
  for (const { path } of tooLong) entries.delete(path);
  const skipped = tooLong.map(({ path, bytes }): SkippedPath => ({
    path,
    kind: 'key-too-long',
    reason: `key too long: ${bytes} bytes, ${maxBytes} fit under the prefix (S3 keys hold ${MAX_KEY_BYTES})`,
    folder: false,
  }));
  return { ...scan, entries, skipped: [...scan.skipped, ...skipped] };
}

/**
 * Snapshots already checked: a reused snapshot is the same map tick after tick (nothing changes
 * it), and walking its 10,000 paths again was a tenth of an idle tick's CPU.
 */
const checked = new WeakMap<ReadonlyMap<string, unknown>, { readonly maxBytes: number; readonly tooLong: readonly TooLong[] }>();

interface TooLong {
  readonly path: string;
  readonly bytes: number;
}

function tooLongPaths(entries: ReadonlyMap<string, unknown>, maxBytes: number): readonly TooLong[] {
  const known = checked.get(entries);
  if (known?.maxBytes === maxBytes) return known.tooLong;
  const tooLong: TooLong[] = [];
  for (const path of entries.keys()) {
    // A UTF-16 unit is at most 3 bytes of UTF-8: most paths need no count.
    if (path.length * 3 <= maxBytes) continue;
    const bytes = Buffer.byteLength(path);
    if (bytes > maxBytes) tooLong.push({ path, bytes });
  }
  checked.set(entries, { maxBytes, tooLong });
  return tooLong;
}
