/** Names of keep-both copies: `name.conflict-<UTC yyyymmddThhmmssZ>-<node id>.ext`, beside the original. */
import { posix } from 'node:path';

/**
 * The conflict copy's path for `path`, made by node `nodeId` at `now`. The extension stays last so
 * the copy opens with the same program; a dotfile (`.env`) has no extension.
 */
export function conflictName(path: string, now: Date, nodeId: string): string {
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  const ext = posix.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  const name = `${stem}.conflict-${utcStamp(now)}-${safeNodeId(nodeId)}${ext}`;
  return dir === '.' ? name : `${dir}/${name}`;
}

/**
 * `conflictName`, made unique against `taken` by a counter before the extension
 * (`-2`, `-3`, …) — two conflicts on one path in the same second must not overwrite each other.
 */
export function uniqueConflictName(path: string, now: Date, nodeId: string, taken: (path: string) => boolean): string {
  const first = conflictName(path, now, nodeId);
  if (!taken(first)) return first;
  const ext = posix.extname(posix.basename(path));
  const stem = first.slice(0, first.length - ext.length);
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (!taken(candidate)) return candidate;
  }
}

function utcStamp(now: Date): string {
  // 2024-05-06T07:08:09.123Z → 20240506T070809Z
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll('-', '').replaceAll(':', '');
}

/** Node ids come from host names or task ARNs: keep them to characters safe in any file name. */
function safeNodeId(nodeId: string): string {
  return nodeId.replace(/[^A-Za-z0-9._-]/g, '-') || 'node';
}
