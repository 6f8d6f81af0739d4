/**
 * The stat-based scan of LocalPath: the truth of the local side. Regular files only, relative
 * POSIX paths, size and mtime from lstat/stat; no file is read.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { LocalEntry } from '../sync/types.js';
import { INTERNAL_NAME_PREFIX, unsafePathReason } from './paths.js';

/** A path the scan left out, and why. When `folder` is true nothing under it is known. */
export interface SkippedPath {
  readonly path: string;
  readonly reason: string;
  readonly folder: boolean;
}

/** What a scan found: every regular file by relative path, and what it left out. */
export interface ScanResult {
  readonly entries: Map<string, LocalEntry>;
  readonly skipped: SkippedPath[];
}

/** How to scan. `realRoot` is the root with symlinks resolved, for the containment check. */
export interface ScanOptions {
  readonly root: string;
  readonly realRoot: string;
  readonly followSymlinks: boolean;
  /** Relative folders left out entirely (`--md5-skip-path`), normalized (no `./`, no trailing `/`). */
  readonly skipPaths: readonly string[];
  /** File-system calls in flight at once. */
  readonly concurrency?: number;
}

/** True when `inner` is `outer` or lies below it (both absolute, symlinks resolved). */
export function isInside(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}

/** True when `path` is one of the `folders` or lies below one. */
export function isUnderAny(path: string, folders: readonly string[]): boolean {
  return folders.some((f) => path === f || path.startsWith(`${f}/`));
}

/** Lists every regular file under the root. */
export async function scanTree(options: ScanOptions): Promise<ScanResult> {
  const limit = pLimit(options.concurrency ?? 64);
  const entries = new Map<string, LocalEntry>();
  const skipped: SkippedPath[] = [];
  const skip = (path: string, reason: string, folder: boolean): void => {
    skipped.push({ path, reason, folder });
  };

  const addFile = (path: string, st: Stats): void => {
    entries.set(path, { size: st.size, mtimeMs: st.mtimeMs });
  };

  /**
   * `chain` holds the real paths of the folders walked to get here: a symlink to one of them or
   * to a folder above one of them would walk forever.
   */
  async function walkDir(relDir: string, absDir: string, chain: readonly string[]): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = await limit(() => readdir(absDir, { withFileTypes: true }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && relDir !== '') return; // removed while scanning
      if (relDir === '') throw new Error(`scan ${options.root}: ${(err as Error).message}`, { cause: err });
      skip(relDir, `unreadable folder (${code ?? String(err)})`, true);
      return;
    }
    await Promise.all(dirents.map((d) => visit(d, relDir, absDir, chain)));
  }

  async function visit(d: Dirent, relDir: string, absDir: string, chain: readonly string[]): Promise<void> {
    const name = d.name;
    if (name.startsWith(INTERNAL_NAME_PREFIX)) return;
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    const abs = join(absDir, name);
    const unsafe = unsafePathReason(rel);
    if (unsafe !== null) return skip(rel, `unsafe name: ${unsafe}`, d.isDirectory());
    if (isUnderAny(rel, options.skipPaths)) return skip(rel, 'md5-skip-path', d.isDirectory());

    let kind: 'file' | 'dir' | 'link' | 'other';
    let st: Stats | null | undefined;
    if (d.isFile()) kind = 'file';
    else if (d.isDirectory()) kind = 'dir';
    else if (d.isSymbolicLink()) kind = 'link';
    else {
      // Some file systems report no type in readdir (DT_UNKNOWN): ask lstat.
      st = await lstatOrNull(abs);
      if (!st) return;
      kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other';
    }

    switch (kind) {
      case 'file': {
        st ??= await lstatOrNull(abs);
        if (st?.isFile()) addFile(rel, st);
        return;
      }
      case 'dir':
        return walkDir(rel, abs, [...chain, join(chain[chain.length - 1] ?? options.realRoot, name)]);
      case 'other':
        return skip(rel, 'not a regular file', false);
      case 'link':
        if (!options.followSymlinks) return skip(rel, 'symlink not followed', false);
        return followLink(rel, abs, chain);
    }
  }

  async function followLink(rel: string, abs: string, chain: readonly string[]): Promise<void> {
    let real: string;
    let st: Stats;
    try {
      real = await limit(() => realpath(abs));
      st = await limit(() => stat(abs));
    } catch {
      return skip(rel, 'dangling symlink', false);
    }
    if (!isInside(options.realRoot, real)) return skip(rel, 'symlink leads outside LocalPath', st.isDirectory());
    if (st.isFile()) return addFile(rel, st);
    if (!st.isDirectory()) return skip(rel, 'symlink to something other than a file or folder', false);
    if (chain.some((c) => isInside(real, c))) return skip(rel, 'symlink loop', true);
    return walkDir(rel, abs, [...chain, real]);
  }

  function lstatOrNull(abs: string): Promise<Stats | null> {
    return limit(() => lstat(abs)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw new Error(`stat ${abs}: ${err.message}`, { cause: err });
    });
  }

  await walkDir('', options.root, [options.realRoot]);
  return { entries, skipped };
}
