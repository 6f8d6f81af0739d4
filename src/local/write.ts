/**
 * Writes into LocalPath that never expose half a file: temp file in the target's folder (a name
 * the scanner ignores), mtime set, then rename over the target.
 */
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream, type Stats } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, realpath, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LocalChangedError, PathCollisionError } from '../errors.js';
import type { LocalEntry } from '../sync/types.js';
import { TEMP_NAME_PREFIX } from './paths.js';
import { isInside } from './scan.js';

/** Where writes go and how far symlinks are trusted. */
export interface WriteContext {
  readonly root: string;
  readonly realRoot: string;
  readonly followSymlinks: boolean;
  /** fsync the data before the rename (durability across a kernel crash, at a cost per file). */
  readonly fsync: boolean;
}

/** A fresh temp name in the same folder as `absTarget`, so the rename stays on one file system. */
export function tempPathFor(absTarget: string): string {
  return join(dirname(absTarget), `${TEMP_NAME_PREFIX}${randomBytes(8).toString('hex')}`);
}

/**
 * Creates the parent folders of `rel` (relative path), checking each existing component: a file
 * there (keys `a` and `a/b`), a symlink we do not follow, or one leading outside LocalPath is a
 * collision, so nothing is ever written outside the root or through a link the scan ignores.
 */
export async function ensureParents(ctx: WriteContext, rel: string): Promise<void> {
  const segments = rel.split('/').slice(0, -1);
  let abs = ctx.root;
  let sofar = '';
  for (const segment of segments) {
    abs = join(abs, segment);
    sofar = sofar === '' ? segment : `${sofar}/${segment}`;
    const st = await lstatOrNull(abs);
    if (st === null) {
      try {
        await mkdir(abs);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new Error(`create folder ${abs}: ${(err as Error).message}`, { cause: err });
        }
        // Created concurrently (another write into the same new folder): check what it is.
        const again = await lstatOrNull(abs);
        if (again?.isDirectory()) continue;
        throw new PathCollisionError(rel, `"${sofar}" appeared as something other than a folder`);
      }
    }
    if (st.isDirectory()) continue;
    if (st.isSymbolicLink()) {
      if (!ctx.followSymlinks) throw new PathCollisionError(rel, `"${sofar}" is a symlink (not followed)`);
      const real = await realpath(abs).catch(() => null);
      if (real === null || !isInside(ctx.realRoot, real)) {
        throw new PathCollisionError(rel, `"${sofar}" is a symlink leading outside LocalPath`);
      }
      if (!(await stat(real)).isDirectory()) throw new PathCollisionError(rel, `"${sofar}" is a symlink to a file`);
      continue;
    }
    throw new PathCollisionError(rel, `"${sofar}" is a file, not a folder`);
  }
}

/**
 * What the target must still be before it is replaced or deleted: the entry the scan saw, null
 * for "absent", or undefined for "whatever is there".
 */
export type Expectation = LocalEntry | null | undefined;

/**
 * Refuses a target that is a folder (its files would be lost) or a symlink the scan does not
 * follow (the user's link is not ours to replace). Returns the permission bits of a file being
 * replaced, so a new version keeps them (S3 carries no modes).
 */
async function checkTarget(ctx: WriteContext, rel: string, abs: string): Promise<number | undefined> {
  const st = await lstatOrNull(abs);
  if (st?.isDirectory()) throw new PathCollisionError(rel, 'a folder of that name exists');
  if (st?.isSymbolicLink() && !ctx.followSymlinks) throw new PathCollisionError(rel, 'a symlink (not followed) of that name exists');
  return st?.isFile() ? st.mode & 0o7777 : undefined;
}

/** Throws LocalChangedError unless the target is what the caller expects (see Expectation). */
async function checkExpected(ctx: WriteContext, rel: string, abs: string, expected: Expectation): Promise<void> {
  if (expected === undefined) return;
  // A followed symlink is listed by the scan with its target's size and mtime.
  const st = await (ctx.followSymlinks ? stat(abs) : lstat(abs)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const same =
    expected === null ? st === null : st !== null && st.isFile() && st.size === expected.size && st.mtimeMs === expected.mtimeMs;
  if (!same) throw new LocalChangedError(rel);
}

/**
 * Moves the finished temp file into place. Where the target must be absent, a hard link creates
 * it only if nothing is there (atomic, unlike check-then-rename); file systems without hard links
 * fall back to the check.
 */
async function publish(ctx: WriteContext, rel: string, tmp: string, abs: string, expected: Expectation): Promise<void> {
  if (expected === null) {
    try {
      await link(tmp, abs);
      await unlink(tmp);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new LocalChangedError(rel);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    }
  }
  await checkExpected(ctx, rel, abs, expected);
  await renameOver(rel, tmp, abs);
}

/**
 * Writes `body` to `rel` atomically with mtime `mtimeMs`; returns the entry as written. With an
 * `expected` state, a target that changed since the scan is left alone (LocalChangedError).
 */
export async function writeAtomic(
  ctx: WriteContext,
  rel: string,
  body: Readable,
  mtimeMs: number,
  expected?: Expectation,
): Promise<LocalEntry> {
  const abs = join(ctx.root, rel);
  await ensureParents(ctx, rel);
  const mode = await checkTarget(ctx, rel, abs);
  await checkExpected(ctx, rel, abs, expected);
  const tmp = tempPathFor(abs);
  try {
    await pipeline(body, createWriteStream(tmp, { flags: 'wx' }));
    if (mode !== undefined) await chmod(tmp, mode);
    if (ctx.fsync) await fsyncFile(tmp);
    const time = mtimeMs / 1000;
    await utimes(tmp, time, time);
    // The entry describes what we wrote: a change the app makes after the rename must show up
    // as a local change in the next scan, not be taken into the baseline.
    const written = await stat(tmp);
    await publish(ctx, rel, tmp, abs, expected);
    return { size: written.size, mtimeMs: written.mtimeMs };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof PathCollisionError || err instanceof LocalChangedError) throw err;
    throw new Error(`write ${rel}: ${(err as Error).message}`, { cause: err });
  }
}

/** Copies `from` to `to` atomically, keeping the mtime (keep-both conflicts); returns the copy's entry. */
export async function copyAtomic(ctx: WriteContext, from: string, to: string): Promise<LocalEntry> {
  const absFrom = join(ctx.root, from);
  const absTo = join(ctx.root, to);
  await ensureParents(ctx, to);
  await checkTarget(ctx, to, absTo);
  const tmp = tempPathFor(absTo);
  try {
    const source = await stat(absFrom);
    await copyFile(absFrom, tmp, constants.COPYFILE_EXCL);
    await utimes(tmp, source.atimeMs / 1000, source.mtimeMs / 1000);
    const written = await stat(tmp);
    await renameOver(to, tmp, absTo);
    return { size: written.size, mtimeMs: written.mtimeMs };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof PathCollisionError) throw err;
    throw new Error(`copy ${from} to ${to}: ${(err as Error).message}`, { cause: err });
  }
}

async function renameOver(rel: string, tmp: string, abs: string): Promise<void> {
  try {
    await rename(tmp, abs);
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
 * Deletes the file `rel`; a file already gone is fine. With an `expected` state, a file that
 * changed since the scan is kept (LocalChangedError). Parent folders are left in place, even when
 * empty, as `aws s3 sync` does: the app may rely on a folder it created.
 */
export async function removeFile(ctx: WriteContext, rel: string, expected?: Expectation): Promise<void> {
  const abs = join(ctx.root, rel);
  // A parent symlink the scan does not follow (or leading outside) must not be deleted through.
  if (!(await parentsAreSafe(ctx, rel))) return;
  const st = await lstatOrNull(abs);
  if (st === null) return;
  if (st.isDirectory()) throw new PathCollisionError(rel, 'is a folder, not a file');
  if (st.isSymbolicLink() && !ctx.followSymlinks) throw new PathCollisionError(rel, 'is a symlink (not followed)');
  await checkExpected(ctx, rel, abs, expected);
  try {
    await unlink(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`delete ${rel}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * False when the parent folder of `rel` is missing (then so is the file) or is reached through a
 * symlink the scan would not follow: the file there is not one the scan could have listed.
 */
async function parentsAreSafe(ctx: WriteContext, rel: string): Promise<boolean> {
  const realParent = await realpath(dirname(join(ctx.root, rel))).catch(() => null);
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

async function fsyncFile(abs: string): Promise<void> {
  const handle = await open(abs, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function lstatOrNull(abs: string): Promise<Stats | null> {
  try {
    return await lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
