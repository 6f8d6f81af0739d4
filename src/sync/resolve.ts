/**
 * The decision tables of the planner: what one path needs, given its state. Three-way (with a
 * baseline) and first-sync (without). Direction switches, filters and the delete guard are applied
 * later by the planner; these tables only say what the contract wants.
 */
import { localDelta, newerSide, remoteDelta, sameContent, touched, type Delta, type PathState } from './delta.js';
import type { Action, ActionReason, ConflictPolicy, InitMode, LocalEntry, RemoteEntry } from './types.js';

/** What a table decided for a path; `conflict` marks a both-sides difference that was settled. */
export interface Resolution {
  readonly action: Action;
  readonly conflict: boolean;
}

/** Settings the tables read. */
export interface ResolveSettings {
  readonly upDelete: boolean;
  readonly downDelete: boolean;
  /** `--size-only` per direction: `up` makes a local change need a new size (mtime ignored). */
  readonly sizeOnly: { readonly up: boolean; readonly down: boolean };
  readonly conflict: ConflictPolicy;
  /**
   * Names the copy of a keep-both loser; called only when a keep-both action is made. Null when
   * no safe name fits: the conflict is then left as it is, nothing is lost.
   */
  readonly conflictPath: (path: string) => string | null;
}

/** Three-way resolution against the baseline entry (possibly absent) of the path. */
export function resolveThreeWay(state: PathState, settings: ResolveSettings): Resolution | null {
  const local = localDelta(state, settings.sizeOnly.up);
  const remote = remoteDelta(state);
  if (local === 'unchanged' && remote === 'unchanged') {
    // Touched but the same bytes: the new ctime is recorded, or the file would be hashed every tick.
    const { path, local: file, base } = state;
    if (file && base && !settings.sizeOnly.up && touched(file, base)) return settled({ kind: 'record', path, reason: 'local-touched' });
    return null;
  }
  if (remote === 'unchanged') return settled(onlyLocalChanged(state, local, settings));
  if (local === 'unchanged') return settled(onlyRemoteChanged(state, remote, settings));
  return bothChanged(state, settings);
}

function onlyLocalChanged(state: PathState, local: Delta, settings: ResolveSettings): Action {
  const { path, base } = state;
  if (local !== 'deleted') {
    // The remote still has the baseline version (or nothing): replace exactly that one.
    return upload(path, local === 'added' ? 'local-added' : 'local-modified', base?.etag ?? null);
  }
  if (settings.upDelete) return { kind: 'delete-remote', path, reason: 'local-deleted', expectEtag: base!.etag };
  return { kind: 'download', path, reason: 'restore-local' };
}

function onlyRemoteChanged(state: PathState, remote: Delta, settings: ResolveSettings): Action {
  const { path } = state;
  if (remote !== 'deleted') return { kind: 'download', path, reason: remote === 'added' ? 'remote-added' : 'remote-modified' };
  if (settings.downDelete) return { kind: 'delete-local', path, reason: 'remote-deleted' };
  return upload(path, 'restore-remote', null);
}

function bothChanged(state: PathState, settings: ResolveSettings): Resolution | null {
  const { path, local, remote } = state;
  if (!local && !remote) return settled({ kind: 'forget', path, reason: 'both-deleted' });
  // Deleted on one side, rewritten on the other: the write wins whatever the policy, so no
  // change is ever lost to a delete.
  if (!local) return conflict({ kind: 'download', path, reason: 'conflict' });
  if (!remote) return conflict(upload(path, 'conflict', null));
  if (sameContent(state)) return settled({ kind: 'record', path, reason: 'same-content' });
  const action = byPolicy(state, settings);
  return action ? conflict(action) : null;
}

/** A real both-sides difference, settled by `--conflict`; null when keep-both finds no copy name. */
function byPolicy(state: PathState, settings: ResolveSettings): Action | null {
  const { path, local, remote } = state;
  const newer = newerSide(local!, remote!);
  switch (settings.conflict) {
    case 'keep-both': {
      // The newer version keeps the name; the other is kept beside it on both sides.
      const conflictPath = settings.conflictPath(path);
      if (conflictPath === null) return null;
      return { kind: 'keep-both', path, reason: 'conflict', winner: newer, conflictPath, expectEtag: remote!.etag };
    }
    case 'newer':
      return transfer(state, newer, 'conflict');
    case 'local':
    case 'remote':
      return transfer(state, settings.conflict, 'conflict');
  }
}

/** First sync, no baseline: `down` / `up` let one side win every difference, `merge` the newer. */
export function resolveFirstSync(state: PathState, mode: InitMode, settings: ResolveSettings): Resolution | null {
  const { path, local, remote } = state;
  const reason: ActionReason = `init-${mode}`;
  if (local && remote) {
    if (sameContent(state)) return settled({ kind: 'record', path, reason: 'same-content' });
    if (equalBySize(state, mode, settings.sizeOnly)) return settled({ kind: 'record', path, reason: 'same-size' });
    return settled(transfer(state, firstSyncWinner(local, remote, mode), reason));
  }
  // One side only: like `aws s3 sync --delete` from the winning side when that delete is enabled,
  // otherwise the union (nothing is deleted).
  if (local) {
    if (mode === 'down' && settings.downDelete) return settled({ kind: 'delete-local', path, reason });
    return settled(upload(path, reason, null));
  }
  if (remote) {
    if (mode === 'up' && settings.upDelete) return settled({ kind: 'delete-remote', path, reason, expectEtag: remote.etag });
    return settled({ kind: 'download', path, reason });
  }
  return null;
}

/** Which side a first-sync difference goes to: the init mode's side, or the newer under merge. */
function firstSyncWinner(local: LocalEntry, remote: RemoteEntry, mode: InitMode): 'local' | 'remote' {
  return mode === 'merge' ? newerSide(local, remote) : mode === 'up' ? 'local' : 'remote';
}

/**
 * First sync on both sides with equal sizes, where the direction that would copy has `--size-only`:
 * taken as equal without hashing, as `aws s3 sync --size-only` would skip it.
 */
export function equalBySize(state: PathState, mode: InitMode, sizeOnly: ResolveSettings['sizeOnly']): boolean {
  const { local, remote } = state;
  if (!local || !remote || local.size !== remote.size) return false;
  return firstSyncWinner(local, remote, mode) === 'local' ? sizeOnly.up : sizeOnly.down;
}

/** Copies the winner's side over the other; an upload replaces exactly the remote version we saw. */
function transfer(state: PathState, winner: 'local' | 'remote', reason: ActionReason): Action {
  if (winner === 'remote') return { kind: 'download', path: state.path, reason };
  return upload(state.path, reason, state.remote?.etag ?? null);
}

function upload(path: string, reason: ActionReason, expectEtag: string | null): Action {
  return { kind: 'upload', path, reason, expectEtag };
}

function settled(action: Action): Resolution {
  return { action, conflict: false };
}

function conflict(action: Action): Resolution {
  return { action, conflict: true };
}
