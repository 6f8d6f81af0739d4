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
  /** S3-style ETag of the local file, when the caller hashed it. */
  readonly localEtag: string | undefined;
}

/** Local change: existence, size, or (unless `sizeOnly`) mtime differ from the baseline. */
export function localDelta(state: PathState, sizeOnly: boolean): Delta {
  const { local, base } = state;
  return delta(local, base, (l, b) => l.size !== b.size || (!sizeOnly && l.mtimeMs !== b.mtimeMs));
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
