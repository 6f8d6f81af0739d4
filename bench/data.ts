/**
 * Test data for the benchmark: trees of random files on disk, and checks that a transfer made
 * the other side hold exactly the same files (every name and size, and the bytes of a sample).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';

/** A generated tree: its root and its files (relative POSIX paths) with their sizes. */
export interface Tree {
  readonly root: string;
  readonly files: ReadonlyMap<string, number>;
}

/** Shape of a generated tree. */
export interface TreeSpec {
  readonly count: number;
  readonly bytes: number;
  readonly filesPerFolder: number;
}

/**
 * Writes `count` files of random bytes under `root`, `filesPerFolder` to a folder. Every mtime is
 * set an hour back, so the files are plainly older than the objects made from them (as files that
 * existed before a sync are) and `aws s3 sync` down treats them as current.
 */
export async function generateTree(root: string, spec: TreeSpec): Promise<Tree> {
  const files = new Map<string, number>();
  const limit = pLimit(16);
  const past = new Date(Date.now() - 3600_000);
  const width = String(spec.count - 1).length;
  await Promise.all(
    Array.from({ length: spec.count }, (_, i) =>
      limit(async () => {
        const folder = `d${String(Math.floor(i / spec.filesPerFolder)).padStart(3, '0')}`;
        const path = `${folder}/f${String(i).padStart(width, '0')}.bin`;
        await mkdir(join(root, folder), { recursive: true });
        const body = randomFillSync(Buffer.allocUnsafe(spec.bytes));
        await writeFile(join(root, path), body);
        await utimes(join(root, path), past, past);
        files.set(path, spec.bytes);
      }),
    ),
  );
  return { root, files };
}

/** Every regular file under `root` with its size (relative POSIX paths). */
export async function listTree(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), path);
      else out.set(path, entry.isFile() ? (await stat(join(dir, entry.name))).size : -1);
    }
  };
  await walk(root, '');
  return out;
}

/** Up to `n` paths spread evenly over the sorted list (first and last included). */
export function samplePaths(files: ReadonlyMap<string, number>, n: number): string[] {
  const sorted = [...files.keys()].sort();
  if (sorted.length <= n) return sorted;
  const step = (sorted.length - 1) / (n - 1);
  return Array.from({ length: n }, (_, i) => sorted[Math.round(i * step)]!);
}

/**
 * Compares two listings (path → size); returns what differs, in words, or null when equal.
 * `what` names the side being checked, for the message.
 */
export function compareListings(
  expected: ReadonlyMap<string, number>,
  actual: ReadonlyMap<string, number>,
  what: string,
): string | null {
  const missing = [...expected.keys()].filter((p) => !actual.has(p));
  const extra = [...actual.keys()].filter((p) => !expected.has(p));
  const wrongSize = [...expected].filter(([p, size]) => actual.has(p) && actual.get(p) !== size).map(([p]) => p);
  if (missing.length + extra.length + wrongSize.length === 0) return null;
  const show = (list: string[]): string => `${list.length} (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', …' : ''})`;
  return `${what}: missing ${show(missing)}, unexpected ${show(extra)}, wrong size ${show(wrongSize)}`;
}

/** SHA-256 of a file, for comparing bytes without keeping both copies around. */
export async function fileDigest(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** SHA-256 of a buffer. */
export function bufferDigest(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}
