/**
 * Both sides of a sync as plain maps (relative path → bytes), to assert convergence the way a
 * user would check it: every file on disk is an object in the bucket with the same bytes, and
 * the other way round. The sidecar's own `.s3-sync2*` names are left out on both sides.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3TestEndpoint } from './s3.js';
import { waitFor } from './wait.js';

/** Relative POSIX path → content. */
export type Files = Map<string, Buffer>;

const isInternal = (path: string) => path.split('/').some((segment) => segment.startsWith('.s3-sync2'));

/** Every regular file under `root` (recursively), internal names left out. */
export async function localFiles(root: string): Promise<Files> {
  const out: Files = new Map();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (isInternal(path)) continue;
      if (entry.isDirectory()) await walk(join(dir, entry.name), path);
      else if (entry.isFile()) out.set(path, await readFile(join(dir, entry.name)));
    }
  };
  await walk(root, '');
  return out;
}

/** Every object under `prefix` (no trailing slash), keyed by its path below the prefix. */
export async function bucketFiles(s3: S3TestEndpoint, bucket: string, prefix: string): Promise<Files> {
  const out: Files = new Map();
  const base = prefix ? `${prefix}/` : '';
  for (const key of await s3.keys(bucket, base)) {
    const path = key.slice(base.length);
    if (isInternal(path)) continue;
    out.set(path, await s3.getBuffer(bucket, key));
  }
  return out;
}

/** Files as path → text, sorted by path, for readable assertion diffs. */
export function asText(files: Files): Record<string, string> {
  return Object.fromEntries([...files.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([p, b]) => [p, b.toString('utf8')]));
}

/** Where a sync runs: the local folder and the bucket prefix. */
export interface SyncPair {
  readonly dir: string;
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * Waits until the folder and the prefix hold the same files with the same bytes, and (when
 * given) exactly `expected`; returns the converged files as text.
 */
export async function waitConverged(
  s3: S3TestEndpoint,
  pair: SyncPair,
  expected?: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Record<string, string>> {
  let last = '';
  try {
    return await waitFor(
      'the folder and the bucket to converge',
      async () => {
        const [local, remote] = await Promise.all([localFiles(pair.dir), bucketFiles(s3, pair.bucket, pair.prefix)]);
        const l = asText(local);
        const r = asText(remote);
        last = `local ${JSON.stringify(l)}\nremote ${JSON.stringify(r)}`;
        const same = sameFiles(local, remote);
        const wanted = !expected || JSON.stringify(l) === JSON.stringify(sortKeys(expected));
        return same && wanted ? l : null;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${last}${expected ? `\nexpected ${JSON.stringify(sortKeys(expected))}` : ''}`);
  }
}

/** Same paths with byte-identical contents. */
export function sameFiles(a: Files, b: Files): boolean {
  if (a.size !== b.size) return false;
  for (const [path, bytes] of a) {
    const other = b.get(path);
    if (!other || !other.equals(bytes)) return false;
  }
  return true;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
