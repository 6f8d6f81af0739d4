/** Small helpers for tests of the local tree: files in a temp root. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LocalTree } from '../../src/local/tree.js';

/** Writes `content` (default: the path itself) at `rel` under `root`, creating folders. */
export async function put(root: string, rel: string, content: string | Buffer = rel): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), content);
}

/** A LocalTree on `root` with the given symlink policy and skip paths. */
export function tree(root: string, followSymlinks = false, skipPaths: string[] = []): LocalTree {
  return new LocalTree(root, { followSymlinks, skipPaths });
}
