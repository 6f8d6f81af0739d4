/** Shared vocabulary of the sync engine: directions, snapshots of each side, and plan actions. */

/** A direction of transfer: `up` = LocalPath → S3, `down` = S3 → LocalPath. */
export type Direction = 'up' | 'down';

/** How a difference on both sides is settled. */
export type ConflictPolicy = 'newer' | 'local' | 'remote' | 'keep-both';

/** What the first reconciliation (no baseline yet) does with differences. */
export type InitMode = 'down' | 'up' | 'merge';

/**
 * An ETag no object has: a baseline entry carrying it takes the local file as agreed while the
 * remote version counts as changed (keep-both kept the local version as a copy; the remote one is
 * still to come down).
 */
export const NO_OBJECT_ETAG = '';

/** A local file as the scanner saw it; `path` is relative POSIX. */
export interface LocalEntry {
  readonly size: number;
  readonly mtimeMs: number;
  /**
   * Changes with every write, chmod, link or rename, and no program can set it back (unlike the
   * mtime: `cp -p`, `touch -r`, `tar x`, `rsync -t`): a rewrite that kept size and mtime still shows here.
   */
  readonly ctimeMs: number;
}

/** A remote object as ListObjectsV2 reported it. */
export interface RemoteEntry {
  readonly size: number;
  /** ETag with the quotes stripped; names one version of the object. */
  readonly etag: string;
  readonly lastModifiedMs: number;
}

/**
 * A local file's stat where the ctime may be unknown: what the sidecar wrote (the ctime of the
 * file as published, unless something changed it since) or what a baseline entry agreed on.
 */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs?: number;
}

/**
 * The state both sides agreed on after the last successful sync of a path: the local file's size
 * and mtime, its ctime (absent when unknown — a baseline an earlier build wrote: not compared — or
 * RACY_CTIME), and the remote ETag (unquoted).
 */
export interface BaselineEntry extends FileStat {
  readonly etag: string;
}

/**
 * A baseline ctime no file has: the entry was recorded from a read that may have raced a write in
 * the same timestamp tick, so the next round hashes the file and uploads it if it differs.
 */
export const RACY_CTIME = -1;

/**
 * How close to the start of a read a file's ctime may be for the read to count as racy: coarse
 * timestamps (ext4/xfs before Linux 6.13) move once a jiffy (up to 10 ms), with margin.
 */
export const RACY_WINDOW_MS = 100;

/**
 * True when a file with this ctime, read (stat-ed, then maybe hashed) from `readStartedMs` until
 * `readEndedMs`, may have raced a write: one landing in the timestamp tick of its ctime after the
 * read keeps size, mtime and ctime as read.
 */
export function racyRead(file: { readonly ctimeMs: number }, readStartedMs: number, readEndedMs = readStartedMs): boolean {
  // The ctime alone: every write sets it to the (coarse) clock, and no program can set it, unlike
  // an mtime (a file dated in the future would be racy at every read and hashed every tick). A
  // ctime ahead of the read by more than the window is a skewed clock, not a write we raced.
  return file.ctimeMs >= readStartedMs - RACY_WINDOW_MS && file.ctimeMs <= readEndedMs + RACY_WINDOW_MS;
}

/** Path → entry maps; a snapshot of one side. */
export type LocalSnapshot = ReadonlyMap<string, LocalEntry>;
export type RemoteSnapshot = ReadonlyMap<string, RemoteEntry>;
export type BaselineSnapshot = ReadonlyMap<string, BaselineEntry>;

/** Why the planner chose an action; short, stable strings fit for logs and metrics. */
export type ActionReason =
  | 'local-added'
  | 'local-modified'
  | 'local-deleted'
  | 'remote-added'
  | 'remote-modified'
  | 'remote-deleted'
  | 'restore-local'
  | 'restore-remote'
  | 'conflict'
  | 'init-up'
  | 'init-down'
  | 'init-merge'
  | 'same-content'
  /** Only the ctime moved (chmod, a link, a rewrite of the same bytes): the new stat is recorded. */
  | 'local-touched'
  /** First sync under `--size-only`: equal sizes are taken as equal, as `aws s3 sync` does. */
  | 'same-size'
  | 'both-deleted';

/**
 * One step of a plan. Remote writes carry their precondition: `expectEtag` = the ETag the object
 * must still have (If-Match), or `null` = the object must not exist (If-None-Match: *).
 */
export type Action =
  | { readonly kind: 'upload'; readonly path: string; readonly reason: ActionReason; readonly expectEtag: string | null }
  | { readonly kind: 'download'; readonly path: string; readonly reason: ActionReason }
  | { readonly kind: 'delete-remote'; readonly path: string; readonly reason: ActionReason; readonly expectEtag: string }
  | { readonly kind: 'delete-local'; readonly path: string; readonly reason: ActionReason }
  /** Both sides already agree (e.g. same content): only the baseline is updated. */
  | { readonly kind: 'record'; readonly path: string; readonly reason: ActionReason }
  /** Path is gone on both sides: drop it from the baseline. */
  | { readonly kind: 'forget'; readonly path: string; readonly reason: ActionReason }
  /**
   * keep-both conflict: the loser is copied beside the winner as `conflictPath` on both sides,
   * then the winner's content is propagated to the other side.
   */
  | {
      readonly kind: 'keep-both';
      readonly path: string;
      readonly reason: ActionReason;
      readonly winner: 'local' | 'remote';
      readonly conflictPath: string;
      readonly expectEtag: string | null;
    }
  /**
   * keep-both in the final sync at shutdown, where only the up direction may write (and so under
   * --only-up or for a path the down filter leaves out): the local version goes up as a new object
   * `conflictPath` and the remote one stays at `path`. The baseline of `path` then takes
   * the local file as agreed with `baseEtag`, an ETag the remote version does not have, so the
   * next round that may write locally brings the remote version down.
   */
  | {
      readonly kind: 'keep-both-up';
      readonly path: string;
      readonly reason: ActionReason;
      readonly conflictPath: string;
      readonly baseEtag: string;
    };

/** Actions kinds, for metrics labels and summaries. */
export type ActionKind = Action['kind'];
