/** How one side of a path moved since the baseline: the vocabulary the resolution tables speak. */
import type { BaselineEntry, LocalEntry, RemoteEntry } from './types.js';

/** A side's change since the baseline (`unchanged` also covers "absent on both"). */
export type Delta = 'unchanged' | 'added' | 'modified' | 'deleted';

/** Everything known about one path: each side now, the baseline, and the local ETag if hashed. */
export interface PathState {
  readonly path: string;
  readonly local: LocalEntry | undefined;
  readonly remote: RemoteEntry | undefined;
  readonly base: BaselineEntry | undefined;
  /** S3-style ETag of the local file in the layout of the remote object, when the caller hashed it. */
  readonly localEtag: string | undefined;
  /** The same in the layout of the baseline's ETag, hashed for a touched file (see `touched`). */
  readonly touchedEtag: string | undefined;
}

/**
 * Local change: existence, size, or (unless `sizeOnly`) mtime differ from the baseline; or the
 * file was touched and its content is not the baseline's (or could not be hashed: taken as changed).
 */
export function localDelta(state: PathState, sizeOnly: boolean): Delta {
  const { local, base, touchedEtag } = state;
  return delta(local, base, (l, b) => {
    if (l.size !== b.size) return true;
    if (sizeOnly) return false;
    return l.mtimeMs !== b.mtimeMs || (touched(l, b) && touchedEtag !== b.etag);
  });
}

/**
 * Same size and mtime as agreed, but another ctime (or a racy baseline entry): the content may or
 * may not have changed (a rewrite with the mtime put back, a chmod, a hard link); its hash decides.
 * Unknown for baselines of older versions, which recorded no ctime.
 */
export function touched(local: LocalEntry, base: BaselineEntry): boolean {
  return base.ctimeMs !== undefined && local.ctimeMs !== base.ctimeMs && local.size === base.size && local.mtimeMs === base.mtimeMs;
}

/** Remote change: existence or ETag differ from the baseline (an ETag names one version). */
export function remoteDelta(state: PathState): Delta {
  return delta(state.remote, state.base, (r, b) => r.etag !== b.etag);
}

function delta<T>(now: T | undefined, base: BaselineEntry | undefined, differs: (now: T, base: BaselineEntry) => boolean): Delta {
  if (now === undefined) return base === undefined ? 'unchanged' : 'deleted';
  if (base === undefined) return 'added';
  return differs(now, base) ? 'modified' : 'unchanged';
}

/** Both sides hold the same bytes: equal sizes and the local S3-style ETag equals the remote one. */
export function sameContent(state: PathState): boolean {
  const { local, remote, localEtag } = state;
  return local !== undefined && remote !== undefined && local.size === remote.size && localEtag === remote.etag;
}

/** The newer side by mtime vs LastModified; a tie goes to the remote (the copy others already see). */
export function newerSide(local: LocalEntry, remote: RemoteEntry): 'local' | 'remote' {
  return local.mtimeMs > remote.lastModifiedMs ? 'local' : 'remote';
}
