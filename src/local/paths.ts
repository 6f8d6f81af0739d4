/**
 * Safe mapping between S3 keys and relative POSIX paths under LocalPath.
 * Every key that reaches the file system passes through `keyToPath`; a key that could escape the
 * root, or that no file system could hold, is refused with a reason instead of being written.
 */

/** Every name the sidecar itself creates starts with this; such names are never synced. */
export const INTERNAL_NAME_PREFIX = '.s3-sync2';

/** Prefix of the temp files of atomic writes (crash leftovers are removed at start). */
export const TEMP_NAME_PREFIX = `${INTERNAL_NAME_PREFIX}-tmp-`;

/** Longest file name (one path segment) in UTF-8 bytes, as on ext4/xfs/overlayfs. */
export const MAX_SEGMENT_BYTES = 255;

/** Longest relative path in UTF-8 bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** Why a key was not mapped to a path: outside the prefix, a folder marker, or unsafe to write. */
export type KeyRejection = 'outside-prefix' | 'folder-marker' | 'unsafe';

/** Result of `keyToPath`. */
export type KeyMapping =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly reason: KeyRejection; readonly detail: string };

// C0 controls and DEL: NUL cannot be in a file name at all, and the others (newline, escape, …)
// break logs and terminals of anyone listing the folder.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Backslash is an ordinary character in POSIX file names (and `aws s3 sync` on Linux keeps it),
 * so it is allowed here; on Windows it would be a separator, so it is refused there.
 */
const BACKSLASH_IS_SEPARATOR = process.platform === 'win32';

/**
 * Why a relative path must not be written or synced, or null when it is safe: no empty, `.` or
 * `..` segments, not absolute, no control characters, within the length limits.
 */
export function unsafePathReason(path: string): string | null {
  if (path === '') return 'empty path';
  if (path.startsWith('/')) return 'absolute path';
  if (CONTROL_CHARS.test(path)) return 'control character in name';
  if (BACKSLASH_IS_SEPARATOR && path.includes('\\')) return 'backslash in name';
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_PATH_BYTES) return `path longer than ${MAX_PATH_BYTES} bytes`;
  // Every key of every listing passes here each tick: a path no longer than one name needs no
  // byte count per segment.
  const segmentsFit = bytes <= MAX_SEGMENT_BYTES;
  for (const segment of path.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `"${segment}" path segment`;
    if (!segmentsFit && Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `name longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}

/** Maps an object key to its relative path under LocalPath, or says why it must not be. */
export function keyToPath(prefix: string, key: string): KeyMapping {
  const lead = prefix === '' ? '' : `${prefix}/`;
  if (!key.startsWith(lead)) {
    return { ok: false, reason: 'outside-prefix', detail: `key is not under "${lead}"` };
  }
  const path = key.slice(lead.length);
  if (path === '' || path.endsWith('/')) {
    return { ok: false, reason: 'folder-marker', detail: 'key ends with "/"' };
  }
  const unsafe = unsafePathReason(path);
  if (unsafe !== null) return { ok: false, reason: 'unsafe', detail: unsafe };
  return { ok: true, path };
}

/** The object key of a relative path: `<prefix>/<path>`, or the path itself for prefix ''. */
export function pathToKey(prefix: string, path: string): string {
  return prefix === '' ? path : `${prefix}/${path}`;
}

/** True for a name the sidecar owns: any segment starting with `.s3-sync2`. */
export function isInternalPath(path: string): boolean {
  // Runs for every path several times a tick: no split into segments.
  return path.startsWith(INTERNAL_NAME_PREFIX) || path.includes(INTERNAL_SEGMENT_START);
}

/** A segment other than the first starting with the internal prefix. */
const INTERNAL_SEGMENT_START = `/${INTERNAL_NAME_PREFIX}`;
