/**
 * The stat-based scan of LocalPath: the truth of the local side. Regular files only, relative
 * POSIX paths, size, mtime and ctime from lstat/stat; no file is read.
 */
import { lstatSync, type Dirent, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import type { LocalEntry } from '../sync/types.js';
import { INTERNAL_NAME_PREFIX, unsafePathReason } from './paths.js';

/**
 * What kind of skip it is, for the sync: an `unreadable` path (or one whose key S3 would refuse)
 * is unknown — neither uploaded nor taken for deleted; an `unsafe-name` cannot be synced and is
 * worth a warning like those; a `deliberate` one (an option, a symlink) is left out on purpose.
 */
export type SkipKind = 'unreadable' | 'unsafe-name' | 'key-too-long' | 'deliberate';

/** A path the scan left out, and why. When `folder` is true nothing under it is known. */
export interface SkippedPath {
  readonly path: string;
  readonly kind: SkipKind;
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
}

/** Longest stretch the scan runs synchronously before it lets other work run. */
const MAX_BLOCKING_MS = 20;

/** True when `inner` is `outer` or lies below it (both absolute, symlinks resolved). */
export function isInside(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}

/**
 * True when `path` is one of `folders` or lies below one (relative POSIX paths): a look-up per
 * folder level of `path`, however many folders there are.
 */
export function isAtOrUnder(path: string, folders: ReadonlySet<string>): boolean {
  if (folders.size === 0) return false;
  if (folders.has(path)) return true;
  for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
    if (folders.has(path.slice(0, slash))) return true;
  }
  return false;
}

/** Lists every regular file under the root. */
export async function scanTree(options: ScanOptions): Promise<ScanResult> {
  const entries = new Map<string, LocalEntry>();
  const skipped: SkippedPath[] = [];
  const skipFolders = new Set(options.skipPaths);
  const skip = (path: string, kind: SkipKind, reason: string, folder: boolean): void => {
    skipped.push({ path, kind, reason, folder });
  };

  // Files are lstat'ed synchronously, keeping only size, mtime and ctime: an lstat of a local file takes
  // microseconds, where fs.promises or even the callback API cost a thread-pool round trip each,
  // which was most of a scan's CPU at 10,000 files. On a slow volume (a network file system)
  // the scan yields every few milliseconds, so /health and lock renewals keep their timing.
  let sliceStart = performance.now();
  const yieldIfLong = async (): Promise<void> => {
    if (performance.now() - sliceStart < MAX_BLOCKING_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const lstatFile = (rel: string): void => {
    let st: Stats | undefined;
    try {
      st = lstatSync(`${options.root}/${rel}`, { throwIfNoEntry: false });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') skip(rel, 'unreadable', `unreadable (${code ?? messageOf(err)})`, false);
      return;
    }
    // A name that is not valid UTF-8 reads back with U+FFFD and cannot be opened by that name.
    if (st === undefined) {
      if (rel.includes('\uFFFD')) skip(rel, 'unsafe-name', 'name is not valid UTF-8', false);
    } else if (st.isFile()) {
      entries.set(rel, entryOf(st));
    }
  };

  /**
   * `chain` holds the real paths of the folders walked to get here: a symlink to one of them or
   * to a folder above one of them would walk forever.
   */
  async function walkDir(relDir: string, absDir: string, chain: readonly string[]): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(absDir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && relDir !== '') {
        // As for files: a name that is not valid UTF-8 reads back with U+FFFD and cannot be
        // opened by that name. Reported as a folder, so nothing under it counts as deleted.
        if (relDir.slice(relDir.lastIndexOf('/') + 1).includes('\uFFFD')) skip(relDir, 'unsafe-name', 'name is not valid UTF-8', true);
        return; // otherwise: removed while scanning
      }
      if (relDir === '') throw new Error(`scan ${options.root}: ${messageOf(err)}`, { cause: err });
      skip(relDir, 'unreadable', `unreadable folder (${code ?? messageOf(err)})`, true);
      return;
    }
    const pending: Promise<void>[] = [];
    for (const d of dirents) {
      const name = d.name;
      if (name.startsWith(INTERNAL_NAME_PREFIX)) continue;
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const unsafe = unsafePathReason(rel);
      if (unsafe !== null) skip(rel, 'unsafe-name', `unsafe name: ${unsafe}`, d.isDirectory());
      else if (isAtOrUnder(rel, skipFolders)) skip(rel, 'deliberate', 'md5-skip-path', d.isDirectory());
      else if (d.isFile()) {
        lstatFile(rel);
        await yieldIfLong();
      }
      else if (d.isDirectory()) pending.push(walkDir(rel, join(absDir, name), [...chain, join(chain[chain.length - 1] ?? options.realRoot, name)]));
      else if (!d.isSymbolicLink()) skip(rel, 'deliberate', 'not a regular file', false);
      else if (!options.followSymlinks) skip(rel, 'deliberate', 'symlink not followed', false);
      else pending.push(followLink(rel, join(absDir, name), chain));
    }
    await Promise.all(pending);
  }

  async function followLink(rel: string, abs: string, chain: readonly string[]): Promise<void> {
    let real: string;
    let st: Stats;
    try {
      real = await realpath(abs);
      st = await stat(abs);
    } catch {
      return skip(rel, 'deliberate', 'dangling symlink', false);
    }
    if (!isInside(options.realRoot, real)) return skip(rel, 'deliberate', 'symlink leads outside LocalPath', st.isDirectory());
    if (st.isFile()) {
      entries.set(rel, entryOf(st));
      return;
    }
    if (!st.isDirectory()) return skip(rel, 'deliberate', 'symlink to something other than a file or folder', false);
    if (chain.some((c) => isInside(real, c))) return skip(rel, 'deliberate', 'symlink loop', true);
    return walkDir(rel, abs, [...chain, real]);
  }

  await walkDir('', options.root, [options.realRoot]);
  return { entries, skipped };
}

/** A file's entry from its stat. */
export function entryOf(st: Stats): LocalEntry {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** Whether two entries say the same of their file (every field `entryOf` takes). */
export function sameEntry(a: LocalEntry, b: LocalEntry): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
