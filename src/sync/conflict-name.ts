/** Names of keep-both copies: `name.conflict-<UTC yyyymmddThhmmssZ>-<node id>.ext`, beside the original. */
import { posix } from 'node:path';
import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, unsafePathReason } from '../local/paths.js';

/**
 * The conflict copy's path for `path`, made by node `nodeId` at `now`. The extension stays last so
 * the copy opens with the same program; a dotfile (`.env`) has no extension.
 *
 * The copy must be a name the local side can hold, or its download is refused after the bucket
 * already has it — and the next tick makes another. So a long name gives up the end of its stem
 * first (the marker says what the file is), then the end of the node id, then of the extension.
 * `maxPathBytes` bounds the whole relative path too (the key's room under the prefix: S3 keys
 * hold at most 1024 bytes). Null when no name fits (a folder path within a few bytes of a limit).
 */
export function conflictName(path: string, now: Date, nodeId: string, maxPathBytes = MAX_PATH_BYTES): string | null {
  return fittedName(path, utcStamp(now), safeNodeId(nodeId), '', maxPathBytes);
}

/**
 * `conflictName`, made unique against `taken` by a counter before the extension
 * (`-2`, `-3`, …) — two conflicts on one path in the same second must not overwrite each other.
 */
export function uniqueConflictName(
  path: string,
  now: Date,
  nodeId: string,
  taken: (path: string) => boolean,
  maxPathBytes = MAX_PATH_BYTES,
): string | null {
  const stamp = utcStamp(now);
  const node = safeNodeId(nodeId);
  for (let n = 1; ; n++) {
    const candidate = fittedName(path, stamp, node, n === 1 ? '' : `-${n}`, maxPathBytes);
    if (candidate === null || !taken(candidate)) return candidate;
  }
}

function fittedName(path: string, stamp: string, node: string, counter: string, maxPathBytes: number): string | null {
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  const ext = posix.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  const lead = dir === '.' ? '' : `${dir}/`;
  const budget = Math.min(MAX_SEGMENT_BYTES, Math.min(MAX_PATH_BYTES, maxPathBytes) - bytes(lead));
  const marker = `.conflict-${stamp}-`;

  let name: string | null = null;
  const fixed = bytes(marker) + bytes(node) + bytes(counter) + bytes(ext);
  if (fixed <= budget) {
    name = `${prefixWithin(stem, budget - fixed)}${marker}${node}${counter}${ext}`;
  } else if (fixed - bytes(node) + 1 <= budget) {
    // Node ids are ASCII (safeNodeId), one byte per character.
    name = `${marker}${node.slice(0, budget - (fixed - bytes(node)))}${counter}${ext}`;
  } else {
    const shortNode = node.slice(0, 1);
    const room = budget - bytes(marker) - bytes(shortNode) - bytes(counter);
    // A lone "." is no extension: drop it rather than end the name with a dot.
    const shortExt = room >= 2 ? prefixWithin(ext, room) : '';
    if (room >= 0) name = `${marker}${shortNode}${counter}${shortExt === '.' ? '' : shortExt}`;
  }
  if (name === null) return null;
  const full = `${lead}${name}`;
  // The same check a download makes: a name it would refuse must never be planned.
  return unsafePathReason(full) === null ? full : null;
}

/** The longest prefix of `text` within `max` UTF-8 bytes, never splitting a character. */
function prefixWithin(text: string, max: number): string {
  if (bytes(text) <= max) return text;
  let used = 0;
  let end = 0;
  // for…of walks code points, so a surrogate pair is kept or dropped whole.
  for (const ch of text) {
    const size = bytes(ch);
    if (used + size > max) break;
    used += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

function bytes(text: string): number {
  return Buffer.byteLength(text);
}

function utcStamp(now: Date): string {
  // 2024-05-06T07:08:09.123Z → 20240506T070809Z
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll('-', '').replaceAll(':', '');
}

/** Node ids come from host names or task ARNs: keep them to characters safe in any file name. */
function safeNodeId(nodeId: string): string {
  return nodeId.replace(/[^A-Za-z0-9._-]/g, '-') || 'node';
}
