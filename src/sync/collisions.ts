/**
 * File/folder collisions across the two sides. S3 can hold `a` and `a/b` at once, a file system
 * cannot; a path caught in such a collision is left alone (no transfer, no delete, baseline kept)
 * until a person resolves it, instead of being mistaken for a delete or written half-way.
 */
import { guardRefuses } from './delete-guard.js';
import { localDelta } from './delta.js';
import type { PlanOptions } from './plan.js';
import type { BaselineSnapshot, LocalSnapshot, RemoteSnapshot } from './types.js';

/** A path the planner must not act on this tick, and why. */
export interface Collision {
  readonly path: string;
  readonly detail: string;
}

/**
 * The colliding paths (pure). `local` and `remote` are the file paths of each side; `remote` must
 * include files the remote snapshot already hid for colliding within the bucket. Two rules:
 * a file with files under a folder of the same name (on either side) is left alone — the folder
 * wins, as in the remote snapshot — and a remote file under a path that is a local file is left
 * alone, since its folder cannot be made (with that local file left alone by the first rule).
 */
export function findCollisions(local: ReadonlyMap<string, unknown>, remote: Iterable<string>): Collision[] {
  const remoteFiles = new Set(remote);
  const found = new Map<string, string>();
  const visit = (path: string): void => {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const parent = path.slice(0, slash);
      const localFile = local.has(parent);
      if (!localFile && !remoteFiles.has(parent)) continue;
      if (!found.has(parent)) found.set(parent, `a folder of the same name holds ${path}`);
      if (localFile && !found.has(path)) found.set(path, `its folder ${parent} is a local file`);
    }
  };
  for (const path of local.keys()) visit(path);
  for (const path of remoteFiles) visit(path);
  return [...found].map(([path, detail]) => ({ path, detail }));
}

/** `map` without the `paths` (the same map when there are none). */
export function withoutPaths<V>(map: ReadonlyMap<string, V>, paths: ReadonlySet<string>): ReadonlyMap<string, V> {
  if (paths.size === 0) return map;
  const out = new Map(map);
  for (const path of paths) out.delete(path);
  return out;
}

/**
 * Files this tick deletes on their side because the other side deleted them (unchanged since the
 * baseline, gone on the other side, the delete propagating in this tick): a file replaced by a
 * folder of the same name, or a folder by a file. They do not collide with what replaced them;
 * the plan deletes them (local deletes run before downloads), then writes the new entries. None
 * on a side where the `--max-delete` guard will refuse those deletes: what replaced them must wait
 * with them, or it would land beside them. `touchedEtags`: the touched files' hashes (see
 * pathsToHash); a touched file without one counts as changed, so as staying.
 */
export function deletedOnTheOtherSide(
  local: LocalSnapshot,
  remote: RemoteSnapshot,
  hiddenRemote: ReadonlySet<string>,
  baseline: BaselineSnapshot | null,
  options: Pick<PlanOptions, 'up' | 'down' | 'maxDeletePercent'>,
  touchedEtags: ReadonlyMap<string, string> = new Map(),
): { local: Set<string>; remote: Set<string> } {
  const found = { local: new Set<string>(), remote: new Set<string>() };
  const { up, down } = options;
  // Every tick passes here: without a delete to propagate, no need to walk the baseline.
  if (!(up.enabled && up.delete) && !(down.enabled && down.delete)) return found;
  for (const [path, base] of baseline ?? []) {
    const file = local.get(path);
    const object = remote.get(path);
    // An object the remote snapshot hid (a folder of the same name in the bucket) is still there.
    if (file && !object && !hiddenRemote.has(path) && down.enabled && down.delete && down.include(path)) {
      const state = { path, local: file, remote: undefined, base, localEtag: undefined, touchedEtag: touchedEtags.get(path) };
      if (localDelta(state, up.sizeOnly) === 'unchanged') found.local.add(path);
    }
    if (object && !file && up.enabled && up.delete && up.include(path) && object.etag === base.etag) found.remote.add(path);
  }
  if (guardRefuses(found.local.size, local.size, options.maxDeletePercent)) found.local.clear();
  if (guardRefuses(found.remote.size, remote.size, options.maxDeletePercent)) found.remote.clear();
  return found;
}
