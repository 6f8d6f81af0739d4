/**
 * Turns a bucket listing into the remote side of a tick: keys mapped to safe relative paths,
 * folder markers, unsafe keys, internal names and file/folder collisions left out and reported.
 */
import { keyToPath, isInternalPath } from '../local/paths.js';
import type { RemoteEntry } from '../sync/types.js';
import type { RemoteObject } from './types.js';

/** Why a key was left out. */
export type SkipReason = 'unsafe' | 'collision' | 'folder-marker' | 'outside-prefix';

/** The remote side of a tick. */
export interface RemoteScan {
  readonly entries: Map<string, RemoteEntry>;
  readonly skipped: {
    readonly key: string;
    readonly reason: SkipReason;
    readonly detail: string;
    /** The relative path, for a key skipped as a collision (its path is still taken remotely). */
    readonly path?: string;
  }[];
}

/**
 * Listings already mapped: an unchanged listing is the very same array tick after tick (see
 * ListingMemory), and so is its remote side, which a quiet tick is told by (quiet-tick.ts).
 */
const mapped = new WeakMap<readonly RemoteObject[], { readonly prefix: string; readonly scan: RemoteScan }>();

/** Maps listed objects under `prefix` to relative paths (pure; the same scan for the same array). */
export function remoteSnapshot(objects: readonly RemoteObject[], prefix: string): RemoteScan {
  const known = mapped.get(objects);
  if (known?.prefix === prefix) return known.scan;
  const scan = mapListing(objects, prefix);
  mapped.set(objects, { prefix, scan });
  return scan;
}

function mapListing(objects: readonly RemoteObject[], prefix: string): RemoteScan {
  const entries = new Map<string, RemoteEntry>();
  const skipped: RemoteScan['skipped'] = [];
  for (const object of objects) {
    const mapped = keyToPath(prefix, object.key);
    if (!mapped.ok) {
      // Folder markers are normal S3 console artefacts, not worth a warning each tick.
      skipped.push({ key: object.key, reason: mapped.reason, detail: mapped.detail });
      continue;
    }
    if (isInternalPath(mapped.path)) continue;
    entries.set(mapped.path, { size: object.size, etag: object.etag, lastModifiedMs: object.lastModifiedMs });
  }
  // `a` and `a/b` cannot both exist on a file system: the file that would shadow a folder is skipped.
  for (const path of [...entries.keys()]) {
    let slash = path.indexOf('/');
    while (slash !== -1) {
      const parent = path.slice(0, slash);
      if (entries.delete(parent)) {
        skipped.push({ key: prefixed(prefix, parent), reason: 'collision', detail: `a folder of the same name holds ${path}`, path: parent });
      }
      slash = path.indexOf('/', slash + 1);
    }
  }
  return { entries, skipped };
}

function prefixed(prefix: string, path: string): string {
  return prefix ? `${prefix}/${path}` : path;
}
