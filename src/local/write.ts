/**
 * Writes into LocalPath that never expose half a file: temp file in the target's folder (a name
 * the scanner ignores), mtime set, then rename over the target.
 *
 * The checks and metadata calls are synchronous on purpose: on task storage each takes
 * microseconds, where an async call costs a thread-pool round trip; a download of thousands of
 * small files spent most of its CPU on those. Only large bodies are written asynchronously.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsync,
  futimesSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  write,
  writeSync,
  type Stats,
} from 'node:fs';
import { copyFile, readdir, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LocalChangedError, messageOf, PathCollisionError } from '../errors.js';
import type { FileStat } from '../sync/types.js';
import { TEMP_NAME_PREFIX } from './paths.js';
import { isInside } from './scan.js';
import { collect, WHOLE_BODY_BYTES, type ChunkSource } from '../streams.js';

/** Where writes go and how far symlinks are trusted. */
export interface WriteContext {
  readonly root: string;
  readonly realRoot: string;
  readonly followSymlinks: boolean;
  /** fsync the data before the rename (durability across a kernel crash, at a cost per file). */
  readonly fsync: boolean;
}

/** Unique to this process (another sidecar or a restarted one may share the folder). */
const processTag = `${process.pid.toString(36)}${randomBytes(6).toString('hex')}`;
let tempCount = 0;

/** A fresh temp name in the same folder as `absTarget`, so the rename stays on one file system. */
export function tempPathFor(absTarget: string): string {
  return join(dirname(absTarget), `${TEMP_NAME_PREFIX}${processTag}-${(++tempCount).toString(36)}`);
}

/**
 * Creates the parent folders of `rel` (relative path), checking each existing component: a file
 * there (keys `a` and `a/b`), a symlink we do not follow, or one leading outside LocalPath is a
 * collision, so nothing is ever written outside the root or through a link the scan ignores.
 */
export function ensureParents(ctx: WriteContext, rel: string): void {
  const segments = rel.split('/').slice(0, -1);
  let abs = ctx.root;
  let sofar = '';
  for (const segment of segments) {
    abs = join(abs, segment);
    sofar = sofar === '' ? segment : `${sofar}/${segment}`;
    const st = lstatOrNull(abs);
    if (st === null) {
      try {
        mkdirSync(abs);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new Error(`create folder ${abs}: ${messageOf(err)}`, { cause: err });
        }
        // Created concurrently (another write into the same new folder): check what it is.
        const again = lstatOrNull(abs);
        if (again?.isDirectory()) continue;
        throw new PathCollisionError(rel, `"${sofar}" appeared as something other than a folder`);
      }
    }
    if (st.isDirectory()) continue;
    if (st.isSymbolicLink()) {
      if (!ctx.followSymlinks) throw new PathCollisionError(rel, `"${sofar}" is a symlink (not followed)`);
      const real = realpathOrNull(abs);
      if (real === null || !isInside(ctx.realRoot, real)) {
        throw new PathCollisionError(rel, `"${sofar}" is a symlink leading outside LocalPath`);
      }
      if (!statSync(real).isDirectory()) throw new PathCollisionError(rel, `"${sofar}" is a symlink to a file`);
      continue;
    }
    throw new PathCollisionError(rel, `"${sofar}" is a file, not a folder`);
  }
}

/**
 * What the target must still be before it is replaced or deleted: the entry the scan saw (its
 * ctime compared when it has one), null for "absent", or undefined for "whatever is there".
 */
export type Expectation = FileStat | null | undefined;

/**
 * Refuses a target that is a folder (its files would be lost) or a symlink the scan does not
 * follow (the user's link is not ours to replace). Returns the permission bits of a file being
 * replaced, so a new version keeps them (S3 carries no modes).
 */
function checkTarget(ctx: WriteContext, rel: string, abs: string): number | undefined {
  const st = lstatOrNull(abs);
  if (st?.isDirectory()) throw new PathCollisionError(rel, 'a folder of that name exists');
  if (st?.isSymbolicLink() && !ctx.followSymlinks) throw new PathCollisionError(rel, 'a symlink (not followed) of that name exists');
  return st?.isFile() ? st.mode & 0o7777 : undefined;
}

/** Throws LocalChangedError unless the target is what the caller expects (see Expectation). */
function checkExpected(ctx: WriteContext, rel: string, abs: string, expected: Expectation): void {
  if (expected === undefined) return;
  // A followed symlink is listed by the scan with its target's size and mtime.
  const st = (ctx.followSymlinks ? statSync : lstatSync)(abs, { throwIfNoEntry: false }) ?? null;
  const same = expected === null ? st === null : st !== null && st.isFile() && isSameFile(st, expected);
  if (!same) throw new LocalChangedError(rel);
}

/** The file still has the stat expected; the ctime counts when known (a rewrite that kept size and mtime). */
function isSameFile(st: Stats, expected: FileStat): boolean {
  return (
    st.size === expected.size &&
    st.mtimeMs === expected.mtimeMs &&
    (expected.ctimeMs === undefined || st.ctimeMs === expected.ctimeMs)
  );
}

/**
 * What was written, with the ctime of `abs` as published (the rename or link moves it) if it is
 * still that file: otherwise every file this module wrote would look touched on the next round,
 * and be hashed. Changed since, the ctime is left unknown (the change shows in size or mtime).
 */
function published(ctx: WriteContext, abs: string, written: Stats): FileStat {
  const entry = { size: written.size, mtimeMs: written.mtimeMs };
  const st = (ctx.followSymlinks ? statSync : lstatSync)(abs, { throwIfNoEntry: false });
  return st?.isFile() && st.size === entry.size && st.mtimeMs === entry.mtimeMs ? { ...entry, ctimeMs: st.ctimeMs } : entry;
}

/**
 * Moves the finished temp file into place. Where the target must be absent, a hard link creates
 * it only if nothing is there (atomic, unlike check-then-rename); file systems without hard links
 * fall back to the check.
 */
function publish(ctx: WriteContext, rel: string, tmp: string, abs: string, expected: Expectation): void {
  if (expected === null) {
    try {
      linkSync(tmp, abs);
      unlinkSync(tmp);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new LocalChangedError(rel);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    }
  }
  checkExpected(ctx, rel, abs, expected);
  renameOver(rel, tmp, abs);
}

/**
 * Writes `body` (a stream, or a Buffer when the caller holds it whole) to `rel` atomically with
 * mtime `mtimeMs`; returns the entry as written (see published). With an `expected` state, a target that changed
 * since the scan is left alone (LocalChangedError).
 */
export async function writeAtomic(
  ctx: WriteContext,
  rel: string,
  body: ChunkSource | Buffer,
  mtimeMs: number,
  expected?: Expectation,
  sizeHint?: number,
): Promise<FileStat> {
  const abs = join(ctx.root, rel);
  const tmp = tempPathFor(abs);
  try {
    // A small body is taken whole before anything is touched: one write, no stream to a file.
    const whole = Buffer.isBuffer(body)
      ? body
      : sizeHint !== undefined && sizeHint <= WHOLE_BODY_BYTES
        ? await collect(body, sizeHint)
        : undefined;
    ensureParents(ctx, rel);
    const mode = checkTarget(ctx, rel, abs);
    // (`whole` is set for every Buffer; the second test only tells the compiler `body` is poured.)
    if (whole === undefined && !Buffer.isBuffer(body)) {
      // Not worth downloading a body into a target that already changed; a small one is checked
      // once, when it is published.
      checkExpected(ctx, rel, abs, expected);
      await pourIntoFile(body, tmp);
    }
    // The entry describes what we wrote: a change the app makes after the rename must show up
    // as a local change in the next scan, not be taken into the baseline.
    const written = await finishTemp(ctx, tmp, whole, mode, mtimeMs);
    // A body cut short (a connection closed early) must never replace the file.
    if (sizeHint !== undefined && written.size !== sizeHint) {
      throw new Error(`received ${written.size} of the ${sizeHint} bytes announced`);
    }
    publish(ctx, rel, tmp, abs, expected);
    return published(ctx, abs, written);
  } catch (err) {
    unlinkQuietly(tmp);
    if (err instanceof PathCollisionError || err instanceof LocalChangedError) throw err;
    throw new Error(`write ${rel}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Completes the temp file: writes `whole` into a new one (else it holds the streamed body), keeps
 * the replaced file's `mode`, fsyncs if asked, sets the mtime; returns its stat.
 */
async function finishTemp(
  ctx: WriteContext,
  tmp: string,
  whole: Buffer | undefined,
  mode: number | undefined,
  mtimeMs: number,
): Promise<Stats> {
  const fd = openSync(tmp, whole === undefined ? 'r+' : 'wx');
  try {
    for (let at = 0; whole !== undefined && at < whole.length; ) at += writeSync(fd, whole, at);
    if (mode !== undefined) fchmodSync(fd, mode);
    // An fsync waits for the disk: on the thread pool, not on the event loop.
    if (ctx.fsync) await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
    const time = mtimeMs / 1000;
    futimesSync(fd, time, time);
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `body` into a new file at `path`. Each chunk is written before the next is taken: the
 * source may read the next bytes into the same memory.
 */
async function pourIntoFile(body: ChunkSource, path: string): Promise<void> {
  const fd = openSync(path, 'wx');
  try {
    let position = 0;
    await body.pour(async (chunk) => {
      await writeAll(fd, chunk, position);
      position += chunk.length;
    });
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `bytes` at `position` on the thread pool (a large body must not hold the event loop). */
function writeAll(fd: number, bytes: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (at: number): void =>
      write(fd, bytes, at, bytes.length - at, position + at, (err, written) => {
        if (err) reject(err);
        else if (at + written < bytes.length) from(at + written);
        else resolve();
      });
    from(0);
  });
}

/** Removes a file that may never have been created or may be gone already. */
export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or never created
  }
}

/** Copies `from` to `to` atomically, keeping the mtime (keep-both conflicts); returns the copy's entry. */
export async function copyAtomic(ctx: WriteContext, from: string, to: string): Promise<FileStat> {
  const absFrom = join(ctx.root, from);
  const absTo = join(ctx.root, to);
  ensureParents(ctx, to);
  checkTarget(ctx, to, absTo);
  const tmp = tempPathFor(absTo);
  try {
    const source = await stat(absFrom);
    await copyFile(absFrom, tmp, constants.COPYFILE_EXCL);
    await utimes(tmp, source.atimeMs / 1000, source.mtimeMs / 1000);
    const written = await stat(tmp);
    renameOver(to, tmp, absTo);
    return published(ctx, absTo, written);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof PathCollisionError) throw err;
    throw new Error(`copy ${from} to ${to}: ${messageOf(err)}`, { cause: err });
  }
}

function renameOver(rel: string, tmp: string, abs: string): void {
  try {
    renameSync(tmp, abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A folder appeared at the target between the check and the rename.
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new PathCollisionError(rel, 'a folder of that name exists');
    }
    throw err;
  }
}

/**
 * Removes the folder `rel` if it is empty (a folder not there, not empty or not a folder is left
 * as it is): where the other side replaced a folder by a file, once its files are deleted.
 */
export function removeEmptyFolder(ctx: WriteContext, rel: string): void {
  // A parent symlink the scan does not follow (or leading outside) must not be removed through.
  if (!parentsAreSafe(ctx, rel)) return;
  const abs = join(ctx.root, rel);
  if (!lstatOrNull(abs)?.isDirectory()) return;
  try {
    rmdirSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw new Error(`remove folder ${rel}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Deletes the file `rel`; a file already gone is fine. With an `expected` state, a file that
 * changed since the scan is kept (LocalChangedError). Parent folders are left in place, even when
 * empty, as `aws s3 sync` does: the app may rely on a folder it created.
 */
export async function removeFile(ctx: WriteContext, rel: string, expected?: Expectation): Promise<void> {
  const abs = join(ctx.root, rel);
  // A parent symlink the scan does not follow (or leading outside) must not be deleted through.
  if (!parentsAreSafe(ctx, rel)) return;
  const st = lstatOrNull(abs);
  if (st === null) return;
  if (st.isDirectory()) throw new PathCollisionError(rel, 'is a folder, not a file');
  if (st.isSymbolicLink() && !ctx.followSymlinks) throw new PathCollisionError(rel, 'is a symlink (not followed)');
  checkExpected(ctx, rel, abs, expected);
  try {
    unlinkSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`delete ${rel}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * False when the parent folder of `rel` is missing (then so is the file) or is reached through a
 * symlink the scan would not follow: the file there is not one the scan could have listed.
 */
function parentsAreSafe(ctx: WriteContext, rel: string): boolean {
  const realParent = realpathOrNull(dirname(join(ctx.root, rel)));
  if (realParent === null) return false;
  if (realParent === join(ctx.realRoot, dirname(rel))) return true;
  return ctx.followSymlinks && isInside(ctx.realRoot, realParent);
}

/** Removes temp files of interrupted writes anywhere under the root; returns how many. */
export async function cleanTempFiles(root: string): Promise<number> {
  let count = 0;
  async function walk(abs: string): Promise<void> {
    let dirents;
    try {
      dirents = await readdir(abs, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished folder: nothing of ours can be there
    }
    await Promise.all(
      dirents.map(async (d) => {
        const child = join(abs, d.name);
        if (d.isDirectory()) return walk(child);
        if (d.name.startsWith(TEMP_NAME_PREFIX) && (d.isFile() || d.isSymbolicLink())) {
          await unlink(child).then(
            () => count++,
            () => undefined,
          );
        }
      }),
    );
  }
  await walk(root);
  return count;
}

function lstatOrNull(abs: string): Stats | null {
  return lstatSync(abs, { throwIfNoEntry: false }) ?? null;
}

function realpathOrNull(abs: string): string | null {
  try {
    return realpathSync.native(abs);
  } catch {
    return null;
  }
}
