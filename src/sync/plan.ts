/**
 * The planner: a pure function from (local, remote, baseline, options) to the actions of one tick.
 * No I/O and no clock: the time for conflict names comes in with the options.
 */
import { isInternalPath, type PathFilter } from '../filters.js';
import { uniqueConflictName } from './conflict-name.js';
import { guardDeletes, type GuardResult } from './delete-guard.js';
import { localDelta, remoteDelta, touched, type PathState } from './delta.js';
import { equalBySize, resolveFirstSync, resolveThreeWay, type ResolveSettings } from './resolve.js';
import {
  NO_OBJECT_ETAG,
  type Action,
  type BaselineSnapshot,
  type ConflictPolicy,
  type Direction,
  type InitMode,
  type LocalSnapshot,
  type RemoteSnapshot,
} from './types.js';

export type { GuardResult } from './delete-guard.js';

/** Planner settings of one direction (`up` = local → S3, `down` = S3 → local). */
export interface DirectionPlanOptions {
  /** False in a tick restricted to the other direction: this direction's actions wait. */
  readonly enabled: boolean;
  /** Propagate deletes in this direction; otherwise a delete on the source side is restored. */
  readonly delete: boolean;
  /** The direction's `--exclude`/`--include` filter (see `compileFilter`). */
  readonly include: PathFilter;
  /**
   * `--size-only`: for `up`, a local change needs a new size (mtime ignored); for either, at first
   * sync equal sizes count as equal when this direction would copy. Remote changes always go by ETag.
   */
  readonly sizeOnly: boolean;
}

/** Everything the planner needs besides the snapshots. */
export interface PlanOptions {
  readonly up: DirectionPlanOptions;
  readonly down: DirectionPlanOptions;
  readonly conflict: ConflictPolicy;
  /** Used only when there is no baseline (first sync). */
  readonly initMode: InitMode;
  /** Percent of one side's files a plan may delete before its deletes on that side are refused. */
  readonly maxDeletePercent: number;
  /** This node's id, in keep-both copy names. */
  readonly nodeId: string;
  /** The time stamped into keep-both copy names. */
  readonly now: Date;
  /** The longest relative path a key under the prefix may have (S3 keys hold 1024 bytes); default: no bound beyond the file system's. */
  readonly maxPathBytes?: number;
  /**
   * The last round before the task goes away (the final sync at shutdown, up only): a keep-both
   * it may not carry out whole still puts the local version in the bucket (its up half). Other
   * up-only rounds leave the conflict to the next two-way round, which keeps one copy however
   * often the file was saved meanwhile.
   */
  readonly keepBothUpHalf?: boolean;
}

/** The planner's input: both sides now, the last agreed state (null = first sync), local ETags. */
export interface PlanInput {
  readonly local: LocalSnapshot;
  readonly remote: RemoteSnapshot;
  readonly baseline: BaselineSnapshot | null;
  /** S3-style ETags of the local files `pathsToHash` named against the remote, each hashed as its object was uploaded. */
  readonly localEtags: ReadonlyMap<string, string>;
  /** The same for the files it named against the baseline (touched files), in the layout of the baseline's ETag. */
  readonly touchedEtags?: ReadonlyMap<string, string>;
  readonly options: PlanOptions;
  /**
   * Files on each side for the `--max-delete` guard, when `local` and `remote` hold only some
   * paths (a re-plan of paths that lost a race); default: their sizes.
   */
  readonly sideTotals?: { readonly local: number; readonly remote: number };
  /**
   * Paths that exist or were planned though `local`, `remote` and `baseline` do not show them (a
   * re-plan sees only the raced paths): never chosen as a keep-both copy's name.
   */
  readonly reservedPaths?: ReadonlySet<string>;
}

/** The actions of one tick, sorted by path (at most one per path), and what was refused. */
export interface Plan {
  readonly actions: readonly Action[];
  /** Both-sides differences settled by this plan (same-content and both-deleted are not conflicts). */
  readonly conflicts: number;
  /** The `--max-delete` guard per side: `local` for delete-local, `remote` for delete-remote. */
  readonly deleteGuard: { readonly local: GuardResult; readonly remote: GuardResult };
  /**
   * keep-both conflicts left as they are, both versions in place, because no copy name the local
   * side could hold fits beside them (a folder path near the path length limit).
   */
  readonly noCopyName: readonly string[];
}

/**
 * A local file the planner needs hashed: its S3-style ETag in the upload layout of `etag`
 * (`size` bytes), the remote object's or the baseline's, as `against` says.
 */
export interface HashRequest {
  readonly path: string;
  readonly against: 'remote' | 'baseline';
  readonly etag: string;
  readonly size: number;
}

type HashInput = Omit<PlanInput, 'localEtags' | 'touchedEtags'>;

/**
 * Local files whose S3-style ETag the planner needs. Against the remote: on both sides with equal
 * sizes, and either changed (or touched) on both sides since the baseline or met for the first
 * time (no baseline; minus what `--size-only` already takes as equal). Against the baseline: a
 * touched file (same size and mtime, another ctime), unless `--size-only`. Sorted by path.
 * A quiet tick names none.
 */
export function pathsToHash(input: HashInput): HashRequest[] {
  const { baseline, options } = input;
  const sizeOnly = { up: options.up.sizeOnly, down: options.down.sizeOnly };
  const requests: HashRequest[] = [];
  for (const path of candidatePaths(input)) {
    // Unhashed, a touched file counts as changed: what the comparison with the remote may need.
    const state = stateOf(input, path, undefined, undefined);
    const { local, remote, base } = state;
    if (base && local && !sizeOnly.up && touched(local, base)) {
      requests.push({ path, against: 'baseline', etag: base.etag, size: base.size });
    }
    if (!local || !remote || local.size !== remote.size) continue;
    const needed =
      baseline === null
        ? !equalBySize(state, options.initMode, sizeOnly)
        : localDelta(state, sizeOnly.up) !== 'unchanged' && remoteDelta(state) !== 'unchanged';
    if (needed) requests.push({ path, against: 'remote', etag: remote.etag, size: remote.size });
  }
  return requests;
}

/** Plans one tick: three-way against the baseline, or the first sync by `initMode`. */
export function reconcile(input: PlanInput): Plan {
  const { options } = input;
  const noCopyName: string[] = [];
  const settings = resolveSettings(input, noCopyName);
  let conflicts = 0;
  const planned: Action[] = [];
  for (const path of candidatePaths(input)) {
    const state = stateOf(input, path, input.localEtags.get(path), input.touchedEtags?.get(path));
    const resolution =
      input.baseline === null ? resolveFirstSync(state, options.initMode, settings) : resolveThreeWay(state, settings);
    if (!resolution) continue;
    const action = allowed(resolution.action, options) ? resolution.action : upHalf(resolution.action, state, options);
    if (!action) continue;
    planned.push(action);
    if (resolution.conflict) conflicts++;
  }
  const totals = input.sideTotals ?? { local: input.local.size, remote: input.remote.size };
  const local = guardDeletes(planned, 'delete-local', totals.local, options.maxDeletePercent);
  const remote = guardDeletes(local.actions, 'delete-remote', totals.remote, options.maxDeletePercent);
  return { actions: remote.actions, conflicts, deleteGuard: { local: local.result, remote: remote.result }, noCopyName };
}

/** Every path on either side or in the baseline, minus internal names and paths both filters exclude. */
function candidatePaths(input: HashInput): string[] {
  const { up, down } = input.options;
  // Built without intermediate arrays: this runs twice a tick over every path of both sides.
  const all = new Set(input.local.keys());
  for (const path of input.remote.keys()) all.add(path);
  for (const path of input.baseline?.keys() ?? []) all.add(path);
  const paths: string[] = [];
  for (const path of all) if (!isInternalPath(path) && (up.include(path) || down.include(path))) paths.push(path);
  // The default order of sort() is by UTF-16 code unit, without a comparator call per pair.
  return paths.sort();
}

function stateOf(input: HashInput, path: string, localEtag: string | undefined, touchedEtag: string | undefined): PathState {
  return {
    path,
    local: input.local.get(path),
    remote: input.remote.get(path),
    base: input.baseline?.get(path),
    localEtag,
    touchedEtag,
  };
}

function resolveSettings(input: PlanInput, noCopyName: string[]): ResolveSettings {
  const { options, local, remote, baseline, reservedPaths } = input;
  const named = new Set<string>();
  const taken = (path: string): boolean =>
    named.has(path) || local.has(path) || remote.has(path) || !!baseline?.has(path) || !!reservedPaths?.has(path);
  return {
    upDelete: options.up.delete,
    downDelete: options.down.delete,
    sizeOnly: { up: options.up.sizeOnly, down: options.down.sizeOnly },
    conflict: options.conflict,
    conflictPath: (path) => {
      const name = uniqueConflictName(path, options.now, options.nodeId, taken, options.maxPathBytes);
      if (name === null) noCopyName.push(path);
      else named.add(name);
      return name;
    },
  };
}

/**
 * A keep-both the final sync may not carry out whole because only the up direction may write: its
 * up half, so the local version is in the bucket before this task goes away. Anything else that
 * may not run waits for a tick that may run it.
 */
function upHalf(action: Action, state: PathState, options: PlanOptions): Action | null {
  if (action.kind !== 'keep-both' || !options.keepBothUpHalf) return null;
  const half: Action = {
    kind: 'keep-both-up',
    path: action.path,
    reason: action.reason,
    conflictPath: action.conflictPath,
    // The remote version changed since the baseline (or there was none), so it never has this ETag.
    baseEtag: state.base?.etag ?? NO_OBJECT_ETAG,
  };
  return allowed(half, options) ? half : null;
}

/** The directions an action writes to; record/forget only touch the baseline. */
const DIRECTIONS: Record<Action['kind'], readonly Direction[]> = {
  upload: ['up'],
  'delete-remote': ['up'],
  download: ['down'],
  'delete-local': ['down'],
  'keep-both': ['up', 'down'],
  'keep-both-up': ['up'],
  record: [],
  forget: [],
};

/** An action runs only when every direction it writes is enabled and its filter includes the path. */
function allowed(action: Action, options: PlanOptions): boolean {
  return DIRECTIONS[action.kind].every((direction) => {
    const settings = options[direction];
    return settings.enabled && settings.include(action.path);
  });
}
