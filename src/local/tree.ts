/**
 * LocalTree: everything the engine does with LocalPath — scan, hash, read for upload, atomic
 * write, delete, copy, crash cleanup, watch — behind one object bound to the root and its options.
 * Relative paths are POSIX and are checked with `unsafePathReason` before any file-system call.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, read, readlinkSync, readSync, realpathSync, statfsSync, statSync, type Stats, type StatsFs } from 'node:fs';
import { copyFile, lstat, realpath, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { LocalChangedError, messageOf, SyncError, UnsafePathError } from '../errors.js';
import { WHOLE_BODY_BYTES, type ChunkSource } from '../streams.js';
import { racyRead, type FileStat, type LocalEntry } from '../sync/types.js';
import { etagInLayoutOf } from './hash.js';
import { unsafePathReason } from './paths.js';
import { entryOf, isInside, scanTree, type ScanResult } from './scan.js';
import { watchTree, type LocalWatcher } from './watch.js';
import {
  cleanTempFiles,
  copyAtomic,
  removeEmptyFolder,
  removeFile,
  tempPathFor,
  unlinkQuietly,
  writeAtomic,
  type Expectation,
  type WriteContext,
} from './write.js';

/** Options of a LocalTree. */
export interface LocalTreeOptions {
  /** Follow symlinks (`--follow-symlinks`); even then never to anything outside the root. */
  readonly followSymlinks: boolean;
  /** Folders (relative) left out of change detection (`--md5-skip-path`). */
  readonly skipPaths: readonly string[];
  /** fsync downloaded data before the rename; default false (see `writeAtomic`). */
  readonly fsync?: boolean;
}

/** A file opened for upload: its bytes as of `size`, and a check that it did not change meanwhile. */
export interface UploadSource {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /**
   * The file's ctime was within RACY_WINDOW_MS of the read (see racyRead): a write in the same
   * timestamp tick as that stat could leave size, mtime and ctime as they were, so what was read
   * must be checked again next round (the baseline records RACY_CTIME).
   */
  readonly racy: boolean;
  /** The whole content, read when opened, for a small file. */
  readonly bytes?: Buffer;
  /** Fills `into` with the bytes from `position`, never past `size`; resolves how many (0 at the end). */
  readAt(into: Buffer, position: number): Promise<number>;
  /** Stats the file again: false when size, mtime, ctime or inode changed since it was opened. */
  unchanged(): Promise<boolean>;
  /** Releases the file (call it once the upload is done or abandoned). */
  close(): void;
}

/** Normalizes `--md5-skip-path` entries: no `./` lead, no slashes at either end, no empties. */
export function normalizeSkipPaths(paths: readonly string[]): string[] {
  return paths.map((p) => p.replace(/^(\.\/)+/, '').replace(/^\/+|\/+$/g, '')).filter((p) => p !== '' && p !== '.');
}

/** The local side of the sync, bound to one root folder. */
export class LocalTree {
  /** Absolute root as given (resolved against the working directory). */
  readonly root: string;
  private readonly options: LocalTreeOptions;
  private readonly skipPaths: readonly string[];
  private realRootPromise: Promise<string> | undefined;

  constructor(root: string, options: LocalTreeOptions) {
    this.root = resolve(root);
    this.options = options;
    this.skipPaths = normalizeSkipPaths(options.skipPaths);
  }

  /**
   * Lists every regular file (size, mtime) without reading any. Internal `.s3-sync2*` names are
   * left out silently; symlinks not followed, `--md5-skip-path` folders, unreadable folders and
   * unsafe names are reported in `skipped` (a skipped folder: nothing under it is known). Throws
   * when the root itself cannot be read — it is never created here, so a missing volume is not
   * mistaken for an empty folder.
   */
  async scan(): Promise<ScanResult> {
    return scanTree({
      root: this.root,
      realRoot: await this.realRoot(),
      followSymlinks: this.options.followSymlinks,
      skipPaths: this.skipPaths,
    });
  }

  /**
   * One file's entry as a scan would report it now, or null when it is not a regular file the
   * scan would list (missing, a folder, a symlink not followed or leading outside the root).
   */
  async stat(path: string): Promise<LocalEntry | null> {
    this.check(path);
    const abs = join(this.root, path);
    try {
      if (!this.options.followSymlinks) {
        const st = await lstat(abs);
        if (!st.isFile() || (await realpath(abs)) !== join(await this.realRoot(), path)) return null;
        return entryOf(st);
      }
      if (!isInside(await this.realRoot(), await realpath(abs))) return null;
      const st = await stat(abs);
      return st.isFile() ? entryOf(st) : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw new SyncError(`stat ${path}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** The file's S3-style ETag in the upload layout of an object's `etag` (see `etagInLayoutOf`). */
  async etagInLayoutOf(path: string, etag: string, size: number, partSizes: readonly number[]): Promise<string | undefined> {
    return etagInLayoutOf(await this.resolveReadable(path), etag, size, partSizes);
  }

  /**
   * Opens a file for upload. Throws UnsafePathError when the path, with symlinks resolved, is
   * outside the root (or is a symlink while symlinks are not followed), and LocalChangedError
   * when the file is gone.
   */
  async openForUpload(path: string): Promise<UploadSource> {
    const abs = await this.resolveReadable(path);
    const { fd, before, readStartedMs } = await this.openChecked(path, abs);
    return uploadSource(path, fd, before, racyRead(before, readStartedMs), async () => {
      const after = statSync(abs, { throwIfNoEntry: false });
      return after !== undefined && sameVersion(before, after);
    });
  }

  /**
   * A private copy of a file that changed while it was read for upload: a copy takes
   * milliseconds where the upload took seconds, so a file the app keeps appending to is almost
   * always caught between two writes. The copy (`.s3-sync2-tmp-*` beside the file: the same file
   * system, so a reflink where it can, and a crash leftover is removed at start like any temp
   * file) counts only when the file's stat, ctime included, is the same before and after it;
   * otherwise it is made again, a few times. The upload reports the source's size and mtime as
   * copied, so a later change is still a change. The copy's name is gone as soon as it is open;
   * its space goes with close(). Null when the file changed during every copy.
   */
  async snapshotForUpload(path: string): Promise<UploadSource | null> {
    const abs = await this.resolveReadable(path);
    for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(SNAPSHOT_PAUSE_MS * (attempt - 1));
      const snapshot = await this.copyIfStill(path, abs);
      if (snapshot) return snapshot;
    }
    return null;
  }

  /** One snapshot attempt: the copy as an upload source, or null when the file changed meanwhile. */
  private async copyIfStill(path: string, abs: string): Promise<UploadSource | null> {
    const source = await this.openChecked(path, abs);
    const copy = tempPathFor(abs);
    let fd: number;
    try {
      refuseWithoutRoom(path, abs, source.before.size, (dir) => this.spaceOf(dir));
      // Copied from the file opened and checked, not from whatever the path names by then.
      const opened = `/proc/self/fd/${source.fd}`;
      await this.copyForSnapshot(existsSync(opened) ? opened : abs, copy);
      const after = statSync(abs, { throwIfNoEntry: false });
      if (after === undefined) throw new LocalChangedError(path);
      if (!sameVersion(source.before, after)) return null;
      fd = openSync(copy, constants.O_RDONLY);
    } catch (err) {
      if (err instanceof SyncError) throw err;
      if (isGone(err as Error)) throw new LocalChangedError(path);
      throw new SyncError(`snapshot ${path} for upload: ${messageOf(err)}`, { cause: err });
    } finally {
      closeSync(source.fd);
      // Open, the copy lives on unnamed until closed, and never outlives this process.
      unlinkQuietly(copy);
    }
    // Nothing else can reach the copy now: it stays as copied.
    return uploadSource(path, fd, source.before, racyRead(source.before, source.readStartedMs), async () => true);
  }

  /** The space of the file system holding `dir` (a test's seam: a nearly full disk). */
  protected spaceOf(dir: string): FileSystemSpace {
    return statfsSync(dir);
  }

  /** The copy of a snapshot (a test's seam: a writer that always gets in between). */
  protected async copyForSnapshot(from: string, to: string): Promise<void> {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  }

  /** Opens `abs` (the checked location of `path`) and stats it: a regular file, the one the path names. */
  private async openChecked(path: string, abs: string): Promise<{ fd: number; before: Stats; readStartedMs: number }> {
    // Sync calls: on task storage they take microseconds, where each async call costs a
    // thread-pool round trip, which for thousands of small files is most of an upload's CPU.
    let fd: number;
    try {
      // Non-blocking: a FIFO swapped in since the scan must not hold the event loop until a writer comes.
      fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      if (isGone(err as Error)) throw new LocalChangedError(path);
      throw new SyncError(`open ${path} for upload: ${messageOf(err)}`, { cause: err });
    }
    try {
      await this.checkOpened(path, fd);
      // Noted before the stat: a write after this instant gets a later timestamp unless it lands
      // in the same coarse tick as a stat this recent (see racyRead).
      const readStartedMs = Date.now();
      const before = fstatSync(fd);
      if (!before.isFile()) throw new SyncError(`open ${path} for upload: not a regular file`);
      return { fd, before, readStartedMs };
    } catch (err) {
      closeSync(fd);
      throw err instanceof SyncError ? err : new SyncError(`read ${path} for upload: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * Writes `body` to `path` atomically: parent folders created, a temp file `.s3-sync2-tmp-*` in
   * the target's folder, mtime set to `mtimeMs`, renamed over the target. Returns the entry the
   * next scan will see. Throws PathCollisionError when a parent is a file (or a symlink not
   * followed / leading outside) or the target is a folder or a symlink not followed; the temp
   * file never outlives a failure. `expected` guards a concurrent change by the app: the entry the
   * scan saw, or null when it saw no file; when the target is no longer that, nothing is replaced
   * and LocalChangedError is thrown (omit it to replace whatever is there). `sizeHint` (the
   * body's announced length) lets a small body be written in one call.
   * Data is not fsynced unless the `fsync` option is set: a process crash loses nothing (the
   * page cache survives it), and Fargate task storage does not outlive a kernel crash anyway.
   */
  async writeAtomic(
    path: string,
    body: ChunkSource | Buffer,
    mtimeMs: number,
    expected?: Expectation,
    sizeHint?: number,
  ): Promise<FileStat> {
    this.check(path);
    return writeAtomic(await this.writeContext(), path, body, mtimeMs, expected, sizeHint);
  }

  /**
   * Deletes a file; one already gone is fine. With `expected` (the entry the scan saw), a file
   * changed since is kept and LocalChangedError thrown. Empty parent folders are kept (as
   * `aws s3 sync` does), since the app may rely on a folder it made.
   */
  async remove(path: string, expected?: Expectation): Promise<void> {
    this.check(path);
    return removeFile(await this.writeContext(), path, expected);
  }

  /** Removes the folder `path` if it is empty; anything else there is left alone. */
  async removeEmptyFolder(path: string): Promise<void> {
    this.check(path);
    removeEmptyFolder(await this.writeContext(), path);
  }

  /** Copies `from` to `to` atomically, keeping the mtime (the loser of a keep-both conflict). */
  async copyLocal(from: string, to: string): Promise<FileStat> {
    this.check(from);
    this.check(to);
    await this.resolveReadable(from);
    return copyAtomic(await this.writeContext(), from, to);
  }

  /** Removes `.s3-sync2-tmp-*` files left anywhere under the root by a crashed run; returns how many. */
  async cleanLeftovers(): Promise<number> {
    return cleanTempFiles(this.root);
  }

  /**
   * Calls `onChange(relativePath)` on file-system events (not for what exists at start), leaving
   * out internal names and skip paths. Only an early trigger: events may be missed or coalesced.
   */
  watch(onChange: (path: string) => void, onError?: (err: Error) => void): LocalWatcher {
    return watchTree({
      root: this.root,
      followSymlinks: this.options.followSymlinks,
      skipPaths: this.skipPaths,
      onChange,
      onError,
    });
  }

  /** The absolute path of `path`, checked: its real location is inside the root. */
  private async resolveReadable(path: string): Promise<string> {
    this.check(path);
    const abs = join(this.root, path);
    let real: string;
    try {
      real = realpathSync.native(abs);
    } catch (err) {
      // Deleted by the app since the scan: not a failure, the next round sees it gone.
      if (isGone(err as Error)) throw new LocalChangedError(path);
      throw new SyncError(`resolve ${path}: ${messageOf(err)}`, { cause: err });
    }
    const realRoot = await this.realRoot();
    if (!isInside(realRoot, real)) throw new UnsafePathError(path, 'it resolves outside LocalPath');
    if (!this.options.followSymlinks && real !== join(realRoot, path)) {
      throw new UnsafePathError(path, 'it goes through a symlink and symlinks are not followed');
    }
    return abs;
  }

  /**
   * The path was checked before it was opened; a symlink swapped into it in between would be
   * followed by the open. Where Linux tells what an open file is (/proc/self/fd), that is checked
   * too: outside LocalPath is refused; anywhere but the path itself (without --follow-symlinks),
   * or deleted since, is a change the next round looks at again.
   */
  private async checkOpened(path: string, fd: number): Promise<void> {
    let opened: string;
    try {
      opened = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return;
    }
    const realRoot = await this.realRoot();
    if (opened === join(realRoot, path)) return;
    // Deleted since (Linux then names it "<path> (deleted)", which a real name may also end with).
    if (fstatSync(fd).nlink === 0) throw new LocalChangedError(path);
    if (!isInside(realRoot, opened)) throw new UnsafePathError(path, 'it resolved outside LocalPath as it was opened');
    if (!this.options.followSymlinks) throw new LocalChangedError(path);
  }

  private check(path: string): void {
    const unsafe = unsafePathReason(path);
    if (unsafe !== null) throw new UnsafePathError(path, unsafe);
  }

  private realRoot(): Promise<string> {
    this.realRootPromise ??= realpath(this.root).catch((err: Error) => {
      this.realRootPromise = undefined;
      throw new SyncError(`open LocalPath ${this.root}: ${err.message}`, { cause: err });
    });
    return this.realRootPromise;
  }

  private async writeContext(): Promise<WriteContext> {
    return {
      root: this.root,
      realRoot: await this.realRoot(),
      followSymlinks: this.options.followSymlinks,
      fsync: this.options.fsync ?? false,
    };
  }
}

/** What statfs says of a file system's space: blocks free to unprivileged users, block size, blocks. */
export type FileSystemSpace = Pick<StatsFs, 'bavail' | 'bsize' | 'blocks'>;

/** Copies of a file that keeps changing made before its upload waits for the next round. */
const SNAPSHOT_ATTEMPTS = 5;
/** Pause before the second copy (then twice, three times as long): out of step with the writes. */
const SNAPSHOT_PAUSE_MS = 20;
/** Free space a snapshot must leave to the app: this share of the file system, and at least the floor. */
const SNAPSHOT_SPARE_SHARE = 0.05;
const SNAPSHOT_SPARE_FLOOR = 64 * 1024 * 1024;

/**
 * Throws unless a copy of `size` bytes beside `abs` leaves the app room to write (a reflink would
 * take none, but that cannot be known before): a snapshot must never make the app's writes fail.
 */
export function refuseWithoutRoom(path: string, abs: string, size: number, statfs: (dir: string) => FileSystemSpace = statfsSync): void {
  const fs = statfs(dirname(abs));
  const free = fs.bavail * fs.bsize;
  const spare = Math.max(SNAPSHOT_SPARE_FLOOR, fs.blocks * fs.bsize * SNAPSHOT_SPARE_SHARE);
  if (free - size < spare) {
    throw new SyncError(`snapshot ${path} for upload: no room for a ${size}-byte copy (${free} bytes free, ${Math.round(spare)} kept for the app)`);
  }
}

/**
 * The upload source of an open regular file as `before` describes it (`racy`: see UploadSource);
 * `unchanged` tells whether the bytes read are still that version. Takes the descriptor over (closes it on any failure).
 */
function uploadSource(path: string, fd: number, before: Stats, racy: boolean, unchanged: () => Promise<boolean>): UploadSource {
  let whole: Buffer | undefined;
  try {
    if (before.size <= WHOLE_BODY_BYTES) whole = readUpTo(fd, before.size);
  } catch (err) {
    closeSync(fd);
    throw new SyncError(`read ${path} for upload: ${messageOf(err)}`, { cause: err });
  }
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  if (whole !== undefined) close();
  const size = before.size;
  return {
    size,
    mtimeMs: before.mtimeMs,
    ctimeMs: before.ctimeMs,
    racy,
    bytes: whole,
    // Never past the size stated when opened: a file growing meanwhile is caught by unchanged().
    readAt: async (into, position) => {
      const length = Math.max(0, Math.min(into.length, size - position));
      if (whole !== undefined) return whole.copy(into, 0, position, position + length);
      if (length === 0) return 0;
      if (!open) throw new SyncError(`read ${path} for upload: the file was closed`);
      return readAt(fd, into, length, position);
    },
    unchanged,
    close,
  };
}

/** Same file, same version: size, mtime, ctime (which every write and rename moves), inode. */
function sameVersion(before: Stats, after: Stats): boolean {
  return (
    after.size === before.size &&
    after.mtimeMs === before.mtimeMs &&
    after.ctimeMs === before.ctimeMs &&
    after.ino === before.ino &&
    after.dev === before.dev
  );
}

/** One read of up to `length` bytes at `position` into the start of `into`. */
function readAt(fd: number, into: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, into, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });
}

/** Up to `size` bytes from the start of `fd` (fewer when the file shrank meanwhile). */
function readUpTo(fd: number, size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const n = readSync(fd, bytes, filled, size - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === size ? bytes : bytes.subarray(0, filled);
}

/** The file (or a folder on its way) no longer exists. */
function isGone(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export type { ScanResult, SkippedPath } from './scan.js';
export type { LocalWatcher } from './watch.js';
